//! Trees deeper than the leaf table's precomputed rules: a path of more than 16 distinct
//! features takes `leaf_table.rs`'s dynamic-depth pass (and the sweep hands such a tree to
//! it), and a model of more than 64 features takes the pass without the per-node bitset.
//! Checked against brute-force enumeration of the path-dependent game over the features
//! the tree uses (every other feature is a null player, worth 0), and for additivity.

use serde_json::{Value, json};
use whyline_core::Explainable;
use whyline_explain::{TreeShap, TreeShapAlgorithm};
use whyline_models::{Model, ModelKind};

use crate::common::{brute_force_shapley, conditional_expectation};

/// A regression tree whose spine splits on `features` in turn, `x_f <= threshold` going
/// left to a leaf; the spine ends in a split on the last feature with two leaves. Each
/// split also sends every third spine node's leaf the other way round (`x > t` left), so
/// that rows satisfy some splits and fail others on the way to each leaf. Covers halve
/// down the spine (plus one per leaf), values differ from leaf to leaf.
fn spine_model(n_features: usize, features: &[usize]) -> Model {
    let depth = features.len();
    let n_nodes = 2 * depth + 1;
    let mut left = vec![-1i64; n_nodes];
    let mut right = vec![-1i64; n_nodes];
    let mut feature = vec![-2i64; n_nodes];
    let mut threshold = vec![json!(-2.0); n_nodes];
    let mut value = vec![0.0f64; n_nodes];
    let mut weight = vec![0.0f64; n_nodes];
    // Spine node k is node 2k; its leaf child is 2k + 1; the last spine node's second
    // leaf is node 2·depth.
    for (k, &f) in features.iter().enumerate() {
        let node = 2 * k;
        let leaf = node + 1;
        let next = node + 2;
        feature[node] = f as i64;
        threshold[node] = json!(0.5 + k as f64 * 0.125);
        if k % 3 == 2 {
            (left[node], right[node]) = (next as i64, leaf as i64);
        } else {
            (left[node], right[node]) = (leaf as i64, next as i64);
        }
        value[leaf] = (k as f64 + 1.0) * if k % 2 == 0 { 1.5 } else { -0.75 };
        weight[leaf] = 1.0 + (k % 4) as f64;
    }
    value[2 * depth] = 4.25;
    weight[2 * depth] = 2.0;
    // Internal covers: the sum of their children's, bottom up.
    for k in (0..depth).rev() {
        let node = 2 * k;
        weight[node] = weight[left[node] as usize] + weight[right[node] as usize];
    }
    let samples: Vec<i64> = weight.iter().map(|&w| w as i64).collect();
    let doc = json!({
        "format": "whyline-model",
        "format_version": 1,
        "model_type": "decision_tree",
        "task": "regression",
        "n_features": n_features,
        "model": {"tree": {
            "n_nodes": n_nodes,
            "children_left": left,
            "children_right": right,
            "feature": feature,
            "threshold": Value::Array(threshold),
            "impurity": vec![0.0; n_nodes],
            "n_node_samples": samples,
            "weighted_n_node_samples": weight,
            "n_values": 1,
            "value": value,
        }},
    });
    Model::from_bytes(doc.to_string().as_bytes(), "spine.json").unwrap()
}

/// Shapley values of the path-dependent game, enumerated over `used` (the features the
/// tree splits on); every other feature's value is 0.
fn brute_force_over(model: &Model, used: &[usize], row: &[f32]) -> Vec<f64> {
    let ModelKind::DecisionTree(tree) = model.kind() else {
        panic!("a decision tree");
    };
    let leaf = |n: usize| tree.tree.node_values(n).to_vec();
    let m = used.len();
    let v: Vec<f64> = (0..1usize << m)
        .map(|mask| {
            let in_s = |f: usize| {
                used.iter()
                    .position(|&u| u == f)
                    .is_some_and(|i| mask >> i & 1 == 1)
            };
            conditional_expectation(&tree.tree, model.format(), row, &in_s, &leaf)[0]
        })
        .collect();
    let phi = brute_force_shapley(m, &v);
    let mut out = vec![0.0; model.n_features()];
    for (&f, p) in used.iter().zip(phi) {
        out[f] = p;
    }
    out
}

/// Rows that satisfy different runs of the spine's splits: all small, all large, and
/// mixes.
fn rows(n_features: usize, used: &[usize]) -> Vec<Vec<f32>> {
    let patterns: [fn(usize) -> f32; 4] = [
        |_| 0.0,
        |_| 9.0,
        |k| if k % 2 == 0 { 0.0 } else { 9.0 },
        |k| if k < 10 { 9.0 } else { 0.25 },
    ];
    patterns
        .iter()
        .map(|pattern| {
            let mut row = vec![0.5f32; n_features];
            for (k, &f) in used.iter().enumerate() {
                row[f] = pattern(k);
            }
            row
        })
        .collect()
}

fn check_spine(n_features: usize, used: &[usize]) {
    let model = spine_model(n_features, used);
    for row in rows(n_features, used) {
        let oracle = brute_force_over(&model, used, &row);
        let prediction = {
            let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
            model.predict(&wide).unwrap().value
        };
        for algorithm in [TreeShapAlgorithm::LeafTable, TreeShapAlgorithm::Sweep] {
            let explainer = TreeShap::new(&model).unwrap().with_algorithm(algorithm);
            let ours = explainer.shap_values(&row).unwrap();
            assert_eq!(ours.len(), 1);
            for (j, (x, y)) in ours[0].iter().zip(&oracle).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
                    "{n_features} features, {algorithm:?}, feature {j}: ours {x} brute force {y}"
                );
            }
            // Additivity: the values sum to the output minus the expected value.
            let sum: f64 = ours[0].iter().sum();
            let base = explainer.base_values()[0];
            assert!(
                (base + sum - prediction).abs() <= 1e-10 * (1.0 + prediction.abs()),
                "{algorithm:?}: base {base} + {sum} != {prediction}"
            );
            let attribution = explainer.explain(&row, None).unwrap();
            assert!(attribution.residual <= 1e-10, "{}", attribution.residual);
        }
    }
}

#[test]
fn a_path_of_seventeen_features_matches_brute_force_and_adds_up() {
    // 17 distinct features on the deepest path: a 9-point rule, past the 8 precomputed.
    let used: Vec<usize> = (0..17).collect();
    check_spine(20, &used);
}

#[test]
fn a_model_of_more_than_64_features_matches_brute_force_and_adds_up() {
    // Features spread over 0..70: past the 64 the per-node bitset holds, so each leaf's
    // satisfied splits come from its own steps.
    let used: Vec<usize> = (0..17).map(|k| k * 4 + 1).collect();
    assert!(used.iter().any(|&f| f >= 64));
    check_spine(70, &used);
}

#[test]
fn the_spine_model_is_the_tree_it_describes() {
    // The oracle walks the same model: check the model itself against the construction,
    // a row that fails the first split's left test reaching spine node 1.
    let used: Vec<usize> = (0..18).collect();
    let model = spine_model(20, &used);
    let mut row = vec![0.0f64; 20];
    assert_eq!(model.apply(&row).unwrap(), Some(vec![1]));
    assert_eq!(model.predict(&row).unwrap().value, 1.5);
    row[0] = 9.0;
    assert_eq!(model.apply(&row).unwrap(), Some(vec![3]));
    assert_eq!(model.predict(&row).unwrap().value, -1.5);
}
