//! What a model knows about its inputs and outputs beyond its parameters: feature and
//! class names, class labels, and per-feature training statistics for out-of-distribution
//! checks.

use whyline_core::{CoreError, Names};

/// Per-feature statistics of the training data (NaN ignored), as the exporter wrote them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureStats {
    /// Training rows the statistics were computed on.
    pub n_samples: u64,
    /// Mean per feature.
    pub mean: Vec<f64>,
    /// Population standard deviation per feature.
    pub std: Vec<f64>,
    /// Minimum per feature.
    pub min: Vec<f64>,
    /// Maximum per feature.
    pub max: Vec<f64>,
}

/// Names, labels and statistics shared by every model family.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelInfo {
    /// Feature and class names for explanations (either may be empty).
    pub names: Names,
    /// The label value of each class, by class index (`classes_` in scikit-learn); empty
    /// when the labels are not numbers or the model is a regressor.
    pub class_values: Vec<f64>,
    /// Training statistics, when the file carries them.
    pub feature_stats: Option<FeatureStats>,
}

impl ModelInfo {
    /// Checks a row: its length, and that every value is finite.
    pub(crate) fn check_finite<T: RowValue>(
        &self,
        row: &[T],
        n_features: usize,
    ) -> Result<(), CoreError> {
        self.check_row(row, n_features, |v| !v.is_finite())
    }

    /// Checks a row for a model with a missing-value rule: its length, and that no value is
    /// infinite (NaN is allowed and means missing).
    pub(crate) fn check_no_infinity<T: RowValue>(
        &self,
        row: &[T],
        n_features: usize,
    ) -> Result<(), CoreError> {
        self.check_row(row, n_features, f64::is_infinite)
    }

    /// Checks a row's length, then rejects the first value for which `bad` holds.
    fn check_row<T: RowValue>(
        &self,
        row: &[T],
        n_features: usize,
        bad: impl Fn(f64) -> bool,
    ) -> Result<(), CoreError> {
        if row.len() != n_features {
            return Err(CoreError::FeatureCount {
                expected: n_features,
                found: row.len(),
            });
        }
        match row.iter().position(|&v| bad(v.into())) {
            None => Ok(()),
            Some(feature_index) => Err(CoreError::NonFiniteInput {
                row: None,
                feature_index,
                feature_name: self.names.features.get(feature_index).cloned(),
                value: row.get(feature_index).map_or(f32::NAN, |&v| v.to_f32()),
            }),
        }
    }
}

/// A value of an input row: `f32` on the explained path (the [`Explainable`] trait and
/// the APRT record), `f64` for predictions in the library's terms
/// ([`Model::predict`](crate::Model::predict)). Widening an `f32` is exact, so a family
/// written once over `RowValue` computes the same bits for an `f32` row and for the same
/// row widened.
///
/// [`Explainable`]: whyline_core::Explainable
pub(crate) trait RowValue: Copy + Into<f64> {
    /// The value rounded to `f32` (to the nearest, as `as` rounds).
    fn to_f32(self) -> f32;
}

impl RowValue for f32 {
    #[inline]
    fn to_f32(self) -> f32 {
        self
    }
}

impl RowValue for f64 {
    #[inline]
    fn to_f32(self) -> f32 {
        self as f32
    }
}

/// The output of one prediction in the library's own terms, computed from the `f64` row in
/// the precision the library uses: f64 for scikit-learn's linear models, KNN and MLP and for
/// LightGBM; the row cast to f32 for scikit-learn's trees and XGBoost; f32 sums for
/// XGBoost, widened here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    /// The regression value, or for a classifier the predicted class index.
    pub value: f64,
    /// For classifiers, the probability of every class, by class index.
    pub probabilities: Option<Vec<f64>>,
    /// The raw outputs before the link: decision values of linear models, margins of
    /// boosted trees; one per output (class for multiclass models).
    pub raw: Vec<f64>,
}

/// Index of the largest value; ties keep the lowest index, as `numpy.argmax` does.
pub(crate) fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    let mut best_value = f64::NEG_INFINITY;
    for (index, &value) in values.iter().enumerate() {
        if value > best_value {
            best = index;
            best_value = value;
        }
    }
    best
}

/// The logistic function, `1 / (1 + e^-x)`, in f64.
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Softmax in place, in f64, subtracting the maximum first (as scikit-learn and LightGBM do).
pub(crate) fn softmax_in_place(values: &mut [f64]) {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in values.iter_mut() {
        *v /= sum;
    }
}
