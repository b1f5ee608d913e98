//! LinearSHAP against shap.LinearExplainer with the same background.

use whyline_explain::{Background, LinearShap, LinearShapSettings, OutputSpace};

use crate::common::*;

#[test]
fn linear_and_logistic_models_match_shap_linear_explainer_within_1e_12() {
    for name in [
        "sk_linreg_diabetes",
        "sk_logreg_breast_cancer",
        "sk_ridge_regression",
        "sk_logreg_iris",
    ] {
        let fixture = explain_fixture(&format!("{name}.linear.shap.json"));
        let model = model(fixture["model"].as_str().unwrap());
        let background_rows = rows(&fixture["background"]);
        let background = Background::from_rows(&background_rows, background_rows[0].len()).unwrap();
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
    let fixture = explain_fixture("sk_logreg_breast_cancer.linear.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let background = Background::from_rows(&rows(&fixture["background"]), 30).unwrap();
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
