//! Counterfactuals: the smallest change to a row, under constraints, that flips the
//! model's decision — shaped like the seed specification's `Counterfactual` /
//! `FeatureChange`, with the natural-language text.
//!
//! - [`linear`]: exact closed form for binary logistic models (the decision is the sign of
//!   the margin): a fractional knapsack for (weighted) L1 costs, a KKT water-filling for
//!   L2, both within per-feature bounds and immutable features.
//! - [`tree`]: exact search over the leaf regions of a single decision tree.
//!
//! Every counterfactual returned was re-predicted by the model and flips the decision;
//! when none exists under the constraints the error says why
//! ([`Impossible`](crate::Impossible)).

mod linear;
mod tree;

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use whyline_models::{Model, ModelKind};

use crate::background::Background;
use crate::error::{ExplainError, Impossible, Result};
use crate::model_output::kind_name;

/// The cost of a change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cost {
    /// `Σ |δ_j|`.
    #[default]
    L1,
    /// `√(Σ δ_j²)`.
    L2,
    /// `Σ |δ_j| / MAD_j`, the median absolute deviation of each feature in a background set
    /// (features with MAD 0 cost as if MAD were 1).
    MadL1,
}

/// Constraints and cost of a counterfactual search.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CounterfactualSettings {
    /// Features that may not change.
    pub immutable: Vec<usize>,
    /// `(feature, low, high)`: the counterfactual value stays within `[low, high]`.
    pub bounds: Vec<(usize, f32, f32)>,
    /// The cost minimised.
    pub cost: Cost,
    /// Seed of searches that sample (kept in the output for audit).
    pub seed: u64,
}

/// One feature's change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureChange {
    /// The feature.
    pub feature_idx: usize,
    /// Its name, when the model has one.
    pub feature_name: Option<String>,
    /// The row's value.
    pub original_value: f32,
    /// The counterfactual value.
    pub counterfactual_value: f32,
    /// `counterfactual_value − original_value`.
    pub delta: f32,
}

/// The minimal change that flips a decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Counterfactual {
    /// The row explained.
    pub original_input: Vec<f32>,
    /// The model's decision for it (class index).
    pub original_decision: usize,
    /// The changed row.
    pub counterfactual_input: Vec<f32>,
    /// The model's decision for the changed row, re-predicted.
    pub alternative_decision: usize,
    /// The features that changed.
    pub changes: Vec<FeatureChange>,
    /// L1 distance `Σ |δ_j|`.
    pub sparsity: f32,
    /// L2 distance `√(Σ δ_j²)`.
    pub distance: f32,
    /// The minimised cost, in the settings' cost.
    pub cost: f64,
    /// Class names (empty when the model has none).
    pub class_names: Vec<String>,
    /// The settings used.
    pub settings: CounterfactualSettings,
}

impl Counterfactual {
    /// The natural-language explanation: "would have been APPROVED if: …".
    pub fn explain(&self) -> String {
        let label = |class: usize| {
            self.class_names
                .get(class)
                .cloned()
                .unwrap_or_else(|| format!("class {class}"))
        };
        let mut text = format!(
            "The decision would have been {} instead of {} if:",
            label(self.alternative_decision),
            label(self.original_decision)
        );
        for change in &self.changes {
            let name = change
                .feature_name
                .clone()
                .unwrap_or_else(|| format!("feature[{}]", change.feature_idx));
            let verb = if change.delta > 0.0 {
                "increased"
            } else {
                "decreased"
            };
            let _ = write!(
                text,
                "\n - {name} {verb} from {} to {} ({:+})",
                change.original_value, change.counterfactual_value, change.delta
            );
        }
        text
    }

    /// The JSON view.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("text".into(), serde_json::Value::String(self.explain()));
        }
        value
    }
}

/// Finds the minimal counterfactual of `row` for a binary logistic model (closed form) or a
/// decision tree classifier (exact over its leaves). `background` supplies the MAD of
/// [`Cost::MadL1`].
pub fn counterfactual(
    model: &Model,
    row: &[f32],
    settings: &CounterfactualSettings,
    background: Option<&Background>,
) -> Result<Counterfactual> {
    let prediction = model.predict(row)?;
    let original = prediction.value as usize;
    let weights = cost_weights(row.len(), settings, background)?;
    let bounds = feature_bounds(row, settings)?;
    let (candidate, cost) = match model.kind() {
        ModelKind::Linear(m) => linear::solve(m, row, original, &bounds, &weights, settings.cost)?,
        ModelKind::DecisionTree(m) => {
            tree::solve(m, row, original, &bounds, &weights, settings.cost)?
        }
        other => {
            return Err(ExplainError::MethodDoesNotFit {
                method: "counterfactual",
                model: kind_name(other),
                hint: "exact counterfactuals cover binary logistic models and decision trees",
            });
        }
    };
    let alternative = model.predict(&candidate)?.value as usize;
    if alternative == original {
        return Err(ExplainError::ImpossibleCounterfactual {
            reason: Impossible::SearchExhausted { evaluated: 1 },
        });
    }
    let names = &model.info().names;
    let changes: Vec<FeatureChange> = row
        .iter()
        .zip(&candidate)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(j, (&a, &b))| FeatureChange {
            feature_idx: j,
            feature_name: names.features.get(j).cloned(),
            original_value: a,
            counterfactual_value: b,
            delta: b - a,
        })
        .collect();
    let sparsity = changes
        .iter()
        .map(|c| f64::from(c.delta).abs())
        .sum::<f64>() as f32;
    let distance = changes
        .iter()
        .map(|c| f64::from(c.delta).powi(2))
        .sum::<f64>()
        .sqrt() as f32;
    Ok(Counterfactual {
        original_input: row.to_vec(),
        original_decision: original,
        counterfactual_input: candidate,
        alternative_decision: alternative,
        changes,
        sparsity,
        distance,
        cost,
        class_names: names.classes.clone(),
        settings: settings.clone(),
    })
}

/// Per-feature cost weights of the L1 costs (1, or 1/MAD).
fn cost_weights(
    m: usize,
    settings: &CounterfactualSettings,
    background: Option<&Background>,
) -> Result<Vec<f64>> {
    match settings.cost {
        Cost::L1 | Cost::L2 => Ok(vec![1.0; m]),
        Cost::MadL1 => {
            let background = background.ok_or(ExplainError::EmptyBackground)?;
            background.check_width(m)?;
            Ok(background
                .mad()
                .into_iter()
                .map(|mad| if mad > 0.0 { 1.0 / mad } else { 1.0 })
                .collect())
        }
    }
}

/// `[low, high]` per feature in f64: the bounds, `[x, x]` for immutable features.
fn feature_bounds(row: &[f32], settings: &CounterfactualSettings) -> Result<Vec<(f64, f64)>> {
    let mut bounds = vec![(f64::NEG_INFINITY, f64::INFINITY); row.len()];
    for &(j, low, high) in &settings.bounds {
        let x = row.get(j).copied().unwrap_or(f32::NAN);
        if j >= row.len() || low.is_nan() || high.is_nan() || low > high || x < low || x > high {
            return Err(ExplainError::InvalidSetting {
                name: format!("bounds[{j}]"),
                detail: format!("[{low}, {high}] must be an interval holding the row's value {x}"),
            });
        }
        if let Some(slot) = bounds.get_mut(j) {
            *slot = (f64::from(low), f64::from(high));
        }
    }
    for &j in &settings.immutable {
        let x = f64::from(
            row.get(j)
                .copied()
                .ok_or_else(|| ExplainError::InvalidSetting {
                    name: "immutable".into(),
                    detail: format!("feature {j} is out of range"),
                })?,
        );
        if let Some(slot) = bounds.get_mut(j) {
            *slot = (x, x);
        }
    }
    Ok(bounds)
}
