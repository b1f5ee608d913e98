//! The one error type of `whyline-explain`.
//!
//! Every variant carries what a caller needs to act: the method and the model kind that do
//! not fit, the background row of the wrong width, the constraint that makes a
//! counterfactual impossible.

use whyline_core::CoreError;
use whyline_models::ModelError;

use std::borrow::Cow;

/// Result alias used across `whyline-explain`.
pub type Result<T, E = ExplainError> = std::result::Result<T, E>;

/// Everything that can go wrong while explaining a decision.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExplainError {
    /// The method cannot explain this kind of model (TreeSHAP on a KNN model).
    #[error("method {method} does not explain a {model} model ({hint})")]
    MethodDoesNotFit {
        /// The method asked for.
        method: &'static str,
        /// The kind of model it was asked to explain.
        model: &'static str,
        /// What would work instead.
        hint: &'static str,
    },
    /// A background row has the wrong number of features.
    #[error("background set row {row}: {found} features, the model takes {expected}")]
    BackgroundWidth {
        /// Row of the background set (0-based).
        row: usize,
        /// Features the model takes.
        expected: usize,
        /// Features the row has.
        found: usize,
    },
    /// The background set has no rows, and the model has no training means to use instead.
    #[error("background set is empty and the model carries no training means")]
    EmptyBackground,
    /// The method needs a background (training) set and none was given.
    #[error("method {method} needs a background set: {why}")]
    BackgroundRequired {
        /// The method asked for.
        method: &'static str,
        /// What it takes from the background.
        why: &'static str,
    },
    /// The explained row has the wrong number of features.
    #[error("input row: {found} features, the model takes {expected}")]
    InputWidth {
        /// Features the model takes.
        expected: usize,
        /// Features the row has.
        found: usize,
    },
    /// The explained row holds a value the model cannot take (NaN where the model has no
    /// missing-value rule, or an infinity).
    #[error("input row: feature {feature_index} is {value}, which this model cannot take")]
    InvalidInput {
        /// The feature.
        feature_index: usize,
        /// Its value.
        value: f32,
    },
    /// A tree node's cover (the weight TreeSHAP splits by) is zero or not finite.
    #[error("tree {tree}, node {node}: cover {cover} cannot weight its children")]
    BadCover {
        /// Tree index in the ensemble.
        tree: usize,
        /// Node index in the tree.
        node: usize,
        /// The cover found.
        cover: f64,
    },
    /// A setting is out of its range: the one shape of this error in every whyline crate
    /// (the setting, what it accepts, what was given). The explained output is a setting
    /// too (`output`), as are the space, the samples, the kernel width, the bounds.
    #[error("setting {setting} must be {expected}, got {found}")]
    InvalidSetting {
        /// The setting (`samples`, `kernel_width`, `output`, `bounds[3]`).
        setting: Cow<'static, str>,
        /// What it accepts.
        expected: Cow<'static, str>,
        /// What was given.
        found: String,
    },
    /// A background value is NaN or infinite.
    #[error(
        "background set row {row}: feature {feature_index} is {value}; background values must be finite"
    )]
    NonFiniteBackground {
        /// Row of the background set (0-based).
        row: usize,
        /// The feature.
        feature_index: usize,
        /// Its value.
        value: f32,
    },
    /// A LIME neighbourhood's values, targets and distances do not form rows of the
    /// model's width.
    #[error(
        "lime: {values} values, {targets} targets and {distances} distances do not form rows of {n_features} features"
    )]
    NeighbourhoodShape {
        /// Values given.
        values: usize,
        /// Targets given.
        targets: usize,
        /// Distances (or weights) given.
        distances: usize,
        /// Features per row.
        n_features: usize,
    },
    /// LIME's ridge surrogate could not be fitted: its system is not positive definite at
    /// a feature (a degenerate neighbourhood).
    #[error(
        "lime: the ridge system of the surrogate is not positive definite at feature {feature_index}"
    )]
    SingularSurrogate {
        /// The feature.
        feature_index: usize,
    },
    /// No counterfactual exists under the constraints.
    #[error("no counterfactual: {reason}")]
    ImpossibleCounterfactual {
        /// Why.
        reason: Impossible,
    },
    /// An exact search would exceed its budget (the exact counterfactual search over the
    /// leaf regions of a large forest): the caller can raise the budget or use the seeded
    /// search.
    #[error(
        "{method}: the exact search needs more than its budget of {limit} {unit} (setting {setting}); raise it or use the seeded search (search: seeded)"
    )]
    TooLarge {
        /// The exact method (`counterfactual over forest leaf regions`).
        method: &'static str,
        /// What the budget counts (`search nodes`).
        unit: &'static str,
        /// The setting holding the budget (`max_exact_nodes`).
        setting: &'static str,
        /// The budget.
        limit: usize,
    },
    /// [`explain`](crate::explain) was asked for a method whose result is not an
    /// attribution (a counterfactual).
    #[error(
        "method {method} does not return an attribution; use Explainer::explain_row, which returns an Explanation"
    )]
    NotAnAttribution {
        /// The method asked for.
        method: &'static str,
    },
    /// The model failed on a row the explainer built.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model rejected a row.
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl ExplainError {
    /// [`ExplainError::InvalidSetting`].
    pub(crate) fn setting(
        setting: impl Into<Cow<'static, str>>,
        expected: impl Into<Cow<'static, str>>,
        found: impl std::fmt::Display,
    ) -> ExplainError {
        ExplainError::InvalidSetting {
            setting: setting.into(),
            expected: expected.into(),
            found: found.to_string(),
        }
    }

    /// The explained output `output` of a model with `n_outputs` outputs does not exist.
    pub(crate) fn output_out_of_range(output: usize, n_outputs: usize) -> ExplainError {
        ExplainError::setting(
            "output",
            format!("below {n_outputs}, the number of outputs of the model"),
            output,
        )
    }
}

/// Why a counterfactual cannot exist.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub enum Impossible {
    /// Every feature that could change the decision is immutable.
    AllFeaturesImmutable,
    /// The mutable features, within their bounds, cannot move the decision value past the
    /// threshold: the best reachable value is `best`, the threshold `threshold`.
    NotReachable {
        /// The best decision value reachable within the bounds.
        best: f64,
        /// The decision threshold to cross.
        threshold: f64,
    },
    /// The row is already classified as the target.
    AlreadyTarget,
    /// No leaf region of the trees that gives the target is compatible with the bounds and
    /// the immutable features.
    NoRegion,
    /// The search found no valid counterfactual within its budget.
    SearchExhausted {
        /// Candidates evaluated.
        evaluated: usize,
    },
}

impl std::fmt::Display for Impossible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Impossible::AllFeaturesImmutable => {
                write!(f, "every feature that moves the decision is immutable")
            }
            Impossible::NotReachable { best, threshold } => write!(
                f,
                "within the bounds the decision value reaches at best {best}, short of the threshold {threshold}"
            ),
            Impossible::AlreadyTarget => write!(f, "the row already has the target decision"),
            Impossible::NoRegion => write!(
                f,
                "no leaf region giving the target is compatible with the bounds and immutable features"
            ),
            Impossible::SearchExhausted { evaluated } => write!(
                f,
                "the search evaluated {evaluated} candidates and found none that flips the decision"
            ),
        }
    }
}
