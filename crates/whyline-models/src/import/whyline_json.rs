//! The whyline JSON model format, versions 1 and 2 (`docs/model-format.md`), written by
//! `python/whyline/export.py`. Version 2 adds the preprocessing stage of a pipeline
//! (`whyline_preprocessing.rs`).

use std::path::Path;

use serde_json::Value;
use whyline_core::Names;

use super::whyline_preprocessing;
use super::whyline_tree::{
    TreeSettings, check_values, class_fractions, has_missing_rule, hist_trees, tree, trees,
};
use super::{array_field, check_len, f64_array, field, product, str_field, usize_field};
use crate::boosting::{Accumulation, GradientBoosting, Link};
use crate::decision_tree::{DecisionTree, Task};
use crate::error::{ModelError, Result};
use crate::forest::RandomForest;
use crate::info::{FeatureStats, ModelInfo};
use crate::knn::{KnnModel, KnnWeights};
use crate::linear::{LinearLink, LinearModel};
use crate::mlp::{Activation, DenseLayer, Mlp};
use crate::model::{Loaded, ModelKind};
use crate::preprocessing::Preprocessing;
use crate::tree::InputPrecision;

/// The value of the `format` field.
pub(crate) const FORMAT: &str = "whyline-model";

/// Reads a parsed whyline JSON document: the envelope (version, type, task, names and
/// statistics), then the family's `model` body.
///
/// Returns the preprocessing stage (and the model's input-column view) beside the
/// estimator when the document has one.
pub(crate) fn load_with_stage(
    doc: &Value,
    file: &Path,
) -> Result<(Loaded, Option<(Preprocessing, ModelInfo)>)> {
    let version = format_version(doc, file)?;
    let model_type = str_field(doc, "model_type", "", file)?.to_owned();
    let n_features = usize_field(doc, "n_features", "", file)?;
    let info = read_info(doc, n_features, file)?;
    let stage = match doc.get("preprocessing") {
        None | Some(Value::Null) => None,
        Some(_) if version < 2 => {
            return Err(ModelError::malformed(
                file,
                "preprocessing",
                "a preprocessing stage needs format_version 2",
            ));
        }
        Some(stage) => Some(whyline_preprocessing::read(stage, n_features, &info, file)?),
    };
    let n_classes = info.names.classes.len();
    let task = task(str_field(doc, "task", "", file)?, n_classes, file)?;
    let body = field(doc, "model", "", file)?;
    let kind = match model_type.as_str() {
        "linear_regression"
        | "ridge"
        | "lasso"
        | "elastic_net"
        | "logistic_regression"
        | "sgd_classifier"
        | "linear_svc" => ModelKind::Linear(linear(body, n_features, n_classes, info, file)?),
        "decision_tree" => {
            ModelKind::DecisionTree(decision_tree(body, n_features, task, info, file)?)
        }
        "random_forest" | "extra_trees" => {
            ModelKind::RandomForest(random_forest(body, n_features, task, info, file)?)
        }
        "gradient_boosting" => {
            ModelKind::GradientBoosting(boosting(body, n_features, task, info, file)?)
        }
        "hist_gradient_boosting" => {
            ModelKind::GradientBoosting(hist_boosting(body, n_features, task, info, file)?)
        }
        "knn" => ModelKind::Knn(knn(body, n_features, task, info, file)?),
        "mlp" => ModelKind::Mlp(mlp(body, n_features, task, info, file)?),
        other => {
            return Err(ModelError::unsupported(
                file,
                "model_type",
                other,
                "linear_regression, ridge, lasso, elastic_net, logistic_regression, sgd_classifier, linear_svc, decision_tree, random_forest, extra_trees, gradient_boosting, hist_gradient_boosting, knn, mlp",
            ));
        }
    };
    let loaded = Loaded {
        kind,
        format_version: version.to_string(),
        model_type,
        producer: producer(doc),
    };
    Ok((loaded, stage))
}

/// `format_version`: 1, or 2 (which may carry a preprocessing stage).
fn format_version(doc: &Value, file: &Path) -> Result<usize> {
    let version = usize_field(doc, "format_version", "", file)?;
    if !(1..=2).contains(&version) {
        return Err(ModelError::UnsupportedVersion {
            path: file.to_path_buf(),
            format: "whyline JSON model",
            found: version.to_string(),
            supported: "1 and 2",
        });
    }
    Ok(version)
}

/// `task`: a classifier of at least two classes, or a regressor.
fn task(name: &str, n_classes: usize, file: &Path) -> Result<Task> {
    match name {
        "classification" if n_classes < 2 => Err(ModelError::out_of_range(
            file,
            "class_names",
            format!("{n_classes} classes"),
            "at least two classes for a classifier",
        )),
        "classification" => Ok(Task::Classification { n_classes }),
        "regression" => Ok(Task::Regression),
        other => Err(ModelError::unsupported(
            file,
            "task",
            other,
            "classification or regression",
        )),
    }
}

/// `producer`: the library and its version (`scikit-learn 1.9.1`), or `unknown`.
fn producer(doc: &Value) -> String {
    doc.get("producer")
        .map(|p| {
            let library = p
                .get("library")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let version = p
                .get("library_version")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!("{library} {version}").trim().to_owned()
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A decision tree (`model.tree`); NaN is accepted when the tree has a missing rule.
fn decision_tree(
    body: &Value,
    n_features: usize,
    task: Task,
    info: ModelInfo,
    file: &Path,
) -> Result<DecisionTree> {
    let doc = field(body, "tree", "model", file)?;
    let settings = TreeSettings {
        n_features,
        scale: 1.0,
        read_missing: true,
        input: InputPrecision::F32,
    };
    let mut tree = tree(doc, "model.tree", settings, file)?;
    check_values(&tree, task, "model.tree", file)?;
    if matches!(task, Task::Classification { .. }) {
        class_fractions(&mut tree);
    }
    Ok(DecisionTree {
        tree,
        n_features,
        task,
        allows_missing: has_missing_rule(doc),
        info,
    })
}

/// A random forest (`model.trees`); NaN is accepted when every tree has a missing rule.
fn random_forest(
    body: &Value,
    n_features: usize,
    task: Task,
    info: ModelInfo,
    file: &Path,
) -> Result<RandomForest> {
    let settings = TreeSettings {
        n_features,
        scale: 1.0,
        read_missing: true,
        input: InputPrecision::F32,
    };
    let mut trees = trees(body, settings, file)?;
    for (t, tree) in trees.iter_mut().enumerate() {
        check_values(tree, task, &format!("model.trees[{t}]"), file)?;
        if matches!(task, Task::Classification { .. }) {
            class_fractions(tree);
        }
    }
    let allows_missing = array_field(body, "trees", "model", file)?
        .iter()
        .all(has_missing_rule);
    Ok(RandomForest {
        trees,
        n_features,
        task,
        allows_missing,
        info,
    })
}

fn optional_strings(doc: &Value, name: &str, file: &Path) -> Result<Vec<String>> {
    match doc.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ModelError::malformed(file, format!("{name}[{i}]"), "expected a string")
                })
            })
            .collect(),
        Some(_) => Err(ModelError::malformed(
            file,
            name,
            "expected an array of strings or null",
        )),
    }
}

fn read_info(doc: &Value, n_features: usize, file: &Path) -> Result<ModelInfo> {
    let features = optional_strings(doc, "feature_names", file)?;
    if !features.is_empty() {
        check_len(&features, n_features, "feature_names", file)?;
    }
    let classes = optional_strings(doc, "class_names", file)?;
    let class_values = match doc.get("class_values") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) => f64_array(doc, "class_values", "", file)?,
    };
    if !class_values.is_empty() {
        check_len(&class_values, classes.len(), "class_values", file)?;
    }
    let feature_stats = match doc.get("feature_stats") {
        None | Some(Value::Null) => None,
        Some(stats) => {
            let read = |name: &str| -> Result<Vec<f64>> {
                let values = f64_array(stats, name, "feature_stats", file)?;
                check_len(&values, n_features, &format!("feature_stats.{name}"), file)?;
                Ok(values)
            };
            Some(FeatureStats {
                n_samples: usize_field(stats, "n_samples", "feature_stats", file)? as u64,
                mean: read("mean")?,
                std: read("std")?,
                min: read("min")?,
                max: read("max")?,
            })
        }
    };
    Ok(ModelInfo {
        names: Names { features, classes },
        class_values,
        feature_stats,
    })
}

fn linear(
    body: &Value,
    n_features: usize,
    n_classes: usize,
    info: ModelInfo,
    file: &Path,
) -> Result<LinearModel> {
    let link = match str_field(body, "link", "model", file)? {
        "identity" => LinearLink::Identity,
        "logistic" => LinearLink::Logistic,
        "softmax" => LinearLink::Softmax,
        "ovr_logistic" => LinearLink::OvrLogistic,
        "margin" => LinearLink::Margin,
        other => {
            return Err(ModelError::unsupported(
                file,
                "model.link",
                other,
                "identity, logistic, softmax, ovr_logistic or margin",
            ));
        }
    };
    let n_outputs = usize_field(body, "n_outputs", "model", file)?;
    let expected_outputs = match link {
        LinearLink::Identity | LinearLink::Logistic => 1,
        LinearLink::Softmax | LinearLink::OvrLogistic => n_classes,
        LinearLink::Margin if n_classes == 2 => 1,
        LinearLink::Margin => n_classes,
    };
    if matches!(link, LinearLink::Margin | LinearLink::OvrLogistic) && n_classes < 2 {
        return Err(ModelError::malformed(
            file,
            "model.link",
            "a margin or one-vs-rest link needs a classifier's classes",
        ));
    }
    if n_outputs != expected_outputs {
        return Err(ModelError::malformed(
            file,
            "model.n_outputs",
            format!("{n_outputs}, expected {expected_outputs} for this link"),
        ));
    }
    let coefficients = f64_array(body, "coef", "model", file)?;
    check_len(
        &coefficients,
        product(n_outputs, n_features, "model.coef", file)?,
        "model.coef",
        file,
    )?;
    let intercepts = f64_array(body, "intercept", "model", file)?;
    check_len(&intercepts, n_outputs, "model.intercept", file)?;
    Ok(LinearModel {
        coefficients,
        intercepts,
        n_features,
        link,
        info,
    })
}

fn boosting(
    body: &Value,
    n_features: usize,
    task: Task,
    info: ModelInfo,
    file: &Path,
) -> Result<GradientBoosting> {
    let learning_rate = field(body, "learning_rate", "model", file)?
        .as_f64()
        .ok_or_else(|| ModelError::malformed(file, "model.learning_rate", "expected a number"))?;
    let (link, per_iteration, base_score) = boosting_head(body, task, file)?;
    // scikit-learn's gradient boosting rejects NaN, so its trees get no missing rule.
    let settings = TreeSettings {
        n_features,
        scale: learning_rate,
        read_missing: false,
        input: InputPrecision::F32,
    };
    let trees = trees(body, settings, file)?;
    let head = (link, per_iteration, base_score);
    boosting_model(trees, head, task, n_features, false, info, file)
}

fn knn(
    body: &Value,
    n_features: usize,
    task: Task,
    info: ModelInfo,
    file: &Path,
) -> Result<KnnModel> {
    let weights = match str_field(body, "weights", "model", file)? {
        "uniform" => KnnWeights::Uniform,
        "distance" => KnnWeights::Distance,
        other => {
            return Err(ModelError::unsupported(
                file,
                "model.weights",
                other,
                "uniform or distance",
            ));
        }
    };
    let metric = str_field(body, "metric", "model", file)?;
    if metric != "euclidean" {
        return Err(ModelError::unsupported(
            file,
            "model.metric",
            metric,
            "euclidean",
        ));
    }
    let k = usize_field(body, "n_neighbors", "model", file)?;
    let n_samples = usize_field(body, "n_samples", "model", file)?;
    if k == 0 || k > n_samples {
        return Err(ModelError::out_of_range(
            file,
            "model.n_neighbors",
            k,
            format!("1 to the {n_samples} training samples"),
        ));
    }
    let samples = f64_array(body, "fit_X", "model", file)?;
    check_len(
        &samples,
        product(n_samples, n_features, "model.fit_X", file)?,
        "model.fit_X",
        file,
    )?;
    let targets = f64_array(body, "fit_y", "model", file)?;
    check_len(&targets, n_samples, "model.fit_y", file)?;
    if let Task::Classification { n_classes } = task
        && let Some(i) = targets
            .iter()
            .position(|&y| !(y >= 0.0 && y < n_classes as f64 && y.fract() == 0.0))
    {
        {
            return Err(ModelError::malformed(
                file,
                format!("model.fit_y[{i}]"),
                format!("not a class index below {n_classes}"),
            ));
        }
    }
    Ok(KnnModel {
        samples,
        targets,
        n_samples,
        k,
        weights,
        task,
        n_features,
        info,
    })
}

fn activation(name: &str, field: &str, file: &Path) -> Result<Activation> {
    Ok(match name {
        "identity" => Activation::Identity,
        "relu" => Activation::Relu,
        "tanh" => Activation::Tanh,
        "logistic" => Activation::Logistic,
        "softmax" => Activation::Softmax,
        other => {
            return Err(ModelError::unsupported(
                file,
                field,
                other,
                "identity, relu, tanh, logistic or softmax",
            ));
        }
    })
}

fn mlp(body: &Value, n_features: usize, task: Task, info: ModelInfo, file: &Path) -> Result<Mlp> {
    let hidden = activation(
        str_field(body, "activation", "model", file)?,
        "model.activation",
        file,
    )?;
    if hidden == Activation::Softmax {
        return Err(ModelError::unsupported(
            file,
            "model.activation",
            "softmax",
            "identity, relu, tanh or logistic for hidden layers",
        ));
    }
    let output = activation(
        str_field(body, "out_activation", "model", file)?,
        "model.out_activation",
        file,
    )?;
    let docs = array_field(body, "layers", "model", file)?;
    let mut layers = Vec::with_capacity(docs.len());
    let mut width = n_features;
    for (l, doc) in docs.iter().enumerate() {
        let path = format!("model.layers[{l}]");
        let n_inputs = usize_field(doc, "n_inputs", &path, file)?;
        if n_inputs != width {
            return Err(ModelError::malformed(
                file,
                format!("{path}.n_inputs"),
                format!("{n_inputs}, expected {width}"),
            ));
        }
        let n_outputs = usize_field(doc, "n_outputs", &path, file)?;
        let weights = f64_array(doc, "weights", &path, file)?;
        check_len(
            &weights,
            product(n_inputs, n_outputs, &format!("{path}.weights"), file)?,
            &format!("{path}.weights"),
            file,
        )?;
        let bias = f64_array(doc, "bias", &path, file)?;
        check_len(&bias, n_outputs, &format!("{path}.bias"), file)?;
        layers.push(DenseLayer {
            n_inputs,
            n_outputs,
            weights,
            bias,
        });
        width = n_outputs;
    }
    if layers.is_empty() {
        return Err(ModelError::malformed(
            file,
            "model.layers",
            "a network needs at least one layer",
        ));
    }
    let expected = match (task, output) {
        (Task::Classification { n_classes }, Activation::Softmax) => n_classes,
        (Task::Classification { n_classes: 2 }, Activation::Logistic)
        | (Task::Regression, Activation::Identity) => 1,
        _ => {
            return Err(ModelError::malformed(
                file,
                "model.out_activation",
                "output activation does not fit the task",
            ));
        }
    };
    if width != expected {
        return Err(ModelError::malformed(
            file,
            "model.layers",
            format!("the last layer has {width} outputs, expected {expected}"),
        ));
    }
    Ok(Mlp {
        layers,
        hidden,
        output,
        task,
        n_features,
        info,
    })
}

/// scikit-learn's `HistGradientBoostingClassifier`/`Regressor`: the predictors' trees with
/// their real thresholds (`num_threshold`, compared with the f64 value), missing-value
/// directions and categorical splits; leaf values already hold the learning rate.
fn hist_boosting(
    body: &Value,
    n_features: usize,
    task: Task,
    info: ModelInfo,
    file: &Path,
) -> Result<GradientBoosting> {
    let (link, per_iteration, base_score) = boosting_head(body, task, file)?;
    let trees = hist_trees(body, n_features, file)?;
    let head = (link, per_iteration, base_score);
    // HistGradientBoosting routes NaN by each split's learned direction.
    boosting_model(trees, head, task, n_features, true, info, file)
}

/// The link, trees per iteration and initial raw scores of a boosting model (scikit-learn's
/// gradient boosting and histogram gradient boosting write them alike), checked against the
/// task.
fn boosting_head(body: &Value, task: Task, file: &Path) -> Result<(Link, usize, Vec<f64>)> {
    let link = match str_field(body, "link", "model", file)? {
        "identity" => Link::Identity,
        "logistic" => Link::Logistic { scale: 1.0 },
        "softmax" => Link::Softmax,
        other => {
            return Err(ModelError::unsupported(
                file,
                "model.link",
                other,
                "identity, logistic or softmax",
            ));
        }
    };
    let per_iteration = usize_field(body, "n_trees_per_iteration", "model", file)?;
    let base_score = f64_array(body, "init_raw", "model", file)?;
    check_len(&base_score, per_iteration, "model.init_raw", file)?;
    let expected_groups = match (link, task) {
        (Link::Softmax, Task::Classification { n_classes }) => n_classes,
        (Link::Identity, Task::Regression)
        | (Link::Logistic { .. }, Task::Classification { n_classes: 2 }) => 1,
        _ => {
            return Err(ModelError::malformed(
                file,
                "model.link",
                "link does not fit the task and classes",
            ));
        }
    };
    if per_iteration != expected_groups || per_iteration == 0 {
        return Err(ModelError::malformed(
            file,
            "model.n_trees_per_iteration",
            format!("{per_iteration}, expected {expected_groups}"),
        ));
    }
    Ok((link, per_iteration, base_score))
}

/// A boosting model from its trees (each tree's values checked) and its head.
fn boosting_model(
    trees: Vec<crate::tree::Tree>,
    (link, per_iteration, base_score): (Link, usize, Vec<f64>),
    task: Task,
    n_features: usize,
    allows_missing: bool,
    info: ModelInfo,
    file: &Path,
) -> Result<GradientBoosting> {
    for (t, tree) in trees.iter().enumerate() {
        check_values(tree, Task::Regression, &format!("model.trees[{t}]"), file)?;
    }
    let tree_groups = (0..trees.len())
        .map(|t| (t % per_iteration) as u32)
        .collect();
    Ok(GradientBoosting {
        trees,
        tree_groups,
        base_score,
        link,
        accumulation: Accumulation::F64,
        task,
        n_features,
        allows_missing,
        info,
    })
}
