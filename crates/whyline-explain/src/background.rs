//! [`Background`]: the reference rows a method takes expectations over (LinearSHAP's
//! `E[x]`, KernelSHAP's missing features, interventional expectations), checked once for
//! width and finiteness.

use crate::error::{ExplainError, Result};

/// A set of reference rows, row-major, every row `n_features` wide and finite.
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    values: Vec<f32>,
    n_features: usize,
}

impl Background {
    /// Rows as separate vectors; a row of the wrong width is a
    /// [`ExplainError::BackgroundWidth`] naming it.
    pub fn from_rows(rows: &[Vec<f32>], n_features: usize) -> Result<Background> {
        let mut values = Vec::with_capacity(rows.len() * n_features);
        for (row, r) in rows.iter().enumerate() {
            if r.len() != n_features {
                return Err(ExplainError::BackgroundWidth {
                    row,
                    expected: n_features,
                    found: r.len(),
                });
            }
            values.extend_from_slice(r);
        }
        Background::from_flat(values, n_features)
    }

    /// A row-major buffer of `n_features` columns.
    pub fn from_flat(values: Vec<f32>, n_features: usize) -> Result<Background> {
        if n_features == 0 || values.is_empty() {
            return Err(ExplainError::EmptyBackground);
        }
        if !values.len().is_multiple_of(n_features) {
            return Err(ExplainError::BackgroundWidth {
                row: values.len() / n_features,
                expected: n_features,
                found: values.len() % n_features,
            });
        }
        if let Some(position) = values.iter().position(|v| !v.is_finite()) {
            return Err(ExplainError::NonFiniteBackground {
                row: position / n_features,
                feature_index: position % n_features,
                value: values.get(position).copied().unwrap_or(f32::NAN),
            });
        }
        Ok(Background { values, n_features })
    }

    /// Checks the background against a model's width.
    pub(crate) fn check_width(&self, n_features: usize) -> Result<()> {
        if self.n_features != n_features {
            return Err(ExplainError::BackgroundWidth {
                row: 0,
                expected: n_features,
                found: self.n_features,
            });
        }
        Ok(())
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values.len() / self.n_features.max(1)
    }

    /// The rows.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.values.chunks_exact(self.n_features.max(1))
    }

    /// The mean of each feature, summed in f64 in row order.
    pub fn mean(&self) -> Vec<f64> {
        let mut mean = vec![0.0f64; self.n_features];
        for row in self.rows() {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        let n = self.n_rows().max(1) as f64;
        for m in &mut mean {
            *m /= n;
        }
        mean
    }

    /// The median absolute deviation of each feature (`median |x − median x|`).
    pub fn mad(&self) -> Vec<f64> {
        (0..self.n_features)
            .map(|j| {
                let column: Vec<f64> = self
                    .rows()
                    .map(|row| f64::from(row.get(j).copied().unwrap_or(0.0)))
                    .collect();
                let center = median(column.clone());
                median(column.iter().map(|x| (x - center).abs()).collect())
            })
            .collect()
    }
}

/// The median (mean of the two middle values for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    let high = values.get(n / 2).copied().unwrap_or(0.0);
    if n % 2 == 1 {
        high
    } else {
        (values.get(n / 2 - 1).copied().unwrap_or(0.0) + high) / 2.0
    }
}
