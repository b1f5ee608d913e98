//! LinearSHAP against shap.LinearExplainer with the same background.

use whyline_explain::{Background, LinearShap, LinearShapSettings, OutputSpace};
use whyline_models::Model;

use crate::common::*;

/// The fixture `NAME.linear.shap.json`, its model and the background set shap used.
fn linear_fixture(name: &str) -> (serde_json::Value, Model, Background) {
    let fixture = explain_fixture(&format!("{name}.linear.shap.json"));
    let model = fixture_model(&fixture);
    let rows = rows(&fixture["background"]);
    let background = Background::from_rows(&rows, rows[0].len()).unwrap();
    (fixture, model, background)
}

#[test]
fn linear_and_logistic_models_match_shap_linear_explainer_within_1e_12() {
    for name in [
        "sk_linreg_diabetes",
        "sk_logreg_breast_cancer",
        "sk_ridge_regression",
        "sk_logreg_iris",
        "sk_sgd_log_wine",
        "sk_sgd_hinge_wine",
    ] {
        let (fixture, model, background) = linear_fixture(name);
        let explainer = LinearShap::new(&model, Some(&background)).unwrap();
        let expected = values3(&fixture["values"]);
        let expected_base = floats(&fixture["expected_value"]);
        for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
            for (k, shap_k) in expected[r].iter().enumerate() {
                let settings = LinearShapSettings {
                    output: Some(k),
                    probability: false,
                };
                let a = explainer.explain(row, &settings).unwrap();
                let what = format!("{name} row {r} output {k}");
                assert_attribution_matches(&a, expected_base[k], shap_k, 1e-12, &what);
            }
        }
    }
}

#[test]
fn probability_space_adds_up_to_the_model_probability() {
    let (fixture, model, background) = linear_fixture("sk_logreg_breast_cancer");
    let explainer = LinearShap::new(&model, Some(&background)).unwrap();
    let settings = LinearShapSettings {
        output: None,
        probability: true,
    };
    for row in rows(&fixture["rows"]) {
        let a = explainer.explain(&row, &settings).unwrap();
        assert_eq!(a.output.space, OutputSpace::Probability);
        let p = predict_f32(&model, &row).unwrap().probabilities.unwrap()[1];
        assert!((a.prediction - p).abs() < 1e-15);
        assert!(a.residual < 1e-12, "residual {}", a.residual);
    }
}

#[test]
fn a_multiclass_model_explains_its_predicted_class_unless_told_otherwise() {
    // Softmax, one-vs-rest logistic and hinge margins (three outputs each): without an
    // output the explained one is scikit-learn's predicted class, named as that class.
    for name in ["sk_logreg_iris", "sk_sgd_log_wine", "sk_sgd_hinge_wine"] {
        let (fixture, model, background) = linear_fixture(name);
        let explainer = LinearShap::new(&model, Some(&background)).unwrap();
        let expected = values3(&fixture["values"]);
        let expected_base = floats(&fixture["expected_value"]);
        let predicted: Vec<usize> = match fixture["predict"].as_array() {
            Some(classes) => classes
                .iter()
                .map(|c| c.as_u64().unwrap() as usize)
                .collect(),
            None => rows(&fixture["rows"])
                .iter()
                .map(|row| predict_f32(&model, row).unwrap().value as usize)
                .collect(),
        };
        let mut seen = [false; 3];
        for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
            let k = predicted[r];
            seen[k] = true;
            let a = explainer
                .explain(row, &LinearShapSettings::default())
                .unwrap();
            assert_eq!(a.output.index, k, "{name} row {r}");
            assert_eq!(a.output.space, OutputSpace::Margin);
            let what = format!("{name} row {r} (class {k})");
            assert_attribution_matches(&a, expected_base[k], &expected[r][k], 1e-12, &what);
            for (j, shap_j) in expected[r].iter().enumerate() {
                let settings = LinearShapSettings {
                    output: Some(j),
                    probability: false,
                };
                let a = explainer.explain(row, &settings).unwrap();
                assert_eq!(a.output.index, j, "{name} row {r} output {j}");
                let what = format!("{name} row {r} output {j}");
                assert_attribution_matches(&a, expected_base[j], shap_j, 1e-12, &what);
            }
        }
        assert_eq!(seen, [true; 3], "{name}: the rows predict every class");
    }
}

#[test]
fn one_vs_rest_probabilities_start_from_the_models_probability_at_the_mean() {
    // scikit-learn's predict_proba of a one-vs-rest model normalises the classes' sigmoids;
    // at the background mean it is the base value of probability space, at the row the
    // prediction the values add up to.
    let (fixture, model, background) = linear_fixture("sk_sgd_log_wine");
    let explainer = LinearShap::new(&model, Some(&background)).unwrap();
    let at_mean = floats(&fixture["proba_at_mean"]);
    let proba = values2(&fixture["proba"]);
    for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
        for k in 0..3 {
            let settings = LinearShapSettings {
                output: Some(k),
                probability: true,
            };
            let a = explainer.explain(row, &settings).unwrap();
            assert_eq!(
                (a.output.index, a.output.space),
                (k, OutputSpace::Probability)
            );
            assert!(
                (a.base_value - at_mean[k]).abs() <= 1e-12,
                "row {r} class {k}: base {} vs predict_proba at the mean {}",
                a.base_value,
                at_mean[k]
            );
            assert!(
                (a.prediction - proba[r][k]).abs() <= 1e-12,
                "row {r} class {k}"
            );
            let sum = a.base_value + a.values.iter().sum::<f64>();
            assert!(
                (sum - proba[r][k]).abs() <= 1e-12,
                "row {r} class {k}: {sum}"
            );
        }
    }
}
