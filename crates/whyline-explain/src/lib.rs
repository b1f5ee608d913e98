//! Attributions that are not the model's own path: how much each feature pushed one
//! decision (TreeSHAP, LinearSHAP, KernelSHAP), served per request beside the trace.
//!
//! # Overview
//!
//! - [`TreeShap`]: exact path-dependent TreeSHAP for [`DecisionTree`](whyline_models::DecisionTree),
//!   [`RandomForest`](whyline_models::RandomForest) and
//!   [`GradientBoosting`](whyline_models::GradientBoosting) from scikit-learn, XGBoost and
//!   LightGBM, with each library's covers and missing-value routing.
//! - [`LinearShap`]: `w_j (x_j − E[x_j])` for linear and logistic models.
//! - [`kernel_shap`]: any model; exact over every coalition up to 16 features, otherwise a
//!   seeded, unbiased sampled estimate with a standard error per feature.
//! - [`integrated_gradients`]: integrated gradients (Gauss–Legendre or Riemann) with the
//!   convergence delta, and saliency, for MLPs and linear models.
//! - [`lime()`] / [`Lime`]: LIME for tabular data with the `lime` package's defaults
//!   (quartile discretisation, 5,000 samples, kernel width `0.75 √M`, ridge surrogate),
//!   seeded; [`fit_surrogate`] is its weighted ridge step on a given neighbourhood.
//! - [`counterfactual()`]: the minimal change that flips a decision (exact for binary
//!   logistic models and decision trees), with immutable features, bounds and L1, L2 or
//!   MAD-weighted L1 costs, verified against the model and rendered as text.
//! - [`explain`]: one dispatcher from a [`Model`](whyline_models::Model), a row and
//!   [`MethodSettings`] to an [`Attribution`], which serializes to JSON (method, settings,
//!   seed, values, base value, residual) and renders as text.
//!
//! # Example
//!
//! ```
//! use whyline_explain::{explain, Background, LinearShapSettings, MethodSettings};
//! use whyline_models::Model;
//!
//! let text = r#"{"format":"whyline-model","format_version":1,
//!   "model_type":"logistic_regression","task":"classification","n_features":2,
//!   "feature_names":["age","income"],"class_names":["deny","approve"],
//!   "model":{"link":"logistic","n_outputs":1,"coef":[-0.5,2.0],"intercept":[0.25]}}"#;
//! let model = Model::from_bytes(text.as_bytes(), "credit.json")?;
//! let background = Background::from_rows(&[vec![0.0, 0.0], vec![2.0, 1.0]], 2)?;
//! let settings = MethodSettings::LinearShap(LinearShapSettings::default());
//! let attribution = explain(&model, &[1.0, 0.5], &settings, Some(&background))?;
//! // E[x] = (1, 0.5): the row is the mean, so nothing moved the decision.
//! assert_eq!(attribution.values, vec![0.0, 0.0]);
//! assert_eq!(attribution.base_value, 0.75);
//! assert!(attribution.residual < 1e-12);
//! assert!(attribution.to_json()["method"] == "linear-shap");
//! # Ok::<(), whyline_explain::ExplainError>(())
//! ```
//!
//! # Guarantees
//!
//! - Every [`Attribution`] carries `residual = |base + Σ values − f(x)|` with `f(x)` taken
//!   from the model's own prediction, so additivity is checked on every explanation served.
//! - Determinism (design invariant 1): one thread, fixed summation order, seeded ChaCha8
//!   sampling; same inputs, settings and seed give the same bits.
//! - No panics (invariant 5): bad widths, NaN where a model takes none, a method that does
//!   not fit the model are [`ExplainError`]s.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod attribution;
mod background;
mod counterfactual;
mod error;
mod explainer;
mod gradients;
mod kernel_shap;
mod lime;
mod linear_shap;
mod model_output;
mod quadrature;
mod settings;
mod tree_shap;

pub use attribution::{Attribution, ExplainedOutput, OutputSpace};
pub use background::Background;
pub use counterfactual::{
    Cost, Counterfactual, CounterfactualMethod, CounterfactualSearch, CounterfactualSettings,
    FeatureChange, counterfactual,
};
pub use error::{ExplainError, Impossible, Result};
pub use explainer::{Explainer, Explanation, explain, training_means};
pub use gradients::{Integration, integrated_gradients};
pub use kernel_shap::kernel_shap;
pub use lime::lime;
pub use linear_shap::LinearShap;
pub use settings::{
    GradientSettings, KernelShapSettings, LimeSettings, LinearShapSettings, MethodSettings,
    TreeShapSettings,
};
pub use tree_shap::{CoverSource, TreeShap, TreeShapAlgorithm, TreeShapScratch};
