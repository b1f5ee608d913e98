//! Pipelines (`python/make_pipeline_fixtures.py`): TreeSHAP on the estimator's features
//! equals shap's on scikit-learn's transformed rows, and the attributions of the input
//! columns (one-hot columns summed back into their feature) add up to the same output.

use std::path::PathBuf;

use serde_json::Value;
use whyline_core::Explainable;
use whyline_explain::{
    Background, Explainer, Explanation, MethodSettings, TreeShap, TreeShapAlgorithm,
    TreeShapSettings,
};
use whyline_models::{Model, RowFormat, RowOptions, Rows};

const WITH_SHAP: &[&str] = &[
    "pipe_ohe_scaler_hgb_clf",
    "hgb_reg_missing",
    "pipe_minmax_ohe_extra_trees_clf",
    "extra_trees_reg",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../whyline-models/tests/fixtures/pipelines")
}

fn load(name: &str) -> (Model, Rows, Value) {
    let model = Model::load(dir().join(format!("{name}.whyline.json"))).unwrap();
    let rows = Rows::for_model_path(
        &dir().join(format!("{name}.rows.csv")),
        RowFormat::Auto,
        &model,
        RowOptions::new(),
    )
    .unwrap();
    let text = std::fs::read_to_string(dir().join(format!("{name}.expected.json"))).unwrap();
    (model, rows, serde_json::from_str(&text).unwrap())
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect()
}

#[test]
fn tree_shap_on_the_estimators_features_equals_shap_on_the_transformed_rows() {
    for name in WITH_SHAP {
        let (model, _, doc) = load(name);
        let shap = &doc["shap"];
        let expected_base = floats(&shap["expected_value"]);
        for algorithm in [TreeShapAlgorithm::Sweep, TreeShapAlgorithm::LeafTable] {
            let explainer = TreeShap::new(model.estimator())
                .unwrap()
                .with_algorithm(algorithm);
            for (k, (ours, theirs)) in explainer
                .base_values()
                .iter()
                .zip(&expected_base)
                .enumerate()
            {
                assert!(
                    (ours - theirs).abs() <= 1e-9 * theirs.abs().max(1.0),
                    "{name}: expected_value[{k}] {ours} != shap's {theirs}"
                );
            }
            let outputs = shap["values"].as_array().unwrap();
            for (r, row) in doc["transformed"].as_array().unwrap().iter().enumerate() {
                let row: Vec<f32> = floats(row).iter().map(|&x| x as f32).collect();
                let ours = explainer.shap_values(&row).unwrap();
                assert_eq!(ours.len(), outputs.len(), "{name}: outputs");
                for (k, output) in outputs.iter().enumerate() {
                    let theirs = floats(&output[r]);
                    for (f, (o, t)) in ours[k].iter().zip(&theirs).enumerate() {
                        assert!(
                            (o - t).abs() <= 1e-9 * t.abs().max(1.0),
                            "{name} row {r} output {k} feature {f}: {o} != shap's {t}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn input_column_attributions_sum_the_features_and_add_up_to_the_same_output() {
    for name in WITH_SHAP {
        let (model, rows, _) = load(name);
        let settings = MethodSettings::TreeShap(TreeShapSettings::default());
        let explainer = Explainer::new(&model, &settings, None).unwrap();
        let stage = model.preprocessing();
        for (r, row) in rows.to_f32().chunks_exact(model.n_features()).enumerate() {
            let Explanation::Attribution(a) = explainer.explain_row(row).unwrap() else {
                panic!("{name}: not an attribution");
            };
            assert_eq!(
                a.values.len(),
                model.n_features(),
                "{name}: one value per input"
            );
            assert!(
                a.residual <= 1e-9 * a.prediction.abs().max(1.0),
                "{name} row {r}: residual {}",
                a.residual
            );
            let Some(stage) = stage else {
                assert!(a.estimator.is_none());
                continue;
            };
            let inner = a.estimator.as_ref().unwrap();
            assert_eq!(inner.values.len(), stage.n_features());
            // Each input column's value is the sum of its features', in feature order.
            for (input, value) in a.values.iter().enumerate() {
                let mut sum = 0.0;
                for (feature, v) in stage.feature_inputs().zip(&inner.values) {
                    if feature == input {
                        sum += v;
                    }
                }
                assert_eq!(*value, sum, "{name} row {r} input {input}");
            }
            assert_eq!(a.prediction, inner.prediction);
            assert_eq!(a.base_value, inner.base_value);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.row), bits(row));
            assert_eq!(a.feature_names, model.info().names.features);
        }
    }
}

#[test]
fn a_pipeline_background_is_transformed_before_interventional_tree_shap() {
    let (model, rows, _) = load("pipe_ohe_scaler_hgb_clf");
    let width = model.n_features();
    let flat = rows.to_f32();
    // Complete rows (the background refuses missing values); categories as indices.
    let complete: Vec<f32> = flat
        .chunks_exact(width)
        .skip(1)
        .filter(|row| row.iter().all(|x| x.is_finite()))
        .take(10)
        .flatten()
        .copied()
        .collect();
    assert!(complete.len() >= 5 * width);
    let background = Background::from_flat(complete, width).unwrap();
    let settings = MethodSettings::TreeShap(TreeShapSettings {
        interventional: true,
        ..TreeShapSettings::default()
    });
    let explainer = Explainer::new(&model, &settings, Some(&background)).unwrap();
    let Explanation::Attribution(a) = explainer.explain_row(&flat[..width]).unwrap() else {
        panic!("not an attribution");
    };
    assert_eq!(a.values.len(), width);
    assert!(a.residual <= 1e-9, "residual {}", a.residual);
    // The counterfactual search works on the estimator's features and is refused by name.
    let settings = MethodSettings::Counterfactual(Default::default());
    let error = Explainer::new(&model, &settings, None).unwrap_err();
    assert!(error.to_string().contains("counterfactual"), "{error}");
}

/// shap does not take HistGradientBoosting's categorical splits; the path-dependent game
/// enumerated coalition by coalition is the oracle there (unknown and missing categories
/// included: the transformed rows hold NaN for them).
#[test]
fn tree_shap_on_categorical_histogram_boosting_matches_brute_force_enumeration() {
    for name in [
        "hgb_native_categories_multiclass",
        "pipe_impute_ordinal_hgb_reg",
    ] {
        let (model, _, doc) = load(name);
        let estimator = model.estimator();
        let mut categorical_splits = 0;
        if let whyline_models::ModelKind::GradientBoosting(m) = estimator.kind() {
            for tree in &m.trees {
                categorical_splits += tree
                    .nodes
                    .iter()
                    .filter_map(|n| n.split.as_ref())
                    .filter(|s| !s.categories.is_empty())
                    .count();
            }
        }
        assert!(categorical_splits > 0, "{name}: no categorical split");
        for algorithm in [TreeShapAlgorithm::Sweep, TreeShapAlgorithm::LeafTable] {
            let explainer = TreeShap::new(estimator).unwrap().with_algorithm(algorithm);
            for row in doc["transformed"].as_array().unwrap().iter().take(6) {
                let row: Vec<f32> = floats(row).iter().map(|&x| x as f32).collect();
                let oracle = crate::tree_shap::brute_force(estimator, &row);
                let ours = explainer.shap_values(&row).unwrap();
                for (k, (a, b)) in ours.iter().zip(&oracle).enumerate() {
                    for (j, (x, y)) in a.iter().zip(b).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
                            "{name} {algorithm:?} output {k} feature {j}: ours {x} brute force {y}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn types_bound_to_features_refuse_a_pipeline_and_the_free_functions_explain_its_columns() {
    let (model, rows, _) = load("pipe_scaler_logreg");
    let error = TreeShap::new(&model).unwrap_err();
    assert!(
        matches!(
            error,
            whyline_explain::ExplainError::MethodDoesNotFit {
                model: "pipeline",
                ..
            }
        ),
        "{error:?}"
    );
    let error = whyline_explain::LinearShap::new(&model, None).unwrap_err();
    assert!(
        matches!(
            error,
            whyline_explain::ExplainError::MethodDoesNotFit {
                model: "pipeline",
                ..
            }
        ),
        "{error:?}"
    );
    let width = model.n_features();
    let flat = rows.to_f32();
    let background = Background::from_flat(flat[width..width * 21].to_vec(), width).unwrap();
    let a = whyline_explain::kernel_shap(&model, &flat[..width], &background, &Default::default())
        .unwrap();
    assert_eq!(a.values.len(), width);
    assert_eq!(a.feature_names, model.info().names.features);
    assert!(a.residual <= 1e-9, "residual {}", a.residual);
    // One feature per column here: the column values are the estimator's.
    assert_eq!(a.values, a.estimator.as_ref().unwrap().values);
}
