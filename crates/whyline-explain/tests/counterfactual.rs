//! Counterfactuals: the closed-form optimum of a logistic model (computed here from its
//! coefficients), brute-force random search on a tree, constraints, and the re-predicted
//! flip of every returned counterfactual.

use whyline_explain::{
    Background, Cost, CounterfactualSettings, ExplainError, Impossible, counterfactual,
};
use whyline_models::{Model, ModelKind};

use crate::common::*;

fn logistic() -> (Model, Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let fixture = explain_fixture("sk_logreg_breast_cancer.linear.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    (model, rows(&fixture["rows"]), rows(&fixture["background"]))
}

fn coefficients(model: &Model) -> (Vec<f64>, f64) {
    let ModelKind::Linear(m) = model.kind() else {
        panic!("not linear")
    };
    (m.coefficients.clone(), m.intercepts[0])
}

fn margin(w: &[f64], b: f64, x: &[f32]) -> f64 {
    b + w.iter().zip(x).map(|(w, &x)| w * f64::from(x)).sum::<f64>()
}

#[test]
fn logistic_l2_counterfactual_is_the_projection_onto_the_decision_boundary() {
    let (model, rows, _) = logistic();
    let (w, b) = coefficients(&model);
    let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    for row in &rows {
        let settings = CounterfactualSettings {
            cost: Cost::L2,
            ..CounterfactualSettings::default()
        };
        let cf = counterfactual(&model, row, &settings, None).unwrap();
        let optimum = margin(&w, b, row).abs() / norm;
        assert!(
            (cf.cost - optimum).abs() <= 1e-6 * (1.0 + optimum),
            "cost {} vs {optimum}",
            cf.cost
        );
        assert_ne!(cf.alternative_decision, cf.original_decision);
        let again = model.predict(&cf.counterfactual_input).unwrap().value as usize;
        assert_eq!(again, cf.alternative_decision);
        assert!(cf.explain().starts_with("The decision would have been"));
    }
}

#[test]
fn logistic_l1_counterfactual_moves_the_steepest_feature_only() {
    let (model, rows, _) = logistic();
    let (w, b) = coefficients(&model);
    let steepest = (0..w.len())
        .max_by(|&i, &j| w[i].abs().total_cmp(&w[j].abs()))
        .unwrap();
    for row in &rows {
        let cf = counterfactual(&model, row, &CounterfactualSettings::default(), None).unwrap();
        let optimum = margin(&w, b, row).abs() / w[steepest].abs();
        assert_eq!(cf.changes.len(), 1);
        assert_eq!(cf.changes[0].feature_idx, steepest);
        assert!((cf.cost - optimum).abs() <= 1e-6 * (1.0 + optimum));
        // With that feature immutable, the next steepest takes over.
        let settings = CounterfactualSettings {
            immutable: vec![steepest],
            ..CounterfactualSettings::default()
        };
        let cf = counterfactual(&model, row, &settings, None).unwrap();
        assert!(cf.changes.iter().all(|c| c.feature_idx != steepest));
        assert_ne!(
            model.predict(&cf.counterfactual_input).unwrap().value as usize,
            cf.original_decision
        );
    }
}

#[test]
fn mad_weighted_l1_divides_each_step_by_the_feature_mad() {
    let (model, rows, background) = logistic();
    let (w, b) = coefficients(&model);
    let mad: Vec<f64> = (0..30)
        .map(|j| {
            let median = |mut v: Vec<f64>| {
                v.sort_by(f64::total_cmp);
                let n = v.len();
                if n % 2 == 1 {
                    v[n / 2]
                } else {
                    (v[n / 2 - 1] + v[n / 2]) / 2.0
                }
            };
            let column: Vec<f64> = background.iter().map(|r| f64::from(r[j])).collect();
            let m = median(column.clone());
            median(column.iter().map(|x| (x - m).abs()).collect())
        })
        .collect();
    let background = Background::from_rows(&background, 30).unwrap();
    let settings = CounterfactualSettings {
        cost: Cost::MadL1,
        ..CounterfactualSettings::default()
    };
    for row in &rows {
        let cf = counterfactual(&model, row, &settings, Some(&background)).unwrap();
        let best = (0..30)
            .map(|j| w[j].abs() * if mad[j] > 0.0 { mad[j] } else { 1.0 })
            .fold(0.0, f64::max);
        let optimum = margin(&w, b, row).abs() / best;
        assert!(
            (cf.cost - optimum).abs() <= 1e-6 * (1.0 + optimum),
            "{} vs {optimum}",
            cf.cost
        );
    }
}

#[test]
fn impossible_counterfactuals_are_typed_errors() {
    let (model, rows, _) = logistic();
    let row = &rows[0];
    let all = CounterfactualSettings {
        immutable: (0..30).collect(),
        ..CounterfactualSettings::default()
    };
    let error = counterfactual(&model, row, &all, None).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::ImpossibleCounterfactual {
                reason: Impossible::AllFeaturesImmutable
            }
        ),
        "got {error:?}"
    );
    let tight = CounterfactualSettings {
        bounds: (0..30).map(|j| (j, row[j] - 1e-3, row[j] + 1e-3)).collect(),
        ..CounterfactualSettings::default()
    };
    let error = counterfactual(&model, row, &tight, None).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::ImpossibleCounterfactual {
                reason: Impossible::NotReachable { .. }
            }
        ),
        "got {error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("no counterfactual: within the bounds")
    );
}

#[test]
fn tree_counterfactual_is_no_costlier_than_any_flip_a_random_search_finds() {
    let model = model("sk_tree_clf_iris.whyline.json");
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../whyline-models/tests/fixtures/sk_tree_clf_iris.expected.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for cost in [Cost::L1, Cost::L2] {
        for row in rows(&fixture["inputs"]).iter().take(5) {
            let settings = CounterfactualSettings {
                cost,
                ..CounterfactualSettings::default()
            };
            let cf = counterfactual(&model, row, &settings, None).unwrap();
            let original = model.predict(row).unwrap().value as usize;
            assert_ne!(
                model.predict(&cf.counterfactual_input).unwrap().value as usize,
                original
            );
            for _ in 0..3000 {
                let candidate: Vec<f32> = row
                    .iter()
                    .map(|&x| {
                        if uniform() < 0.5 {
                            x
                        } else {
                            x + ((uniform() - 0.5) * 6.0) as f32
                        }
                    })
                    .collect();
                if model.predict(&candidate).unwrap().value as usize == original {
                    continue;
                }
                let d: Vec<f64> = row
                    .iter()
                    .zip(&candidate)
                    .map(|(a, b)| f64::from(*b) - f64::from(*a))
                    .collect();
                let c = match cost {
                    Cost::L2 => d.iter().map(|v| v * v).sum::<f64>().sqrt(),
                    _ => d.iter().map(|v| v.abs()).sum(),
                };
                assert!(cf.cost <= c + 1e-9, "search found {c} below {}", cf.cost);
            }
        }
    }
}
