//! LinearSHAP for linear and logistic models under feature independence:
//! `φ_j = w_j (x_j − E[x_j])`, with base value `b + Σ w_j E[x_j]`, in margin space (the
//! decision value: log-odds for a logistic model), as `shap.LinearExplainer` computes it.
//!
//! `E[x]` is the mean of a [`Background`] set, or the model's training means when the
//! model file carries them. The sum-check is exact up to rounding: `base + Σ φ = margin(x)`.
//!
//! Probability space, on request, is not a Shapley value of the probability (the
//! probability is not linear in `x`): the margin values are rescaled by
//! `(p(x) − p(E[x])) / (margin(x) − margin(E[x]))` so they keep their signs and ratios and
//! add up to `p(x) − p(E[x])`, with `p(E[x])` as base value. The residual then checks that
//! sum against the model's own probability.

use whyline_models::{LinearLink, LinearModel, Model, ModelKind};

use crate::attribution::{Attribution, OutputSpace};
use crate::background::Background;
use crate::error::{ExplainError, Result};
use crate::model_output::{kind_name, predict_f32};
use crate::settings::{LinearShapSettings, MethodSettings};

/// LinearSHAP for one linear model and one expectation `E[x]`.
#[derive(Clone, Debug)]
pub struct LinearShap<'a> {
    model: &'a Model,
    linear: &'a LinearModel,
    mean: Vec<f64>,
}

impl<'a> LinearShap<'a> {
    /// Uses the mean of `background`, or the training means of the model when `None`.
    ///
    /// A model with a preprocessing stage is refused, as by
    /// [`TreeShap::new`](crate::TreeShap::new).
    pub fn new(model: &'a Model, background: Option<&Background>) -> Result<LinearShap<'a>> {
        crate::model_output::refuse_stage(model, "linear-shap")?;
        let ModelKind::Linear(linear) = model.kind() else {
            return Err(ExplainError::MethodDoesNotFit {
                method: "linear-shap",
                model: kind_name(model.kind()),
                hint: "use tree-shap for trees, kernel-shap otherwise",
            });
        };
        let mean = match background {
            Some(background) => {
                background.check_width(linear.n_features)?;
                background.mean()
            }
            None => match &linear.info.feature_stats {
                Some(stats) if stats.mean.len() == linear.n_features => stats.mean.clone(),
                _ => return Err(ExplainError::EmptyBackground),
            },
        };
        Ok(LinearShap {
            model,
            linear,
            mean,
        })
    }

    /// `E[x]`, as used.
    pub fn expectation(&self) -> &[f64] {
        &self.mean
    }

    /// Explains one row.
    pub fn explain(&self, row: &[f32], settings: &LinearShapSettings) -> Result<Attribution> {
        let prediction = predict_f32(self.model, row)?;
        let m = self.linear.n_features;
        let n_outputs = self.linear.n_outputs();
        let index = match settings.output {
            Some(index) => index,
            None if n_outputs > 1 => prediction.value as usize,
            None => 0,
        };
        if index >= n_outputs {
            return Err(ExplainError::output_out_of_range(index, n_outputs));
        }
        let weights = self
            .linear
            .coefficients
            .get(index * m..(index + 1) * m)
            .unwrap_or(&[]);
        let intercept = self.linear.intercepts.get(index).copied().unwrap_or(0.0);
        let mut values = Vec::with_capacity(m);
        let mut base = intercept;
        for ((w, &x), mu) in weights.iter().zip(row).zip(&self.mean) {
            values.push(w * (f64::from(x) - mu));
            base += w * mu;
        }
        let margin = prediction.raw.get(index).copied().unwrap_or(f64::NAN);
        let mut space = match self.linear.link {
            LinearLink::Identity => OutputSpace::Value,
            LinearLink::Logistic
            | LinearLink::Softmax
            | LinearLink::OvrLogistic
            | LinearLink::Margin => OutputSpace::Margin,
        };
        // A margin classifier has no probabilities: its values stay in margin space.
        let has_probabilities = self.linear.link != LinearLink::Margin;
        let (base, f) = if settings.probability && has_probabilities && space == OutputSpace::Margin
        {
            space = OutputSpace::Probability;
            let (p_base, p_x) = self.probabilities(index, &prediction.raw)?;
            let p_x = prediction
                .probabilities
                .as_ref()
                .and_then(|p| p.get(self.class_of(index)).copied())
                .unwrap_or(p_x);
            let total: f64 = values.iter().sum();
            let scale = if total != 0.0 {
                (p_x - p_base) / total
            } else {
                0.0
            };
            for v in &mut values {
                *v *= scale;
            }
            (p_base, p_x)
        } else {
            (base, margin)
        };
        let class = self.class_of(index);
        Ok(Attribution::new(
            MethodSettings::LinearShap(LinearShapSettings {
                output: Some(index),
                probability: settings.probability,
            }),
            self.model,
            (class, space),
            row,
            values,
            base,
            f,
        ))
    }

    /// The class an output explains: class 1 for a binary logistic model's one margin.
    fn class_of(&self, index: usize) -> usize {
        match self.linear.link {
            LinearLink::Logistic => 1,
            LinearLink::Margin if self.linear.n_outputs() == 1 => 1,
            LinearLink::Identity
            | LinearLink::Softmax
            | LinearLink::OvrLogistic
            | LinearLink::Margin => index,
        }
    }

    /// `(p(E[x]), p(x))` of the explained class, from the margins at `E[x]` and at `x`.
    fn probabilities(&self, index: usize, raw: &[f64]) -> Result<(f64, f64)> {
        let m = self.linear.n_features;
        let base_margins: Vec<f64> = (0..self.linear.n_outputs())
            .map(|k| {
                let w = self
                    .linear
                    .coefficients
                    .get(k * m..(k + 1) * m)
                    .unwrap_or(&[]);
                let b = self.linear.intercepts.get(k).copied().unwrap_or(0.0);
                b + w.iter().zip(&self.mean).map(|(w, mu)| w * mu).sum::<f64>()
            })
            .collect();
        let p = |margins: &[f64]| -> f64 {
            match self.linear.link {
                LinearLink::Logistic => {
                    1.0 / (1.0 + (-margins.first().copied().unwrap_or(0.0)).exp())
                }
                LinearLink::OvrLogistic => {
                    let each: Vec<f64> = margins.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
                    let sum: f64 = each.iter().sum();
                    each.get(index).map_or(0.0, |v| v / sum)
                }
                _ => {
                    let max = margins.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = margins.iter().map(|v| (v - max).exp()).sum();
                    margins.get(index).map_or(0.0, |v| (v - max).exp() / sum)
                }
            }
        };
        Ok((p(&base_margins), p(raw)))
    }
}
