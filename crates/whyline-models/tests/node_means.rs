//! The internal node values of XGBoost trees (the cover-weighted mean of the children, as
//! XGBoost's `FillNodeMeanValues` computes them) against XGBoost itself: its approximate
//! (Saabas) contributions credit each split's feature with the change of that mean from
//! parent to child, and its bias is the roots' means plus the base margin
//! (`python/make_node_mean_fixtures.py`).

use serde_json::Value;
use whyline_models::{ModelKind, Tree};

use crate::fixtures::{self, dir};

/// Saabas contributions of one tree for `row`: `(feature credits, root value)`.
fn saabas(tree: &Tree, row: &[f32], credits: &mut [f64]) -> f64 {
    let mut node = 0usize;
    while let Some(split) = tree.nodes[node].split.as_ref() {
        let feature = split.feature as usize;
        let (left, _) = split.decide(row[feature]);
        let child = if left { split.left } else { split.right } as usize;
        credits[feature] += tree.node_value(child) - tree.node_value(node);
        node = child;
    }
    tree.node_value(0)
}

#[test]
fn xgboost_internal_node_values_give_xgboosts_own_approximate_contributions() {
    let sets = std::fs::read_dir(dir().join("saabas"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|f| f.strip_suffix(".approx_contribs.json").map(str::to_owned))
        .collect::<Vec<_>>();
    assert_eq!(sets.len(), 5, "expected the committed sets");
    for name in sets {
        let fixture = fixtures::load(&name);
        let ModelKind::GradientBoosting(model) = fixture.model.kind() else {
            panic!("{name}: not a booster")
        };
        let text =
            std::fs::read_to_string(dir().join(format!("saabas/{name}.approx_contribs.json")))
                .unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let m = model.n_features;
        let mut worst: f64 = 0.0;
        for (r, row) in fixture.inputs.iter().enumerate() {
            let expected = &doc["contribs"][r];
            let groups = model.n_groups();
            let mut credits = vec![vec![0.0f64; m]; groups];
            let mut bias = model.base_score.clone();
            for (tree, &group) in model.trees.iter().zip(&model.tree_groups) {
                let g = group as usize;
                bias[g] += saabas(tree, row, &mut credits[g]);
            }
            for g in 0..groups {
                let expected: Vec<f64> = expected[g]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                // XGBoost sums in f32: 1e-5 of the margin's scale, as for its predictions.
                let scale = expected.iter().map(|v| v.abs()).sum::<f64>().max(1.0);
                for j in 0..m {
                    let error = (credits[g][j] - expected[j]).abs() / scale;
                    worst = worst.max(error);
                    assert!(
                        error <= 1e-5,
                        "{name} row {r} group {g} feature {j}: {} vs XGBoost {}",
                        credits[g][j],
                        expected[j]
                    );
                }
                let error = (bias[g] - expected[m]).abs() / scale;
                assert!(
                    error <= 1e-5,
                    "{name} row {r} group {g} bias: {} vs XGBoost {}",
                    bias[g],
                    expected[m]
                );
            }
        }
        println!("{name:<45} worst contribution error {worst:.2e}");
    }
}
