//! Rows handed over from numpy: a C-contiguous 2-D array read in place, its width checked
//! against the model with the message the CLI gives.

use numpy::{Element, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use whyline::core::CoreError;

use crate::errors;

/// Row-major values, `width` per row, borrowed from a numpy array.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rows<'a, T> {
    pub(crate) values: &'a [T],
    pub(crate) n_rows: usize,
    pub(crate) width: usize,
}

impl<'a, T: Element> Rows<'a, T> {
    fn of(array: &'a PyReadonlyArray2<'_, T>, n_features: usize) -> PyResult<Self> {
        let (n_rows, width) = match array.shape() {
            [rows, width] => (*rows, *width),
            _ => (0, 0),
        };
        if width != n_features {
            return Err(errors::from_core(&CoreError::FeatureCount {
                expected: n_features,
                found: width,
            }));
        }
        let values = array.as_slice().map_err(|_| {
            errors::raise(errors::Kind::Input, "rows: not a C-contiguous array".into())
        })?;
        Ok(Rows {
            values,
            n_rows,
            width,
        })
    }

    /// Row `index`.
    pub(crate) fn row(&self, index: usize) -> Option<&'a [T]> {
        self.values
            .get(index * self.width..(index + 1) * self.width)
    }

    /// The rows in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [T]> + '_ {
        (0..self.n_rows).filter_map(|i| self.row(i))
    }
}

impl<'a> Rows<'a, f32> {
    /// float32 rows of a model taking `n_features`.
    pub(crate) fn f32(array: &'a PyReadonlyArray2<'_, f32>, n_features: usize) -> PyResult<Self> {
        Rows::of(array, n_features)
    }
}

impl<'a> Rows<'a, f64> {
    /// float64 rows of a model taking `n_features`.
    pub(crate) fn f64(array: &'a PyReadonlyArray2<'_, f64>, n_features: usize) -> PyResult<Self> {
        Rows::of(array, n_features)
    }
}

/// `n_rows` split into up to `jobs` contiguous runs `(first, count)`, the first ones one row
/// longer (as `Explainer::explain_rows` splits them).
pub(crate) fn split_rows(n_rows: usize, jobs: usize) -> Vec<(usize, usize)> {
    let jobs = jobs.clamp(1, n_rows.max(1));
    let (per_job, longer) = (n_rows / jobs, n_rows % jobs);
    let mut first = 0;
    (0..jobs)
        .map(|job| {
            let count = per_job + usize::from(job < longer);
            let run = (first, count);
            first += count;
            run
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_rows;

    #[test]
    fn runs_cover_every_row_once_in_order() {
        for (n_rows, jobs) in [(0, 4), (1, 4), (10, 3), (1000, 2), (7, 0)] {
            let runs = split_rows(n_rows, jobs);
            let mut next = 0;
            for (first, count) in &runs {
                assert_eq!(*first, next, "{runs:?}");
                next += count;
            }
            assert_eq!(next, n_rows, "{runs:?}");
            assert!(runs.len() <= jobs.max(1), "{runs:?}");
        }
    }
}
