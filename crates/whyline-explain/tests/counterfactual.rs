//! Counterfactuals: the closed-form optimum of a logistic model (computed here from its
//! coefficients), brute-force random search on a tree, brute force over the threshold grid
//! of forests, the seeded search on KNN, MLP and multiclass models (validity,
//! reproducibility, cost against the closed form), constraints, and the re-predicted flip
//! of every returned counterfactual.

use whyline_explain::{
    Background, Cost, CounterfactualMethod, CounterfactualSearch, CounterfactualSettings,
    ExplainError, Impossible, counterfactual,
};
use whyline_models::{Model, ModelKind};

use crate::common::*;

fn logistic() -> (Model, Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let fixture = explain_fixture("sk_logreg_breast_cancer.linear.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    (model, rows(&fixture["rows"]), rows(&fixture["background"]))
}

pub(crate) fn coefficients(model: &Model) -> (Vec<f64>, f64) {
    let ModelKind::Linear(m) = model.kind() else {
        panic!("not linear")
    };
    (m.coefficients.clone(), m.intercepts[0])
}

pub(crate) fn margin(w: &[f64], b: f64, x: &[f32]) -> f64 {
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
        let again = predict_f32(&model, &cf.counterfactual_input).unwrap().value as usize;
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
            predict_f32(&model, &cf.counterfactual_input).unwrap().value as usize,
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

/// `P(approved) = σ(w · income + b)`, written as whyline_export.py writes a
/// LogisticRegression.
fn one_feature_logistic(w: f64, b: f64) -> Model {
    let json = format!(
        r#"{{"format":"whyline-model","format_version":1,"estimator":"LogisticRegression","model_type":"logistic_regression","task":"classification","n_features":1,"feature_names":["income"],"class_names":["refused","approved"],"class_values":[0.0,1.0],"feature_stats":null,"model":{{"link":"logistic","n_outputs":1,"coef":[{w}],"intercept":[{b}]}}}}"#
    );
    Model::from_bytes(json.as_bytes(), "income.whyline.json").unwrap()
}

#[test]
fn a_flip_that_takes_a_feature_all_the_way_to_its_bound_is_found() {
    // margin = income − 2: approved at 3; refused needs margin <= 0, income <= 2, and the
    // bound [2, 10] leaves exactly that: the whole room, reached and not one ulp more.
    let model = one_feature_logistic(1.0, -2.0);
    for cost in [Cost::L1, Cost::L2] {
        let settings = CounterfactualSettings {
            bounds: vec![(0, 2.0, 10.0)],
            cost,
            ..CounterfactualSettings::default()
        };
        let cf = counterfactual(&model, &[3.0], &settings, None).unwrap();
        assert_eq!(cf.solver, CounterfactualMethod::ClosedForm);
        assert_eq!((cf.original_decision, cf.alternative_decision), (1, 0));
        assert_eq!(cf.counterfactual_input, [2.0]);
        assert_eq!(cf.cost, 1.0);
        assert_eq!(
            cf.explain(),
            "The decision would have been refused instead of approved if:\n \
             - income decreased from 3 to 2 (-1)"
        );
        // One ulp of room less and no flip is left.
        let tighter = CounterfactualSettings {
            bounds: vec![(0, 2.0f32.next_up(), 10.0)],
            ..settings
        };
        let error = counterfactual(&model, &[3.0], &tighter, None).unwrap_err();
        assert!(
            matches!(
                error,
                ExplainError::ImpossibleCounterfactual {
                    reason: Impossible::NotReachable { .. }
                }
            ),
            "{cost:?}: {error:?}"
        );
    }
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
            let original = predict_f32(&model, row).unwrap().value as usize;
            assert_ne!(
                predict_f32(&model, &cf.counterfactual_input).unwrap().value as usize,
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
                if predict_f32(&model, &candidate).unwrap().value as usize == original {
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

// ---- tree ensembles (exact); the seeded search is in counterfactual_seeded.rs ----

pub(crate) fn expected_inputs(name: &str) -> Vec<Vec<f32>> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(format!("{name}.expected.json"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    rows(&doc["inputs"])
}

pub(crate) fn decision(model: &Model, x: &[f32]) -> usize {
    predict_f32(model, x).unwrap().value as usize
}

fn cost_of(cost: Cost, weights: &[f64], row: &[f32], x: &[f32]) -> f64 {
    let d = row
        .iter()
        .zip(x)
        .map(|(a, b)| f64::from(*b) - f64::from(*a));
    match cost {
        Cost::L2 => d.map(|v| v * v).sum::<f64>().sqrt(),
        _ => d.zip(weights).map(|(v, w)| v.abs() * w).sum(),
    }
}

/// The trees of a forest or boosted model, read only to list split thresholds.
fn trees(model: &Model) -> Vec<whyline_models::Tree> {
    match model.kind() {
        ModelKind::RandomForest(m) => m.trees.clone(),
        ModelKind::GradientBoosting(m) => m.trees.clone(),
        _ => panic!("not an ensemble"),
    }
}

/// Brute force: every combination, over the mutable features, of the row's value and
/// each split threshold `t` and `t.next_up()` (scikit-learn's `x <= t` sides) within the
/// bounds. The cheapest flip over the leaf-region grid is among them.
fn brute_force(
    model: &Model,
    row: &[f32],
    mutable: &[usize],
    bounds: &[(usize, f32, f32)],
    cost: Cost,
    weights: &[f64],
) -> Option<f64> {
    let trees = trees(model);
    let original = decision(model, row);
    let candidates: Vec<Vec<f32>> = mutable
        .iter()
        .map(|&j| {
            let (low, high) = bounds
                .iter()
                .find(|b| b.0 == j)
                .map_or((f32::NEG_INFINITY, f32::INFINITY), |b| (b.1, b.2));
            let mut values = vec![row[j]];
            for tree in &trees {
                for node in &tree.nodes {
                    if let Some(split) = &node.split
                        && split.feature as usize == j
                    {
                        values.push(split.threshold);
                        values.push(split.threshold.next_up());
                    }
                }
            }
            values.retain(|v| (low..=high).contains(v));
            values.sort_by(f32::total_cmp);
            values.dedup();
            values
        })
        .collect();
    let mut best: Option<f64> = None;
    let mut index = vec![0usize; mutable.len()];
    loop {
        let mut x = row.to_vec();
        for (k, &j) in mutable.iter().enumerate() {
            x[j] = candidates[k][index[k]];
        }
        if decision(model, &x) != original {
            let c = cost_of(cost, weights, row, &x);
            if best.is_none_or(|b| c < b) {
                best = Some(c);
            }
        }
        let mut k = 0;
        loop {
            if k == mutable.len() {
                return best;
            }
            index[k] += 1;
            if index[k] < candidates[k].len() {
                break;
            }
            index[k] = 0;
            k += 1;
        }
    }
}

/// The `n` features the trees split on most.
fn most_split(model: &Model, n: usize) -> Vec<usize> {
    let mut counts = vec![0usize; 64];
    for tree in trees(model) {
        for node in &tree.nodes {
            if let Some(split) = &node.split {
                counts[split.feature as usize] += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order.truncate(n);
    order.sort_unstable();
    order
}

#[test]
fn forest_counterfactual_equals_brute_force_over_the_threshold_grid() {
    // RandomForestClassifier (10 trees, 3 classes), GradientBoostingClassifier binary
    // (20 trees) and multiclass (10 × 3 trees).
    for name in [
        "sk_rf_clf_wine",
        "sk_gb_clf_breast_cancer",
        "sk_gb_clf_iris",
    ] {
        let model = model(&format!("{name}.whyline.json"));
        let inputs = expected_inputs(name);
        let m = inputs[0].len();
        let mutable = most_split(&model, 3);
        let background = Background::from_rows(&inputs, m).unwrap();
        let mad_weights: Vec<f64> = background
            .mad()
            .into_iter()
            .map(|v| if v > 0.0 { 1.0 / v } else { 1.0 })
            .collect();
        let mut flips = 0;
        for (r, row) in inputs.iter().enumerate().take(8) {
            // A bound on the first mutable feature on odd rows.
            let j0 = mutable[0];
            let bounds = if r % 2 == 1 {
                vec![(j0, row[j0] - 0.5 * row[j0].abs().max(1.0), row[j0] + 0.1)]
            } else {
                Vec::new()
            };
            for cost in [Cost::L1, Cost::L2, Cost::MadL1] {
                let weights = if cost == Cost::MadL1 {
                    mad_weights.clone()
                } else {
                    vec![1.0; m]
                };
                let settings = CounterfactualSettings {
                    immutable: (0..m).filter(|j| !mutable.contains(j)).collect(),
                    bounds: bounds.clone(),
                    cost,
                    search: CounterfactualSearch::Exact,
                    ..CounterfactualSettings::default()
                };
                let oracle = brute_force(&model, row, &mutable, &bounds, cost, &weights);
                match counterfactual(&model, row, &settings, Some(&background)) {
                    Ok(cf) => {
                        let x = &cf.counterfactual_input;
                        assert_eq!(cf.solver, CounterfactualMethod::ForestLeaves);
                        assert_ne!(decision(&model, x), decision(&model, row), "{name}");
                        assert_eq!(cf.alternative_decision, decision(&model, x));
                        for j in 0..m {
                            if !mutable.contains(&j) {
                                assert_eq!(
                                    x[j].to_bits(),
                                    row[j].to_bits(),
                                    "{name} immutable {j}"
                                );
                            }
                        }
                        for &(j, low, high) in &bounds {
                            assert!((low..=high).contains(&x[j]), "{name}: bound {j}");
                        }
                        let recomputed = cost_of(cost, &weights, row, x);
                        assert!((recomputed - cf.cost).abs() <= 1e-9 * (1.0 + recomputed));
                        let oracle = oracle.expect("brute force finds a flip");
                        assert!(
                            (cf.cost - oracle).abs() <= 1e-9 * (1.0 + oracle),
                            "{name} row {r} {cost:?}: {} vs brute force {oracle}",
                            cf.cost
                        );
                        flips += 1;
                    }
                    Err(ExplainError::ImpossibleCounterfactual {
                        reason: Impossible::NoRegion,
                    }) => assert_eq!(oracle, None, "{name} row {r}: brute force found a flip"),
                    Err(error) => panic!("{name} row {r}: {error}"),
                }
            }
        }
        assert!(
            flips >= 12,
            "{name}: only {flips} rows had a counterfactual"
        );
    }
}

/// The same forest with class counts in its nodes (what scikit-learn before 1.4 wrote:
/// `value` in weighted samples, not fractions), which predicts the same.
fn with_class_counts(file: &str) -> Model {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(file);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for tree in doc["model"]["trees"].as_array_mut().unwrap() {
        let k = tree["n_values"].as_u64().unwrap() as usize;
        let weights: Vec<f64> = tree["weighted_n_node_samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_f64().unwrap())
            .collect();
        for (i, v) in tree["value"].as_array_mut().unwrap().iter_mut().enumerate() {
            *v = serde_json::json!(v.as_f64().unwrap() * weights[i / k]);
        }
    }
    Model::from_bytes(&serde_json::to_vec(&doc).unwrap(), file).unwrap()
}

#[test]
fn forest_counterfactual_reads_class_counts_as_the_fractions_they_stand_for() {
    let name = "sk_rf_clf_wine";
    let fractions = model(&format!("{name}.whyline.json"));
    let counts = with_class_counts(&format!("{name}.whyline.json"));
    let inputs = expected_inputs(name);
    let mutable = most_split(&fractions, 3);
    let m = inputs[0].len();
    for (r, row) in inputs.iter().enumerate().take(8) {
        assert_eq!(decision(&counts, row), decision(&fractions, row), "row {r}");
        for cost in [Cost::L1, Cost::L2] {
            let settings = CounterfactualSettings {
                immutable: (0..m).filter(|j| !mutable.contains(j)).collect(),
                cost,
                search: CounterfactualSearch::Exact,
                ..CounterfactualSettings::default()
            };
            let a = counterfactual(&fractions, row, &settings, None);
            let b = counterfactual(&counts, row, &settings, None);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(b.solver, CounterfactualMethod::ForestLeaves);
                    assert!(
                        (a.cost - b.cost).abs() <= 1e-9 * (1.0 + a.cost),
                        "row {r} {cost:?}: {} from fractions, {} from counts",
                        a.cost,
                        b.cost
                    );
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "row {r}"),
                (a, b) => panic!("row {r} {cost:?}: {a:?} from fractions, {b:?} from counts"),
            }
        }
    }
}

#[test]
fn forest_counterfactual_over_all_features_flips_and_beats_a_random_search() {
    let model = model("sk_rf_clf_wine.whyline.json");
    let inputs = expected_inputs("sk_rf_clf_wine");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for row in inputs.iter().take(4) {
        let cf = counterfactual(&model, row, &CounterfactualSettings::default(), None).unwrap();
        assert_eq!(cf.solver, CounterfactualMethod::ForestLeaves);
        let original = decision(&model, row);
        assert_ne!(decision(&model, &cf.counterfactual_input), original);
        assert!(
            cf.explain()
                .starts_with("The decision would have been class")
        );
        for _ in 0..2000 {
            let candidate: Vec<f32> = row
                .iter()
                .map(|&x| {
                    if uniform() < 0.7 {
                        x
                    } else {
                        x + ((uniform() - 0.5) * 2.0 * f64::from(x.abs().max(1.0))) as f32
                    }
                })
                .collect();
            if decision(&model, &candidate) != original {
                let c = cost_of(Cost::L1, &[1.0; 13], row, &candidate);
                assert!(
                    cf.cost <= c + 1e-9,
                    "random search found {c} below {}",
                    cf.cost
                );
            }
        }
    }
}

#[test]
fn forest_search_past_its_budget_is_too_large_and_auto_falls_back_to_the_seeded_search() {
    let model = model("sk_gb_clf_breast_cancer.whyline.json");
    let row = &expected_inputs("sk_gb_clf_breast_cancer")[0];
    let exact = CounterfactualSettings {
        search: CounterfactualSearch::Exact,
        max_exact_nodes: 5,
        ..CounterfactualSettings::default()
    };
    let error = counterfactual(&model, row, &exact, None).unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::TooLarge {
                limit: 5,
                setting: "max_exact_nodes",
                ..
            }
        ),
        "got {error:?}"
    );
    assert!(
        error.to_string().contains("budget of 5 tree nodes walked"),
        "{error}"
    );
    let auto = CounterfactualSettings {
        max_exact_nodes: 5,
        ..CounterfactualSettings::default()
    };
    let cf = counterfactual(&model, row, &auto, None).unwrap();
    assert_eq!(cf.solver, CounterfactualMethod::Seeded);
    assert!(cf.evaluations > 0);
    assert_ne!(
        decision(&model, &cf.counterfactual_input),
        decision(&model, row)
    );
    // The exact search with its default budget is no costlier than the seeded one.
    let best = counterfactual(&model, row, &CounterfactualSettings::default(), None).unwrap();
    assert_eq!(best.solver, CounterfactualMethod::ForestLeaves);
    assert!(best.cost <= cf.cost + 1e-9, "{} > {}", best.cost, cf.cost);
}
