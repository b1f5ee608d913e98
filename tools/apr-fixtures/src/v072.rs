//! The fixtures written by aprender-core 0.72.3 (the library behind today's `aprender`
//! facade): its trees and forests, whose nodes record the impurity and sample count of the
//! training rows reaching them. The training data are those of `v027.rs`.

use std::fs;
use std::path::Path;

use aprender_core_072 as apr;
use apr::format::{Compression, ModelType, SaveOptions, save};
use apr::primitives::{Matrix, Vector};
use apr::tree::{
    DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier, RandomForestRegressor,
};
use serde_json::{Value, json};

use crate::v027::{labels, target_of, test_rows, train_x};
use crate::{CREATED_AT, Result, write_json};

/// The version these fixtures are written by (the `aprender_core_072` dependency).
const VERSION: &str = "0.72.3";

pub fn write_all(out: &Path) -> Result<()> {
    let out = out.join(VERSION);
    fs::create_dir_all(&out)?;
    trees(&out)?;
    forests(&out)?;
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
