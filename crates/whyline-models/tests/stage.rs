//! A preprocessing stage's own API (`preprocessing.rs`), on a stage built by hand: checks
//! of a row, numeric categories, thresholds mapped back through affine maps, attributions
//! summed into columns; and the model identity's format names (`identity.rs`).

use whyline_core::{CoreError, Explainable};
use whyline_models::{
    Category, DerivedFeature, InputColumn, InputKind, Model, ModelFormat, ModelKind, Preprocessing,
    Transform,
};

use crate::fixtures;

/// Inputs: `size` (numeric categories 36, 38, 40), `weight` (numeric), `tag` (ignored).
/// Features: size one-hot 0 and 2, weight as `2·w + 1` clipped to [0, 100].
fn stage() -> Preprocessing {
    Preprocessing {
        inputs: vec![
            InputColumn {
                name: "size".into(),
                kind: InputKind::Categorical {
                    categories: vec![
                        Category::Number(36.0),
                        Category::Number(38.0),
                        Category::Number(40.0),
                    ],
                    accepts_unknown: false,
                    missing_is_category: false,
                },
            },
            InputColumn {
                name: "weight".into(),
                kind: InputKind::Numeric,
            },
            InputColumn {
                name: "tag".into(),
                kind: InputKind::Ignored,
            },
        ],
        features: vec![
            DerivedFeature {
                input: 0,
                transforms: vec![Transform::OneHot { category: 0 }],
            },
            DerivedFeature {
                input: 0,
                transforms: vec![Transform::OneHot { category: 2 }],
            },
            DerivedFeature {
                input: 1,
                transforms: vec![Transform::Affine {
                    scale: 2.0,
                    offset: 1.0,
                }],
            },
            DerivedFeature {
                input: 1,
                transforms: vec![Transform::Clip {
                    min: 0.0,
                    max: 100.0,
                }],
            },
        ],
        lookups: Vec::new(),
        steps: vec!["OneHotEncoder".into()],
    }
}

#[test]
fn numeric_categories_match_their_number_and_print_as_it() {
    let stage = stage();
    assert_eq!(stage.category_value(0, "38"), Some(1.0));
    assert_eq!(stage.category_value(0, " 40.0 "), Some(2.0));
    assert_eq!(stage.category_value(0, "39"), None);
    assert!(stage.category_value(0, "NA").is_some_and(f64::is_nan));
    assert_eq!(stage.category_value(1, "38"), None, "weight is numeric");
    let InputKind::Categorical { categories, .. } = &stage.inputs[0].kind else {
        panic!("size is categorical")
    };
    let shown: Vec<String> = categories.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["36", "38", "40"]);
}

#[test]
fn a_stage_checks_the_width_infinities_and_category_indices_of_a_row() {
    let stage = stage();
    assert_eq!((stage.n_inputs(), stage.n_features()), (3, 4));
    assert_eq!(stage.feature_inputs().collect::<Vec<_>>(), [0, 0, 1, 1]);
    assert_eq!(stage.input_names(), ["size", "weight", "tag"]);
    assert_eq!(
        stage.transform(&[2.0, 10.0, 7.0]).unwrap(),
        [0.0, 1.0, 21.0, 10.0]
    );
    // The clip holds a large weight at its maximum; NaN passes through.
    let features = stage.transform(&[0.0, 500.0, 0.0]).unwrap();
    assert_eq!(features[3], 100.0);
    assert!(stage.transform(&[0.0, f64::NAN, 0.0]).unwrap()[3].is_nan());
    assert!(matches!(
        stage.check(&[0.0, 1.0]),
        Err(CoreError::FeatureCount {
            expected: 3,
            found: 2
        })
    ));
    let error = stage.check(&[0.0, f64::INFINITY, 0.0]).unwrap_err();
    assert!(
        matches!(&error, CoreError::NonFiniteInput { feature_index: 1, feature_name: Some(name), .. } if name == "weight"),
        "{error:?}"
    );
    let error = stage.check(&[3.0, 1.0, 0.0]).unwrap_err();
    assert!(
        matches!(
            &error,
            CoreError::InvalidCategory {
                feature_index: 0,
                n_categories: 3,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn thresholds_map_back_through_increasing_transforms_only() {
    let stage = stage();
    // 2·w + 1 <= 21  ⇔  w <= 10.
    assert_eq!(stage.threshold_to_input(2, 21.0), Some(10.0));
    // A clip does not keep order strictly: no mapping.
    assert_eq!(stage.threshold_to_input(3, 50.0), None);
    assert_eq!(stage.threshold_to_input(0, 0.5), None, "one-hot");
    assert_eq!(stage.threshold_to_input(9, 0.5), None, "no such feature");
    // Attributions add into their columns, the ignored column gets none.
    assert_eq!(stage.attribute(&[1.0, 2.0, 3.0, 4.0]), [3.0, 7.0, 0.0]);
    assert_eq!(
        stage.attribute_f32(&[1.0, 2.0, 3.0, 4.0]),
        [3.0f32, 7.0, 0.0]
    );
}

#[test]
fn every_format_has_a_stable_name() {
    for (file, name) in [
        ("sk_tree_clf_iris.whyline.json", "whyline-json"),
        ("xgb_multi_softprob_iris.xgb.json", "xgboost-json"),
        ("lgb_multiclass_iris.lgb.txt", "lightgbm-text"),
        ("aprender/linear_regression.apr", "aprender-apr"),
        ("aprender/0.27.8/kmeans.safetensors", "aprender-safetensors"),
    ] {
        let model = Model::load(fixtures::dir().join(file)).unwrap();
        let format: ModelFormat = model.format();
        assert_eq!(format.name(), name, "{file}");
        assert_eq!(format.to_string(), name, "{file}");
    }
}

#[test]
fn k_means_predicts_the_nearest_centroid_on_both_paths() {
    let model = Model::load(fixtures::dir().join("aprender/0.27.8/kmeans.apr")).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures::dir().join("aprender/0.27.8/kmeans.expected.json"))
            .unwrap(),
    )
    .unwrap();
    let inputs = fixtures::f32_rows(&expected, "inputs");
    let labels = fixtures::f64s(&expected, "predict");
    assert!(!inputs.is_empty());
    let ModelKind::KMeans(kmeans) = model.kind() else {
        panic!("k-means")
    };
    assert_eq!(kmeans.n_features(), model.n_features());
    for (row, label) in inputs.iter().zip(labels) {
        assert_eq!(f64::from(kmeans.predict_one(row).unwrap()), label);
        assert_eq!(f64::from(model.predict_one(row).unwrap()), label);
    }
    let mut bad = inputs[0].clone();
    bad[1] = f32::NAN;
    assert!(matches!(
        kmeans.predict_one(&bad),
        Err(CoreError::NonFiniteInput {
            feature_index: 1,
            ..
        })
    ));
}
