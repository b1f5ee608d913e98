//! The decision path of linear and logistic regression.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{DecisionPath, Names, PathType, expect_type, short, signed, top_by_magnitude};
use crate::codec::json_float as jf;
use crate::codec::wire::{Reader, Writer};
use crate::error::Result;

/// How a linear or logistic model reached its output: `logit = intercept + Σ contributions`.
///
/// For a multinomial model the path describes the predicted class: its coefficients, its
/// intercept and its logit.
///
/// APRT path bytes (path type 0):
///
/// ```text
/// contributions     u32 count, then count × f32
/// intercept         f32
/// logit             f32
/// prediction        f32
/// probability       u8 flag (0 absent, 1 present), then f32 when present
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "LinearPath")]
pub struct LinearPath {
    /// Per-feature contributions `coefficient[i] × input[i]`.
    #[serde(with = "jf::vec")]
    pub contributions: Vec<f32>,
    /// The intercept (bias) term.
    #[serde(with = "jf::one")]
    pub intercept: f32,
    /// The raw score before any link function: `intercept + Σ contributions`.
    #[serde(with = "jf::one")]
    pub logit: f32,
    /// The final prediction: the value for a regressor, the class index for a classifier.
    #[serde(with = "jf::one")]
    pub prediction: f32,
    /// For classifiers, the probability the model gives to the predicted class.
    #[serde(with = "jf::option", default)]
    pub probability: Option<f32>,
}

impl LinearPath {
    /// The `k` features with the largest absolute contribution, largest first.
    ///
    /// ```
    /// use whyline_core::LinearPath;
    /// let path = LinearPath { contributions: vec![0.1, -0.5, 0.3], ..LinearPath::default() };
    /// assert_eq!(path.top_features(2), vec![(1, -0.5), (2, 0.3)]);
    /// ```
    pub fn top_features(&self, k: usize) -> Vec<(usize, f32)> {
        top_by_magnitude(&self.contributions, k)
    }
}

impl DecisionPath for LinearPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json_write::linear(self, out);
        Ok(())
    }

    fn path_type(&self) -> PathType {
        PathType::Linear
    }

    fn explain_with(&self, names: &Names) -> String {
        let mut text = String::new();
        match self.probability {
            Some(p) => {
                let _ = writeln!(
                    text,
                    "Prediction: {} (probability={}, confidence={:.0}%), logit={}",
                    names.class(self.prediction as usize),
                    short(p),
                    p * 100.0,
                    short(self.logit)
                );
            }
            None => {
                let _ = writeln!(text, "Prediction: {}", short(self.prediction));
            }
        }
        let _ = writeln!(text, "Top contributing features:");
        for (index, contribution) in self.top_features(5) {
            let _ = writeln!(
                text,
                "  - {}: {}",
                names.feature(index),
                signed(contribution)
            );
        }
        let _ = write!(text, "Intercept contribution: {}", signed(self.intercept));
        text
    }

    fn feature_contributions(&self) -> &[f32] {
        &self.contributions
    }

    fn confidence(&self) -> f32 {
        self.probability.unwrap_or(1.0)
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.f32s(&self.contributions);
        w.f32(self.intercept);
        w.f32(self.logit);
        w.f32(self.prediction);
        w.opt_f32(self.probability);
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        expect_type(PathType::Linear, path_type)?;
        let mut r = Reader::new(bytes, base_offset);
        let path = LinearPath {
            contributions: r.f32s("contributions")?,
            intercept: r.f32("intercept")?,
            logit: r.f32("logit")?,
            prediction: r.f32("prediction")?,
            probability: r.opt_f32("probability")?,
        };
        r.finish("LinearPath")?;
        Ok(path)
    }
}
