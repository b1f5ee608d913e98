//! Out-of-distribution checks against the per-feature training statistics a model was
//! exported with (mean, standard deviation, minimum, maximum).

use serde::{Deserialize, Serialize};

use crate::error::{MonitorError, Result};

/// Training statistics of one feature.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureStatistics {
    /// Mean over the training set.
    pub mean: f64,
    /// Standard deviation over the training set.
    pub std: f64,
    /// Smallest training value.
    pub min: f64,
    /// Largest training value.
    pub max: f64,
}

/// The worst feature of one input row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OodFinding {
    /// Feature index.
    pub feature_index: usize,
    /// The value.
    pub value: f32,
    /// `(value - mean) / std`; 0 when `std` is 0 and the value equals the mean, ±∞ when `std`
    /// is 0 and it does not.
    pub z_score: f32,
    /// Whether the value is outside `[min, max]`.
    pub outside_range: bool,
}

/// Per-feature training statistics, checked against each input row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingStatistics {
    features: Vec<FeatureStatistics>,
}

impl TrainingStatistics {
    /// Statistics for each feature, in feature order. Fails when a value is NaN or a
    /// standard deviation is negative, or `min > max`.
    pub fn new(features: Vec<FeatureStatistics>) -> Result<Self> {
        for (i, f) in features.iter().enumerate() {
            let finite =
                f.mean.is_finite() && f.std.is_finite() && !f.min.is_nan() && !f.max.is_nan();
            if !finite || f.std < 0.0 || f.min > f.max {
                return Err(MonitorError::invalid_setting(
                    format!("training_statistics[{i}]"),
                    format_args!("mean {} std {} min {} max {}", f.mean, f.std, f.min, f.max),
                    "finite mean and std, std >= 0, min <= max",
                ));
            }
        }
        Ok(Self { features })
    }

    /// Number of features covered.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether no feature is covered.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The feature with the largest |z-score| among those that exceed `z_threshold` or (when
    /// `check_range`) leave the training range, or `None` when the row is in distribution.
    /// A NaN value counts as out of range with an infinite z-score.
    pub fn worst(
        &self,
        row: &[f32],
        z_threshold: Option<f32>,
        check_range: bool,
    ) -> Option<OodFinding> {
        let mut worst: Option<OodFinding> = None;
        for (feature_index, (value, stats)) in row.iter().zip(&self.features).enumerate() {
            let v = f64::from(*value);
            let z = if value.is_nan() {
                f64::INFINITY
            } else if stats.std > 0.0 {
                (v - stats.mean) / stats.std
            } else if v == stats.mean {
                0.0
            } else {
                (v - stats.mean).signum() * f64::INFINITY
            };
            let outside_range = value.is_nan() || v < stats.min || v > stats.max;
            let over_z = z_threshold.is_some_and(|t| z.abs() > f64::from(t));
            if !((check_range && outside_range) || over_z) {
                continue;
            }
            let finding = OodFinding {
                feature_index,
                value: *value,
                z_score: z as f32,
                outside_range,
            };
            let replace = match &worst {
                None => true,
                Some(w) => finding.z_score.abs() > w.z_score.abs(),
            };
            if replace {
                worst = Some(finding);
            }
        }
        worst
    }
}
