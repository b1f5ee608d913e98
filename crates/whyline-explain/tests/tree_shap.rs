//! TreeSHAP against shap.TreeExplainer (XGBoost's and LightGBM's own TreeSHAP behind it)
//! and against brute-force enumeration of the path-dependent game.

use whyline_core::Explainable;
use whyline_explain::{OutputSpace, TreeShap, TreeShapAlgorithm};

const ALGORITHMS: [TreeShapAlgorithm; 2] = [TreeShapAlgorithm::Sweep, TreeShapAlgorithm::LeafTable];
use whyline_models::{Model, ModelKind, Task, Tree};

use crate::common::*;

const SKLEARN: &[&str] = &[
    "sk_tree_clf_iris",
    "sk_tree_reg_diabetes",
    "sk_tree_clf_classification",
    "sk_rf_clf_wine",
    "sk_rf_reg_diabetes",
    "sk_gb_clf_breast_cancer",
    "sk_gb_reg_diabetes",
];
const XGBOOST: &[&str] = &[
    "xgb_reg_squarederror_diabetes",
    "xgb_reg_logistic_diabetes",
    "xgb_binary_logistic_breast_cancer_missing",
    "xgb_multi_softprob_iris",
    "xgb_multi_softmax_wine",
];
const LIGHTGBM: &[&str] = &[
    "lgb_regression_diabetes",
    "lgb_binary_breast_cancer",
    "lgb_multiclass_iris",
    "lgb_binary_missing_breast_cancer",
    "lgb_regression_zero_as_missing",
    "lgb_binary_categorical",
    "lgb_binary_many_categories",
];

/// Compares with shap; `tolerance(scale)` bounds |ours − shap| where scale is max(1, |f(x)|)
/// for scikit-learn (relative 1e-9) and |f(x)| for the float32 libraries. Returns the
/// largest error relative to the scale.
fn check_against_shap(name: &str, relative: f64) -> f64 {
    ALGORITHMS
        .iter()
        .map(|&algorithm| check_against_shap_with(name, relative, algorithm))
        .fold(0.0, f64::max)
}

fn check_against_shap_with(name: &str, relative: f64, algorithm: TreeShapAlgorithm) -> f64 {
    let fixture = explain_fixture(&format!("{name}.shap.json"));
    let model = model(fixture["model"].as_str().unwrap());
    let explainer = TreeShap::new(&model).unwrap().with_algorithm(algorithm);
    let expected_base = floats(&fixture["expected_value"]);
    let expected = values3(&fixture["values"]);
    let mut worst = 0.0f64;
    for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
        let ours = explainer.shap_values(row).unwrap();
        assert_eq!(ours.len(), expected[r].len(), "{name}: outputs");
        for (k, (ours_k, shap_k)) in ours.iter().zip(&expected[r]).enumerate() {
            let attribution = explainer.explain(row, Some(k)).unwrap();
            let scale = attribution.prediction.abs().max(1e-2);
            let scale = if name.starts_with("sk_") {
                scale.max(1.0)
            } else {
                scale
            };
            let base_error = (explainer.base_values()[k] - expected_base[k]).abs() / scale;
            assert!(
                base_error <= relative,
                "{name} output {k}: base {} vs shap {}",
                explainer.base_values()[k],
                expected_base[k]
            );
            for (j, (a, b)) in ours_k.iter().zip(shap_k).enumerate() {
                let error = (a - b).abs() / scale;
                worst = worst.max(error);
                assert!(
                    error <= relative,
                    "{name} {algorithm:?} row {r} output {k} feature {j}: ours {a} shap {b} (f(x) {})",
                    attribution.prediction
                );
            }
            assert!(
                attribution.residual / scale <= relative,
                "{name} row {r} output {k}: residual {}",
                attribution.residual
            );
        }
    }
    worst
}

#[test]
fn sklearn_trees_forests_and_boosting_match_shap_within_1e_12() {
    // The issue asks for 1e-9; both sides sum in f64 and agree to rounding.
    for name in SKLEARN {
        let worst = check_against_shap(name, 1e-12);
        assert!(worst <= 1e-12, "{name}: {worst}");
    }
}

#[test]
fn xgboost_matches_its_own_tree_shap_within_1e_5_of_the_margin() {
    for name in XGBOOST {
        check_against_shap(name, 1e-5);
    }
}

#[test]
fn lightgbm_matches_its_own_tree_shap_within_1e_12_of_the_margin() {
    // LightGBM computes its contributions in f64, so the match is far tighter than the
    // 1e-5 the issue allows for the float32 libraries.
    for name in LIGHTGBM {
        check_against_shap(name, 1e-12);
    }
}

/// Many rows at once (trees outside, rows inside, in blocks) give every row's values bit
/// for bit as one row at a time, for every importer (missing values and categorical splits
/// included) and both algorithms, with more rows than one block.
#[test]
fn rows_at_once_equal_one_row_at_a_time_bit_for_bit() {
    use whyline_explain::{ROWS_PER_BLOCK, TreeShapScratch};
    for name in SKLEARN.iter().chain(XGBOOST).chain(LIGHTGBM) {
        let fixture = explain_fixture(&format!("{name}.shap.json"));
        let model = model(fixture["model"].as_str().unwrap());
        let fixture_rows = rows(&fixture["rows"]);
        // Repeat the fixture's rows past one block, so that a block boundary is crossed.
        let many: Vec<&Vec<f32>> = fixture_rows
            .iter()
            .cycle()
            .take(ROWS_PER_BLOCK * 2 + 3)
            .collect();
        let flat: Vec<f32> = many.iter().flat_map(|r| r.iter().copied()).collect();
        for algorithm in ALGORITHMS {
            let explainer = TreeShap::new(&model).unwrap().with_algorithm(algorithm);
            let mut at_once = Vec::new();
            let mut scratch = TreeShapScratch::default();
            explainer
                .shap_values_rows_into(&flat, &mut at_once, &mut scratch)
                .unwrap();
            let per_row = at_once.len() / many.len();
            let mut one = Vec::new();
            for (r, row) in many.iter().enumerate() {
                explainer
                    .shap_values_into(row, &mut one, &mut TreeShapScratch::default())
                    .unwrap();
                let theirs: Vec<u64> = one.iter().map(|v| v.to_bits()).collect();
                let ours: Vec<u64> = at_once[r * per_row..(r + 1) * per_row]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                assert_eq!(ours, theirs, "{name} {algorithm:?} row {r}");
            }
        }
    }
}

/// A batch with a bad row is refused whole, naming the feature; a length that is not whole
/// rows names the short last row.
#[test]
fn rows_at_once_refuse_a_bad_row_and_a_partial_row() {
    use whyline_explain::{ExplainError, TreeShapScratch};
    let fixture = explain_fixture("sk_rf_reg_diabetes.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let explainer = TreeShap::new(&model).unwrap();
    let mut flat: Vec<f32> = rows(&fixture["rows"]).concat();
    let width = model.n_features();
    let mut values = Vec::new();
    let mut scratch = TreeShapScratch::default();
    flat[width + 2] = f32::INFINITY;
    let error = explainer
        .shap_values_rows_into(&flat, &mut values, &mut scratch)
        .unwrap_err();
    assert!(
        matches!(
            error,
            ExplainError::InvalidInput {
                feature_index: 2,
                ..
            }
        ),
        "{error:?}"
    );
    let error = explainer
        .shap_values_rows_into(&flat[..width + 3], &mut values, &mut scratch)
        .unwrap_err();
    assert!(
        matches!(error, ExplainError::InputWidth { expected, found: 3 } if expected == width),
        "{error:?}"
    );
}

type LeafFn<'a> = Box<dyn Fn(usize) -> Vec<f64> + 'a>;

/// The trees of a model with the scale, output offset and leaf values TreeSHAP explains.
fn ensemble(model: &Model) -> (Vec<(&Tree, usize, LeafFn<'_>)>, Vec<f64>) {
    fn forest_leaf(t: &Tree, task: Task, scale: f64) -> Box<dyn Fn(usize) -> Vec<f64> + '_> {
        Box::new(move |leaf: usize| -> Vec<f64> {
            let v = t.node_values(leaf);
            match task {
                Task::Classification { .. } => {
                    let total: f64 = v.iter().sum();
                    v.iter().map(|x| x / total * scale).collect()
                }
                Task::Regression => vec![v[0] * scale],
            }
        })
    }
    match model.kind() {
        ModelKind::DecisionTree(m) => {
            let n = match m.task {
                Task::Classification { n_classes } => n_classes,
                Task::Regression => 1,
            };
            (
                vec![(&m.tree, 0, forest_leaf(&m.tree, m.task, 1.0))],
                vec![0.0; n],
            )
        }
        ModelKind::RandomForest(m) => {
            let n = match m.task {
                Task::Classification { n_classes } => n_classes,
                Task::Regression => 1,
            };
            let scale = 1.0 / m.trees.len() as f64;
            (
                m.trees
                    .iter()
                    .map(|t| (t, 0, forest_leaf(t, m.task, scale)))
                    .collect(),
                vec![0.0; n],
            )
        }
        ModelKind::GradientBoosting(m) => (
            m.trees
                .iter()
                .zip(&m.tree_groups)
                .map(|(t, &g)| {
                    let f: Box<dyn Fn(usize) -> Vec<f64>> =
                        Box::new(move |leaf| vec![t.node_value(leaf)]);
                    (t, g as usize, f)
                })
                .collect(),
            m.base_score.clone(),
        ),
        _ => panic!("not a tree model"),
    }
}

pub(crate) fn brute_force(model: &Model, row: &[f32]) -> Vec<Vec<f64>> {
    let m = model.n_features();
    let (trees, base) = ensemble(model);
    let k = base.len();
    let mut v = vec![vec![0.0; 1 << m]; k];
    for mask in 0..(1usize << m) {
        let in_s = |j: usize| mask >> j & 1 == 1;
        let mut total = base.clone();
        for (tree, offset, leaf) in &trees {
            let e = conditional_expectation(tree, model.format(), row, &in_s, leaf.as_ref());
            for (i, x) in e.iter().enumerate() {
                total[offset + i] += x;
            }
        }
        for (out, t) in v.iter_mut().zip(total) {
            out[mask] = t;
        }
    }
    v.iter().map(|vk| brute_force_shapley(m, vk)).collect()
}

#[test]
fn every_importer_matches_brute_force_enumeration_of_the_path_dependent_game() {
    let cases: &[(&str, &str)] = &[
        (
            "sk_tree_clf_iris.whyline.json",
            "sk_tree_clf_iris.expected.json",
        ),
        (
            "sk_gb_clf_iris.whyline.json",
            "sk_gb_clf_iris.expected.json",
        ),
        (
            "sk_rf_reg_diabetes.whyline.json",
            "sk_rf_reg_diabetes.expected.json",
        ),
        (
            "xgb_multi_softprob_iris.xgb.json",
            "xgb_multi_softprob_iris.expected.json",
        ),
        (
            "xgb_reg_squarederror_diabetes.xgb.json",
            "xgb_reg_squarederror_diabetes.expected.json",
        ),
        (
            "lgb_multiclass_iris.lgb.txt",
            "lgb_multiclass_iris.expected.json",
        ),
        (
            "lgb_binary_categorical.lgb.txt",
            "lgb_binary_categorical.expected.json",
        ),
        // aprender 0.27.8's own files: covers are the leaves' training counts.
        (
            "aprender/0.27.8/decision_tree_classifier.apr",
            "aprender/0.27.8/decision_tree_classifier.expected.json",
        ),
        (
            "aprender/0.27.8/random_forest_classifier.apr",
            "aprender/0.27.8/random_forest_classifier.expected.json",
        ),
        (
            "aprender/0.27.8/random_forest_regressor.lz4.apr",
            "aprender/0.27.8/random_forest_regressor.expected.json",
        ),
    ];
    for (file, expected) in cases {
        let model = model(file);
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../whyline-models/tests/fixtures")
            .join(expected);
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for row in rows(&fixture["inputs"]).iter().take(4) {
            let oracle = brute_force(&model, row);
            for algorithm in ALGORITHMS {
                let explainer = TreeShap::new(&model).unwrap().with_algorithm(algorithm);
                let ours = explainer.shap_values(row).unwrap();
                for (k, (a, b)) in ours.iter().zip(&oracle).enumerate() {
                    for (j, (x, y)) in a.iter().zip(b).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
                            "{file} {algorithm:?} output {k} feature {j}: ours {x} brute force {y}"
                        );
                    }
                }
            }
        }
    }
}

/// Trees with several outputs (scikit-learn classifiers' class distributions) on rows made
/// from the trees' own thresholds, so that the rows reach every part of every tree, nodes that
/// split a feature again below an earlier split on it included (few fixture rows reach those):
/// the sweep equals the per-leaf pass, which the shap comparisons above check independently.
#[test]
fn the_sweep_equals_the_leaf_table_on_rows_from_every_threshold_of_multi_output_trees() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as usize % n.max(1)
    };
    for file in [
        "sk_tree_clf_iris.whyline.json",
        "sk_rf_clf_wine.whyline.json",
        "sk_tree_clf_missing_breast_cancer.whyline.json",
        "sk_tree_clf_classification.whyline.json",
    ] {
        let model = model(file);
        let mut thresholds = vec![Vec::new(); model.n_features()];
        for (tree, _, _) in ensemble(&model).0 {
            for split in tree.nodes.iter().filter_map(|node| node.split.as_ref()) {
                if let Some(values) = thresholds.get_mut(split.feature as usize) {
                    values.push(split.threshold);
                }
            }
        }
        let sweep = TreeShap::new(&model).unwrap();
        let leaf_table = TreeShap::new(&model)
            .unwrap()
            .with_algorithm(TreeShapAlgorithm::LeafTable);
        for r in 0..400 {
            // Each feature just below or just above one of its thresholds (or 0 if unused).
            let row: Vec<f32> = thresholds
                .iter()
                .map(|values| {
                    let Some(&t) = values.get(next(values.len())) else {
                        return 0.0;
                    };
                    let step = 1e-3 * t.abs().max(1.0);
                    if next(2) == 0 { t - step } else { t + step }
                })
                .collect();
            let ours = sweep.shap_values(&row).unwrap();
            let reference = leaf_table.shap_values(&row).unwrap();
            for (k, (a, b)) in ours.iter().zip(&reference).enumerate() {
                for (j, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                        "{file} row {r} output {k} feature {j}: sweep {x}, leaf table {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn classifier_forests_explain_probabilities_and_boosting_explains_margins() {
    let forest = model("sk_rf_clf_wine.whyline.json");
    assert_eq!(
        TreeShap::new(&forest).unwrap().space(),
        OutputSpace::Probability
    );
    let boosted = model("xgb_binary_logistic_breast_cancer_missing.xgb.json");
    assert_eq!(
        TreeShap::new(&boosted).unwrap().space(),
        OutputSpace::Margin
    );
}

#[test]
fn interventional_tree_shap_matches_shap_with_the_same_background() {
    // shap's interventional code returns float32-rounded values (1/60 comes back as
    // 0.01666666716337204): the match is to 1e-6 of the output; brute force (below)
    // checks the exact f64 values.
    for name in [
        "sk_tree_clf_iris",
        "sk_rf_reg_diabetes",
        "sk_gb_clf_breast_cancer",
    ] {
        let fixture = explain_fixture(&format!("{name}.interventional.shap.json"));
        let model = model(fixture["model"].as_str().unwrap());
        let background_rows = rows(&fixture["background"]);
        let background =
            whyline_explain::Background::from_rows(&background_rows, model.n_features()).unwrap();
        let explainer = TreeShap::new(&model).unwrap();
        let expected = values3(&fixture["values"]);
        let expected_base = floats(&fixture["expected_value"]);
        for (r, row) in rows(&fixture["rows"]).iter().enumerate() {
            for (k, shap) in expected[r].iter().enumerate() {
                let a = explainer
                    .explain_interventional(row, &background, Some(k))
                    .unwrap();
                let what = format!("{name} row {r} output {k}");
                assert_attribution_matches(&a, expected_base[k], shap, 1e-6, &what);
            }
        }
    }
}

#[test]
fn interventional_tree_shap_matches_brute_force_over_the_background() {
    let fixture = explain_fixture("sk_tree_clf_iris.interventional.shap.json");
    let model = model(fixture["model"].as_str().unwrap());
    let background_rows = rows(&fixture["background"]);
    let background = whyline_explain::Background::from_rows(&background_rows, 4).unwrap();
    let explainer = TreeShap::new(&model).unwrap();
    for row in rows(&fixture["rows"]) {
        for k in 0..3 {
            let mut v = vec![0.0; 16];
            for (mask, slot) in v.iter_mut().enumerate() {
                for z in &background_rows {
                    let mixed: Vec<f32> = (0..4)
                        .map(|j| if mask >> j & 1 == 1 { row[j] } else { z[j] })
                        .collect();
                    *slot += predict_f32(&model, &mixed).unwrap().probabilities.unwrap()[k];
                }
                *slot /= background_rows.len() as f64;
            }
            let oracle = brute_force_shapley(4, &v);
            let a = explainer
                .explain_interventional(&row, &background, Some(k))
                .unwrap();
            for (x, y) in a.values.iter().zip(&oracle) {
                assert!(
                    (x - y).abs() < 1e-12,
                    "output {k}: ours {x} brute force {y}"
                );
            }
        }
    }
}
