//! The fixtures written by aprender-core 0.72.3 (the library behind today's `aprender`
//! facade): its trees and forests, whose nodes record the impurity and sample count of the
//! training rows reaching them; k-means; linear regression; logistic regression in each
//! `FitMode` and with manual class weights; `Ridge`, `Lasso` and `ElasticNet`, which have
//! no type id of their own, saved under `ModelType::LinearRegression`; an unfitted linear
//! and logistic regression; and the SafeTensors files of `save_safetensors`. The training
//! data are those of `v027.rs`.

use std::fs;
use std::path::Path;

use aprender_core_072 as apr;
use apr::classification::{ClassWeight, FitMode, LogisticRegression};
use apr::cluster::KMeans;
use apr::explainable::path::Explainable;
use apr::explainable::{IntoExplainable, IntoLogisticExplainable};
use apr::format::{Compression, ModelType, SaveOptions, save};
use apr::linear_model::{ElasticNet, Lasso, LinearRegression, Ridge};
use apr::primitives::{Matrix, Vector};
use apr::traits::{Estimator, UnsupervisedEstimator};
use apr::tree::{
    DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier, RandomForestRegressor,
};
use serde_json::{Value, json};

use crate::v027::{blobs, labels, target_of, test_rows, train_x};
use crate::{CREATED_AT, Result, write_json};

/// The version these fixtures are written by (the `aprender_core_072` dependency).
const VERSION: &str = "0.72.3";

pub fn write_all(out: &Path) -> Result<()> {
    let out = out.join(VERSION);
    fs::create_dir_all(&out)?;
    trees(&out)?;
    forests(&out)?;
    kmeans(&out)?;
    linear_regression(&out)?;
    logistic_regressions(&out)?;
    regularised_as_linear_regression(&out)?;
    unfitted(&out)?;
    Ok(())
}

fn options(name: &str, description: &str, compression: Compression) -> SaveOptions {
    let mut options = SaveOptions::default()
        .with_compression(compression)
        .with_name(name)
        .with_description(description);
    options.metadata.created_at = CREATED_AT.to_owned();
    options
}

fn matrix(rows: &[Vec<f32>]) -> Result<Matrix<f32>> {
    let n_cols = rows.first().map_or(0, Vec::len);
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Matrix::from_vec(rows.len(), n_cols, data)?)
}

fn targets(x: &[Vec<f32>]) -> Vector<f32> {
    Vector::from_vec(x.iter().enumerate().map(|(i, r)| target_of(r, i)).collect())
}

/// `format::save` with no compression, zstd and LZ4 (`stem.apr`, `stem.zstd.apr`,
/// `stem.lz4.apr`).
fn save_all<M: serde::Serialize>(
    model: &M,
    model_type: ModelType,
    out: &Path,
    stem: &str,
    description: &str,
) -> Result<()> {
    for (suffix, compression) in [
        ("", Compression::None),
        (".zstd", Compression::ZstdDefault),
        (".lz4", Compression::Lz4),
    ] {
        let path = out.join(format!("{stem}{suffix}.apr"));
        save(model, model_type, &path, options(stem, description, compression))?;
    }
    Ok(())
}

fn rows_of(m: &Matrix<f32>) -> Vec<Vec<f32>> {
    let (n, k) = m.shape();
    (0..n).map(|i| (0..k).map(|j| m.get(i, j)).collect()).collect()
}

/// The nodes of a fitted tree in pre-order (node, left subtree, right subtree), as aprender's
/// own serde writes them: splits `{feature, threshold, impurity, n_node_samples}`, leaves
/// `{output, n_samples, impurity}` (the class label or the value).
fn preorder(model: &impl serde::Serialize) -> Result<Vec<Value>> {
    let value = serde_json::to_value(model)?;
    let mut out = Vec::new();
    walk(&value["tree"], &mut out)?;
    Ok(out)
}

fn walk(node: &Value, out: &mut Vec<Value>) -> Result<()> {
    let Some((variant, body)) = node.as_object().and_then(|o| o.iter().next()) else {
        return Err(format!("not a tree node: {node}").into());
    };
    if variant.ends_with("Node") {
        out.push(json!({
            "feature": body["feature_idx"],
            "threshold": body["threshold"],
            "impurity": body["impurity"],
            "n_node_samples": body["n_node_samples"],
        }));
        walk(&body["left"], out)?;
        walk(&body["right"], out)
    } else {
        let output = body.get("class_label").unwrap_or(&body["value"]);
        out.push(json!({
            "output": output,
            "n_samples": body["n_samples"],
            "impurity": body["impurity"],
        }));
        Ok(())
    }
}

fn trees(out: &Path) -> Result<()> {
    let x = train_x();
    let xm = matrix(&x)?;
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let mut classifier = DecisionTreeClassifier::new().with_max_depth(4);
    classifier.fit(&xm, &labels(&x))?;
    save_all(
        &classifier,
        ModelType::DecisionTree,
        out,
        "decision_tree_classifier",
        "CART classifier, depth 4, 3 classes, 80 rows",
    )?;
    write_json(
        &out.join("decision_tree_classifier.expected.json"),
        &json!({
            "model": "decision_tree_classifier",
            "aprender_version": VERSION,
            "model_type": "DecisionTreeClassifier",
            "inputs": inputs,
            "predict": classifier.predict(&tm),
            "nodes": preorder(&classifier)?,
        }),
    )?;

    let mut regressor = DecisionTreeRegressor::new().with_max_depth(4);
    regressor.fit(&xm, &targets(&x))?;
    save_all(
        &regressor,
        ModelType::DecisionTree,
        out,
        "decision_tree_regressor",
        "CART regressor, depth 4, 80 rows",
    )?;
    write_json(
        &out.join("decision_tree_regressor.expected.json"),
        &json!({
            "model": "decision_tree_regressor",
            "aprender_version": VERSION,
            "model_type": "DecisionTreeRegressor",
            "inputs": inputs,
            "predict": regressor.predict(&tm).as_slice(),
            "nodes": preorder(&regressor)?,
        }),
    )
}

fn forests(out: &Path) -> Result<()> {
    let x = train_x();
    let xm = matrix(&x)?;
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let mut classifier = RandomForestClassifier::new(7)
        .with_max_depth(4)
        .with_random_state(2026);
    classifier.fit(&xm, &labels(&x))?;
    save_all(
        &classifier,
        ModelType::RandomForest,
        out,
        "random_forest_classifier",
        "random forest classifier, 7 trees, depth 4, seed 2026",
    )?;
    write_json(
        &out.join("random_forest_classifier.expected.json"),
        &json!({
            "model": "random_forest_classifier",
            "aprender_version": VERSION,
            "model_type": "RandomForestClassifier",
            "inputs": inputs,
            "predict": classifier.predict(&tm),
            "predict_proba": rows_of(&classifier.predict_proba(&tm)),
            "feature_importances": classifier.feature_importances(),
        }),
    )?;

    let mut regressor = RandomForestRegressor::new(6)
        .with_max_depth(4)
        .with_random_state(2026);
    regressor.fit(&xm, &targets(&x))?;
    save_all(
        &regressor,
        ModelType::RandomForest,
        out,
        "random_forest_regressor",
        "random forest regressor, 6 trees, depth 4, seed 2026",
    )?;
    write_json(
        &out.join("random_forest_regressor.expected.json"),
        &json!({
            "model": "random_forest_regressor",
            "aprender_version": VERSION,
            "model_type": "RandomForestRegressor",
            "inputs": inputs,
            "predict": regressor.predict(&tm).as_slice(),
            "feature_importances": regressor.feature_importances(),
        }),
    )
}

fn kmeans(out: &Path) -> Result<()> {
    let mut model = KMeans::new(3).with_max_iter(100).with_random_state(2026);
    model.fit(&matrix(&blobs())?)?;
    save_all(
        &model,
        ModelType::KMeans,
        out,
        "kmeans",
        "k-means, 3 clusters, 60 rows, seed 2026",
    )?;
    model.save_safetensors(out.join("kmeans.safetensors"))?;
    let inputs = test_rows();
    write_json(
        &out.join("kmeans.expected.json"),
        &json!({
            "model": "kmeans",
            "aprender_version": VERSION,
            "model_type": "KMeans",
            "centroids": rows_of(model.centroids()),
            "inputs": inputs,
            "predict": model.predict(&matrix(&inputs)?),
        }),
    )
}

/// aprender-core's own explanation of each input row (`explainable::LinearPath`): the
/// contributions `coef × x` and the logit `Σ contributions + intercept`, in f32.
fn explained<E: Explainable<Path = apr::explainable::path::LinearPath>>(
    explainable: &E,
    inputs: &[Vec<f32>],
) -> (Vec<Vec<f32>>, Vec<f32>) {
    inputs
        .iter()
        .map(|row| {
            let path = explainable.explain_one(row);
            (path.contributions, path.logit)
        })
        .unzip()
}

fn linear_regression(out: &Path) -> Result<()> {
    let x = train_x();
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let mut model = LinearRegression::new();
    model.fit(&matrix(&x)?, &targets(&x))?;
    save_all(
        &model,
        ModelType::LinearRegression,
        out,
        "linear_regression",
        "OLS, 80 rows, 3 features",
    )?;
    model.save_safetensors(out.join("linear_regression.safetensors"))?;
    let (contributions, logits) = explained(&model.clone().into_explainable(), &inputs);
    write_json(
        &out.join("linear_regression.expected.json"),
        &json!({
            "model": "linear_regression",
            "aprender_version": VERSION,
            "model_type": "LinearRegression",
            "coefficients": model.coefficients().as_slice(),
            "intercept": model.intercept(),
            "inputs": inputs,
            "predict": model.predict(&tm).as_slice(),
            "explainable_contributions": contributions,
            "explainable_logit": logits,
        }),
    )
}

/// Binary logistic regressions (class 1 of `v027::class_of` against the rest), one per
/// payload layout aprender-core 0.72.3 can write: `FitMode::Batch` (the default),
/// `Stochastic` and `MiniBatch(16)` (whose `usize` the payload carries), and a batch fit
/// with `ClassWeight::Manual` and an L2 penalty (the `Vec<f32>` of the class weights).
fn logistic_regressions(out: &Path) -> Result<()> {
    let x = train_x();
    let binary: Vec<usize> = labels(&x).iter().map(|&c| usize::from(c == 1)).collect();
    let inputs = test_rows();
    let tm = matrix(&inputs)?;

    let models = [
        (
            "logistic_regression",
            "Batch",
            LogisticRegression::new()
                .with_learning_rate(0.05)
                .with_max_iter(400)
                .with_tolerance(1e-6),
            "binary logistic regression, FitMode::Batch, 80 rows, 3 features",
        ),
        (
            "logistic_regression_stochastic",
            "Stochastic",
            LogisticRegression::new()
                .with_learning_rate(0.01)
                .with_max_iter(60)
                .with_tolerance(1e-6)
                .with_fit_mode(FitMode::Stochastic),
            "binary logistic regression, FitMode::Stochastic, 80 rows, 3 features",
        ),
        (
            "logistic_regression_minibatch",
            "MiniBatch(16)",
            LogisticRegression::new()
                .with_learning_rate(0.05)
                .with_max_iter(100)
                .with_tolerance(1e-6)
                .with_fit_mode(FitMode::MiniBatch(16)),
            "binary logistic regression, FitMode::MiniBatch(16), 80 rows, 3 features",
        ),
        (
            "logistic_regression_weighted",
            "Batch",
            LogisticRegression::new()
                .with_learning_rate(0.05)
                .with_max_iter(400)
                .with_tolerance(1e-6)
                .with_class_weight(ClassWeight::Manual(vec![1.0, 2.5]))
                .with_l2_penalty(0.01),
            "binary logistic regression, ClassWeight::Manual([1, 2.5]), l2 0.01, 80 rows",
        ),
    ];
    for (stem, fit_mode, mut model, description) in models {
        model.fit(&matrix(&x)?, &binary)?;
        save_all(&model, ModelType::LogisticRegression, out, stem, description)?;
        if stem == "logistic_regression" {
            model.save_safetensors(out.join("logistic_regression.safetensors"))?;
        }
        let (contributions, logits) = explained(&model.clone().into_explainable(), &inputs);
        write_json(
            &out.join(format!("{stem}.expected.json")),
            &json!({
                "model": stem,
                "aprender_version": VERSION,
                "model_type": "LogisticRegression",
                "fit_mode": fit_mode,
                "coefficients": model.coefficients().as_slice(),
                "intercept": model.intercept(),
                "inputs": inputs,
                "predict_proba": model.predict_proba(&tm).as_slice(),
                "predict": model.predict(&tm),
                "explainable_contributions": contributions,
                "explainable_logit": logits,
            }),
        )?;
    }
    Ok(())
}

/// A linear and a logistic regression saved before they were fitted (`coefficients` is
/// `None`): no model, and whyline must say why.
fn unfitted(out: &Path) -> Result<()> {
    save(
        &LinearRegression::new(),
        ModelType::LinearRegression,
        out.join("linear_regression_unfitted.apr"),
        options("unfitted", "LinearRegression::new(), not fitted", Compression::None),
    )?;
    save(
        &LogisticRegression::new(),
        ModelType::LogisticRegression,
        out.join("logistic_regression_unfitted.apr"),
        options("unfitted", "LogisticRegression::new(), not fitted", Compression::None),
    )?;
    Ok(())
}

/// `Ridge`, `Lasso` and `ElasticNet` have no `ModelType` of their own (apr-format documents
/// `LinearRegression` as "OLS/Ridge/Lasso"): saved under `ModelType::LinearRegression`, their
/// payloads (which begin with `alpha`) are not a `LinearRegression`'s, and must not load as
/// one.
fn regularised_as_linear_regression(out: &Path) -> Result<()> {
    let x = train_x();
    let xm = matrix(&x)?;
    let y = targets(&x);

    let mut ridge = Ridge::new(1.0);
    ridge.fit(&xm, &y)?;
    save(
        &ridge,
        ModelType::LinearRegression,
        out.join("ridge_as_linear_regression.apr"),
        options(
            "ridge",
            "Ridge(alpha=1) saved with ModelType::LinearRegression",
            Compression::None,
        ),
    )?;

    let mut lasso = Lasso::new(0.1);
    lasso.fit(&xm, &y)?;
    save(
        &lasso,
        ModelType::LinearRegression,
        out.join("lasso_as_linear_regression.apr"),
        options(
            "lasso",
            "Lasso(alpha=0.1) saved with ModelType::LinearRegression",
            Compression::None,
        ),
    )?;

    let mut elastic_net = ElasticNet::new(0.1, 0.5);
    elastic_net.fit(&xm, &y)?;
    save(
        &elastic_net,
        ModelType::LinearRegression,
        out.join("elastic_net_as_linear_regression.apr"),
        options(
            "elastic_net",
            "ElasticNet(alpha=0.1, l1_ratio=0.5) saved with ModelType::LinearRegression",
            Compression::None,
        ),
    )?;
    Ok(())
}
