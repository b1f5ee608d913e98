//! Decision paths of pipelines told in the input columns (`preprocessing/path.rs`), for
//! every path family a pipeline can produce: a single tree, a forest with native
//! categorical splits, neighbours and a network's input gradient (checked against finite
//! differences of the model's own prediction).

use whyline_core::{AnyPath, Explainable, SplitTest, TreePath};
use whyline_models::{InputKind, Model, RowFormat, RowOptions, Rows, Transform};

use crate::fixtures;

fn dir() -> std::path::PathBuf {
    fixtures::dir().join("pipelines")
}

fn load(name: &str) -> Model {
    Model::load(dir().join(format!("{name}.whyline.json"))).unwrap()
}

/// The fixture's input rows (category strings read as indices), as f32.
fn input_rows(name: &str, model: &Model) -> Vec<Vec<f32>> {
    let rows = Rows::for_model_path(
        &dir().join(format!("{name}.rows.csv")),
        RowFormat::Auto,
        model,
        RowOptions::new(),
    )
    .unwrap();
    rows.to_f32()
        .chunks_exact(model.n_features())
        .map(<[f32]>::to_vec)
        .collect()
}

/// Whether every transform of estimator feature `j` keeps the input's order (so the
/// path's threshold is on the input's own scale).
fn keeps_order(model: &Model, j: usize) -> bool {
    let stage = model.preprocessing().unwrap();
    stage.features[j].transforms.iter().all(|t| match t {
        Transform::Standardize { scale, .. } | Transform::Affine { scale, .. } => *scale > 0.0,
        Transform::Impute { .. } => true,
        _ => false,
    })
}

/// Every split of `path` names an input column and decides on it as the tree did: a
/// numeric column by its threshold on the input's scale, a categorical one by membership.
fn check_tree_path(model: &Model, row: &[f32], path: &TreePath, what: &str) -> usize {
    let stage = model.preprocessing().unwrap();
    let mut checked = 0;
    for split in &path.splits {
        let input = split.feature_index as usize;
        assert!(input < stage.n_inputs(), "{what}: split on {input}");
        let x = row[input];
        match &stage.inputs[input].kind {
            InputKind::Categorical { .. } => {
                assert_eq!(split.test, SplitTest::InCategories, "{what}");
                if x >= 0.0 && !x.is_nan() {
                    let member = split.categories.contains(&(x as u32));
                    assert_eq!(
                        member, split.went_left,
                        "{what}: {x} in {:?}",
                        split.categories
                    );
                    checked += 1;
                } else {
                    assert!(split.missing, "{what}: an unknown category is not marked");
                }
            }
            InputKind::Numeric if !x.is_nan() => {
                let orderly = stage
                    .features
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.input == input)
                    .all(|(j, _)| keeps_order(model, j));
                if orderly {
                    let t = split.threshold;
                    let near = (f64::from(x) - f64::from(t)).abs() <= 1e-6 * f64::from(x.abs());
                    assert!(near || (x <= t) == split.went_left, "{what}: {x} vs {t}");
                    checked += 1;
                }
            }
            _ => {}
        }
    }
    checked
}

#[test]
fn a_single_tree_pipeline_tells_its_splits_in_the_input_columns() {
    // The extra-trees pipeline with its first tree as a decision tree: the same stage, the
    // same tree, a decision tree's path.
    let name = "pipe_minmax_ohe_extra_trees_clf";
    let forest = load(name);
    let text = std::fs::read_to_string(dir().join(format!("{name}.whyline.json"))).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = doc["model"]["trees"][0].clone();
    doc["model_type"] = "decision_tree".into();
    doc["model"] = serde_json::json!({ "tree": first });
    let tree = Model::from_bytes(doc.to_string().as_bytes(), "tree.json").unwrap();
    let mut checked = 0;
    for (r, row) in input_rows(name, &forest).iter().enumerate() {
        let (_, path) = tree.explain_one(row).unwrap();
        let AnyPath::Tree(path) = path else {
            panic!("not a tree path: {path:?}")
        };
        checked += check_tree_path(&tree, row, &path, &format!("row {r}"));
        // The forest's first tree takes the same splits.
        let (_, AnyPath::Forest(forest_path)) = forest.explain_one(row).unwrap() else {
            panic!("not a forest path")
        };
        assert_eq!(forest_path.tree_paths[0].splits, path.splits, "row {r}");
    }
    assert!(checked > 10, "only {checked} splits checked");
}

#[test]
fn native_categorical_splits_list_the_input_categories_that_go_left() {
    for name in [
        "hgb_native_categories_multiclass",
        "pipe_impute_ordinal_hgb_reg",
        "pipe_ohe_scaler_hgb_clf",
    ] {
        let model = load(name);
        let mut checked = 0;
        for (r, row) in input_rows(name, &model).iter().enumerate() {
            let (_, AnyPath::Forest(path)) = model.explain_one(row).unwrap() else {
                panic!("{name}: not a forest path")
            };
            assert_eq!(path.feature_importance.len(), model.n_features());
            for tree in &path.tree_paths {
                checked += check_tree_path(&model, row, tree, &format!("{name} row {r}"));
            }
        }
        assert!(checked > 20, "{name}: only {checked} splits checked");
    }
}

#[test]
fn a_network_pipelines_input_gradient_is_the_derivative_of_its_prediction() {
    let name = "pipe_mlp_reg";
    let model = load(name);
    let stage = model.preprocessing().unwrap();
    let mut checked = 0;
    for row in input_rows(name, &model).iter().take(5) {
        let (_, AnyPath::Neural(path)) = model.explain_one(row).unwrap() else {
            panic!("not a neural path")
        };
        assert_eq!(path.input_gradient.len(), stage.n_inputs());
        let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
        for (c, column) in stage.inputs.iter().enumerate() {
            let gradient = f64::from(path.input_gradient[c]);
            if !matches!(column.kind, InputKind::Numeric) {
                // Through an encoder (or nowhere) the derivative is 0.
                assert_eq!(gradient, 0.0, "{}", column.name);
                continue;
            }
            // A central difference of the model's own f64 prediction.
            let h = 1e-4 * wide[c].abs().max(1.0);
            let at = |delta: f64| {
                let mut x = wide.clone();
                x[c] += delta;
                model.predict(&x).unwrap().value
            };
            let numeric = (at(h) - at(-h)) / (2.0 * h);
            assert!(
                (gradient - numeric).abs() <= 1e-3 * numeric.abs().max(1e-6),
                "{}: path {gradient}, finite difference {numeric}",
                column.name
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} gradients checked");
}

#[test]
fn a_neighbour_pipelines_path_is_its_estimators_on_the_features() {
    let name = "pipe_knn_clf";
    let model = load(name);
    for row in input_rows(name, &model).iter().take(5) {
        let (output, path) = model.explain_one(row).unwrap();
        let wide: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
        let features: Vec<f32> = model
            .transform_row(&wide)
            .unwrap()
            .iter()
            .map(|&x| x as f32)
            .collect();
        let (inner_output, inner_path) = model.estimator().explain_one(&features).unwrap();
        assert!(matches!(path, AnyPath::Knn(_)));
        assert_eq!(output, inner_output);
        assert_eq!(path, inner_path);
    }
}
