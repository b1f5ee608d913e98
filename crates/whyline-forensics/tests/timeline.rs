//! Each decision as the timeline reads it (`TimelineEntry::of_trace`): the class and the
//! alternatives with their probabilities, against scikit-learn's `predict` and
//! `predict_proba` for trees, forests, neighbours (uniform and distance-weighted), gradient
//! boosting and a neural network; and the rationale of every path kind, for people.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use whyline_core::{
    Aggregation, AnyPath, ClusterPath, DecisionTrace, Explainable, ForestPath, KnnPath, LeafInfo,
    LinearPath, Names, NeuralPath, SplitTest, TreePath, TreeSplit,
};
use whyline_forensics::TimelineEntry;
use whyline_models::Model;

const T0: u64 = 1_763_908_367_000_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(name)
}

/// Numbers of a JSON array, `null` (a missing value) as NaN.
fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            if x.is_null() {
                f64::NAN
            } else {
                x.as_f64().unwrap()
            }
        })
        .collect()
}

fn trace(path: AnyPath, output: f32) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: T0 - 1_500_000,
        sequence: 4,
        input_hash: 0,
        output,
        latency_ns: 42_700,
        path,
    }
}

/// For every row of `name`'s scikit-learn fixture: the timeline's class is `predict`, its
/// decision the class's name, and its alternatives every other class whose `predict_proba`
/// is at least 0.005, with that probability, most likely first.
fn check_against_scikit_learn(name: &str, tolerance: f64) {
    let model = Model::load(fixture(&format!("{name}.whyline.json"))).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    let names = model.info().names.clone();
    let rows = expected["inputs"].as_array().unwrap();
    let mut alternatives_seen = 0;
    for (i, row) in rows.iter().enumerate() {
        let row: Vec<f32> = floats(row).iter().map(|&v| v as f32).collect();
        let (output, path) = model.explain_one(&row).unwrap();
        let entry = TimelineEntry::of_trace(&trace(path, output), T0, &names);
        let class = expected["predict"][i].as_u64().unwrap() as usize;
        let proba = floats(&expected["proba"][i]);
        assert_eq!(entry.class, Some(class), "{name} row {i}");
        assert_eq!(entry.decision, names.classes[class], "{name} row {i}");
        let mut wanted: Vec<(String, f64)> = proba
            .iter()
            .enumerate()
            .filter(|&(c, &p)| c != class && p >= 0.005)
            .map(|(c, &p)| (names.classes[c].clone(), p))
            .collect();
        // A probability within the tolerance of the cut could fall either side.
        if proba.iter().any(|p| (p - 0.005).abs() < tolerance) {
            continue;
        }
        wanted.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(
            entry.alternatives.len(),
            wanted.len(),
            "{name} row {i}: {:?} vs scikit-learn {wanted:?}",
            entry.alternatives
        );
        for ((found, p), (expected, q)) in entry.alternatives.iter().zip(&wanted) {
            assert_eq!(found, expected, "{name} row {i}");
            assert!(
                (f64::from(*p) - q).abs() < tolerance,
                "{name} row {i}: {found} {p} vs scikit-learn {q}"
            );
        }
        alternatives_seen += wanted.len();
    }
    assert!(alternatives_seen > 0, "{name}: no row has an alternative");
}

#[test]
fn a_trees_alternatives_are_its_leafs_class_shares() {
    check_against_scikit_learn("sk_tree_clf_missing_breast_cancer", 1e-6);
    check_against_scikit_learn("sk_tree_clf_classification", 1e-6);
}

#[test]
fn a_random_forests_alternatives_are_the_mean_of_its_trees_class_shares() {
    check_against_scikit_learn("sk_rf_clf_wine", 1e-5);
}

#[test]
fn nearest_neighbours_alternatives_are_their_votes_uniform_or_by_distance() {
    check_against_scikit_learn("sk_knn_clf_iris", 1e-6);
    check_against_scikit_learn("sk_knn_clf_wine_distance", 1e-5);
}

#[test]
fn a_binary_models_alternative_is_one_minus_its_probability() {
    // Gradient boosting: a forest whose trees carry no class shares, only the ensemble's
    // probability; a neural network's probability.
    check_against_scikit_learn("sk_gb_clf_breast_cancer", 1e-5);
    check_against_scikit_learn("sk_mlp_clf_breast_cancer", 1e-5);
}

fn names() -> Names {
    Names {
        features: vec!["distance".into(), "speed".into(), "lane".into()],
        classes: vec!["GO".into(), "BRAKE".into()],
    }
}

fn split(feature_index: u32, threshold: f32, test: SplitTest, went_left: bool) -> TreeSplit {
    TreeSplit {
        node_index: 0,
        feature_index,
        threshold,
        test,
        categories: if matches!(test, SplitTest::InCategories | SplitTest::NotInCategories) {
            vec![1, 3]
        } else {
            Vec::new()
        },
        went_left,
        missing: false,
        n_samples: 10,
    }
}

fn tree(splits: Vec<TreeSplit>, prediction: f32, distribution: Option<Vec<f32>>) -> TreePath {
    TreePath {
        splits,
        leaf: LeafInfo {
            node_index: 7,
            prediction,
            n_samples: 5,
            class_distribution: distribution,
        },
        impurity_path: Vec::new(),
    }
}

#[test]
fn a_trees_rationale_names_every_split_taken_and_its_leaf() {
    let path = tree(
        vec![
            split(0, 12.5, SplitTest::LessOrEqual, true),
            split(1, 3.0, SplitTest::LessOrEqual, false),
            split(0, 4.0, SplitTest::Less, true),
            split(1, 2.0, SplitTest::Less, false),
            split(2, 0.0, SplitTest::InCategories, true),
            split(2, 0.0, SplitTest::InCategories, false),
            split(2, 0.0, SplitTest::NotInCategories, true),
            split(5, 0.0, SplitTest::NotInCategories, false),
        ],
        1.0,
        Some(vec![3.0, 1.0]),
    );
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Tree(path), 1.0), T0, &names());
    assert_eq!(
        entry.rationale,
        "distance <= 12.5, speed > 3, distance < 4, speed >= 2, lane in [1, 3], \
         lane not in [1, 3], lane not in [1, 3], feature[5] in [1, 3] → leaf 7"
    );
    // Class 1 of shares 3:1 is BRAKE at 0.25, GO the alternative at 0.75.
    assert_eq!(entry.decision, "BRAKE");
    assert_eq!(entry.alternatives, vec![("GO".to_owned(), 0.75)]);
    assert_eq!(entry.relative_ms, -1.5);
    assert_eq!(entry.latency_us, 42);
    assert_eq!(entry.sequence, 4);
    assert!(entry.contributions.is_empty(), "a single tree has none");
    // A regression tree: a value, no class.
    let regression = tree(vec![], 17.25, None);
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Tree(regression), 17.25), T0, &names());
    assert_eq!(entry.decision, "value 17.25");
    assert_eq!(entry.class, None);
    assert!(entry.alternatives.is_empty());
    assert_eq!(entry.rationale, " → leaf 7");
}

#[test]
fn a_forests_rationale_gives_the_agreement_and_its_largest_contributions() {
    let forest = ForestPath {
        aggregation: Aggregation::Mean,
        base_score: 0.0,
        tree_paths: vec![
            tree(vec![], 0.0, Some(vec![2.0, 2.0])),
            tree(vec![], 1.0, Some(vec![0.0, 0.0])),
            tree(vec![], 1.0, Some(vec![1.0, 3.0, 0.0])),
        ],
        tree_predictions: vec![0.0, 1.0, 1.0],
        ensemble_prediction: 1.0,
        tree_agreement: 2.0 / 3.0,
        feature_importance: vec![0.5, -0.75, 0.0, f32::NAN, 0.125],
        probability: None,
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Forest(forest), 1.0), T0, &names());
    assert_eq!(
        entry.rationale,
        "67% of 3 trees agree; most important along the paths: speed -0.750, distance +0.500, feature[4] +0.125"
    );
    // Zero and NaN contributions are left out; the rest by size, sign kept.
    assert_eq!(
        entry.contributions,
        vec![
            ("speed".to_owned(), -0.75),
            ("distance".to_owned(), 0.5),
            ("feature[4]".to_owned(), 0.125)
        ]
    );
    // Shares [.5, .5], [0, 0] (kept as they are: nothing to normalise) and [.25, .75, 0]:
    // the mean of each class over the three trees.
    assert_eq!(entry.decision, "BRAKE");
    assert_eq!(entry.alternatives, vec![("GO".to_owned(), 0.25)]);
}

#[test]
fn a_forest_without_shares_or_probability_decides_a_value() {
    let forest = ForestPath {
        aggregation: Aggregation::Sum,
        base_score: 0.5,
        tree_paths: vec![tree(vec![], 0.25, None)],
        tree_predictions: vec![0.25],
        ensemble_prediction: 0.75,
        tree_agreement: 1.0,
        feature_importance: vec![0.25],
        probability: None,
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Forest(forest), 0.75), T0, &names());
    assert_eq!(entry.decision, "value 0.75");
    assert_eq!(entry.class, None);
    assert!(entry.alternatives.is_empty());
}

#[test]
fn neighbours_say_how_many_voted_and_how() {
    let knn = KnnPath {
        neighbor_indices: vec![4, 9, 11, 2],
        distances: vec![0.1, 0.2, 0.3, 0.4],
        neighbor_labels: vec![1.0, 1.0, 1.0, 0.0],
        votes: vec![(1, 3), (0, 1)],
        weighted_votes: None,
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Knn(knn), 1.0), T0, &names());
    assert_eq!(
        entry.rationale,
        "4 nearest neighbours voted [(1, 3), (0, 1)]"
    );
    assert_eq!(entry.alternatives, vec![("GO".to_owned(), 0.25)]);
    // A regressor's neighbours cast no votes: a value, no alternatives.
    let regressor = KnnPath {
        neighbor_indices: vec![1],
        distances: vec![0.5],
        neighbor_labels: vec![3.5],
        votes: Vec::new(),
        weighted_votes: None,
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Knn(regressor), 3.5), T0, &names());
    assert_eq!(entry.decision, "value 3.5");
    assert!(entry.alternatives.is_empty());
}

#[test]
fn a_neural_or_linear_decision_lists_its_top_contributions() {
    let neural = NeuralPath {
        input_gradient: vec![0.01, -0.4, 0.2],
        activations: None,
        attention_weights: None,
        integrated_gradients: None,
        probability: Some(0.9),
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Neural(neural), 0.0), T0, &names());
    assert_eq!(entry.decision, "GO");
    assert_eq!(entry.confidence, 0.9);
    assert_eq!(entry.alternatives.len(), 1);
    assert_eq!(entry.alternatives[0].0, "BRAKE");
    assert!((entry.alternatives[0].1 - 0.1).abs() < 1e-6);
    assert!(
        entry.rationale.starts_with("top contributions: "),
        "{}",
        entry.rationale
    );
    // A network without a probability (a regressor) decides a value.
    let regressor = NeuralPath {
        input_gradient: vec![0.5],
        activations: None,
        attention_weights: None,
        integrated_gradients: None,
        probability: None,
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Neural(regressor), 2.5), T0, &names());
    assert_eq!(entry.decision, "value 2.5");
    // A linear classifier's class beyond the second: only its own probability is known.
    let linear = LinearPath {
        contributions: vec![0.3, 0.0, -0.1],
        intercept: 0.1,
        logit: 0.3,
        prediction: 2.0,
        probability: Some(0.6),
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Linear(linear), 2.0), T0, &names());
    assert_eq!(entry.decision, "class 2", "no name for class 2");
    assert!(entry.alternatives.is_empty(), "{:?}", entry.alternatives);
    assert_eq!(
        entry.rationale,
        "top contributions: distance +0.300, lane -0.100"
    );
    // A negative prediction is no class.
    let odd = LinearPath {
        contributions: vec![0.3],
        intercept: 0.0,
        logit: -1.0,
        prediction: -1.0,
        probability: Some(0.6),
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Linear(odd), -1.0), T0, &names());
    assert_eq!(entry.class, None);
    assert_eq!(entry.decision, "value -1");
}

#[test]
fn a_cluster_is_named_with_its_runner_up_margin_and_deciding_features() {
    let cluster = ClusterPath {
        squared_distances: vec![4.0, 1.0, 2.5],
        cluster: 1,
        runner_up: 2,
        margin: 1.5,
        contributions: vec![-0.5, 1.25, 0.0],
    };
    let entry = TimelineEntry::of_trace(&trace(AnyPath::Cluster(cluster), 1.0), T0, &names());
    assert_eq!(entry.class, Some(1));
    assert_eq!(entry.decision, "BRAKE");
    assert!(
        entry.alternatives.is_empty(),
        "distances are no probabilities"
    );
    assert_eq!(
        entry.rationale,
        "cluster 1 over runner-up 2 by 1.500; deciding features: speed +1.250, distance -0.500"
    );
}
