//! [`Model`]: any supported model loaded from any supported file, explained with
//! [`AnyPath`].

use std::path::Path;
use std::sync::Arc;

use whyline_core::{
    AnyPath, ClusterPath, Explainable, ForestPath, KnnPath, LinearPath, ModelIdentity, ModelRecord,
    NeuralPath, TreePath,
};

use crate::boosting::GradientBoosting;
use crate::decision_tree::DecisionTree;
use crate::error::{ModelError, Result};
use crate::forest::RandomForest;
use crate::identity::ModelFormat;
use crate::import::detect::{Detected, detect};
use crate::import::{aprender, aprender_safetensors, lightgbm, whyline_json, xgboost};
use crate::info::{ModelInfo, Prediction};
use crate::kmeans::KMeansModel;
use crate::knn::KnnModel;
use crate::linear::LinearModel;
use crate::mlp::Mlp;
use crate::preprocessing::{Preprocessing, remap_path};
use crate::tree::Tree;

/// One model of any family.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ModelKind {
    /// Linear or logistic regression.
    Linear(LinearModel),
    /// A single decision tree.
    DecisionTree(DecisionTree),
    /// A random forest.
    RandomForest(RandomForest),
    /// Gradient-boosted trees (scikit-learn, XGBoost, LightGBM).
    GradientBoosting(GradientBoosting),
    /// K-nearest neighbours.
    Knn(KnnModel),
    /// A multilayer perceptron.
    Mlp(Mlp),
    /// Centroid clustering (k-means).
    KMeans(KMeansModel),
}

/// How to load a model file, beyond its bytes.
///
/// ```
/// use whyline_models::LoadOptions;
/// let options = LoadOptions::default().with_apr_public_key([7; 32]);
/// assert_eq!(options.apr_public_key, Some([7; 32]));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// The Ed25519 public key a signed aprender `.apr` file must verify with. Without it a
    /// signed file is verified with the key it carries, which proves only that the signed
    /// bytes are intact, not who signed them.
    pub apr_public_key: Option<[u8; 32]>,
}

impl LoadOptions {
    /// These options with `key` as the trusted `.apr` signing key.
    pub fn with_apr_public_key(mut self, key: [u8; 32]) -> LoadOptions {
        self.apr_public_key = Some(key);
        self
    }

    /// Reads an Ed25519 public key file (32 raw bytes, or 64 hexadecimal digits) for
    /// [`with_apr_public_key`](LoadOptions::with_apr_public_key).
    pub fn read_apr_public_key(path: impl AsRef<Path>) -> Result<[u8; 32]> {
        crate::import::aprender_signature::read_public_key(path.as_ref())
    }
}

/// What an importer returns.
pub(crate) struct Loaded {
    pub(crate) kind: ModelKind,
    pub(crate) format_version: String,
    pub(crate) model_type: String,
    pub(crate) producer: String,
}

/// A model's preprocessing stage, its input-column view, and the estimator alone.
#[derive(Clone, Debug, PartialEq)]
struct Stage {
    preprocessing: Preprocessing,
    /// Input names and classes: what the model shows the user.
    info: ModelInfo,
    /// The estimator over its own features (no stage).
    estimator: Model,
}

/// A model loaded from a file, with its identity (SHA-256 of the file bytes, declared type
/// and version), its format and its producer.
///
/// ```
/// use whyline_models::Model;
/// let text = r#"{"format":"whyline-model","format_version":1,"model_type":"linear_regression",
///   "task":"regression","n_features":2,"feature_names":["age","income"],
///   "model":{"link":"identity","n_outputs":1,"coef":[0.5,2.0],"intercept":[1.0]}}"#;
/// use whyline_core::Explainable;
/// let model = Model::from_bytes(text.as_bytes(), "inline.json")?;
/// assert_eq!(model.predict(&[2.0, 3.0])?.value, 8.0);
/// assert_eq!(model.identity().map(|id| id.model_type.as_str()), Some("linear_regression"));
/// # Ok::<(), whyline_models::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Shared with the estimator of a model with a stage, so a pipeline holds its trees once.
    kind: Arc<ModelKind>,
    identity: ModelIdentity,
    format: ModelFormat,
    producer: String,
    stage: Option<Arc<Stage>>,
}

impl ModelKind {
    /// Builds the compact walks of every tree of the model (none for other families), so
    /// that its first decision allocates nothing.
    fn prepare_trees(&self) {
        let trees: &[Tree] = match self {
            ModelKind::DecisionTree(model) => std::slice::from_ref(&model.tree),
            ModelKind::RandomForest(model) => &model.trees,
            ModelKind::GradientBoosting(model) => &model.trees,
            _ => &[],
        };
        for tree in trees {
            tree.prepare_walks();
        }
    }
}

impl Model {
    /// Reads and loads a model file, detecting its format from its content.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::load_with(path, &LoadOptions::default())
    }

    /// Reads and loads a model file with `options` (a trusted key for signed `.apr` files).
    pub fn load_with(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
        Model::from_bytes_with(&bytes, path, options)
    }

    /// Loads a model from its file bytes; `source` (the file's path, or a name for bytes
    /// from elsewhere) is the `path` of every error.
    pub fn from_bytes(bytes: &[u8], source: impl AsRef<Path>) -> Result<Model> {
        Model::from_bytes_with(bytes, source, &LoadOptions::default())
    }

    /// [`from_bytes`](Model::from_bytes) with `options`.
    pub fn from_bytes_with(
        bytes: &[u8],
        source: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<Model> {
        let file = source.as_ref();
        let mut preprocessing = None;
        let (format, loaded) = match detect(bytes, file)? {
            Detected::Whyline(value) => {
                let (loaded, stage) = whyline_json::load_with_stage(&value, file)?;
                preprocessing = stage;
                (ModelFormat::WhylineJson, loaded)
            }
            Detected::Xgboost(value) => (ModelFormat::XgboostJson, xgboost::load(&value, file)?),
            Detected::LightgbmText(text) => {
                (ModelFormat::LightgbmText, lightgbm::load(text, file)?)
            }
            Detected::Safetensors => (
                ModelFormat::AprenderSafetensors,
                aprender_safetensors::load(bytes, file)?,
            ),
            Detected::Aprender => (
                ModelFormat::AprenderApr,
                aprender::load(bytes, file, options)?,
            ),
        };
        // Boosters' objectives are prefixed with their library, so the type alone says
        // which semantics produced the decision (`xgboost:binary:logistic`).
        let model_type = match format {
            ModelFormat::WhylineJson => loaded.model_type,
            ModelFormat::XgboostJson => format!("xgboost:{}", loaded.model_type),
            ModelFormat::LightgbmText => format!("lightgbm:{}", loaded.model_type),
            ModelFormat::AprenderApr | ModelFormat::AprenderSafetensors => {
                format!("aprender:{}", loaded.model_type)
            }
        };
        let identity = ModelIdentity::from_bytes(bytes, &model_type, &loaded.format_version);
        // The importers have finished every tree (some fill counts and categories after
        // validating): copy them into their compact walks now.
        loaded.kind.prepare_trees();
        let kind = Arc::new(loaded.kind);
        let stage = preprocessing.map(|(preprocessing, info): (Preprocessing, ModelInfo)| {
            Arc::new(Stage {
                preprocessing,
                info,
                estimator: Model {
                    kind: Arc::clone(&kind),
                    identity: identity.clone(),
                    format,
                    producer: loaded.producer.clone(),
                    stage: None,
                },
            })
        });
        Ok(Model {
            kind,
            identity,
            format,
            producer: loaded.producer,
            stage,
        })
    }

    /// The preprocessing stage before the estimator (a scikit-learn `Pipeline`'s scalers,
    /// imputers and encoders), when the model has one: then rows hold the input columns it
    /// names, a categorical column's value being its category's index
    /// ([`crate::preprocessing`]).
    pub fn preprocessing(&self) -> Option<&Preprocessing> {
        self.stage.as_deref().map(|stage| &stage.preprocessing)
    }

    /// The estimator alone, over its own features: this model when it has no
    /// preprocessing stage. TreeSHAP and the other explainers work on it, and add its
    /// attributions back into the input columns.
    pub fn estimator(&self) -> &Model {
        match self.stage.as_deref() {
            Some(stage) => &stage.estimator,
            None => self,
        }
    }

    /// The estimator's features of an input row (the row itself without a stage).
    pub fn transform_row(&self, row: &[f64]) -> Result<Vec<f64>> {
        match self.preprocessing() {
            Some(stage) => Ok(stage.transform(row)?),
            None => Ok(row.to_vec()),
        }
    }

    /// An estimator error about feature `j` retold about the input column it comes from.
    fn input_error(&self, error: whyline_core::CoreError) -> whyline_core::CoreError {
        let Some(stage) = self.preprocessing() else {
            return error;
        };
        match error {
            whyline_core::CoreError::NonFiniteInput {
                row,
                feature_index,
                value,
                ..
            } => {
                let input = stage
                    .features
                    .get(feature_index)
                    .map_or(feature_index, |f| f.input);
                whyline_core::CoreError::NonFiniteInput {
                    row,
                    feature_index: input,
                    feature_name: stage.inputs.get(input).map(|c| c.name.clone()),
                    value,
                }
            }
            other => other,
        }
    }

    fn model_error(&self, error: ModelError) -> ModelError {
        match error {
            ModelError::Input(core) => ModelError::Input(self.input_error(core)),
            other => other,
        }
    }

    /// The estimator's features of an `f32` input row, rounded to `f32`: what the
    /// explained path of a model with a preprocessing stage walks.
    fn features_f32(&self, stage: &Preprocessing, row: &[f32]) -> whyline_core::Result<Vec<f32>> {
        let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
        #[allow(clippy::cast_possible_truncation)] // the explained path is f32
        Ok(stage
            .transform(&wide)?
            .into_iter()
            .map(|x| x as f32)
            .collect())
    }

    /// The model itself: the estimator, over its own features (see
    /// [`estimator`](Model::estimator) when the model has a preprocessing stage).
    pub fn kind(&self) -> &ModelKind {
        &self.kind
    }

    /// The once-per-log record of this model (identity and names), stamped `recorded_ns`.
    pub fn record(&self, recorded_ns: u64) -> ModelRecord {
        ModelRecord {
            identity: self.identity.clone(),
            feature_names: self.info().names.features.clone(),
            class_names: self.info().names.classes.clone(),
            recorded_ns,
            // The monitor that records it names its own digest.
            input_digest: whyline_core::DigestAlgorithm::default(),
        }
    }

    /// The detected file format.
    pub fn format(&self) -> ModelFormat {
        self.format
    }

    /// The library that trained the model, with its version when the file says
    /// (`scikit-learn 1.9.1`, `xgboost 3.2.0`, `lightgbm`, `aprender 0.25.0`).
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// Names, labels and training statistics.
    pub fn info(&self) -> &ModelInfo {
        if let Some(stage) = self.stage.as_deref() {
            return &stage.info;
        }
        match &*self.kind {
            ModelKind::Linear(m) => &m.info,
            ModelKind::DecisionTree(m) => &m.info,
            ModelKind::RandomForest(m) => &m.info,
            ModelKind::GradientBoosting(m) => &m.info,
            ModelKind::Knn(m) => &m.info,
            ModelKind::Mlp(m) => &m.info,
            ModelKind::KMeans(m) => &m.info,
        }
    }

    /// Replaces the feature and class names explanations use (for a file that carries
    /// none, such as aprender's, when the caller knows them).
    ///
    /// With a preprocessing stage the features are the input columns
    /// ([`info`](Model::info)); the estimator keeps its own feature names and takes the
    /// classes.
    pub fn set_names(&mut self, names: whyline_core::Names) {
        if let Some(stage) = self.stage.as_mut() {
            let stage = Arc::make_mut(stage);
            let mut estimator_names = stage.estimator.info().names.clone();
            estimator_names.classes.clone_from(&names.classes);
            stage.estimator.set_names(estimator_names);
            stage.info.names = names;
            // The model and its estimator share one kind again.
            self.kind = Arc::clone(&stage.estimator.kind);
            return;
        }
        let info = match Arc::make_mut(&mut self.kind) {
            ModelKind::Linear(m) => &mut m.info,
            ModelKind::DecisionTree(m) => &mut m.info,
            ModelKind::RandomForest(m) => &mut m.info,
            ModelKind::GradientBoosting(m) => &mut m.info,
            ModelKind::Knn(m) => &mut m.info,
            ModelKind::Mlp(m) => &mut m.info,
            ModelKind::KMeans(m) => &mut m.info,
        };
        info.names = names;
    }

    /// Predicts one row in the library's terms: value or class, probabilities, raw outputs.
    ///
    /// The row stays in f64 until the family reads it as its library does: linear and
    /// logistic regression, KNN and MLP compute in f64 (as scikit-learn does); scikit-learn's
    /// trees and XGBoost round the row to f32 first; LightGBM compares the f64 values with
    /// its f64 thresholds. The outputs equal the library's to its last bits where it
    /// computes in f64 (and bit for bit for trees). The explained path
    /// ([`Explainable::explain_one`]) takes an f32 row, as the APRT record does.
    pub fn predict(&self, row: &[f64]) -> Result<Prediction> {
        if let Some(stage) = self.preprocessing() {
            let features = stage.transform(row)?;
            return self
                .estimator()
                .predict(&features)
                .map_err(|e| self.model_error(e));
        }
        match &*self.kind {
            ModelKind::Linear(m) => m.predict(row),
            ModelKind::DecisionTree(m) => m.predict(row),
            ModelKind::RandomForest(m) => m.predict(row),
            ModelKind::GradientBoosting(m) => m.predict(row),
            ModelKind::Knn(m) => m.predict(row),
            ModelKind::Mlp(m) => m.predict(row),
            ModelKind::KMeans(m) => m.predict(row),
        }
    }

    /// The leaf each tree reaches from the f64 row (read as [`predict`](Model::predict)
    /// reads it), numbered as the library numbers them (`apply()`, `pred_leaf`), or `None`
    /// for a model without trees.
    pub fn apply(&self, row: &[f64]) -> Result<Option<Vec<u32>>> {
        if let Some(stage) = self.preprocessing() {
            let features = stage.transform(row)?;
            return self
                .estimator()
                .apply(&features)
                .map_err(|e| self.model_error(e));
        }
        match &*self.kind {
            ModelKind::DecisionTree(m) => m.apply(row).map(|leaf| Some(vec![leaf])),
            ModelKind::RandomForest(m) => m.apply(row).map(Some),
            ModelKind::GradientBoosting(m) => m.apply(row).map(Some),
            ModelKind::Linear(_) | ModelKind::Knn(_) | ModelKind::Mlp(_) | ModelKind::KMeans(_) => {
                Ok(None)
            }
        }
    }
}

impl Model {
    /// An empty path of the variant this model produces.
    pub fn empty_path(&self) -> AnyPath {
        match &*self.kind {
            ModelKind::Linear(_) => AnyPath::Linear(LinearPath::default()),
            ModelKind::DecisionTree(_) => AnyPath::Tree(TreePath::default()),
            ModelKind::RandomForest(_) | ModelKind::GradientBoosting(_) => {
                AnyPath::Forest(ForestPath::default())
            }
            ModelKind::Knn(_) => AnyPath::Knn(KnnPath::default()),
            ModelKind::Mlp(_) => AnyPath::Neural(NeuralPath::default()),
            ModelKind::KMeans(_) => AnyPath::Cluster(ClusterPath::default()),
        }
    }
}

impl Explainable for Model {
    type Path = AnyPath;

    fn n_features(&self) -> usize {
        if let Some(stage) = self.preprocessing() {
            return stage.n_inputs();
        }
        match &*self.kind {
            ModelKind::Linear(m) => m.n_features,
            ModelKind::DecisionTree(m) => m.n_features,
            ModelKind::RandomForest(m) => m.n_features,
            ModelKind::GradientBoosting(m) => m.n_features,
            ModelKind::Knn(m) => m.n_features,
            ModelKind::Mlp(m) => m.n_features,
            ModelKind::KMeans(m) => m.n_features,
        }
    }

    fn identity(&self) -> Option<&ModelIdentity> {
        Some(&self.identity)
    }

    fn model_record(&self, recorded_ns: u64) -> Option<ModelRecord> {
        Some(self.record(recorded_ns))
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        if let Some(stage) = self.preprocessing() {
            let features = self.features_f32(stage, row)?;
            return self
                .estimator()
                .predict_one(&features)
                .map_err(|e| self.input_error(e));
        }
        match &*self.kind {
            ModelKind::Linear(m) => m.predict_one(row),
            ModelKind::DecisionTree(m) => m.predict_one(row),
            ModelKind::RandomForest(m) => m.predict_one(row),
            ModelKind::GradientBoosting(m) => m.predict_one(row),
            ModelKind::Knn(m) => m.predict_one(row),
            ModelKind::Mlp(m) => m.predict_one(row),
            ModelKind::KMeans(m) => m.predict_one(row),
        }
    }

    fn explain_into(&self, row: &[f32], path: &mut AnyPath) -> whyline_core::Result<f32> {
        if let Some(stage) = self.preprocessing() {
            let features = self.features_f32(stage, row)?;
            let output = self
                .estimator()
                .explain_into(&features, path)
                .map_err(|e| self.input_error(e))?;
            remap_path(stage, row, path);
            return Ok(output);
        }
        match (&*self.kind, &mut *path) {
            (ModelKind::Linear(m), AnyPath::Linear(p)) => m.explain_into(row, p),
            (ModelKind::DecisionTree(m), AnyPath::Tree(p)) => m.explain_into(row, p),
            (ModelKind::RandomForest(m), AnyPath::Forest(p)) => m.explain_into(row, p),
            (ModelKind::GradientBoosting(m), AnyPath::Forest(p)) => m.explain_into(row, p),
            (ModelKind::Knn(m), AnyPath::Knn(p)) => m.explain_into(row, p),
            (ModelKind::Mlp(m), AnyPath::Neural(p)) => m.explain_into(row, p),
            (ModelKind::KMeans(m), AnyPath::Cluster(p)) => m.explain_into(row, p),
            // The caller's path holds another variant: replace it with this model's own
            // (empty) path, which the arms above match, so this recurses once.
            _ => {
                *path = self.empty_path();
                self.explain_into(row, path)
            }
        }
    }
}
