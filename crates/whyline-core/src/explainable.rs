//! The `Explainable` trait: a model that returns its decision path with each prediction.

use crate::error::{CoreError, Result};
use crate::path::DecisionPath;

/// A model that explains each prediction with its own decision path.
///
/// Inputs are row-major `f32` batches of [`n_features`](Explainable::n_features) columns.
/// Implementations validate inputs (feature count, non-finite values where the model has no
/// missing-value rule) and return a typed error instead of a wrong prediction.
///
/// Only [`n_features`](Explainable::n_features) and [`explain_into`](Explainable::explain_into)
/// are required; `explain_into` writes into a caller's path so a hot loop can reuse one path
/// (and its vectors) and allocate nothing per decision.
pub trait Explainable {
    /// The decision path this model produces.
    type Path: DecisionPath + Default;

    /// Features per row.
    fn n_features(&self) -> usize;

    /// Predicts one row and overwrites `path` with the decision path, reusing its
    /// allocations. Returns the model's output for the row.
    fn explain_into(&self, row: &[f32], path: &mut Self::Path) -> Result<f32>;

    /// Predicts one row without building a path. The default builds one and discards it;
    /// models override it with a path-free computation, which is what a monitor calls when
    /// no collector and no Andon rule needs the path.
    fn predict_one(&self, row: &[f32]) -> Result<f32> {
        self.explain_one(row).map(|(output, _)| output)
    }

    /// Which exact model this is, when known (loaded from a file).
    fn identity(&self) -> Option<&crate::ModelIdentity> {
        None
    }

    /// The once-per-log record of this model, stamped `recorded_ns`: its identity and the
    /// feature and class names its explanations use. The default carries the
    /// [`identity`](Explainable::identity) without names; `None` when the identity is unknown.
    fn model_record(&self, recorded_ns: u64) -> Option<crate::ModelRecord> {
        self.identity().map(|identity| crate::ModelRecord {
            identity: identity.clone(),
            feature_names: Vec::new(),
            class_names: Vec::new(),
            recorded_ns,
            input_digest: crate::digest::DigestAlgorithm::default(),
        })
    }

    /// Predicts one row and returns its output and a new decision path.
    fn explain_one(&self, row: &[f32]) -> Result<(f32, Self::Path)> {
        let mut path = Self::Path::default();
        let output = self.explain_into(row, &mut path)?;
        Ok((output, path))
    }

    /// Predicts every row of a row-major batch: one output and one path per row.
    fn predict_explained(&self, batch: &[f32]) -> Result<(Vec<f32>, Vec<Self::Path>)> {
        let rows = check_batch(batch, self.n_features())?;
        let mut outputs = Vec::with_capacity(rows);
        let mut paths = Vec::with_capacity(rows);
        for (row_index, row) in batch.chunks_exact(self.n_features().max(1)).enumerate() {
            let (output, path) = self
                .explain_one(row)
                .map_err(|error| with_row(error, row_index))?;
            outputs.push(output);
            paths.push(path);
        }
        Ok((outputs, paths))
    }
}

/// Rows in a row-major batch of `n_features` columns, or an [`CoreError::InputShape`] error.
pub fn check_batch(batch: &[f32], n_features: usize) -> Result<usize> {
    if n_features == 0 {
        return if batch.is_empty() {
            Ok(0)
        } else {
            Err(CoreError::InputShape {
                expected: 0,
                found: batch.len(),
            })
        };
    }
    if !batch.len().is_multiple_of(n_features) {
        return Err(CoreError::InputShape {
            expected: n_features,
            found: batch.len(),
        });
    }
    Ok(batch.len() / n_features)
}

/// Checks one row: its length, and that every value is finite.
///
/// Models with a missing-value rule check only the length.
pub fn check_finite_row(row: &[f32], n_features: usize, feature_names: &[String]) -> Result<()> {
    if row.len() != n_features {
        return Err(CoreError::FeatureCount {
            expected: n_features,
            found: row.len(),
        });
    }
    if let Some((feature_index, value)) = row
        .iter()
        .copied()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
    {
        return Err(CoreError::NonFiniteInput {
            row: None,
            feature_index,
            feature_name: feature_names.get(feature_index).cloned(),
            value,
        });
    }
    Ok(())
}

/// Puts the batch row index into a per-row error.
fn with_row(error: CoreError, row_index: usize) -> CoreError {
    match error {
        CoreError::NonFiniteInput {
            feature_index,
            feature_name,
            value,
            ..
        } => CoreError::NonFiniteInput {
            row: Some(row_index),
            feature_index,
            feature_name,
            value,
        },
        other => other,
    }
}
