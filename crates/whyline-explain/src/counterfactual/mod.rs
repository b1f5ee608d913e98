//! Counterfactuals: the smallest change to a row, under constraints, that flips the
//! model's decision — shaped like the seed specification's `Counterfactual` /
//! `FeatureChange`, with the natural-language text.
//!
//! - [`linear`]: exact closed form for binary logistic models (the decision is the sign of
//!   the margin): a fractional knapsack for (weighted) L1 costs, a KKT water-filling for
//!   L2, both within per-feature bounds and immutable features.
//! - [`tree`]: exact search over the leaf regions of a single decision tree.
//! - [`forest`]: exact branch and bound over combinations of leaves (one per tree) of
//!   random forest and gradient-boosted classifiers, within a budget of tree nodes walked
//!   ([`CounterfactualSettings::max_exact_nodes`]; beyond it [`ExplainError::TooLarge`]).
//! - [`search`]: a seeded search for every other classifier (KNN, MLP, multinomial, large
//!   ensembles) — local linearisation, growing spheres, sparsification — within
//!   [`CounterfactualSettings::max_evaluations`] model calls; near-minimal, not exact.
//!
//! [`CounterfactualSearch::Auto`] (the default) takes the exact method where the model has
//! one and it fits its budget, the seeded search otherwise; the result says which ran
//! ([`Counterfactual::solver`]). Every counterfactual returned was re-predicted by the
//! model and flips the decision; when none exists under the constraints (or the seeded
//! search found none) the error says why ([`Impossible`](crate::Impossible)).

mod forest;
mod linear;
mod search;
mod tree;

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use whyline_models::{LinearLink, Model, ModelKind};

use crate::background::Background;
use crate::error::{ExplainError, Impossible, Result};
use crate::model_output::{is_classifier, kind_name, predict_f32};

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

/// Which search finds the counterfactual.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CounterfactualSearch {
    /// The exact method where the model has one (binary logistic, decision tree, tree
    /// ensemble within [`CounterfactualSettings::max_exact_nodes`]), the seeded search
    /// otherwise.
    #[default]
    Auto,
    /// Exact methods only: [`ExplainError::TooLarge`] past the budget,
    /// [`ExplainError::MethodDoesNotFit`] for models without one.
    Exact,
    /// The seeded search, for every classifier.
    Seeded,
}

/// The method that found a counterfactual.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CounterfactualMethod {
    /// Closed form of a binary logistic model (exact).
    ClosedForm,
    /// Every leaf region of a decision tree (exact).
    TreeLeaves,
    /// Branch and bound over leaf combinations of a tree ensemble (exact).
    ForestLeaves,
    /// The seeded search (valid, not guaranteed minimal).
    Seeded,
}

/// Constraints and cost of a counterfactual search.
///
/// Every field has a serde default, so settings written before a field existed still read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CounterfactualSettings {
    /// Features that may not change.
    pub immutable: Vec<usize>,
    /// `(feature, low, high)`: the counterfactual value stays within `[low, high]`.
    pub bounds: Vec<(usize, f32, f32)>,
    /// The cost minimised.
    pub cost: Cost,
    /// Seed of the seeded search (kept in the output for audit).
    pub seed: u64,
    /// Exact, seeded, or exact where possible (the default).
    pub search: CounterfactualSearch,
    /// Model evaluations the seeded search may make (default 4,000).
    pub max_evaluations: usize,
    /// Tree nodes the exact tree-ensemble search may walk (default 1,000,000, ~20 ms);
    /// past it the search stops with [`ExplainError::TooLarge`] (exact search) or hands
    /// over to the seeded search (auto).
    pub max_exact_nodes: usize,
}

impl Default for CounterfactualSettings {
    fn default() -> Self {
        CounterfactualSettings {
            immutable: Vec::new(),
            bounds: Vec::new(),
            cost: Cost::L1,
            seed: 0,
            search: CounterfactualSearch::Auto,
            max_evaluations: 4_000,
            max_exact_nodes: 1_000_000,
        }
    }
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
    /// The method that found it (exact, or the seeded search).
    pub solver: CounterfactualMethod,
    /// Model evaluations the seeded search made (0 for the exact methods).
    pub evaluations: usize,
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

/// Finds the minimal counterfactual of `row`: exact for binary logistic models (closed
/// form), decision trees and small tree ensembles (leaf regions), a seeded search for any
/// other classifier (see [`CounterfactualSearch`]).
/// `background` supplies the MAD of [`Cost::MadL1`].
pub fn counterfactual(
    model: &Model,
    row: &[f32],
    settings: &CounterfactualSettings,
    background: Option<&Background>,
) -> Result<Counterfactual> {
    crate::model_output::refuse_stage(model, "counterfactual")?;
    CounterfactualSearcher::new(model, settings, background)?.find(row)
}

/// The counterfactual search of one model and settings, with what does not depend on the
/// row prepared once: the model checked to be a classifier, the cost weights (the MAD of
/// every background feature for [`Cost::MadL1`]).
#[derive(Clone, Debug)]
pub(crate) struct CounterfactualSearcher<'a> {
    model: &'a Model,
    settings: CounterfactualSettings,
    weights: Vec<f64>,
}

impl<'a> CounterfactualSearcher<'a> {
    /// Checks the model and the settings and computes the cost weights.
    pub(crate) fn new(
        model: &'a Model,
        settings: &CounterfactualSettings,
        background: Option<&Background>,
    ) -> Result<CounterfactualSearcher<'a>> {
        use whyline_core::Explainable;
        if !is_classifier(model) {
            return Err(ExplainError::MethodDoesNotFit {
                method: "counterfactual",
                model: kind_name(model.kind()),
                hint: "a regressor has no decision to flip",
            });
        }
        Ok(CounterfactualSearcher {
            model,
            settings: settings.clone(),
            weights: cost_weights(model.n_features(), settings, background)?,
        })
    }

    /// Finds the minimal counterfactual of `row`.
    pub(crate) fn find(&self, row: &[f32]) -> Result<Counterfactual> {
        let model = self.model;
        let settings = &self.settings;
        let prediction = predict_f32(model, row)?;
        let weights = &self.weights;
        let original = prediction.value as usize;
        let bounds = feature_bounds(row, settings)?;
        if bounds
            .iter()
            .zip(row)
            .all(|(&(low, high), x)| low >= high || x.is_nan())
        {
            return Err(ExplainError::ImpossibleCounterfactual {
                reason: Impossible::AllFeaturesImmutable,
            });
        }
        let cost = settings.cost;
        let problem = Problem {
            model,
            row,
            original,
            bounds: &bounds,
            weights,
            cost,
        };
        let exact =
            |search: CounterfactualSearch| -> Option<Result<(Vec<f32>, f64, CounterfactualMethod)>> {
                let with = |method| move |(point, value)| (point, value, method);
                let forest = |ensemble: Result<forest::Ensemble<'_>>| {
                    ensemble.and_then(|e| forest::solve(problem, e, settings.max_exact_nodes))
                };
                let found = match model.kind() {
                    ModelKind::Linear(m) if m.link == LinearLink::Logistic => {
                        linear::solve(m, row, original, &bounds, weights, cost)
                            .map(with(CounterfactualMethod::ClosedForm))
                    }
                    ModelKind::DecisionTree(m) => {
                        tree::solve(m, row, original, &bounds, weights, cost)
                            .map(with(CounterfactualMethod::TreeLeaves))
                    }
                    ModelKind::RandomForest(m) => forest(forest::random_forest(m, original))
                        .map(with(CounterfactualMethod::ForestLeaves)),
                    ModelKind::GradientBoosting(m) => forest(forest::boosting(m, original))
                        .map(with(CounterfactualMethod::ForestLeaves)),
                    _ => return None,
                };
                match (search, found) {
                    // Past the budget, or leaves that are not boxes: the seeded search takes over.
                    (
                        CounterfactualSearch::Auto,
                        Err(ExplainError::TooLarge { .. } | ExplainError::MethodDoesNotFit { .. }),
                    ) => None,
                    (_, found) => Some(found),
                }
            };
        let seeded = || search::solve(problem, settings.seed, settings.max_evaluations);
        let (candidate, cost, method, evaluations) = match settings.search {
            CounterfactualSearch::Seeded => {
                let found = seeded()?;
                (
                    found.point,
                    found.cost,
                    CounterfactualMethod::Seeded,
                    found.evaluations,
                )
            }
            search => match exact(search) {
                Some(found) => {
                    let (point, value, method) = found?;
                    (point, value, method, 0)
                }
                None if search == CounterfactualSearch::Exact => {
                    return Err(ExplainError::MethodDoesNotFit {
                        method: "exact counterfactual",
                        model: kind_name(model.kind()),
                        hint: "exact methods cover binary logistic models and tree classifiers; use search: seeded",
                    });
                }
                None => {
                    let found = seeded()?;
                    (
                        found.point,
                        found.cost,
                        CounterfactualMethod::Seeded,
                        found.evaluations,
                    )
                }
            },
        };
        let alternative = predict_f32(model, &candidate)?.value as usize;
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
            solver: method,
            evaluations,
            class_names: names.classes.clone(),
            settings: settings.clone(),
        })
    }
}

/// One counterfactual problem: the row and its decision, the box each feature may move in
/// (`[x, x]` for immutable features) and the cost.
#[derive(Clone, Copy, Debug)]
struct Problem<'p> {
    model: &'p Model,
    row: &'p [f32],
    original: usize,
    bounds: &'p [(f64, f64)],
    weights: &'p [f64],
    cost: Cost,
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
            return Err(ExplainError::setting(
                format!("bounds[{j}]"),
                format!("an interval [low, high] of a feature, holding the row's value {x}"),
                format_args!("[{low}, {high}]"),
            ));
        }
        if let Some(slot) = bounds.get_mut(j) {
            *slot = (f64::from(low), f64::from(high));
        }
    }
    for &j in &settings.immutable {
        let x = f64::from(row.get(j).copied().ok_or_else(|| {
            ExplainError::setting(
                "immutable",
                format!("feature indices below {}", row.len()),
                j,
            )
        })?);
        if let Some(slot) = bounds.get_mut(j) {
            *slot = (x, x);
        }
    }
    Ok(bounds)
}
