//! aprender-core 0.72.3's `.apr` files (`fixtures/aprender/0.72.3/`, written by
//! `tools/apr-fixtures` with aprender-core's own `format::save`): trees and forests whose
//! nodes carry the impurity and sample count of the training rows reaching them; k-means;
//! linear regression; logistic regression in each `FitMode` and with manual class weights;
//! `Ridge`, `Lasso` and `ElasticNet` saved under the `LinearRegression` id; and the
//! SafeTensors files of `save_safetensors`. Checked against aprender-core's own `predict` /
//! `predict_proba`, its own `explainable` contributions, its own serde output of the tree
//! nodes, and its own `feature_importances` (mean decrease in impurity), which is the
//! outside oracle for whyline's split gains.

use std::path::PathBuf;

use serde_json::Value;
use whyline_core::{AnyPath, Explainable};
use whyline_models::{LinearLink, Model, ModelError, ModelFormat, ModelKind, Tree};

use crate::fixtures::{f32_rows, f64s};

fn dir() -> PathBuf {
    crate::fixtures::dir().join("aprender/0.72.3")
}

fn expected(stem: &str) -> Value {
    let bytes = std::fs::read(dir().join(format!("{stem}.expected.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn variants(stem: &str) -> Vec<String> {
    ["", ".zstd", ".lz4"]
        .iter()
        .map(|suffix| format!("{stem}{suffix}.apr"))
        .collect()
}

const STEMS: [&str; 4] = [
    "decision_tree_classifier",
    "decision_tree_regressor",
    "random_forest_classifier",
    "random_forest_regressor",
];

fn load(name: &str) -> Model {
    Model::load(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn widen(row: &[f32]) -> Vec<f64> {
    row.iter().map(|&v| f64::from(v)).collect()
}

fn trees_of(model: &Model) -> Vec<Tree> {
    match model.kind() {
        ModelKind::DecisionTree(m) => vec![m.tree.clone()],
        ModelKind::RandomForest(m) => m.trees.clone(),
        other => panic!("not a tree model: {other:?}"),
    }
}

/// A node's impurity, which every node of these files must carry.
fn impurity(tree: &Tree, i: usize) -> f64 {
    tree.nodes[i]
        .impurity
        .unwrap_or_else(|| panic!("node {i} has no impurity"))
}

#[test]
fn aprender_072_every_model_declares_its_type_and_version() {
    for (stem, model_type) in [
        (
            "decision_tree_classifier",
            "aprender:DecisionTreeClassifier",
        ),
        ("decision_tree_regressor", "aprender:DecisionTreeRegressor"),
        (
            "random_forest_classifier",
            "aprender:RandomForestClassifier",
        ),
        ("random_forest_regressor", "aprender:RandomForestRegressor"),
    ] {
        for name in variants(stem) {
            let model = load(&name);
            let identity = model.identity().unwrap();
            assert_eq!(identity.model_type, model_type, "{name}");
            assert_eq!(identity.version, "0.72.3", "{name}");
            assert_eq!(model.producer(), "aprender 0.72.3", "{name}");
            assert_eq!(model.n_features(), 3, "{name}");
        }
    }
}

#[test]
fn aprender_072_decision_trees_equal_aprender_predict_exactly() {
    for stem in ["decision_tree_classifier", "decision_tree_regressor"] {
        let doc = expected(stem);
        let want = f64s(&doc, "predict");
        for name in variants(stem) {
            let model = load(&name);
            for (row, &want) in f32_rows(&doc, "inputs").iter().zip(&want) {
                // Labels exactly; regressor leaves are aprender's f32 value, widened.
                assert_eq!(
                    model.predict(&widen(row)).unwrap().value,
                    want,
                    "{name} {row:?}"
                );
                let (output, path) = model.explain_one(row).unwrap();
                assert_eq!(output, want as f32, "{name}");
                let AnyPath::Tree(path) = path else {
                    panic!("{name}: {path:?}")
                };
                for split in &path.splits {
                    let x = row[split.feature_index as usize];
                    assert_eq!(split.went_left, x <= split.threshold, "{name}");
                }
                assert_eq!(path.leaf.prediction, want as f32, "{name}");
            }
        }
    }
}

#[test]
fn aprender_072_forest_classifier_equals_predict_and_predict_proba() {
    let doc = expected("random_forest_classifier");
    let want = f64s(&doc, "predict");
    let proba = f32_rows(&doc, "predict_proba");
    for name in variants("random_forest_classifier") {
        let model = load(&name);
        assert_eq!(trees_of(&model).len(), 7, "{name}");
        for ((row, &want), proba) in f32_rows(&doc, "inputs").iter().zip(&want).zip(&proba) {
            let p = model.predict(&widen(row)).unwrap();
            assert_eq!(p.value, want, "{name} {row:?}");
            let ours = p.probabilities.unwrap();
            assert_eq!(ours.len(), proba.len(), "{name}");
            // aprender divides vote counts by the tree count in f32.
            for (o, &a) in ours.iter().zip(proba) {
                assert!((o - f64::from(a)).abs() <= 1e-6, "{name}: {o} vs {a}");
            }
        }
    }
}

#[test]
fn aprender_072_forest_regressor_equals_predict() {
    let doc = expected("random_forest_regressor");
    let want = f64s(&doc, "predict");
    for name in variants("random_forest_regressor") {
        let model = load(&name);
        assert_eq!(trees_of(&model).len(), 6, "{name}");
        for (row, &want) in f32_rows(&doc, "inputs").iter().zip(&want) {
            let value = model.predict(&widen(row)).unwrap().value;
            // aprender sums the trees in f32 and divides in f32; whyline in f64.
            assert!(
                (value - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {value} vs {want}"
            );
        }
    }
}

/// Field `key` of a node of aprender's serde output, as f64.
fn num(node: &Value, key: &str) -> f64 {
    node[key]
        .as_f64()
        .unwrap_or_else(|| panic!("no {key} in {node}"))
}

#[test]
fn aprender_072_tree_nodes_equal_aprender_serde_nodes_and_gains_follow_from_them() {
    // The expected file lists the nodes in pre-order as aprender's own serde writes them
    // (a path apart from the bincode payload whyline reads). whyline's nodes must hold the
    // same splits, leaf outputs, impurities and sample counts, and each split's gain must be
    // the weighted impurity decrease over the root's samples computed from aprender's values.
    for stem in ["decision_tree_classifier", "decision_tree_regressor"] {
        let doc = expected(stem);
        let nodes = doc["nodes"].as_array().unwrap();
        let n_root = num(&nodes[0], "n_node_samples");
        let weighted = |i: usize| {
            let n = nodes[i]
                .get("n_node_samples")
                .unwrap_or(&nodes[i]["n_samples"]);
            n.as_f64().unwrap() * f64::from(num(&nodes[i], "impurity") as f32)
        };
        for name in variants(stem) {
            let model = load(&name);
            let tree = &trees_of(&model)[0];
            assert_eq!(tree.nodes.len(), nodes.len(), "{name}");
            for (i, (ours, theirs)) in tree.nodes.iter().zip(nodes).enumerate() {
                let at = format!("{name} node {i}");
                // serde_json wrote aprender's f32 values: equal once rounded back to f32.
                assert_eq!(
                    impurity(tree, i) as f32,
                    num(theirs, "impurity") as f32,
                    "{at}"
                );
                match &ours.split {
                    Some(split) => {
                        assert_eq!(f64::from(split.feature), num(theirs, "feature"), "{at}");
                        assert_eq!(split.threshold, num(theirs, "threshold") as f32, "{at}");
                        assert_eq!(ours.n_samples as f64, num(theirs, "n_node_samples"), "{at}");
                        let (l, r) = (split.left as usize, split.right as usize);
                        let want = (weighted(i) - weighted(l) - weighted(r)) / n_root;
                        assert!(
                            (ours.gain - want).abs() <= 1e-9 * want.abs().max(1.0),
                            "{at}: gain {} vs {want}",
                            ours.gain
                        );
                    }
                    None => {
                        assert!(theirs.get("feature").is_none(), "{at}");
                        assert_eq!(ours.n_samples as f64, num(theirs, "n_samples"), "{at}");
                        assert_eq!(ours.gain, 0.0, "{at}");
                        let output = num(theirs, "output");
                        let k = tree.n_values;
                        if k == 1 {
                            assert_eq!(tree.values[i] as f32, output as f32, "{at}");
                        } else {
                            assert_eq!(tree.values[i * k + output as usize], 1.0, "{at}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn aprender_072_gains_are_nonnegative_and_telescope_to_the_root_impurity() {
    // Over a whole tree the weighted decreases telescope: Σ gains = impurity(root) −
    // Σ_leaves (n_leaf / n_root) · impurity(leaf). Gini and variance are concave, so no
    // split of aprender's increases the weighted impurity: every gain is ≥ 0.
    let mut checked = 0;
    for stem in STEMS {
        for name in variants(stem) {
            let model = load(&name);
            for (t, tree) in trees_of(&model).iter().enumerate() {
                let at = format!("{name} tree {t}");
                let n_root = tree.nodes[0].n_samples as f64;
                assert!(n_root > 0.0, "{at}");
                let mut sum = 0.0;
                let mut leaves = 0.0;
                for (i, node) in tree.nodes.iter().enumerate() {
                    let impurity = impurity(tree, i);
                    assert!(impurity >= 0.0, "{at} node {i}: impurity {impurity}");
                    if node.split.is_some() {
                        assert!(node.gain >= 0.0, "{at} node {i}: gain {}", node.gain);
                        sum += node.gain;
                    } else {
                        assert_eq!(node.gain, 0.0, "{at} node {i}");
                        leaves += node.n_samples as f64 / n_root * impurity;
                    }
                }
                let want = impurity(tree, 0) - leaves;
                assert!(
                    (sum - want).abs() <= 1e-6 * want.abs().max(1.0),
                    "{at}: Σ gains {sum} vs {want}"
                );
                // The trees do split, so the check is not 0 = 0.
                assert!(sum > 0.0, "{at}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * (1 + 1 + 7 + 6));
}

#[test]
fn aprender_072_forest_gains_sum_to_aprender_feature_importances() {
    // aprender's `feature_importances` (MDI): per tree, per feature, the sum over its splits
    // of n_node·impurity − n_left·impurity_left − n_right·impurity_right; averaged over the
    // trees and normalised to sum 1. whyline's gain is that term divided by the tree's
    // root sample count, so gain × n_root gives the term back.
    for stem in ["random_forest_classifier", "random_forest_regressor"] {
        let doc = expected(stem);
        let want = f64s(&doc, "feature_importances");
        assert_eq!(want.len(), 3, "{stem}");
        for name in variants(stem) {
            let model = load(&name);
            let mut sums = vec![0.0; want.len()];
            for tree in trees_of(&model) {
                let n_root = tree.nodes[0].n_samples as f64;
                for node in &tree.nodes {
                    if let Some(split) = &node.split {
                        sums[split.feature as usize] += node.gain * n_root;
                    }
                }
            }
            let total: f64 = sums.iter().sum();
            assert!(total > 0.0, "{name}");
            for (f, (sum, want)) in sums.iter().zip(&want).enumerate() {
                let ours = sum / total;
                // aprender accumulates and normalises in f32.
                assert!(
                    (ours - want).abs() <= 1e-6,
                    "{name} feature {f}: {ours} vs {want}"
                );
            }
        }
    }
}

/// The logistic regressions, one per payload layout aprender-core 0.72.3 writes, with the
/// bytes that end each uncompressed payload: the `FitMode` variant (u32) and, for
/// `MiniBatch`, its batch size (u64).
const LOGISTIC: [(&str, &[u8]); 4] = [
    ("logistic_regression", &[0, 0, 0, 0]),
    ("logistic_regression_stochastic", &[1, 0, 0, 0]),
    (
        "logistic_regression_minibatch",
        &[2, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0],
    ),
    ("logistic_regression_weighted", &[0, 0, 0, 0]),
];

/// Every `.apr` file of this set that whyline loads.
fn all_models() -> Vec<String> {
    STEMS
        .iter()
        .copied()
        .chain(["kmeans", "linear_regression"])
        .chain(LOGISTIC.iter().map(|(stem, _)| *stem))
        .flat_map(variants)
        .collect()
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

/// The payload of an uncompressed `.apr` file (after the 32-byte header and the metadata,
/// before the CRC32).
fn raw_payload(file: &[u8]) -> &[u8] {
    assert_eq!(file[20], 0, "compressed");
    let metadata = u32::from_le_bytes(file[8..12].try_into().unwrap()) as usize;
    let payload = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
    &file[32 + metadata..32 + metadata + payload]
}

fn linear_of(model: &Model) -> &whyline_models::LinearModel {
    match model.kind() {
        ModelKind::Linear(m) => m,
        other => panic!("not a linear model: {other:?}"),
    }
}

#[test]
fn aprender_072_kmeans_and_linear_models_declare_their_type_and_version() {
    let mut stems = vec![
        ("kmeans", "aprender:KMeans"),
        ("linear_regression", "aprender:LinearRegression"),
    ];
    stems.extend(
        LOGISTIC
            .iter()
            .map(|(stem, _)| (*stem, "aprender:LogisticRegression")),
    );
    for (stem, model_type) in stems {
        for name in variants(stem) {
            let model = load(&name);
            let identity = model.identity().unwrap();
            assert_eq!(identity.model_type, model_type, "{name}");
            assert_eq!(identity.version, "0.72.3", "{name}");
            assert_eq!(model.producer(), "aprender 0.72.3", "{name}");
            assert_eq!(model.format(), ModelFormat::AprenderApr, "{name}");
            assert_eq!(model.n_features(), 3, "{name}");
        }
    }
}

#[test]
fn aprender_072_logistic_fixtures_hold_every_fit_mode_and_differ() {
    // The files really carry the layouts they stand for: each uncompressed payload ends with
    // its FitMode (after the class weights and L2 penalty), and the four fits differ.
    let mut seen: Vec<Vec<f64>> = Vec::new();
    for (stem, tail) in LOGISTIC {
        let file = bytes(&format!("{stem}.apr"));
        let payload = raw_payload(&file);
        assert!(payload.ends_with(tail), "{stem}: {payload:?}");
        let doc = expected(stem);
        let model = load(&format!("{stem}.apr"));
        let linear = linear_of(&model);
        assert_eq!(linear.link, LinearLink::Logistic, "{stem}");
        // aprender's f32 coefficients and intercept, widened exactly.
        assert_eq!(linear.coefficients, f64s(&doc, "coefficients"), "{stem}");
        assert_eq!(
            linear.intercepts,
            vec![doc["intercept"].as_f64().unwrap()],
            "{stem}"
        );
        assert!(!seen.contains(&linear.coefficients), "{stem}");
        seen.push(linear.coefficients.clone());
    }
    // The weighted fit's class weights are in its payload: `ClassWeight::Manual` (variant 2)
    // and its Vec<f32> [1.0, 2.5], then the L2 penalty 0.01, then FitMode::Batch.
    let file = bytes("logistic_regression_weighted.apr");
    let payload = raw_payload(&file);
    let mut weights = vec![2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
    weights.extend(1.0f32.to_le_bytes());
    weights.extend(2.5f32.to_le_bytes());
    weights.extend(0.01f32.to_le_bytes());
    weights.extend([0, 0, 0, 0]);
    assert!(payload.ends_with(&weights), "{payload:?}");
}

#[test]
fn aprender_072_linear_regression_equals_predict_and_contributions_add_up() {
    let doc = expected("linear_regression");
    let want = f64s(&doc, "predict");
    let contributions = f32_rows(&doc, "explainable_contributions");
    let logits = f64s(&doc, "explainable_logit");
    for name in variants("linear_regression") {
        let model = load(&name);
        let linear = linear_of(&model);
        assert_eq!(linear.link, LinearLink::Identity, "{name}");
        assert_eq!(linear.coefficients, f64s(&doc, "coefficients"), "{name}");
        assert_eq!(linear.intercepts, vec![doc["intercept"].as_f64().unwrap()]);
        for (((row, &want), theirs), &logit) in f32_rows(&doc, "inputs")
            .iter()
            .zip(&want)
            .zip(&contributions)
            .zip(&logits)
        {
            let value = model.predict(&widen(row)).unwrap().value;
            // aprender sums in f32 (trueno's matvec), whyline in f64.
            assert!(
                (value - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {value} vs {want}"
            );
            let (output, path) = model.explain_one(row).unwrap();
            let AnyPath::Linear(path) = path else {
                panic!("{name}: {path:?}")
            };
            check_linear_path(&name, &path, theirs, logit);
            // The explained output is the prediction, and the contributions add up to it.
            assert_eq!(output, path.logit, "{name}");
            assert_eq!(path.prediction, output, "{name}");
            assert!(path.probability.is_none(), "{name}");
            assert!(
                (f64::from(output) - want).abs() <= 1e-6 * want.abs().max(1.0),
                "{name}: {output} vs {want}"
            );
        }
    }
}

/// whyline's `LinearPath` against aprender-core's `explainable::LinearPath`: the same
/// contributions `coef × x` and logit, and `intercept + Σ contributions = logit`.
fn check_linear_path(name: &str, path: &whyline_core::LinearPath, theirs: &[f32], logit: f64) {
    assert_eq!(path.contributions.len(), theirs.len(), "{name}");
    for (ours, theirs) in path.contributions.iter().zip(theirs) {
        assert!(
            (ours - theirs).abs() <= 1e-6 * theirs.abs().max(1.0),
            "{name}: contribution {ours} vs {theirs}"
        );
    }
    let sum = f64::from(path.intercept)
        + path
            .contributions
            .iter()
            .map(|&c| f64::from(c))
            .sum::<f64>();
    let scale = f64::from(path.logit).abs().max(1.0);
    assert!(
        (sum - f64::from(path.logit)).abs() <= 1e-6 * scale,
        "{name}: intercept + Σ contributions {sum} vs logit {}",
        path.logit
    );
    assert!(
        (f64::from(path.logit) - logit).abs() <= 1e-6 * logit.abs().max(1.0),
        "{name}: logit {} vs aprender's {logit}",
        path.logit
    );
}

#[test]
fn aprender_072_logistic_regressions_equal_predict_proba_and_contributions_add_up() {
    for (stem, _) in LOGISTIC {
        let doc = expected(stem);
        let labels = f64s(&doc, "predict");
        let proba = f64s(&doc, "predict_proba");
        let contributions = f32_rows(&doc, "explainable_contributions");
        let logits = f64s(&doc, "explainable_logit");
        // Both classes occur among the inputs, so labels are not trivially right.
        assert!(labels.contains(&0.0) && labels.contains(&1.0), "{stem}");
        for name in variants(stem) {
            let model = load(&name);
            for ((((row, &label), &p1), theirs), &logit) in f32_rows(&doc, "inputs")
                .iter()
                .zip(&labels)
                .zip(&proba)
                .zip(&contributions)
                .zip(&logits)
            {
                let p = model.predict(&widen(row)).unwrap();
                assert_eq!(p.value, label, "{name} {row:?}");
                let ours = p.probabilities.unwrap();
                assert_eq!(ours.len(), 2, "{name}");
                assert!((ours[1] - p1).abs() <= 1e-6, "{name}: {} vs {p1}", ours[1]);
                assert!((ours[0] - (1.0 - p1)).abs() <= 1e-6, "{name}");
                let (output, path) = model.explain_one(row).unwrap();
                assert_eq!(f64::from(output), label, "{name}");
                let AnyPath::Linear(path) = path else {
                    panic!("{name}: {path:?}")
                };
                check_linear_path(&name, &path, theirs, logit);
                // The logit's sigmoid is the probability of the class the path names.
                assert_eq!(f64::from(path.prediction), label, "{name}");
                let explained = f64::from(path.probability.unwrap());
                let want = if label == 1.0 { p1 } else { 1.0 - p1 };
                assert!(
                    (explained - want).abs() <= 1e-6,
                    "{name}: {explained} vs {want}"
                );
            }
        }
    }
}

#[test]
fn aprender_072_kmeans_equals_predict_and_explains_the_margin() {
    let doc = expected("kmeans");
    let want = f64s(&doc, "predict");
    let centroids = f32_rows(&doc, "centroids");
    assert_eq!(centroids.len(), 3);
    // More than one cluster among the inputs.
    assert!(want.iter().any(|&c| c != want[0]));
    for name in variants("kmeans") {
        let model = load(&name);
        let ModelKind::KMeans(kmeans) = model.kind() else {
            panic!("{name}")
        };
        assert_eq!(kmeans.n_clusters, 3, "{name}");
        for (k, centroid) in centroids.iter().enumerate() {
            assert_eq!(kmeans.centroid(k), widen(centroid).as_slice(), "{name}");
        }
        for (row, &want) in f32_rows(&doc, "inputs").iter().zip(&want) {
            assert_eq!(
                model.predict(&widen(row)).unwrap().value,
                want,
                "{name} {row:?}"
            );
            let (output, path) = model.explain_one(row).unwrap();
            assert_eq!(f64::from(output), want, "{name}");
            let AnyPath::Cluster(path) = path else {
                panic!("{name}: {path:?}")
            };
            assert_eq!(f64::from(path.cluster), want, "{name}");
            // The contributions add up to the margin between the winner and the runner-up.
            let sum: f32 = path.contributions.iter().sum();
            assert!(path.margin >= 0.0, "{name}");
            assert!(
                (sum - path.margin).abs() <= 1e-4 * path.margin.abs().max(1.0),
                "{name}"
            );
        }
    }
}

#[test]
fn aprender_072_safetensors_kmeans_equals_the_apr_file() {
    let model = load("kmeans.safetensors");
    assert_eq!(model.format(), ModelFormat::AprenderSafetensors);
    assert_eq!(model.identity().unwrap().model_type, "aprender:KMeans");
    let apr = load("kmeans.apr");
    let doc = expected("kmeans");
    for (row, want) in f32_rows(&doc, "inputs").iter().zip(f64s(&doc, "predict")) {
        let p = model.predict(&widen(row)).unwrap();
        assert_eq!(p.value, want, "{row:?}");
        assert_eq!(p, apr.predict(&widen(row)).unwrap());
        assert_eq!(
            model.explain_one(row).unwrap(),
            apr.explain_one(row).unwrap()
        );
    }
}

#[test]
fn aprender_072_safetensors_linear_models_are_refused_as_ambiguous() {
    // aprender-core's LinearRegression and LogisticRegression write the same two tensors.
    for name in [
        "linear_regression.safetensors",
        "logistic_regression.safetensors",
    ] {
        let error = Model::load(dir().join(name)).unwrap_err();
        assert!(
            matches!(&error, ModelError::UnsupportedModelType { .. }),
            "{name}: {error:?}"
        );
        assert!(error.to_string().contains("LogisticRegression"), "{error}");
    }
}

#[test]
fn aprender_072_regularised_models_under_the_linear_regression_id_are_not_loaded() {
    // Ridge, Lasso and ElasticNet have no type id; under LinearRegression's their payloads
    // (alpha first) are not a LinearRegression's and must not be read as a wrong one.
    for name in [
        "ridge_as_linear_regression.apr",
        "lasso_as_linear_regression.apr",
        "elastic_net_as_linear_regression.apr",
    ] {
        let file = bytes(name);
        assert_eq!(u16::from_le_bytes([file[6], file[7]]), 0x0001, "{name}");
        let error = Model::load(dir().join(name)).unwrap_err();
        assert!(
            matches!(&error, ModelError::Malformed { field, .. }
                if field.starts_with("payload.coefficients")),
            "{name}: {error:?}"
        );
        // Not mistaken for an unfitted LinearRegression (Ridge(1.0) begins with a 0 byte,
        // which is also how an unfitted model's None begins).
        let message = error.to_string();
        assert!(!message.contains("saved before"), "{name}: {message}");
        assert!(
            message.contains("not a LinearRegression") || message.contains("not an Option tag"),
            "{name}: {message}"
        );
    }
    let message = Model::load(dir().join("ridge_as_linear_regression.apr"))
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a LinearRegression"), "{message}");
}

#[test]
fn aprender_072_unfitted_linear_models_are_named_as_unfitted() {
    for (name, model) in [
        ("linear_regression_unfitted.apr", "LinearRegression"),
        ("logistic_regression_unfitted.apr", "LogisticRegression"),
    ] {
        let error = Model::load(dir().join(name)).unwrap_err();
        assert!(
            matches!(&error, ModelError::Malformed { field, .. }
                if field.starts_with("payload.coefficients")),
            "{name}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("None: the {model} was saved before it was fitted")),
            "{name}: {message}"
        );
    }
}

/// Writes a new CRC32 trailer, so an edit reaches the checks behind the checksum.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn aprender_072_every_resealed_payload_flip_of_the_small_models_loads_or_is_typed() {
    // Behind the checksum: the payload readers see every flipped bit of the k-means, linear
    // and logistic payloads (the FitMode and class-weight tags among them).
    let mut checked = 0;
    for name in all_models() {
        let file = bytes(&name);
        if file[20] != 0 || STEMS.iter().any(|stem| name.starts_with(stem)) {
            continue;
        }
        let payload = raw_payload(&file).len();
        let start = file.len() - 4 - payload;
        for i in start..start + payload {
            for bit in [0x01u8, 0x80] {
                let mut damaged = file.clone();
                damaged[i] ^= bit;
                reseal(&mut damaged);
                match Model::from_bytes(&damaged, &name) {
                    Ok(model) => {
                        if model.n_features() <= 64 {
                            let _ = model.predict(&vec![0.5; model.n_features()]);
                        }
                    }
                    Err(ModelError::Malformed { .. } | ModelError::OutOfRange { .. }) => {}
                    Err(other) => panic!("{name}: payload byte {i} ^ {bit:#x}: {other:?}"),
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}
