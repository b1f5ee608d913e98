//! What the model saw: each decision's input row and context, its outcome, and the exact
//! attributions computed from them at investigation time.
//!
//! The ledger stores inputs sealed per subject (issue 10 §1); whoever can open them hands
//! the investigation a [`DecisionInputs`] per decision, keyed by the decision's index in the
//! log, and the outcomes and overrides linked to decisions as [`DecisionOutcome`]s
//! ([`Investigation::inputs`](crate::Investigation::inputs),
//! [`Investigation::outcomes`](crate::Investigation::outcomes)).

use std::collections::BTreeMap;

use serde::Serialize;

/// One decision's inputs as recorded: the feature values the model was given, the context
/// fields the application added, and whether they were erased (the subject's key destroyed).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DecisionInputs {
    /// The input row, one value per feature (empty when erased).
    pub values: Vec<f64>,
    /// Named context fields (detected object, distances, an applicant's id), in order.
    pub context: Vec<(String, serde_json::Value)>,
    /// Whether the inputs were erased: nobody can read them any more.
    pub erased: bool,
}

/// An outcome or a human override linked to a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionOutcome {
    /// The decision's index in the log.
    pub index: u64,
    /// The ground truth when it became known (`cat`, `defaulted`).
    pub label: String,
    /// Who reported it or took over.
    pub by: Option<String>,
    /// The action a human took instead of the model's, when one did.
    pub override_action: Option<String>,
    /// A free-text note.
    pub note: Option<String>,
}

/// What the z-scores of the inputs are measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZScoreBasis {
    /// The training statistics the model file carries.
    Training,
    /// The window's own mean and standard deviation (the model file carries no training
    /// statistics, or no model file was given).
    Window,
}

/// One input of a decision, by feature name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputValue {
    /// The feature's name.
    pub feature: String,
    /// The value the model was given.
    pub value: f64,
    /// `(value − mean) / std` against the report's [`ZScoreBasis`]; `None` when the
    /// standard deviation is 0.
    pub z_score: Option<f64>,
}

/// The exact attribution of one decision (TreeSHAP, LinearSHAP or integrated gradients),
/// signed so that `base_value + Σ values = prediction` (up to `residual`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExactAttribution {
    /// The method (`tree-shap`, `linear-shap`, `integrated-gradients`).
    pub method: String,
    /// The output explained (a class name, or the output's index).
    pub output: String,
    /// Per feature, in feature order: `(name, attribution)`.
    pub values: Vec<(String, f64)>,
    /// The value the attributions start from.
    pub base_value: f64,
    /// The model's output the attributions add up to.
    pub prediction: f64,
    /// `|base_value + Σ values − prediction|`.
    pub residual: f64,
}

impl ExactAttribution {
    /// The `k` largest attributions by magnitude, largest first.
    pub fn top(&self, k: usize) -> Vec<&(String, f64)> {
        let mut sorted: Vec<&(String, f64)> = self.values.iter().collect();
        sorted.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        sorted.truncate(k);
        sorted
    }
}

/// Where a decision flipped: the features whose attributions toward the new decision moved
/// most from the previous decision's inputs to this one's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WhyChanged {
    /// The previous decision.
    pub from: String,
    /// Its sequence number.
    pub from_sequence: u64,
    /// The output both attributions explain (the new decision).
    pub output: String,
    /// The largest shifts, largest first.
    pub shifts: Vec<AttributionShift>,
}

/// How one feature's attribution moved between two decisions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttributionShift {
    /// The feature.
    pub feature: String,
    /// Its attribution for the previous decision's inputs.
    pub before: f64,
    /// Its attribution for this decision's inputs.
    pub after: f64,
    /// `after − before`.
    pub change: f64,
}

/// What an investigation knows beyond the decisions themselves, all keyed by the decision's
/// index in the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionEvidence {
    /// The log index of each trace of the window (parallel to
    /// [`IncidentWindow::traces`](crate::IncidentWindow::traces)); empty for a window
    /// assembled by hand, whose decisions are then keyed by their sequence number.
    pub positions: Vec<u64>,
    /// Inputs per decision.
    pub inputs: BTreeMap<u64, DecisionInputs>,
    /// Outcomes and overrides.
    pub outcomes: Vec<DecisionOutcome>,
    /// Exact attributions per decision, of the output it chose.
    pub attributions: BTreeMap<u64, ExactAttribution>,
    /// For a decision that differs from the one before it: the attribution of the previous
    /// decision's inputs toward this decision's output, to compare with this one's.
    pub previous_toward: BTreeMap<u64, ExactAttribution>,
    /// Training mean and standard deviation per feature, when the model file has them.
    pub training: Option<(Vec<f64>, Vec<f64>)>,
    /// Why attributions are missing, when they are (no model file, a model without an exact
    /// method).
    pub attribution_note: Option<String>,
}
