//! Typed errors: a method that does not fit, a background of the wrong width.

use whyline_explain::{
    Background, ExplainError, KernelShapSettings, LinearShapSettings, MethodSettings,
    TreeShapSettings, explain,
};

use crate::common::model;

#[test]
fn tree_shap_on_a_knn_model_is_method_does_not_fit() {
    let knn = model("sk_knn_clf_iris.whyline.json");
    let error = explain(
        &knn,
        &[5.0, 3.0, 1.5, 0.2],
        &MethodSettings::TreeShap(TreeShapSettings::default()),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::MethodDoesNotFit {
                method: "tree-shap",
                model: "KNN",
                ..
            }
        ),
        "got {error:?}"
    );
    assert!(error.to_string().contains("does not explain a KNN model"));
}

#[test]
fn linear_shap_on_a_forest_is_method_does_not_fit() {
    let forest = model("sk_rf_reg_diabetes.whyline.json");
    let error = explain(
        &forest,
        &[0.0; 10],
        &MethodSettings::LinearShap(LinearShapSettings::default()),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(error, ExplainError::MethodDoesNotFit { .. }),
        "got {error:?}"
    );
}

#[test]
fn background_rows_of_the_wrong_width_are_named() {
    let error = Background::from_rows(&[vec![0.0; 4], vec![0.0; 3]], 4).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::BackgroundWidth {
                row: 1,
                expected: 4,
                found: 3
            }
        ),
        "got {error:?}"
    );
    let knn = model("sk_knn_clf_iris.whyline.json");
    let narrow = Background::from_rows(&[vec![0.0; 3]], 3).unwrap();
    let error = explain(
        &knn,
        &[5.0, 3.0, 1.5, 0.2],
        &MethodSettings::KernelShap(KernelShapSettings::default()),
        Some(&narrow),
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::BackgroundWidth {
                expected: 4,
                found: 3,
                ..
            }
        ),
        "got {error:?}"
    );
}

#[test]
fn nan_for_a_model_without_missing_rule_is_invalid_input() {
    let tree = model("sk_tree_clf_iris.whyline.json");
    let error = explain(
        &tree,
        &[5.0, f32::NAN, 1.5, 0.2],
        &MethodSettings::TreeShap(TreeShapSettings::default()),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::Model(_)
                | ExplainError::InvalidInput {
                    feature_index: 1,
                    ..
                }
        ),
        "got {error:?}"
    );
}
