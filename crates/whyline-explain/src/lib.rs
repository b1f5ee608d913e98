//! Attributions that are not the model's own path: how much each feature pushed one
//! decision (TreeSHAP, LinearSHAP, KernelSHAP, LIME, integrated gradients, saliency), and
//! the smallest change that would have flipped it (counterfactuals).
//!
//! # Overview
//!
//! An [`Explainer`] is built once per model, [`MethodSettings`] and [`Background`], and
//! applied to many rows: [`Explainer::explain_row`] on the calling thread,
//! [`Explainer::explain_rows`] on every core, in input order and with the same bits
//! whatever the number of threads. What does not depend on the row is prepared in
//! [`Explainer::new`]: the compiled trees of TreeSHAP, LinearSHAP's expectation,
//! KernelSHAP's coalitions and weights (and a linear model's coalition margins), LIME's
//! discretiser, the counterfactual cost weights. Each row gives an [`Explanation`]: an
//! [`Attribution`] (values, base value, the model's prediction and the sum-check residual;
//! [`Attribution::to_json`], [`Attribution::to_text`]) or a [`Counterfactual`].
//!
//! The methods, named by [`MethodSettings`]:
//!
//! - **TreeSHAP** ([`TreeShapSettings`]; [`TreeShap`] for every output at once): exact
//!   path-dependent TreeSHAP for decision trees, random forests and gradient boosting from
//!   scikit-learn, XGBoost and LightGBM, with each library's covers and missing-value
//!   routing; interventional over a background on request.
//! - **LinearSHAP** ([`LinearShapSettings`]; [`LinearShap`]): `w_j (x_j − E[x_j])` for
//!   linear and logistic models.
//! - **KernelSHAP** ([`KernelShapSettings`]; [`kernel_shap`]): any model; exact over every
//!   coalition up to 16 features, otherwise a seeded, unbiased sampled estimate with a
//!   standard error per feature.
//! - **LIME** ([`LimeSettings`]; [`lime()`]): tabular LIME with the `lime` package's
//!   defaults (quartile discretisation, 5,000 samples, kernel width `0.75 √M`, ridge
//!   surrogate), seeded.
//! - **Integrated gradients** and **saliency** ([`GradientSettings`];
//!   [`integrated_gradients`]): Gauss–Legendre or Riemann, with the convergence delta, for
//!   MLPs and linear models.
//! - **Counterfactuals** ([`CounterfactualSettings`]; [`counterfactual()`]): exact for
//!   binary logistic models, decision trees and small tree ensembles, a seeded search for
//!   any other classifier; immutable features, bounds, L1, L2 or MAD-weighted L1 costs.
//!
//! [`explain`] is the one-row shortcut (it builds an [`Explainer`] for that row).
//!
//! # Example
//!
//! ```
//! use whyline_explain::{Background, Explainer, Explanation, LinearShapSettings, MethodSettings};
//! use whyline_models::Model;
//!
//! let text = r#"{"format":"whyline-model","format_version":1,
//!   "model_type":"logistic_regression","task":"classification","n_features":2,
//!   "feature_names":["age","income"],"class_names":["deny","approve"],
//!   "model":{"link":"logistic","n_outputs":1,"coef":[-0.5,2.0],"intercept":[0.25]}}"#;
//! let model = Model::from_bytes(text.as_bytes(), "credit.json")?;
//! let background = Background::from_rows(&[vec![0.0, 0.0], vec![2.0, 1.0]], 2)?;
//! let settings = MethodSettings::LinearShap(LinearShapSettings::default());
//! let explainer = Explainer::new(&model, &settings, Some(&background))?;
//! let Explanation::Attribution(attribution) = explainer.explain_row(&[1.0, 0.5])? else {
//!     unreachable!("LinearSHAP gives attributions");
//! };
//! // E[x] = (1, 0.5): the row is the mean, so nothing moved the decision.
//! assert_eq!(attribution.values, vec![0.0, 0.0]);
//! assert_eq!(attribution.base_value, 0.75);
//! assert!(attribution.residual < 1e-12);
//! // The one margin of a binary logistic model is the positive class's.
//! assert_eq!(attribution.output.name.as_deref(), Some("approve"));
//! assert!(attribution.to_json()["method"] == "linear-shap");
//! # Ok::<(), whyline_explain::ExplainError>(())
//! ```
//!
//! # Guarantees
//!
//! - Every [`Attribution`] carries `residual = |base + Σ values − f(x)|` with `f(x)` taken
//!   from the model's own prediction, so additivity is checked on every explanation served.
//! - Determinism (design invariant 1): fixed summation order; the sampling methods start a
//!   ChaCha8 generator from the settings' seed for every row, so the same row, settings and
//!   seed give the same bits on any thread, alone or in a batch.
//! - No panics (invariant 5): bad widths, NaN where a model takes none, a method that does
//!   not fit the model, a setting out of range are [`ExplainError`]s.
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
pub use tree_shap::{CoverSource, ROWS_PER_BLOCK, TreeShap, TreeShapAlgorithm, TreeShapScratch};
