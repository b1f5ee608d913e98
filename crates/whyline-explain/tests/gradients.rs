//! Integrated gradients and saliency: exact on linear models (shap.LinearExplainer's values
//! with the background mean as baseline), complete within the reported delta on MLPs, and
//! gradients against finite differences of the model's own (scikit-learn-checked) output.

use whyline_explain::{
    Background, GradientSettings, Integration, OutputSpace, integrated_gradients,
};

use crate::common::*;

#[test]
fn integrated_gradients_on_linear_models_equal_linear_explainer_values() {
    for name in [
        "sk_linreg_diabetes",
        "sk_logreg_breast_cancer",
        "sk_logreg_iris",
    ] {
        let fixture = explain_fixture(&format!("{name}.linear.shap.json"));
        let model = model(fixture["model"].as_str().unwrap());
        let background_rows = rows(&fixture["background"]);
        let mean: Vec<f32> = Background::from_rows(&background_rows, background_rows[0].len())
            .unwrap()
            .mean()
            .iter()
            .map(|&v| v as f32)
            .collect();
        let expected = values3(&fixture["values"]);
        for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
            for (k, shap) in expected[r].iter().enumerate() {
                for integration in [Integration::GaussLegendre, Integration::RiemannLeft] {
                    let settings = GradientSettings {
                        output: Some(k),
                        baseline: Some(mean.clone()),
                        integration,
                        steps: 7,
                        saliency: false,
                    };
                    let a = integrated_gradients(&model, row, &settings).unwrap();
                    // The baseline is the f32-rounded mean; shap used the f64 mean: allow
                    // for that rounding (|w| × 1e-7 × |mean|).
                    for (j, (x, y)) in a.values.iter().zip(shap).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-6 * (1.0 + y.abs()),
                            "{name} row {r} output {k} feature {j}: ours {x} shap {y}"
                        );
                    }
                    assert!(a.convergence_delta.unwrap() < 1e-9 * (1.0 + a.prediction.abs()));
                }
            }
        }
    }
}

#[test]
fn mlp_attributions_are_complete_within_the_reported_delta() {
    for file in [
        "sk_mlp_clf_breast_cancer.whyline.json",
        "sk_mlp_clf_wine.whyline.json",
        "sk_mlp_reg_regression.whyline.json",
    ] {
        let model = model(file);
        let expected_file = file.replace(".whyline.json", ".expected.json");
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-models/tests/fixtures")
            .join(expected_file);
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (r, row) in rows(&fixture["inputs"]).iter().take(5).enumerate() {
            let a = integrated_gradients(&model, row, &GradientSettings::default()).unwrap();
            let total: f64 = a.values.iter().sum();
            let delta = a.convergence_delta.unwrap();
            assert!(((total - (a.prediction - a.base_value)).abs() - delta).abs() < 1e-12);
            // ReLU kinks slow the quadrature's convergence; tanh and logistic nets are smooth.
            assert!(delta < 1e-2, "{file} row {r}: delta {delta}");
            // f(x) is the library's output: scikit-learn's predict_proba / predict.
            let library = match a.output.space {
                OutputSpace::Probability => fixture["proba"][r][a.output.index].as_f64().unwrap(),
                _ => fixture["predict"][r].as_f64().unwrap(),
            };
            assert!(
                (a.prediction - library).abs() < 1e-9,
                "{file}: {} vs {library}",
                a.prediction
            );
            // The trapezoid rule is complete within its own delta too.
            let trapezoid = integrated_gradients(
                &model,
                row,
                &GradientSettings {
                    integration: Integration::RiemannTrapezoid,
                    steps: 400,
                    ..GradientSettings::default()
                },
            )
            .unwrap();
            let total: f64 = trapezoid.values.iter().sum();
            let gap = (total - (trapezoid.prediction - trapezoid.base_value)).abs();
            assert!((gap - trapezoid.convergence_delta.unwrap()).abs() < 1e-12);
            assert!(trapezoid.convergence_delta.unwrap() < 1e-2);
        }
    }
}

#[test]
fn saliency_matches_finite_differences_of_the_model_output() {
    let model = model("sk_mlp_clf_wine.whyline.json");
    let row = [
        0.5f32, -0.25, 1.0, 0.0, 0.75, -1.0, 0.25, 0.5, -0.5, 1.25, -0.75, 0.0, 0.5,
    ];
    let settings = GradientSettings {
        output: Some(1),
        saliency: true,
        ..GradientSettings::default()
    };
    let a = integrated_gradients(&model, &row, &settings).unwrap();
    let p = |x: &[f32]| predict_f32(&model, x).unwrap().probabilities.unwrap()[1];
    for j in 0..row.len() {
        let h = 1.0 / 64.0; // exact in f32
        let mut up = row;
        let mut down = row;
        up[j] += h;
        down[j] -= h;
        let numeric = (p(&up) - p(&down)) / (2.0 * f64::from(h));
        assert!(
            (a.values[j] - numeric).abs() < 2e-3 * (1.0 + numeric.abs()),
            "feature {j}: gradient {} vs finite difference {numeric}",
            a.values[j]
        );
    }
}
