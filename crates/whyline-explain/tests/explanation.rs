//! [`Explanation`]'s views (kind, accessors, JSON, text) for both kinds, and every method
//! reached through [`Explainer`], checked against shap's values or the method's own
//! function.

use whyline_core::Explainable;
use whyline_explain::{
    Background, CounterfactualSettings, ExplainError, Explainer, GradientSettings,
    KernelShapSettings, LinearShapSettings, MethodSettings, TreeShapSettings, explain,
    integrated_gradients, kernel_shap, training_means,
};

use crate::common::*;

/// The breast-cancer logistic regression, shap's LinearExplainer values over a background.
fn linear_case() -> (
    whyline_models::Model,
    Vec<Vec<f32>>,
    Background,
    serde_json::Value,
) {
    let fixture = explain_fixture("sk_logreg_breast_cancer.linear.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let background = Background::from_rows(&rows(&fixture["background"]), 30).unwrap();
    (model, rows(&fixture["rows"]), background, fixture)
}

#[test]
fn an_attribution_explanation_says_so_and_renders_as_its_attribution() {
    let (model, rows, background, fixture) = linear_case();
    let settings = MethodSettings::LinearShap(LinearShapSettings {
        output: Some(0),
        probability: false,
    });
    let explainer = Explainer::new(&model, &settings, Some(&background)).unwrap();
    assert!(std::ptr::eq(explainer.model(), &model));
    let expected = values3(&fixture["values"]);
    let base = floats(&fixture["expected_value"]);
    for (r, row) in rows.iter().enumerate() {
        let explanation = explainer.explain_row(row).unwrap();
        assert_eq!(explanation.kind(), "attribution");
        assert!(explanation.as_counterfactual().is_none());
        let a = explanation.as_attribution().unwrap();
        assert_attribution_matches(a, base[0], &expected[r][0], 1e-12, &format!("row {r}"));
        // The views are the attribution's own.
        let json = explanation.to_json();
        assert_eq!(json, a.to_json());
        assert_eq!(json["method"], "linear-shap");
        let values: Vec<f64> = json["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(values, a.values);
        let text = explanation.to_text();
        assert_eq!(text, a.to_text());
        // The first feature line is the feature of the largest |value|.
        let top = (0..a.values.len())
            .max_by(|&i, &j| a.values[i].abs().total_cmp(&a.values[j].abs()))
            .unwrap();
        let second = text.lines().nth(1).unwrap();
        assert!(
            second.starts_with(&format!("  feature[{top}] ({})", a.feature_names[top])),
            "{text}"
        );
        // The function form gives the same attribution.
        assert_eq!(
            &explain(&model, row, &settings, Some(&background)).unwrap(),
            a
        );
    }
}

#[test]
fn a_counterfactual_explanation_flips_the_decision_and_renders_as_the_counterfactual() {
    let (model, rows, _, _) = linear_case();
    let settings = CounterfactualSettings {
        seed: 11,
        ..CounterfactualSettings::default()
    };
    let method = MethodSettings::Counterfactual(settings.clone());
    let explainer = Explainer::new(&model, &method, None).unwrap();
    for row in rows.iter().take(3) {
        let explanation = explainer.explain_row(row).unwrap();
        assert_eq!(explanation.kind(), "counterfactual");
        assert!(explanation.as_attribution().is_none());
        let c = explanation.as_counterfactual().unwrap();
        // The oracle: the model itself, on the changed row.
        let decision = |x: &[f32]| predict_f32(&model, x).unwrap().value as usize;
        assert_eq!(decision(row), c.original_decision);
        assert_eq!(decision(&c.counterfactual_input), c.alternative_decision);
        assert_ne!(c.alternative_decision, c.original_decision);
        let json = explanation.to_json();
        assert_eq!(json["method"], "counterfactual");
        assert_eq!(json["seed"], 11);
        assert_eq!(json["text"], c.explain());
        assert_eq!(json["alternative_decision"], c.alternative_decision);
        let mut own = c.to_json();
        let object = own.as_object_mut().unwrap();
        object.insert("method".into(), "counterfactual".into());
        object.insert("seed".into(), 11.into());
        assert_eq!(json, own);
        let text = explanation.to_text();
        assert_eq!(text, c.explain());
        let classes = &model.info().names.classes;
        assert!(
            text.starts_with(&format!(
                "The decision would have been {} instead of {} if:",
                classes[c.alternative_decision], classes[c.original_decision]
            )),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1 + c.changes.len(), "{text}");
    }
    // The attribution-only entry point refuses it, naming the method.
    let error = explain(&model, &rows[0], &method, None).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::NotAnAttribution {
                method: "counterfactual"
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_pipeline_has_no_counterfactual_explainer() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/pipelines/pipe_scaler_logreg.whyline.json");
    let model = whyline_models::Model::load(path).unwrap();
    let method = MethodSettings::Counterfactual(CounterfactualSettings::default());
    let error = Explainer::new(&model, &method, None).unwrap_err();
    assert!(
        matches!(
            &error,
            ExplainError::MethodDoesNotFit {
                method: "counterfactual",
                model: "pipeline",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("tree-shap"), "{error}");
}

#[test]
fn interventional_tree_shap_through_the_explainer_matches_shap() {
    let fixture = explain_fixture("sk_tree_clf_iris.interventional.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let background = Background::from_rows(&rows(&fixture["background"]), 4).unwrap();
    let expected = values3(&fixture["values"]);
    let base = floats(&fixture["expected_value"]);
    for k in 0..3 {
        let settings = MethodSettings::TreeShap(TreeShapSettings {
            output: Some(k),
            interventional: true,
        });
        let explainer = Explainer::new(&model, &settings, Some(&background)).unwrap();
        for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
            let explanation = explainer.explain_row(row).unwrap();
            let a = explanation.as_attribution().unwrap();
            assert_attribution_matches(a, base[k], &expected[r][k], 1e-6, &format!("{r}/{k}"));
        }
    }
    // Without a background there is nothing to intervene with.
    let settings = MethodSettings::TreeShap(TreeShapSettings {
        output: None,
        interventional: true,
    });
    let error = Explainer::new(&model, &settings, None).unwrap_err();
    assert!(matches!(error, ExplainError::EmptyBackground), "{error:?}");
}

#[test]
fn gradients_through_the_explainer_equal_the_function_and_saliency_is_the_gradient() {
    let model = model("sk_mlp_clf_wine.whyline.json");
    let fixture = explain_fixture("sk_mlp_clf_wine.kernel.shap.json");
    let row = &rows(&fixture["rows"])[0];
    let settings = GradientSettings::default();
    let explainer = Explainer::new(
        &model,
        &MethodSettings::IntegratedGradients(settings.clone()),
        None,
    )
    .unwrap();
    let through = explainer.explain_row(row).unwrap();
    let direct = integrated_gradients(&model, row, &settings).unwrap();
    assert_eq!(through.as_attribution().unwrap(), &direct);
    // Completeness: integrated gradients add up to f(x) − f(baseline) within the
    // quadrature's reported gap.
    assert!(direct.residual < 1e-3, "{}", direct.residual);

    let explainer =
        Explainer::new(&model, &MethodSettings::Saliency(settings.clone()), None).unwrap();
    let saliency = explainer.explain_row(row).unwrap();
    let expected = integrated_gradients(
        &model,
        row,
        &GradientSettings {
            saliency: true,
            ..settings
        },
    )
    .unwrap();
    assert_eq!(saliency.as_attribution().unwrap(), &expected);
    assert_ne!(expected.values, direct.values);
}

#[test]
fn kernel_shap_without_a_background_uses_the_training_means() {
    let model = model("sk_knn_reg_diabetes.whyline.json");
    let means = training_means(&model).unwrap();
    let stats = model.info().feature_stats.as_ref().unwrap();
    assert_eq!(means.n_rows(), 1);
    let first: Vec<f32> = means.rows().next().unwrap().to_vec();
    let want: Vec<f32> = stats.mean.iter().map(|&m| m as f32).collect();
    assert_eq!(first, want);
    let settings = KernelShapSettings {
        max_exact_features: 10,
        ..KernelShapSettings::default()
    };
    let explainer =
        Explainer::new(&model, &MethodSettings::KernelShap(settings.clone()), None).unwrap();
    let fixture = explain_fixture("sk_knn_reg_diabetes.kernel.shap.json");
    let row = &rows(&fixture["rows"])[0];
    let through = explainer.explain_row(row).unwrap();
    let direct = kernel_shap(&model, row, &means, &settings).unwrap();
    assert_eq!(through.as_attribution().unwrap(), &direct);
    // Exact enumeration over one background row adds up.
    assert!(direct.residual < 1e-9, "{}", direct.residual);

    // A model file without training statistics has no means to fall back on.
    let booster = model_without_stats();
    let error = training_means(&booster).unwrap_err();
    assert!(matches!(error, ExplainError::EmptyBackground), "{error:?}");
    let error = Explainer::new(&booster, &MethodSettings::KernelShap(settings), None).unwrap_err();
    assert!(matches!(error, ExplainError::EmptyBackground), "{error:?}");
}

fn model_without_stats() -> whyline_models::Model {
    let booster = model("xgb_reg_squarederror_diabetes.xgb.json");
    assert!(booster.info().feature_stats.is_none());
    assert_eq!(booster.n_features(), 10);
    booster
}
