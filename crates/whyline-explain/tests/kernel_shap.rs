//! KernelSHAP: exact enumeration against brute force and shap's KernelExplainer, sampled
//! estimates within 4 standard errors of exact values, determinism.

use whyline_core::Explainable;
use whyline_explain::{Background, KernelShapSettings, OutputSpace, kernel_shap};
use whyline_models::Model;

use crate::common::*;

struct Case {
    model: Model,
    background: Background,
    rows: Vec<Vec<f32>>,
    shap: Vec<Vec<Vec<f64>>>,
    space: OutputSpace,
}

fn case(name: &str) -> Case {
    let fixture = explain_fixture(&format!("{name}.kernel.shap.json"));
    let model = model(fixture["model"].as_str().unwrap());
    let background =
        Background::from_rows(&rows(&fixture["background"]), model.n_features()).unwrap();
    let space = match fixture["output"].as_str().unwrap() {
        "probability" => OutputSpace::Probability,
        _ => OutputSpace::Value,
    };
    Case {
        model,
        background,
        rows: rows(&fixture["rows"]),
        shap: values3(&fixture["values"]),
        space,
    }
}

/// v(S) = mean over background rows of f(x_S, b_rest), written independently of the crate.
fn brute_force(case: &Case, row: &[f32], output: usize) -> Vec<f64> {
    let m = row.len();
    let background = rows_of(&case.background);
    let mut v = vec![0.0; 1 << m];
    for (mask, slot) in v.iter_mut().enumerate() {
        let mut sum = 0.0;
        for b in &background {
            let z: Vec<f32> = (0..m)
                .map(|j| if mask >> j & 1 == 1 { row[j] } else { b[j] })
                .collect();
            let p = predict_f32(&case.model, &z).unwrap();
            sum += match case.space {
                OutputSpace::Probability => p.probabilities.unwrap()[output],
                _ => p.value,
            };
        }
        *slot = sum / background.len() as f64;
    }
    brute_force_shapley(m, &v)
}

fn rows_of(background: &Background) -> Vec<Vec<f32>> {
    background.rows().map(<[f32]>::to_vec).collect()
}

fn exact(case: &Case, row: &[f32], output: usize) -> whyline_explain::Attribution {
    let settings = KernelShapSettings {
        output: Some(output),
        space: Some(case.space),
        ..KernelShapSettings::default()
    };
    kernel_shap(&case.model, row, &case.background, &settings).unwrap()
}

#[test]
fn exact_enumeration_matches_brute_force_shapley_for_knn_mlp_and_trees() {
    for name in [
        "sk_knn_clf_iris",
        "sk_tree_clf_iris",
        "sk_mlp_clf_wine",
        "sk_knn_reg_diabetes",
    ] {
        let case = case(name);
        // Brute force is 2^M × background predictions per output: one row and one output
        // above 8 features keeps the debug build quick.
        let small = case.rows[0].len() <= 8;
        let n_rows = if small { case.rows.len() } else { 1 };
        let n_outputs = if small { case.shap[0].len() } else { 1 };
        for row in case.rows.iter().take(n_rows) {
            for output in 0..n_outputs {
                let ours = exact(&case, row, output);
                assert!(ours.standard_errors.is_none());
                let oracle = brute_force(&case, row, output);
                let scale = ours.prediction.abs().max(1.0);
                for (j, (x, y)) in ours.values.iter().zip(&oracle).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-12 * scale,
                        "{name} output {output} feature {j}: ours {x} brute force {y}"
                    );
                }
                assert!(
                    ours.residual <= 1e-12 * scale,
                    "{name}: residual {}",
                    ours.residual
                );
            }
        }
    }
}

#[test]
fn exact_enumeration_matches_shap_kernel_explainer_without_l1_regularisation() {
    for name in [
        "sk_knn_clf_iris",
        "sk_tree_clf_iris",
        "sk_mlp_clf_wine",
        "sk_knn_reg_diabetes",
    ] {
        let case = case(name);
        for (r, row) in case.rows.iter().enumerate() {
            for (output, shap) in case.shap[r].iter().enumerate() {
                let ours = exact(&case, row, output);
                let scale = ours.prediction.abs().max(1.0);
                for (j, (x, y)) in ours.values.iter().zip(shap).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-8 * scale,
                        "{name} row {r} output {output} feature {j}: ours {x} shap {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn sampled_estimates_lie_within_four_standard_errors_of_the_exact_values() {
    for name in ["sk_knn_reg_diabetes", "sk_mlp_clf_wine"] {
        let case = case(name);
        for (r, row) in case.rows.iter().enumerate() {
            let settings = KernelShapSettings {
                output: Some(0),
                space: Some(case.space),
                max_exact_features: 0,
                samples: 2000,
                seed: 42 + r as u64,
            };
            let sampled = kernel_shap(&case.model, row, &case.background, &settings).unwrap();
            let se = sampled.standard_errors.clone().unwrap();
            for (j, ((x, y), s)) in sampled
                .values
                .iter()
                .zip(&case.shap[r][0])
                .zip(&se)
                .enumerate()
            {
                assert!(
                    *s > 0.0 || (x - y).abs() < 1e-12,
                    "{name} feature {j}: zero SE"
                );
                assert!(
                    (x - y).abs() <= 4.0 * s + 1e-12,
                    "{name} row {r} feature {j}: {x} vs exact {y}, SE {s}"
                );
            }
            assert!(
                sampled.residual < 1e-9,
                "efficiency: residual {}",
                sampled.residual
            );
        }
    }
}

#[test]
fn sampled_logistic_margins_lie_within_four_standard_errors_of_linear_explainer() {
    // For a model linear in its margin, interventional Shapley values over a background
    // are w_j (x_j − mean_j): shap.LinearExplainer's values with the same background.
    let fixture = explain_fixture("sk_logreg_breast_cancer.linear.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let background = Background::from_rows(&rows(&fixture["background"]), 30).unwrap();
    let expected = values3(&fixture["values"]);
    for (r, row) in rows(&fixture["rows"]).iter().enumerate().take(3) {
        let settings = KernelShapSettings {
            output: Some(0),
            space: Some(OutputSpace::Margin),
            max_exact_features: 16,
            samples: 1000,
            seed: 7,
        };
        let a = kernel_shap(&model, row, &background, &settings).unwrap();
        let se = a.standard_errors.clone().unwrap();
        for (j, ((x, y), s)) in a.values.iter().zip(&expected[r][0]).zip(&se).enumerate() {
            assert!(
                (x - y).abs() <= 4.0 * s + 1e-9,
                "row {r} feature {j}: {x} vs {y}, SE {s}"
            );
        }
    }
}

#[test]
fn same_seed_gives_identical_bits_and_another_seed_differs() {
    let case = case("sk_knn_reg_diabetes");
    let settings = KernelShapSettings {
        max_exact_features: 0,
        samples: 500,
        seed: 3,
        ..KernelShapSettings::default()
    };
    let a = kernel_shap(&case.model, &case.rows[0], &case.background, &settings).unwrap();
    let b = kernel_shap(&case.model, &case.rows[0], &case.background, &settings).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.values), bits(&b.values));
    assert_eq!(a.to_json(), b.to_json());
    assert_eq!(a.to_json()["seed"], 3);
    let c = kernel_shap(
        &case.model,
        &case.rows[0],
        &case.background,
        &KernelShapSettings {
            seed: 4,
            ..settings
        },
    )
    .unwrap();
    assert_ne!(bits(&a.values), bits(&c.values));
}

#[test]
fn exact_margins_of_a_multinomial_logistic_model_equal_linear_explainer_values() {
    let fixture = explain_fixture("sk_logreg_iris.linear.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let background = Background::from_rows(&rows(&fixture["background"]), 4).unwrap();
    let expected = values3(&fixture["values"]);
    for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
        for (k, shap) in expected[r].iter().enumerate() {
            let settings = KernelShapSettings {
                output: Some(k),
                space: Some(OutputSpace::Margin),
                ..KernelShapSettings::default()
            };
            let a = kernel_shap(&model, row, &background, &settings).unwrap();
            for (x, y) in a.values.iter().zip(shap) {
                assert!(
                    (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                    "output {k}: {x} vs {y}"
                );
            }
        }
    }
}
