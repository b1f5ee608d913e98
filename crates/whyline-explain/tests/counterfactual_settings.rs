//! Counterfactual settings a search cannot honour, and the models it cannot search: each
//! refused with the setting or the model named.

use whyline_explain::{
    CounterfactualSearch, CounterfactualSettings, ExplainError, Impossible, counterfactual,
};
use whyline_models::Model;

use crate::common::{model, predict_f32};

fn refused(model: &Model, row: &[f32], settings: &CounterfactualSettings) -> ExplainError {
    match counterfactual(model, row, settings, None) {
        Ok(found) => panic!("found {found:?}"),
        Err(error) => error,
    }
}

#[track_caller]
fn setting_of(error: &ExplainError) -> (String, String, String) {
    match error {
        ExplainError::InvalidSetting {
            setting,
            expected,
            found,
        } => (setting.to_string(), expected.to_string(), found.clone()),
        other => panic!("expected InvalidSetting, got {other:?}"),
    }
}

#[test]
fn bounds_and_immutable_features_must_name_features_of_the_row() {
    let iris = model("sk_tree_clf_iris.whyline.json");
    let row = [5.9f32, 3.0, 5.1, 1.8];
    // A bound that does not hold the row's own value.
    let settings = CounterfactualSettings {
        bounds: vec![(2, 1.0, 2.0)],
        ..CounterfactualSettings::default()
    };
    let (setting, expected, found) = setting_of(&refused(&iris, &row, &settings));
    assert_eq!((setting.as_str(), found.as_str()), ("bounds[2]", "[1, 2]"));
    assert!(
        expected.contains("holding the row's value 5.1"),
        "{expected}"
    );
    // A bound of a feature past the row, and one upside down.
    for bounds in [(4, 0.0, 9.0), (0, 9.0, 1.0)] {
        let settings = CounterfactualSettings {
            bounds: vec![bounds],
            ..CounterfactualSettings::default()
        };
        let (setting, _, _) = setting_of(&refused(&iris, &row, &settings));
        assert_eq!(setting, format!("bounds[{}]", bounds.0));
    }
    // A bound with a NaN end, and an upside-down one around a missing value (which no
    // comparison with the row's value would catch).
    let missing = [5.9f32, 3.0, f32::NAN, 1.8];
    let cases = [
        (&row[..], (0, 0.0, f32::NAN)),
        (&row[..], (0, f32::NAN, 9.0)),
        (&missing[..], (2, 9.0, 1.0)),
    ];
    for (row, bounds) in cases {
        let settings = CounterfactualSettings {
            bounds: vec![bounds],
            ..CounterfactualSettings::default()
        };
        let (setting, _, _) = setting_of(&refused(&iris, row, &settings));
        assert_eq!(setting, format!("bounds[{}]", bounds.0), "{bounds:?}");
    }
    // An immutable feature past the row.
    let settings = CounterfactualSettings {
        immutable: vec![1, 7],
        ..CounterfactualSettings::default()
    };
    let (setting, expected, found) = setting_of(&refused(&iris, &row, &settings));
    assert_eq!(
        (setting.as_str(), expected.as_str(), found.as_str()),
        ("immutable", "feature indices below 4", "7")
    );
}

#[test]
fn a_regressor_has_no_decision_to_flip_and_knn_has_no_exact_search() {
    let regressor = model("sk_tree_reg_diabetes.whyline.json");
    let error = refused(&regressor, &[0.0; 10], &CounterfactualSettings::default());
    assert!(
        matches!(
            error,
            ExplainError::MethodDoesNotFit {
                method: "counterfactual",
                model: "decision tree",
                hint: "a regressor has no decision to flip",
            }
        ),
        "{error:?}"
    );
    let knn = model("sk_knn_clf_iris.whyline.json");
    let exact = CounterfactualSettings {
        search: CounterfactualSearch::Exact,
        ..CounterfactualSettings::default()
    };
    let error = refused(&knn, &[5.9, 3.0, 5.1, 1.8], &exact);
    assert!(
        matches!(
            &error,
            ExplainError::MethodDoesNotFit {
                method: "exact counterfactual",
                model: "KNN",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("search: seeded"), "{error}");
    // The seeded search finds one, and the model agrees that it flips the decision.
    let seeded = CounterfactualSettings {
        search: CounterfactualSearch::Seeded,
        seed: 3,
        ..CounterfactualSettings::default()
    };
    let row = [5.9f32, 3.0, 5.1, 1.8];
    let found = counterfactual(&knn, &row, &seeded, None).unwrap();
    let decision = |x: &[f32]| predict_f32(&knn, x).unwrap().value as usize;
    assert_eq!(
        decision(&found.counterfactual_input),
        found.alternative_decision
    );
    assert_ne!(found.alternative_decision, decision(&row));
    assert!(found.evaluations > 0 && found.evaluations <= seeded.max_evaluations);
}

#[test]
fn a_logistic_model_whose_movable_features_have_no_weight_cannot_flip() {
    // p = σ(0·x0 + 2·x1 − 1): with x1 immutable, nothing moves the decision.
    let text = r#"{"format":"whyline-model","format_version":1,
        "model_type":"logistic_regression","task":"classification","n_features":2,
        "class_names":["deny","approve"],
        "model":{"link":"logistic","n_outputs":1,"coef":[0.0,2.0],"intercept":[-1.0]}}"#;
    let model = Model::from_bytes(text.as_bytes(), "weights.json").unwrap();
    let settings = CounterfactualSettings {
        immutable: vec![1],
        ..CounterfactualSettings::default()
    };
    let error = refused(&model, &[3.0, 0.0], &settings);
    assert!(
        matches!(
            error,
            ExplainError::ImpossibleCounterfactual {
                reason: Impossible::AllFeaturesImmutable
            }
        ),
        "{error:?}"
    );
    // Free, x1 crosses 0.5 (the decision boundary), and only x1 moves.
    let found = counterfactual(
        &model,
        &[3.0, 0.0],
        &CounterfactualSettings::default(),
        None,
    )
    .unwrap();
    assert_eq!(found.alternative_decision, 1);
    assert_eq!(found.changes.len(), 1);
    assert_eq!(found.changes[0].feature_idx, 1);
    assert!(found.counterfactual_input[1] > 0.5);
    assert!((found.counterfactual_input[1] - 0.5).abs() < 1e-3);
    assert!(
        found.explain().contains("feature[1] increased from 0 to"),
        "{}",
        found.explain()
    );
}
