//! What the importers carry over besides predictions, read against the model files
//! themselves: LightGBM's feature names and per-node sample counts, the number of groups of
//! a multiclass booster, a forest's number of features.

use whyline_core::Explainable;
use whyline_models::{Model, ModelKind};

use crate::fixtures;

fn load(file: &str) -> Model {
    Model::load(fixtures::dir().join(file)).unwrap()
}

/// The numbers on the line `key=…` of the first tree block of a LightGBM model file.
fn first_tree_line(file: &str, key: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(fixtures::dir().join(file)).unwrap();
    let block = text.split("Tree=0").nth(1).unwrap();
    let line = block
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .unwrap();
    line.split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn lightgbm_feature_names_and_sample_counts_come_from_the_file() {
    let file = "lgb_regression_diabetes.lgb.txt";
    let model = load(file);
    let names: Vec<String> = (0..10).map(|j| format!("Column_{j}")).collect();
    assert_eq!(model.info().names.features, names);
    let ModelKind::GradientBoosting(booster) = model.kind() else {
        panic!("a LightGBM model is a gradient-boosted ensemble");
    };
    let mut counts: Vec<u64> = booster.trees[0].nodes.iter().map(|n| n.n_samples).collect();
    let mut expected = first_tree_line(file, "leaf_count");
    expected.extend(first_tree_line(file, "internal_count"));
    counts.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        counts, expected,
        "every node's samples, as LightGBM counted them"
    );
}

#[test]
fn a_multiclass_booster_has_a_group_per_class_and_a_forest_its_features() {
    let ModelKind::GradientBoosting(booster) =
        load("xgb_multi_softprob_iris.xgb.json").kind().clone()
    else {
        panic!("an XGBoost model is a gradient-boosted ensemble");
    };
    assert_eq!(booster.n_groups(), 3, "iris has three classes");
    let forest = load("sk_rf_clf_wine.whyline.json");
    let ModelKind::RandomForest(forest) = forest.kind() else {
        panic!("a random forest");
    };
    assert_eq!(Explainable::n_features(forest), 13, "wine has 13 features");
}
