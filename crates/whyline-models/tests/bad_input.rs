//! Bad input gives a typed error naming the file, field or feature — never a panic.

use whyline_core::{CoreError, Explainable};
use whyline_models::{Model, ModelError, ModelKind};

use crate::fixtures;

#[test]
fn wrong_feature_count_is_a_feature_count_error() {
    for fixture in fixtures::all() {
        let mut row = fixture.inputs[0].clone();
        row.push(1.0);
        let error = fixture.model.explain_one(&row).unwrap_err();
        assert!(
            matches!(error, CoreError::FeatureCount { expected, found } if expected + 1 == found),
            "{}: got {error:?}",
            fixture.name
        );
        let error = fixture
            .model
            .predict(&fixture.inputs_f64[0][..row.len() - 2])
            .unwrap_err();
        assert!(
            matches!(error, ModelError::Input(CoreError::FeatureCount { .. })),
            "{}: got {error:?}",
            fixture.name
        );
    }
}

#[test]
fn nan_without_a_missing_rule_names_the_feature() {
    let fixture = fixtures::load("sk_knn_clf_wine_distance");
    let mut row = fixture.inputs[0].clone();
    row[2] = f32::NAN;
    let error = fixture.model.explain_one(&row).unwrap_err();
    match &error {
        CoreError::NonFiniteInput {
            feature_index: 2,
            feature_name: Some(name),
            ..
        } => assert_eq!(name, "ash"),
        other => panic!("expected NonFiniteInput for feature 2 (ash), got {other:?}"),
    }
    assert!(error.to_string().contains("ash"), "{error}");
}

#[test]
fn nan_follows_the_missing_rule_where_the_library_has_one_and_infinity_never_passes() {
    // scikit-learn trees and forests (≥ 1.3) and both boosters have a missing-value rule;
    // scikit-learn's linear models, gradient boosting, KNN and MLP reject NaN, as the
    // library does.
    for fixture in fixtures::all() {
        let mut row = fixture.inputs[0].clone();
        row[0] = f32::NAN;
        let result = fixture.model.explain_one(&row);
        let has_rule = match fixture.model.kind() {
            ModelKind::DecisionTree(_) | ModelKind::RandomForest(_) => true,
            ModelKind::GradientBoosting(_) => fixture.kind != "whyline",
            _ => false,
        };
        if has_rule {
            assert!(result.is_ok(), "{}: {result:?}", fixture.name);
        } else {
            assert!(
                matches!(
                    result,
                    Err(CoreError::NonFiniteInput {
                        feature_index: 0,
                        ..
                    })
                ),
                "{}: {result:?}",
                fixture.name
            );
        }
        row[0] = f32::INFINITY;
        let result = fixture.model.explain_one(&row);
        assert!(
            matches!(
                result,
                Err(CoreError::NonFiniteInput {
                    feature_index: 0,
                    ..
                })
            ),
            "{}: {result:?}",
            fixture.name
        );
    }
}

#[test]
fn a_missing_file_is_an_io_error_with_its_path() {
    let error = Model::load("/nonexistent/model.json").unwrap_err();
    assert!(
        matches!(&error, ModelError::Io { path, .. } if path.ends_with("model.json")),
        "{error:?}"
    );
    assert!(error.to_string().contains("/nonexistent/model.json"));
}

#[test]
fn every_truncation_of_a_model_file_is_an_error_not_a_panic() {
    for name in [
        "sk_logreg_iris.whyline.json",
        "sk_tree_clf_iris.whyline.json",
        "xgb_multi_softprob_iris.xgb.json",
        "lgb_binary_categorical.lgb.txt",
        "lgb_multiclass_iris.lgb.txt",
    ] {
        let bytes = std::fs::read(fixtures::dir().join(name)).unwrap();
        let step = (bytes.len() / 400).max(1);
        for cut in (0..bytes.len() - 1).step_by(step) {
            // The end of a JSON document or of LightGBM's trees section is required: any
            // shorter prefix is rejected.
            let truncated = &bytes[..cut];
            if name.ends_with(".txt") && String::from_utf8_lossy(truncated).contains("end of trees")
            {
                continue;
            }
            let result = Model::from_bytes(truncated, name);
            assert!(result.is_err(), "{name} cut at {cut} loaded");
            let message = result.unwrap_err().to_string();
            assert!(
                message.starts_with(name),
                "{name} cut at {cut}: error does not name the file: {message}"
            );
        }
    }
}

fn edited(file: &str, from: &str, to: &str) -> Result<Model, ModelError> {
    let text = std::fs::read_to_string(fixtures::dir().join(file)).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    Model::from_bytes(text.replacen(from, to, 1).as_bytes(), file)
}

#[test]
fn an_unknown_xgboost_objective_is_unsupported_and_named() {
    let error = edited(
        "xgb_binary_logistic_breast_cancer_missing.xgb.json",
        "\"binary:logistic\"",
        "\"rank:pairwise\"",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::Unsupported { field, value, .. } if field == "learner.objective.name" && value == "rank:pairwise"),
        "{error:?}"
    );
}

#[test]
fn an_unknown_lightgbm_objective_is_unsupported_and_named() {
    let error = edited(
        "lgb_regression_diabetes.lgb.txt",
        "objective=regression",
        "objective=poisson",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::Unsupported { field, value, .. } if field == "objective" && value == "poisson"),
        "{error:?}"
    );
}

#[test]
fn an_unknown_activation_is_unsupported_and_named() {
    let error = edited(
        "sk_mlp_clf_breast_cancer.whyline.json",
        "\"activation\":\"tanh\"",
        "\"activation\":\"gelu\"",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::Unsupported { field, value, .. } if field == "model.activation" && value == "gelu"),
        "{error:?}"
    );
}

#[test]
fn an_out_of_range_child_is_out_of_range_and_names_the_node() {
    let error = edited(
        "sk_tree_clf_iris.whyline.json",
        "\"children_left\":[1,",
        "\"children_left\":[99,",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::OutOfRange { field, found, .. } if field == "model.tree.children_left[0]" && found == "99"),
        "{error:?}"
    );
    let error = edited(
        "lgb_regression_diabetes.lgb.txt",
        "left_child=1 ",
        "left_child=-99 ",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::OutOfRange { field, found, .. } if field.starts_with("Tree=") && field.ends_with(".left_child[0]") && found == "-99"),
        "{error:?}"
    );
}

#[test]
fn an_out_of_range_feature_is_out_of_range_and_a_longer_array_is_malformed() {
    let error = edited(
        "xgb_reg_squarederror_diabetes.xgb.json",
        "\"split_indices\":[8,",
        "\"split_indices\":[4000,",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::OutOfRange { field, found, .. } if field.contains("split_indices") && found == "4000"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("below the model's 10"),
        "{error}"
    );
    let error = edited(
        "xgb_reg_squarederror_diabetes.xgb.json",
        "\"split_indices\":[",
        "\"split_indices\":[4000,",
    )
    .unwrap_err();
    // The array is now one longer than num_nodes.
    assert!(
        matches!(&error, ModelError::Malformed { field, .. } if field.contains("split_indices")),
        "{error:?}"
    );
}

#[test]
fn a_neighbour_count_past_the_training_rows_is_out_of_range() {
    let error = edited(
        "sk_knn_clf_iris.whyline.json",
        "\"n_neighbors\":5",
        "\"n_neighbors\":5000",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::OutOfRange { field, found, .. } if field == "model.n_neighbors" && found == "5000"),
        "{error:?}"
    );
}

#[test]
fn unknown_formats_and_versions_are_refused() {
    let error = Model::from_bytes(b"{\"hello\": 1}", "x.json").unwrap_err();
    assert!(
        matches!(error, ModelError::UnknownFormat { .. }),
        "{error:?}"
    );
    let error = Model::from_bytes(b"\x00\x01binary", "x.bin").unwrap_err();
    assert!(
        matches!(error, ModelError::UnknownFormat { .. }),
        "{error:?}"
    );
    let error = Model::from_bytes(b"", "empty").unwrap_err();
    assert!(
        matches!(error, ModelError::UnknownFormat { .. }),
        "{error:?}"
    );
    // An aprender header cut short (the files themselves: tests/aprender.rs).
    let error = Model::from_bytes(b"APRN\x01\x00", "m.apr").unwrap_err();
    assert!(
        matches!(error, ModelError::Truncated { found: 6, .. }),
        "{error:?}"
    );
    let error = edited(
        "sk_linreg_diabetes.whyline.json",
        "\"format_version\":1",
        "\"format_version\":7",
    )
    .unwrap_err();
    assert!(
        matches!(error, ModelError::UnsupportedVersion { .. }),
        "{error:?}"
    );
    let error = Model::from_bytes(b"{\"format\":\"whyline-model\",", "cut.json").unwrap_err();
    assert!(
        matches!(error, ModelError::Json { line: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn a_lightgbm_sqrt_transform_is_unsupported_not_ignored() {
    let error = edited(
        "lgb_regression_diabetes.lgb.txt",
        "objective=regression",
        "objective=regression sqrt",
    )
    .unwrap_err();
    assert!(
        matches!(&error, ModelError::Unsupported { field, .. } if field == "objective"),
        "{error:?}"
    );
}

#[test]
fn a_bad_value_in_a_batch_names_its_row() {
    let fixture = fixtures::load("sk_logreg_breast_cancer");
    let mut batch: Vec<f32> = fixture.inputs.iter().take(5).flatten().copied().collect();
    let n = fixture.model.n_features();
    batch[3 * n + 7] = f32::NAN;
    let error = fixture.model.predict_explained(&batch).unwrap_err();
    assert!(
        matches!(&error, CoreError::NonFiniteInput { row: Some(3), feature_index: 7, feature_name: Some(name), .. } if name == "mean concave points"),
        "{error:?}"
    );
    batch.pop();
    let error = fixture.model.predict_explained(&batch).unwrap_err();
    assert!(matches!(error, CoreError::InputShape { .. }), "{error:?}");
}
