//! Model families with native decision paths, and importers for the files real training
//! tools write: the step of whyline's flow where a model returns each output together with
//! its own explanation.
//!
//! # Overview
//!
//! Each family implements [`whyline_core::Explainable`] with the path type that says how it
//! decides:
//!
//! | family | type | path |
//! |---|---|---|
//! | linear and logistic regression | [`LinearModel`] | [`LinearPath`](whyline_core::LinearPath): `coef[i] × x[i]` per feature |
//! | decision tree | [`DecisionTree`] | [`TreePath`](whyline_core::TreePath): every split taken, the leaf |
//! | random forest | [`RandomForest`] | [`ForestPath`](whyline_core::ForestPath): each tree's path and vote |
//! | gradient-boosted trees | [`GradientBoosting`] | [`ForestPath`](whyline_core::ForestPath): base score plus each tree's leaf margin |
//! | k-nearest neighbours | [`KnnModel`] | [`KnnPath`](whyline_core::KnnPath): neighbours, distances, votes |
//! | multilayer perceptron | [`Mlp`] | [`NeuralPath`](whyline_core::NeuralPath): input gradient, activations |
//!
//! [`Model::load`] reads any supported file — the whyline JSON format written by
//! `python/whyline_export.py` from scikit-learn, XGBoost's JSON, LightGBM's text, aprender's
//! `.apr` (linear and logistic regression) — choosing the importer from the content, and explains with [`AnyPath`](whyline_core::AnyPath).
//! A scikit-learn `Pipeline` (scalers, imputers, one-hot and ordinal encoders, column
//! transformers) loads with a [`Preprocessing`] stage: rows hold the input columns as the
//! user has them (a categorical column's category index; [`Rows::for_model`] reads the
//! strings), [`Model::estimator`] is the estimator over its own features, and decision
//! paths are told in the input columns.
//! Every loaded model carries a [`whyline_core::ModelIdentity`] (returned by
//! [`Explainable::identity`](whyline_core::Explainable::identity)): the SHA-256 of the file's
//! bytes and the type and version the file declares. Tree structures ([`Tree`], [`Node`],
//! [`Split`]) are public for TreeSHAP.
//!
//! # Example
//!
//! ```
//! use whyline_core::{AnyPath, DecisionPath, Explainable};
//! use whyline_models::Model;
//!
//! let text = r#"{"format":"whyline-model","format_version":1,
//!   "model_type":"logistic_regression","task":"classification","n_features":2,
//!   "feature_names":["age","income"],"class_names":["deny","approve"],
//!   "model":{"link":"logistic","n_outputs":1,"coef":[-0.5,2.0],"intercept":[0.25]}}"#;
//! let model = Model::from_bytes(text.as_bytes(), "credit.json")?;
//! let (class, path) = model.explain_one(&[1.0, 0.5])?;
//! assert_eq!(class, 1.0); // 0.25 - 0.5 + 1.0 = 0.75 > 0
//! let AnyPath::Linear(linear) = &path else { unreachable!() };
//! assert_eq!(linear.contributions, vec![-0.5, 1.0]);
//! assert!(path.explain_with(&model.info().names).contains("feature[1] (income): +1"));
//! # Ok::<(), whyline_models::ModelError>(())
//! ```
//!
//! # Guarantees
//!
//! - Exactness: predictions follow each library's numeric semantics (comparison operator,
//!   threshold precision, missing-value rule, summation precision and order, link); the
//!   integration tests compare against the libraries' own outputs. [`Model::predict`] takes
//!   an f64 row and keeps it f64 until the family reads it as its library does (f64 for
//!   linear models, KNN, MLP and LightGBM; rounded to f32 for scikit-learn's trees and
//!   XGBoost), so its outputs equal the library's to 1e-12 relative, and bit for bit for
//!   trees. The explained path ([`Explainable`](whyline_core::Explainable)) takes f32 rows.
//! - No panics: files are validated at load (node, child and feature indices, array
//!   lengths), so prediction indexes safely; bad input is a [`ModelError`] or a
//!   [`whyline_core::CoreError`] naming the file, field or feature.
//! - Determinism: same model bytes and input give the same output bits and path.
//!
//! # Format
//!
//! The whyline JSON model format is documented in `docs/model-format.md`; what is read of
//! aprender's `.apr` container, and its layout, in `docs/aprender-format.md`.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod boosting;
mod decision_tree;
mod error;
mod explained_decision;
mod forest;
mod identity;
mod import;
mod info;
mod kmeans;
mod knn;
mod linear;
mod mlp;
mod model;
pub mod preprocessing;
mod recorded_path;
pub mod rows;
mod scratch;
mod tree;

pub use boosting::{Accumulation, GradientBoosting, Link};
pub use decision_tree::{DecisionTree, Task};
pub use error::{ModelError, Result};
pub use explained_decision::{ExplainedDecision, FeatureAttribution, top_features};
pub use forest::RandomForest;
pub use identity::ModelFormat;
pub use info::{FeatureStats, ModelInfo, Prediction};
pub use kmeans::KMeansModel;
pub use knn::{KnnModel, KnnWeights};
pub use linear::{LinearLink, LinearModel};
pub use mlp::{Activation, DenseLayer, Mlp};
pub use model::{LoadOptions, Model, ModelKind};
pub use preprocessing::{
    Category, DerivedFeature, InputColumn, InputKind, Preprocessing, Transform,
};
pub use recorded_path::{RecordedPathCheck, RecordedPathScratch};
pub use rows::{ColumnMapping, RowFormat, RowOptions, Rows, RowsError};
pub use tree::{InputPrecision, MissingRule, Node, Split, Tree, f32_at_or_below};
