//! The corners of the output spaces, LinearSHAP, integrated gradients and backgrounds:
//! settings a model cannot honour are refused naming the setting; the links and rules the
//! fixtures' main paths do not take are checked against closed forms (a linear model's
//! exact Shapley and integrated-gradient values) or the model's own prediction.

use whyline_core::Explainable;
use whyline_explain::{
    Background, ExplainError, GradientSettings, Integration, KernelShapSettings, LinearShap,
    LinearShapSettings, MethodSettings, OutputSpace, explain, integrated_gradients, kernel_shap,
    training_means,
};
use whyline_models::{Model, ModelKind};

use crate::common::{model, predict_f32};

fn pipeline(name: &str) -> Model {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/pipelines")
        .join(format!("{name}.whyline.json"));
    Model::load(path).unwrap()
}

/// The `InvalidSetting` of `error`: its setting and what it accepts.
#[track_caller]
fn invalid_setting(error: &ExplainError) -> (String, String, String) {
    match error {
        ExplainError::InvalidSetting {
            setting,
            expected,
            found,
        } => (setting.to_string(), expected.to_string(), found.clone()),
        other => panic!("expected InvalidSetting, got {other:?}"),
    }
}

/// A row of ones and a one-row background of zeros for a model of `n` features.
fn ones(n: usize) -> (Vec<f32>, Background) {
    (
        vec![1.0; n],
        Background::from_flat(vec![0.0; n], n).unwrap(),
    )
}

#[test]
fn a_space_the_model_does_not_have_is_refused_naming_the_model() {
    let cases = [
        (
            "sk_tree_clf_iris.whyline.json",
            OutputSpace::Margin,
            "a decision tree model has no margin",
        ),
        (
            "sk_rf_clf_wine.whyline.json",
            OutputSpace::Margin,
            "a random forest model has no margin",
        ),
        (
            "sk_knn_clf_iris.whyline.json",
            OutputSpace::Margin,
            "KNN model has no margin",
        ),
        (
            "sk_mlp_clf_wine.whyline.json",
            OutputSpace::Margin,
            "MLP model has no margin",
        ),
        (
            "xgb_reg_squarederror_diabetes.xgb.json",
            OutputSpace::Margin,
            "a gradient boosting model has no margin",
        ),
        (
            "aprender/0.27.8/kmeans.apr",
            OutputSpace::Margin,
            "a k-means model has no margin",
        ),
        (
            "sk_linreg_diabetes.whyline.json",
            OutputSpace::Probability,
            "a linear regressor has no probabilities",
        ),
        (
            "sk_mlp_reg_regression.whyline.json",
            OutputSpace::Probability,
            "MLP regressor has no probabilities",
        ),
    ];
    for (file, space, words) in cases {
        let model = model(file);
        let (row, background) = ones(model.n_features());
        let settings = KernelShapSettings {
            space: Some(space),
            ..KernelShapSettings::default()
        };
        let error = kernel_shap(&model, &row, &background, &settings).unwrap_err();
        let (setting, expected, found) = invalid_setting(&error);
        assert_eq!(setting, "space", "{file}");
        assert!(expected.contains(words), "{file}: {error}");
        assert_eq!(found, space.as_str(), "{file}");
    }
    // A margin classifier (SGD with the hinge loss) has no probabilities.
    let hinge = pipeline("pipe_sgd_hinge_multiclass").estimator().clone();
    let (row, background) = ones(10);
    let settings = KernelShapSettings {
        space: Some(OutputSpace::Probability),
        ..KernelShapSettings::default()
    };
    let error = kernel_shap(&hinge, &row, &background, &settings).unwrap_err();
    let (_, expected, _) = invalid_setting(&error);
    assert!(
        expected.contains("a linear margin classifier has no probabilities"),
        "{expected}"
    );
    // An output past the classes.
    let model = model("sk_knn_clf_iris.whyline.json");
    let (row, background) = ones(4);
    let settings = KernelShapSettings {
        output: Some(3),
        ..KernelShapSettings::default()
    };
    let error = kernel_shap(&model, &row, &background, &settings).unwrap_err();
    let (setting, expected, found) = invalid_setting(&error);
    assert_eq!((setting.as_str(), found.as_str()), ("output", "3"));
    assert!(expected.contains("below 3"), "{error}");
}

#[test]
fn a_k_means_model_is_explained_in_its_value() {
    // k-means has neither margins nor probabilities: the default space is its value (the
    // cluster), and exact KernelSHAP over one background row adds up to it.
    let model = model("aprender/0.27.8/kmeans.apr");
    assert!(matches!(model.kind(), ModelKind::KMeans(_)));
    let (row, background) = ones(model.n_features());
    let a = kernel_shap(&model, &row, &background, &KernelShapSettings::default()).unwrap();
    assert_eq!(a.output.space, OutputSpace::Value);
    assert_eq!(a.prediction, predict_f32(&model, &row).unwrap().value);
    assert!(a.residual < 1e-12, "{}", a.residual);
    assert!(a.to_text().contains("(value)"), "{}", a.to_text());
}

/// The exact Shapley values of a linear model's margin `k` against the mean `mu`:
/// `w_kj (x_j − mu_j)`.
fn linear_oracle(model: &Model, k: usize, row: &[f32], mu: &[f64]) -> Vec<f64> {
    let ModelKind::Linear(m) = model.kind() else {
        panic!("a linear model");
    };
    let n = m.n_features;
    (0..n)
        .map(|j| m.coefficients[k * n + j] * (f64::from(row[j]) - mu[j]))
        .collect()
}

#[test]
fn linear_shap_falls_back_to_the_training_means_and_names_what_is_missing() {
    let model = model("sk_linreg_diabetes.whyline.json");
    let shap = LinearShap::new(&model, None).unwrap();
    let stats = model.info().feature_stats.as_ref().unwrap();
    assert_eq!(shap.expectation(), stats.mean.as_slice());
    let row: Vec<f32> = stats.max.iter().map(|&x| x as f32).collect();
    let a = shap.explain(&row, &LinearShapSettings::default()).unwrap();
    let oracle = linear_oracle(&model, 0, &row, &stats.mean);
    for (x, y) in a.values.iter().zip(&oracle) {
        assert!((x - y).abs() < 1e-12, "{x} {y}");
    }
    assert_eq!(a.output.space, OutputSpace::Value);
    assert!(a.to_text().contains("(value)"), "{}", a.to_text());
    // One output only.
    let error = shap
        .explain(
            &row,
            &LinearShapSettings {
                output: Some(1),
                probability: false,
            },
        )
        .unwrap_err();
    assert_eq!(invalid_setting(&error).0, "output");
    // aprender's files carry no training statistics: without a background there is no
    // expectation.
    let apr = model_apr("linear_regression.apr");
    let error = LinearShap::new(&apr, None).unwrap_err();
    assert!(matches!(error, ExplainError::EmptyBackground), "{error:?}");
    assert!(matches!(
        training_means(&apr),
        Err(ExplainError::EmptyBackground)
    ));
}

fn model_apr(name: &str) -> Model {
    model(&format!("aprender/0.27.8/{name}"))
}

#[test]
fn linear_shap_in_probability_space_adds_up_to_each_links_probability() {
    // Softmax (multinomial logistic regression) directly; one-vs-rest logistic (SGD log
    // loss) and a one-margin SVC through a pipeline's estimator.
    let iris = model("sk_logreg_iris.whyline.json");
    let cases: Vec<(Model, Vec<f32>)> = vec![
        (iris, vec![5.9, 3.0, 5.1, 1.8]),
        (
            pipeline("pipe_sgd_log_multiclass").estimator().clone(),
            vec![0.3; 10],
        ),
    ];
    for (model, row) in cases {
        // A background of one row of halves: the pipelines' estimators carry no means.
        let n = model.n_features();
        let background = Background::from_flat(vec![0.5; n], n).unwrap();
        let shap = LinearShap::new(&model, Some(&background)).unwrap();
        assert_eq!(shap.expectation(), vec![0.5; n].as_slice());
        let probabilities = predict_f32(&model, &row).unwrap().probabilities.unwrap();
        for (k, p) in probabilities.iter().enumerate() {
            let settings = LinearShapSettings {
                output: Some(k),
                probability: true,
            };
            let a = shap.explain(&row, &settings).unwrap();
            assert_eq!(a.output.space, OutputSpace::Probability);
            assert!((a.prediction - p).abs() < 1e-15, "{} vs {p}", a.prediction);
            assert!(a.residual < 1e-12, "{}", a.residual);
            // The margin values, rescaled: same signs and ratios.
            let margin = shap
                .explain(
                    &row,
                    &LinearShapSettings {
                        output: Some(k),
                        probability: false,
                    },
                )
                .unwrap();
            let oracle = linear_oracle(&model, k, &row, shap.expectation());
            for (x, y) in margin.values.iter().zip(&oracle) {
                assert!((x - y).abs() < 1e-12, "{x} {y}");
            }
            let scale = a.values[0] / margin.values[0];
            for (x, y) in a.values.iter().zip(&margin.values) {
                assert!((x - y * scale).abs() < 1e-12, "{x} {y}");
            }
        }
    }
    // A one-margin SVC has no probabilities: its values stay margins, labelled class 1.
    let svc = pipeline("pipe_linear_svc").estimator().clone();
    let background = Background::from_flat(vec![0.5; 10], 10).unwrap();
    let shap = LinearShap::new(&svc, Some(&background)).unwrap();
    let a = shap
        .explain(
            &[0.3; 10],
            &LinearShapSettings {
                output: None,
                probability: true,
            },
        )
        .unwrap();
    assert_eq!(a.output.space, OutputSpace::Margin);
    assert_eq!(a.output.index, 1);
    assert!(a.to_text().contains("margin"), "{}", a.to_text());
}

#[test]
fn every_integration_rule_is_exact_on_a_linear_model() {
    // A linear model's gradient is constant: every rule gives w_j (x_j − b_j) exactly.
    let model = model("sk_linreg_diabetes.whyline.json");
    let row: Vec<f32> = (0..10).map(|j| 0.01 * j as f32 - 0.03).collect();
    let baseline: Vec<f32> = vec![0.02; 10];
    let oracle = linear_oracle(
        &model,
        0,
        &row,
        &baseline.iter().map(|&b| f64::from(b)).collect::<Vec<_>>(),
    );
    for integration in [
        Integration::GaussLegendre,
        Integration::RiemannLeft,
        Integration::RiemannRight,
        Integration::RiemannMiddle,
        Integration::RiemannTrapezoid,
    ] {
        let settings = GradientSettings {
            baseline: Some(baseline.clone()),
            integration,
            steps: 7,
            ..GradientSettings::default()
        };
        let a = integrated_gradients(&model, &row, &settings).unwrap();
        for (x, y) in a.values.iter().zip(&oracle) {
            assert!((x - y).abs() < 1e-9, "{integration:?}: {x} {y}");
        }
        assert!(a.residual < 1e-9, "{integration:?}: {}", a.residual);
        assert!(a.to_text().contains("convergence delta"), "{}", a.to_text());
    }
}

#[test]
fn gradients_refuse_a_model_without_them_and_settings_that_do_not_fit() {
    let tree = model("sk_tree_clf_iris.whyline.json");
    let error = integrated_gradients(&tree, &[1.0; 4], &GradientSettings::default()).unwrap_err();
    assert!(
        matches!(
            &error,
            ExplainError::MethodDoesNotFit {
                method: "integrated-gradients",
                model: "decision tree",
                ..
            }
        ),
        "{error:?}"
    );
    let mlp = model("sk_mlp_clf_wine.whyline.json");
    let row = vec![1.0f32; 13];
    let error = integrated_gradients(
        &mlp,
        &row,
        &GradientSettings {
            output: Some(3),
            ..GradientSettings::default()
        },
    )
    .unwrap_err();
    assert_eq!(invalid_setting(&error).0, "output");
    let error = integrated_gradients(
        &mlp,
        &row,
        &GradientSettings {
            baseline: Some(vec![0.0; 12]),
            ..GradientSettings::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::BackgroundWidth {
                row: 0,
                expected: 13,
                found: 12
            }
        ),
        "{error:?}"
    );
    let error = integrated_gradients(
        &mlp,
        &row,
        &GradientSettings {
            steps: 0,
            ..GradientSettings::default()
        },
    )
    .unwrap_err();
    let (setting, expected, found) = invalid_setting(&error);
    assert_eq!(
        (setting.as_str(), expected.as_str(), found.as_str()),
        ("steps", "at least 1", "0")
    );
}

#[test]
fn gradients_of_a_pipeline_are_explained_through_its_estimator() {
    // The function form on a pipeline equals the explainer's, and a multi-class margin
    // model's integrated gradients are exact (its gradient is constant).
    for name in ["pipe_mlp_reg", "pipe_sgd_hinge_multiclass"] {
        let model = pipeline(name);
        let row: Vec<f32> = vec![7.0, 2.0, 52000.0, 40.0, 7600.0, 1.0];
        let row = &row[..model.n_features()];
        for saliency in [false, true] {
            let settings = GradientSettings {
                saliency,
                ..GradientSettings::default()
            };
            let method = if saliency {
                MethodSettings::Saliency(settings.clone())
            } else {
                MethodSettings::IntegratedGradients(settings.clone())
            };
            let direct = integrated_gradients(&model, row, &settings);
            let through = explain(&model, row, &method, None);
            match (direct, through) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{name}");
                    assert_eq!(a.values.len(), model.n_features(), "{name}");
                    if name == "pipe_sgd_hinge_multiclass" && !saliency {
                        assert!(a.residual < 1e-9, "{name}: {}", a.residual);
                    }
                }
                (a, b) => panic!("{name}: {a:?} / {b:?}"),
            }
        }
    }
}

#[test]
fn a_flat_background_must_be_whole_finite_rows() {
    let error = Background::from_flat(Vec::new(), 3).unwrap_err();
    assert!(matches!(error, ExplainError::EmptyBackground), "{error:?}");
    let error = Background::from_flat(vec![0.0; 7], 3).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::BackgroundWidth {
                row: 2,
                expected: 3,
                found: 1
            }
        ),
        "{error:?}"
    );
    let mut values = vec![0.0; 6];
    values[4] = f32::NAN;
    let error = Background::from_flat(values, 3).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::NonFiniteBackground {
                row: 1,
                feature_index: 1,
                ..
            }
        ),
        "{error:?}"
    );
    // The median absolute deviation, odd and even counts: [0, 1, 5] → median 1, deviations
    // [1, 0, 4] → 1; [0, 2, 4, 10] → median 3, deviations [3, 1, 1, 7] → 2.
    let odd = Background::from_flat(vec![0.0, 1.0, 5.0], 1).unwrap();
    assert_eq!(odd.mad(), vec![1.0]);
    let even = Background::from_flat(vec![0.0, 2.0, 4.0, 10.0], 1).unwrap();
    assert_eq!(even.mad(), vec![2.0]);
}

#[test]
fn kernel_shap_of_a_linear_margin_is_the_closed_form() {
    // An additive game: exact KernelSHAP gives w_j (x_j − b_j), in each linear link's
    // margin space.
    let cases: Vec<(Model, Option<OutputSpace>, usize)> = vec![
        (model("sk_linreg_diabetes.whyline.json"), None, 0),
        (
            pipeline("pipe_sgd_log_binary").estimator().clone(),
            Some(OutputSpace::Margin),
            0,
        ),
        (
            model("sk_logreg_iris.whyline.json"),
            Some(OutputSpace::Margin),
            2,
        ),
        (
            pipeline("pipe_linear_svc").estimator().clone(),
            Some(OutputSpace::Margin),
            0,
        ),
        (
            pipeline("pipe_sgd_hinge_multiclass").estimator().clone(),
            None,
            1,
        ),
    ];
    for (model, space, k) in cases {
        let n = model.n_features();
        let row: Vec<f32> = (0..n).map(|j| 0.25 * (j % 5) as f32 - 0.3).collect();
        let base: Vec<f32> = vec![0.1; n];
        let background = Background::from_flat(base.clone(), n).unwrap();
        let settings = KernelShapSettings {
            space,
            output: Some(k),
            ..KernelShapSettings::default()
        };
        let a = kernel_shap(&model, &row, &background, &settings).unwrap();
        // Without a space, a classifier without probabilities is explained in its margins.
        assert_eq!(
            a.output.space,
            space.unwrap_or(a.output.space),
            "{n} features"
        );
        if space.is_none() && model.info().names.classes.len() > 1 {
            assert_eq!(a.output.space, OutputSpace::Margin);
        }
        let mu: Vec<f64> = base.iter().map(|&b| f64::from(b)).collect();
        let oracle = linear_oracle(&model, k, &row, &mu);
        for (j, (x, y)) in a.values.iter().zip(&oracle).enumerate() {
            assert!(
                (x - y).abs() < 1e-9,
                "{n} features, output {k}, feature {j}: {x} {y}"
            );
        }
    }
    // Exact enumeration of more than 24 features is refused, naming the limit.
    let model = model("sk_logreg_breast_cancer.whyline.json");
    let (row, background) = ones(30);
    let settings = KernelShapSettings {
        max_exact_features: 30,
        ..KernelShapSettings::default()
    };
    let error = kernel_shap(&model, &row, &background, &settings).unwrap_err();
    let (setting, expected, found) = invalid_setting(&error);
    assert_eq!(
        (setting.as_str(), found.as_str()),
        ("max_exact_features", "30")
    );
    assert!(expected.contains("refused above 24 features"), "{expected}");
}

#[test]
fn a_sampled_pipeline_attribution_adds_its_features_errors_in_quadrature_per_column() {
    use whyline_explain::Explainer;
    let model = pipeline("pipe_ohe_scaler_hgb_clf");
    let row = [7.0f32, 2.0, 52000.0, 40.0, 7600.0, 1.0];
    let background =
        Background::from_rows(&[vec![7.0, 0.0, 48000.0, 35.0, 5000.0, 0.0]], 6).unwrap();
    let settings = KernelShapSettings {
        max_exact_features: 4,
        samples: 200,
        seed: 5,
        ..KernelShapSettings::default()
    };
    let explainer = Explainer::new(
        &model,
        &MethodSettings::KernelShap(settings),
        Some(&background),
    )
    .unwrap();
    let explanation = explainer.explain_row(&row).unwrap();
    let a = explanation.as_attribution().unwrap();
    let inner = a.estimator.as_ref().unwrap();
    let inner_se = inner.standard_errors.as_ref().unwrap();
    let se = a.standard_errors.as_ref().unwrap();
    let stage = model.preprocessing().unwrap();
    for (c, &column_se) in se.iter().enumerate() {
        let squares: f64 = stage
            .feature_inputs()
            .zip(inner_se)
            .filter(|&(input, _)| input == c)
            .map(|(_, s)| s * s)
            .sum();
        assert!((column_se - squares.sqrt()).abs() < 1e-12, "column {c}");
    }
    // The text shows the city by name and each value's standard error.
    let text = a.to_text();
    assert!(text.contains("(city) = Nice:"), "{text}");
    assert!(text.contains(" ± "), "{text}");
}
