//! The native paths agree with the libraries: linear contributions add up to the decision
//! value, and every tree path ends in the leaf the library reports.

use whyline_core::{AnyPath, DecisionPath, Explainable, SplitTest};

use crate::fixtures::{self, widen};

#[test]
fn linear_contributions_sum_to_the_library_decision_value() {
    let mut checked = 0;
    for fixture in fixtures::all() {
        let Some(raw) = fixture.rows("raw").or_else(|| fixture.rows("predict")) else {
            continue;
        };
        for (r, row) in fixture.inputs.iter().enumerate() {
            let (_, path) = fixture.model.explain_one(row).unwrap();
            let AnyPath::Linear(path) = path else { break };
            // The explained output: the predicted class's decision value, or the value.
            let class = if raw[r].len() > 1 {
                path.prediction as usize
            } else {
                0
            };
            let expected = raw[r][class];
            let sum: f64 = path
                .contributions
                .iter()
                .map(|&c| f64::from(c))
                .sum::<f64>()
                + f64::from(path.intercept);
            // Contributions are f32 in the path: allow f32 rounding of each term.
            let scale: f64 = path
                .contributions
                .iter()
                .map(|c| f64::from(c.abs()))
                .sum::<f64>()
                + f64::from(path.intercept.abs());
            assert!(
                (sum - expected).abs() <= 1e-6 * scale.max(1.0),
                "{} row {r}: contributions sum to {sum}, library decision value {expected}",
                fixture.name
            );
            assert!((f64::from(path.logit) - expected).abs() <= 1e-6 * expected.abs().max(1.0));
            checked += 1;
        }
    }
    assert!(checked >= 150, "only {checked} linear rows checked");
}

fn check_split_consistency(path: &whyline_core::TreePath, row: &[f32], name: &str) {
    for split in &path.splits {
        let x = row[split.feature_index as usize];
        if split.missing || x.is_nan() {
            continue;
        }
        let left = match split.test {
            SplitTest::LessOrEqual => x <= split.threshold,
            SplitTest::Less => x < split.threshold,
            SplitTest::InCategories => x >= 0.0 && split.categories.contains(&(x as u32)),
            SplitTest::NotInCategories => !(x >= 0.0 && split.categories.contains(&(x as u32))),
        };
        assert_eq!(
            left, split.went_left,
            "{name}: split at node {} disagrees with its own test",
            split.node_index
        );
    }
}

#[test]
fn tree_paths_end_in_the_library_leaf_and_follow_their_thresholds() {
    let mut checked = 0;
    for fixture in fixtures::all() {
        let Some(leaves) = fixture.rows("leaves") else {
            continue;
        };
        for (r, row) in fixture.inputs.iter().enumerate() {
            let (output, path) = fixture.model.explain_one(row).unwrap();
            let tree_paths = match &path {
                AnyPath::Tree(p) => vec![p.clone()],
                AnyPath::Forest(p) => p.tree_paths.clone(),
                other => panic!("{}: unexpected path {:?}", fixture.name, other.path_type()),
            };
            let reached: Vec<f64> = tree_paths
                .iter()
                .map(|p| f64::from(p.leaf.node_index))
                .collect();
            assert_eq!(reached, leaves[r], "{} row {r}", fixture.name);
            for p in &tree_paths {
                check_split_consistency(p, row, &fixture.name);
            }
            // The path's output is the model's prediction.
            let prediction = fixture.model.predict(&widen(row)).unwrap();
            assert_eq!(output, prediction.value as f32, "{} row {r}", fixture.name);
            checked += 1;
        }
    }
    assert!(checked >= 300);
}

#[test]
fn missing_values_are_marked_on_the_path() {
    let fixture = fixtures::load("xgb_binary_logistic_breast_cancer_missing");
    let mut marked = 0;
    for row in &fixture.inputs {
        let (_, path) = fixture.model.explain_one(row).unwrap();
        let AnyPath::Forest(path) = path else {
            panic!("not a forest path")
        };
        for split in path.tree_paths.iter().flat_map(|p| &p.splits) {
            let x = row[split.feature_index as usize];
            assert_eq!(split.missing, x.is_nan());
            marked += usize::from(split.missing);
        }
    }
    assert!(marked > 0, "no fixture row took a missing-value default");
}

#[test]
fn explanations_use_feature_and_class_names() {
    let fixture = fixtures::load("sk_tree_clf_iris");
    let (_, path) = fixture.model.explain_one(&fixture.inputs[0]).unwrap();
    let text = path.explain_with(&fixture.model.info().names);
    assert!(text.contains("petal"), "no feature name in:\n{text}");
    let fixture = fixtures::load("sk_logreg_breast_cancer");
    let (_, path) = fixture.model.explain_one(&fixture.inputs[0]).unwrap();
    let text = path.explain_with(&fixture.model.info().names);
    assert!(text.contains("Top contributing features"), "{text}");
    assert!(text.contains("feature["), "{text}");
}

#[test]
fn mlp_input_gradient_matches_finite_differences() {
    // The oracle here is the model's own prediction (from scikit-learn's outputs, checked in
    // exactness), differentiated numerically.
    for name in [
        "sk_mlp_clf_breast_cancer",
        "sk_mlp_clf_wine",
        "sk_mlp_reg_regression",
    ] {
        let fixture = fixtures::load(name);
        for row in fixture.inputs.iter().take(5) {
            let (_, path) = fixture.model.explain_one(row).unwrap();
            let AnyPath::Neural(path) = path else {
                panic!("{name}: not a neural path")
            };
            let base = fixture.model.predict(&widen(row)).unwrap();
            let explained = |p: &whyline_models::Prediction| match &p.probabilities {
                Some(probabilities) => probabilities[base.value as usize],
                None => p.value,
            };
            for i in 0..row.len().min(6) {
                let h = 1e-2f32;
                let (mut up, mut down) = (row.clone(), row.clone());
                up[i] += h;
                down[i] -= h;
                let slope = (explained(&fixture.model.predict(&widen(&up)).unwrap())
                    - explained(&fixture.model.predict(&widen(&down)).unwrap()))
                    / f64::from(up[i] - down[i]);
                let gradient = f64::from(path.input_gradient[i]);
                assert!(
                    (slope - gradient).abs() <= 1e-2 * slope.abs().max(1e-2),
                    "{name}: feature {i}: backprop {gradient}, finite difference {slope}"
                );
            }
        }
    }
}

#[test]
fn knn_neighbours_equal_kneighbors() {
    let mut checked = 0;
    for fixture in fixtures::all() {
        let Some(neighbors) = fixture.doc.get("neighbors").filter(|n| !n.is_null()) else {
            continue;
        };
        let indices = neighbors["indices"].as_array().unwrap();
        let distances = neighbors["distances"].as_array().unwrap();
        for (r, row) in fixture.inputs.iter().enumerate() {
            let (_, path) = fixture.model.explain_one(row).unwrap();
            let AnyPath::Knn(path) = path else {
                panic!("{}: not a KNN path", fixture.name)
            };
            let expected: Vec<u32> = indices[r]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            // Tied neighbours (iris has duplicate rows) may come in another order: compare
            // the sets, and the distances position by position.
            let (mut ours, mut theirs) = (path.neighbor_indices.clone(), expected);
            ours.sort_unstable();
            theirs.sort_unstable();
            assert_eq!(ours, theirs, "{} row {r}", fixture.name);
            for (ours, theirs) in path.distances.iter().zip(distances[r].as_array().unwrap()) {
                let theirs = theirs.as_f64().unwrap();
                assert!(
                    (f64::from(*ours) - theirs).abs() <= 1e-6 * theirs.max(1.0),
                    "{} row {r}: {ours} vs {theirs}",
                    fixture.name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 90, "three KNN fixtures of 30 rows");
}

#[test]
fn mlp_activations_on_request_end_in_the_library_probabilities() {
    let fixture = fixtures::load("sk_mlp_clf_wine");
    let whyline_models::ModelKind::Mlp(mlp) = fixture.model.kind() else {
        panic!("not an MLP")
    };
    let proba = fixture.rows("proba").unwrap();
    for (r, row) in fixture.inputs.iter().enumerate() {
        let mut path = whyline_core::NeuralPath::default();
        mlp.explain_with_activations(row, &mut path).unwrap();
        let activations = path.activations.as_ref().unwrap();
        assert_eq!(
            activations.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![12, 8, 3]
        );
        for (ours, theirs) in activations[2].iter().zip(&proba[r]) {
            assert!(
                (f64::from(*ours) - theirs).abs() <= 1e-6,
                "row {r}: {ours} vs {theirs}"
            );
        }
        // Without the request, no activations.
        let (_, plain) = mlp.explain_one(row).unwrap();
        assert!(plain.activations.is_none());
    }
}

#[test]
fn model_record_carries_the_identity_and_names() {
    let fixture = fixtures::load("sk_rf_clf_wine");
    let record = fixture.model.record(42);
    assert_eq!(Some(&record.identity), fixture.model.identity());
    assert_eq!(record.feature_names[2], "ash");
    assert_eq!(record.class_names, vec!["class_0", "class_1", "class_2"]);
}
