//! aprender-core 0.72.3's `.apr` trees and forests (`fixtures/aprender/0.72.3/`, written by
//! `tools/apr-fixtures` with aprender-core's own `format::save`), whose nodes carry the
//! impurity and sample count of the training rows reaching them: checked against
//! aprender-core's own `predict` / `predict_proba`, its own serde output of the tree nodes,
//! and its own `feature_importances` (mean decrease in impurity), the outside oracle for
//! whyline's split gains. The linear models and k-means are in `aprender_072_linear.rs`.

use std::path::PathBuf;

use serde_json::Value;
use whyline_core::{AnyPath, Explainable};
use whyline_models::{Model, ModelKind, Tree};

use crate::fixtures::{f32_rows, f64s};

pub(crate) fn dir() -> PathBuf {
    crate::fixtures::dir().join("aprender/0.72.3")
}

pub(crate) fn expected(stem: &str) -> Value {
    let bytes = std::fs::read(dir().join(format!("{stem}.expected.json"))).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(crate) fn variants(stem: &str) -> Vec<String> {
    ["", ".zstd", ".lz4"]
        .iter()
        .map(|suffix| format!("{stem}{suffix}.apr"))
        .collect()
}

pub(crate) const STEMS: [&str; 4] = [
    "decision_tree_classifier",
    "decision_tree_regressor",
    "random_forest_classifier",
    "random_forest_regressor",
];

pub(crate) fn load(name: &str) -> Model {
    Model::load(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) fn widen(row: &[f32]) -> Vec<f64> {
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
