//! `Model`'s own surface, family by family (`model.rs`): the path it fills whatever path it
//! is handed, names set after loading, leaves per tree, and a pipeline's errors told in its
//! input columns.

use whyline_core::{AnyPath, CoreError, Explainable, KnnPath, LinearPath, Names};
use whyline_models::{Model, ModelError, ModelKind};

use crate::fixtures;

/// One model file of every family.
const FAMILIES: [&str; 8] = [
    "sk_logreg_iris.whyline.json",
    "sk_tree_clf_iris.whyline.json",
    "sk_rf_clf_wine.whyline.json",
    "xgb_multi_softprob_iris.xgb.json",
    "sk_knn_clf_iris.whyline.json",
    "sk_mlp_clf_wine.whyline.json",
    "aprender/0.27.8/kmeans.apr",
    "pipelines/pipe_ohe_scaler_hgb_clf.whyline.json",
];

fn load(file: &str) -> Model {
    Model::load(fixtures::dir().join(file)).unwrap()
}

/// A row of `n` plausible values (every fixture's features are scaled to a few units or
/// are counts; the pipeline's categorical columns take categories 1 and 2).
fn row(n: usize) -> Vec<f32> {
    (0..n).map(|j| 1.0 + (j % 2) as f32).collect()
}

#[test]
fn a_path_of_another_family_is_replaced_by_the_models_own() {
    for file in FAMILIES {
        let model = load(file);
        let row = row(model.n_features());
        let (expected_output, expected_path) = model.explain_one(&row).unwrap();
        // A path the caller reuses from a model of another family.
        let mut path = match model.empty_path() {
            AnyPath::Linear(_) => AnyPath::Knn(KnnPath::default()),
            _ => AnyPath::Linear(LinearPath::default()),
        };
        let output = model.explain_into(&row, &mut path).unwrap();
        assert_eq!(output.to_bits(), expected_output.to_bits(), "{file}");
        assert_eq!(path, expected_path, "{file}");
        assert_eq!(
            std::mem::discriminant(&path),
            std::mem::discriminant(&model.empty_path()),
            "{file}"
        );
    }
}

#[test]
fn empty_paths_follow_the_family() {
    let expected = [
        "Linear", "Tree", "Forest", "Forest", "Knn", "Neural", "Cluster", "Forest",
    ];
    for (file, variant) in FAMILIES.iter().zip(expected) {
        let path = format!("{:?}", load(file).empty_path());
        assert!(path.starts_with(variant), "{file}: {path}");
    }
}

#[test]
fn names_set_after_loading_are_the_names_every_family_reports() {
    for file in FAMILIES {
        let mut model = load(file);
        let estimator_features = model.estimator().info().names.features.clone();
        let names = Names {
            features: (0..model.n_features()).map(|j| format!("x{j}")).collect(),
            classes: vec!["no".into(), "yes".into()],
        };
        model.set_names(names.clone());
        assert_eq!(model.info().names, names, "{file}");
        let record = model.record(7);
        assert_eq!(record.feature_names, names.features, "{file}");
        assert_eq!(record.class_names, names.classes, "{file}");
        let estimator = &model.estimator().info().names;
        assert_eq!(estimator.classes, names.classes, "{file}");
        if model.preprocessing().is_some() {
            // The estimator's features are the stage's outputs, not the input columns.
            assert_eq!(estimator.features, estimator_features, "{file}");
            assert_eq!(model.estimator().kind(), model.kind(), "{file}");
        } else {
            assert_eq!(estimator.features, names.features, "{file}");
        }
    }
}

#[test]
fn apply_gives_one_leaf_per_tree_and_nothing_for_a_model_without_trees() {
    for file in FAMILIES {
        let model = load(file);
        let wide: Vec<f64> = row(model.n_features())
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        let leaves = model.apply(&wide).unwrap();
        let trees = match model.kind() {
            ModelKind::DecisionTree(m) => Some(vec![&m.tree]),
            ModelKind::RandomForest(m) => Some(m.trees.iter().collect()),
            ModelKind::GradientBoosting(m) => Some(m.trees.iter().collect()),
            _ => None,
        };
        match (leaves, trees) {
            (None, None) => {}
            (Some(leaves), Some(trees)) => {
                assert_eq!(leaves.len(), trees.len(), "{file}");
                let features = model.transform_row(&wide).unwrap();
                for (t, (leaf, tree)) in leaves.iter().zip(trees).enumerate() {
                    assert!(
                        tree.nodes[*leaf as usize].split.is_none(),
                        "{file} tree {t}"
                    );
                    // The leaf is the one the walk over the estimator's features reaches.
                    assert_eq!(
                        tree.leaf_index_f64(&features),
                        *leaf as usize,
                        "{file} tree {t}"
                    );
                }
            }
            (leaves, trees) => panic!("{file}: leaves {leaves:?}, trees {}", trees.is_some()),
        }
    }
}

/// The scaled logistic pipeline: inputs `income`, `age`, `debt`, each standardised; no
/// imputer, so a missing value reaches the estimator.
const SCALED: &str = "pipelines/pipe_scaler_logreg.whyline.json";

#[test]
fn a_pipelines_estimator_error_names_the_input_column() {
    let model = load(SCALED);
    let is_debt = |error: &CoreError| {
        matches!(
            error,
            CoreError::NonFiniteInput { feature_index: 2, feature_name: Some(name), .. } if name == "debt"
        )
    };
    let row = [52000.0, 40.0, f64::NAN];
    match model.predict(&row).unwrap_err() {
        ModelError::Input(error) => assert!(is_debt(&error), "{error:?}"),
        other => panic!("{other:?}"),
    }
    match model.apply(&row) {
        Ok(None) => {}
        other => panic!("a linear pipeline has no leaves: {other:?}"),
    }
    let narrow = [52000.0f32, 40.0, f32::NAN];
    let error = model.predict_one(&narrow).unwrap_err();
    assert!(is_debt(&error), "{error:?}");
    let error = model.explain_one(&narrow).unwrap_err();
    assert!(is_debt(&error), "{error:?}");
    assert!(error.to_string().contains("debt"), "{error}");
    // A row of the wrong width is refused before the estimator.
    let error = model.predict(&row[..2]).unwrap_err();
    assert!(
        matches!(
            error,
            ModelError::Input(CoreError::FeatureCount {
                expected: 3,
                found: 2
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_tree_pipeline_applies_its_trees_to_the_transformed_row() {
    let model = load("pipelines/pipe_ohe_scaler_hgb_clf.whyline.json");
    let row = [7.0, 3.0, 52000.0, 40.0, 7600.0, 1.0];
    let features = model.transform_row(&row).unwrap();
    assert_eq!(
        model.apply(&row).unwrap(),
        model.estimator().apply(&features).unwrap()
    );
    // HistGradientBoosting routes NaN by each split's learned direction: a missing age
    // passes the scaler and reaches the trees, as in scikit-learn.
    let row = [7.0, 3.0, 52000.0, f64::NAN, 7600.0, 1.0];
    let features = model.transform_row(&row).unwrap();
    assert!(features[9].is_nan());
    assert_eq!(
        model.predict(&row).unwrap(),
        model.estimator().predict(&features).unwrap()
    );
}

#[test]
fn a_signed_file_loads_with_its_key_read_from_a_file() {
    use whyline_models::LoadOptions;
    let dir = fixtures::dir().join("aprender/0.27.8");
    let key = LoadOptions::read_apr_public_key(dir.join("signing_key.pub.hex")).unwrap();
    let options = LoadOptions::default().with_apr_public_key(key);
    let model =
        Model::load_with(dir.join("decision_tree_classifier.signed.apr"), &options).unwrap();
    let unsigned = load("aprender/0.27.8/decision_tree_classifier.apr");
    assert_eq!(model.kind(), unsigned.kind());
    let error = Model::load_with(dir.join("missing.apr"), &options).unwrap_err();
    assert!(matches!(error, ModelError::Io { .. }), "{error:?}");
}
