//! Explanation text: the seed spec's layout, names where given, indices otherwise.

use whyline_core::{
    Aggregation, ClusterPath, DecisionPath, ForestPath, KnnPath, LeafInfo, LinearPath, Names,
    NeuralPath, SplitTest, TreePath, TreeSplit,
};

fn names() -> Names {
    Names {
        features: vec![
            "age".into(),
            "income".into(),
            "education".into(),
            "income_band".into(),
        ],
        classes: vec!["deny".into(), "approve".into()],
    }
}

#[test]
fn linear_explanation_ranks_contributions_and_uses_names() {
    let path = LinearPath {
        contributions: vec![0.28, 0.42, -0.15, 0.0],
        intercept: 0.32,
        logit: 0.87,
        prediction: 1.0,
        probability: Some(0.7047),
    };
    let text = path.explain_with(&names());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Prediction: class=1 (approve) (probability=0.7047, confidence=70%), logit=0.87"
    );
    assert_eq!(lines[2], "  - feature[1] (income): +0.42");
    assert_eq!(lines[3], "  - feature[0] (age): +0.28");
    assert_eq!(lines[4], "  - feature[2] (education): -0.15");
    assert_eq!(lines.last(), Some(&"Intercept contribution: +0.32"));
    assert!((path.confidence() - 0.7047).abs() < 1e-6);
}

#[test]
fn tree_explanation_states_each_test_and_direction() {
    let path = TreePath {
        splits: vec![
            TreeSplit {
                node_index: 0,
                feature_index: 0,
                threshold: 35.0,
                test: SplitTest::LessOrEqual,
                went_left: true,
                n_samples: 1000,
                ..TreeSplit::default()
            },
            TreeSplit {
                node_index: 1,
                feature_index: 1,
                threshold: 50_000.0,
                test: SplitTest::Less,
                went_left: false,
                n_samples: 600,
                ..TreeSplit::default()
            },
            TreeSplit {
                node_index: 3,
                feature_index: 3,
                test: SplitTest::NotInCategories,
                categories: vec![2, 5],
                went_left: false,
                missing: true,
                n_samples: 250,
                ..TreeSplit::default()
            },
        ],
        leaf: LeafInfo {
            node_index: 7,
            prediction: 1.0,
            n_samples: 250,
            class_distribution: Some(vec![20.0, 230.0]),
        },
        impurity_path: vec![],
    };
    let text = path.explain_with(&names());
    let expected = "Decision Path (depth=3):\n\
        \x20 Node 0: age <= 35? YES (went left, n=1000)\n\
        \x20 Node 1: income < 50000? NO (went right, n=600)\n\
        \x20 Node 3: income_band not in [2, 5]? MISSING (default: went right, n=250)\n\
        \x20 Node 7: LEAF → class=1 (approve), confidence=0.92\n\
        \x20         Training samples: n=250, class distribution [20, 230]";
    assert_eq!(text, expected);
    assert!((path.confidence() - 0.92).abs() < 1e-6);
}

#[test]
fn knn_confidence_prefers_weighted_votes() {
    let mut path = KnnPath {
        votes: vec![(0, 1), (1, 3)],
        ..KnnPath::default()
    };
    assert_eq!(path.confidence(), 0.75);
    path.weighted_votes = Some(vec![1.0, 1.0]);
    assert_eq!(path.confidence(), 0.5);
    assert!(
        path.explain_with(&names())
            .contains("class=1 (approve): 3 (weighted 1)")
    );
}

#[test]
fn neural_contributions_prefer_integrated_gradients() {
    let mut path = NeuralPath {
        input_gradient: vec![0.1, -0.9],
        ..NeuralPath::default()
    };
    assert_eq!(path.feature_contributions(), &[0.1, -0.9]);
    assert!(
        path.explain_with(&names())
            .contains("feature[1] (income): -0.9")
    );
    path.integrated_gradients = Some(vec![0.5, 0.25]);
    assert_eq!(path.feature_contributions(), &[0.5, 0.25]);
    assert_eq!(
        path.confidence(),
        1.0,
        "a regressor has no notion of confidence"
    );
}

fn stump(feature_index: u32, threshold: f32, went_left: bool, value: f32) -> TreePath {
    TreePath {
        splits: vec![TreeSplit {
            node_index: 0,
            feature_index,
            threshold,
            test: SplitTest::LessOrEqual,
            categories: Vec::new(),
            went_left,
            missing: false,
            n_samples: 100,
        }],
        leaf: LeafInfo {
            node_index: if went_left { 1 } else { 2 },
            prediction: value,
            n_samples: 40,
            class_distribution: None,
        },
        impurity_path: Vec::new(),
    }
}

#[test]
fn a_boosted_ensemble_explains_its_base_score_margins_and_each_tree() {
    let path = ForestPath {
        aggregation: Aggregation::Sum,
        base_score: 0.5,
        tree_paths: vec![stump(1, 30000.0, true, 0.25), stump(0, 40.0, false, -0.125)],
        tree_predictions: vec![0.25, -0.125],
        ensemble_prediction: 0.625,
        tree_agreement: 0.5,
        feature_importance: vec![0.0, 0.75, 0.0, 0.0],
        probability: None,
    };
    assert_eq!(
        path.explain_with(&names()),
        "Boosted ensemble of 2 trees: base=0.5 + Σ margins → 0.625\n\
         Most important features along the paths:\n\
         \x20 - feature[1] (income): +0.75\n\
         Tree 0 (output 0.25):\n\
         \x20 Node 0: income <= 30000? YES (went left, n=100)\n\
         \x20 Node 1: LEAF → value=0.25 (n=40)\n\
         Tree 1 (output -0.125):\n\
         \x20 Node 0: age <= 40? NO (went right, n=100)\n\
         \x20 Node 2: LEAF → value=-0.125 (n=40)"
    );
    // The confidence of an ensemble without a probability is its trees' agreement.
    assert_eq!(path.confidence(), 0.5);
    assert_eq!(path.feature_contributions(), &[0.0, 0.75, 0.0, 0.0]);
}

#[test]
fn a_mean_ensemble_and_a_classifying_ensemble_say_what_they_output() {
    let mean = ForestPath {
        aggregation: Aggregation::Mean,
        tree_predictions: vec![2.0, 3.0, 4.0],
        ensemble_prediction: 3.0,
        tree_agreement: 1.0 / 3.0,
        ..ForestPath::default()
    };
    // Trees without paths are counted from their predictions; no importance, no feature list.
    assert_eq!(
        mean.explain(),
        "Ensemble of 3 trees: mean=3, tree agreement=33%"
    );
    let classifier = ForestPath {
        tree_predictions: vec![1.0, 1.0, 0.0, 1.0],
        ensemble_prediction: 1.0,
        tree_agreement: 0.75,
        feature_importance: vec![-0.2, 0.0, 0.1],
        probability: Some(0.8125),
        ..ForestPath::default()
    };
    assert_eq!(
        classifier.explain_with(&names()),
        "Ensemble of 4 trees: class=1 (approve), probability=0.81, tree agreement=75%\n\
         Most important features along the paths:\n\
         \x20 - feature[0] (age): -0.2\n\
         \x20 - feature[2] (education): +0.1"
    );
    assert_eq!(classifier.confidence(), 0.8125);
}

#[test]
fn a_cluster_explanation_names_the_runner_up_and_the_deciding_features() {
    let path = ClusterPath {
        squared_distances: vec![4.0, 1.0, 9.0],
        cluster: 1,
        runner_up: 0,
        margin: 3.0,
        contributions: vec![2.5, -0.5],
    };
    assert_eq!(
        path.explain_with(&names()),
        "Cluster 1 (squared distance 1); runner-up cluster 0 (squared distance 4), margin 3\n\
         Features deciding between them:\n\
         \x20 - feature[0] (age): +2.5\n\
         \x20 - feature[1] (income): -0.5\n\
         Confidence: 0.75"
    );
    // Confidence is the margin over the runner-up's squared distance.
    assert_eq!(path.confidence(), 0.75);
    assert_eq!(path.feature_contributions(), &[2.5, -0.5]);
}

#[test]
fn a_single_cluster_is_certain_and_a_degenerate_runner_up_gives_no_confidence() {
    let single = ClusterPath {
        squared_distances: vec![2.0],
        cluster: 0,
        runner_up: 0,
        margin: 0.0,
        contributions: vec![1.0],
    };
    assert_eq!(single.confidence(), 1.0);
    // No "deciding features" when nothing competed.
    assert_eq!(
        single.explain(),
        "Cluster 0 (squared distance 2); runner-up cluster 0 (squared distance 2), margin 0\n\
         Confidence: 1.00"
    );
    let on_top = ClusterPath {
        squared_distances: vec![0.0, 0.0],
        cluster: 0,
        runner_up: 1,
        margin: 0.0,
        contributions: vec![],
    };
    assert_eq!(on_top.confidence(), 0.0);
    // A runner-up index past the distances prints NaN instead of failing.
    let broken = ClusterPath {
        squared_distances: vec![1.0],
        cluster: 0,
        runner_up: 5,
        margin: f32::NAN,
        contributions: vec![],
    };
    assert_eq!(broken.confidence(), 0.0);
    assert!(
        broken
            .explain()
            .contains("runner-up cluster 5 (squared distance NaN), margin NaN")
    );
}

#[test]
fn a_knn_regressor_lists_its_neighbours_without_votes() {
    let path = KnnPath {
        neighbor_indices: vec![12, 7],
        distances: vec![0.5, 1.25],
        neighbor_labels: vec![3.0],
        votes: Vec::new(),
        weighted_votes: None,
    };
    // A label missing for a neighbour prints NaN; no votes, no confidence line.
    assert_eq!(
        path.explain(),
        "2 nearest neighbours:\n\
         \x20 - training row 12: distance=0.5, label=3\n\
         \x20 - training row 7: distance=1.25, label=NaN"
    );
    assert_eq!(path.confidence(), 1.0);
    assert!(path.feature_contributions().is_empty());
    let zero_weights = KnnPath {
        weighted_votes: Some(vec![0.0, 0.0]),
        ..path
    };
    assert_eq!(zero_weights.confidence(), 0.0);
}

#[test]
fn tree_tests_of_every_kind_read_as_questions() {
    let split = |test, categories: Vec<u32>, went_left, missing| TreeSplit {
        node_index: 3,
        feature_index: 2,
        threshold: 1.5,
        test,
        categories,
        went_left,
        missing,
        n_samples: 9,
    };
    let path = TreePath {
        splits: vec![
            split(SplitTest::Less, vec![], true, false),
            split(SplitTest::NotInCategories, vec![1, 4], false, false),
            split(SplitTest::InCategories, vec![0], false, true),
        ],
        leaf: LeafInfo {
            node_index: 8,
            prediction: 1.0,
            n_samples: 0,
            class_distribution: Some(vec![0.0, 0.0]),
        },
        impurity_path: Vec::new(),
    };
    assert_eq!(
        path.explain_with(&names()),
        "Decision Path (depth=3):\n\
         \x20 Node 3: education < 1.5? YES (went left, n=9)\n\
         \x20 Node 3: education not in [1, 4]? NO (went right, n=9)\n\
         \x20 Node 3: education in [0]? MISSING (default: went right, n=9)\n\
         \x20 Node 8: LEAF → class=1 (approve), confidence=0.00\n\
         \x20         Training samples: n=0, class distribution [0, 0]"
    );
    // An empty class distribution gives no confidence; a regression leaf is certain.
    assert_eq!(path.confidence(), 0.0);
    assert_eq!(TreePath::default().confidence(), 1.0);
}

#[test]
fn a_neural_explanation_gives_its_confidence_gradient_and_layer_sizes() {
    let path = NeuralPath {
        input_gradient: vec![0.0, -0.75, 0.25],
        activations: Some(vec![vec![0.0; 4], vec![1.0; 2]]),
        attention_weights: None,
        integrated_gradients: None,
        probability: Some(0.875),
    };
    assert_eq!(
        path.explain(),
        "Confidence: 0.88\n\
         Most influential features (input gradient):\n\
         \x20 - feature[1]: -0.75\n\
         \x20 - feature[2]: +0.25\n\
         \x20 - feature[0]: +0\n\
         Layer activations recorded: sizes [4, 2]"
    );
    // The confidence is the probability of the class decided; a regression is certain.
    assert_eq!(path.confidence(), 0.875);
    let regression = NeuralPath {
        probability: None,
        ..path
    };
    assert_eq!(regression.confidence(), 1.0);
}

#[test]
fn names_fall_back_to_indices_and_a_model_record_gives_its_names() {
    let names = names();
    assert_eq!(names.feature_short(1), "income");
    assert_eq!(names.feature_short(9), "feature[9]");
    assert_eq!(names.feature(9), "feature[9]");
    assert_eq!(names.class(5), "class=5");
    assert_eq!(Names::none(), Names::default());
    let record = whyline_core::ModelRecord {
        identity: whyline_core::ModelIdentity::from_bytes(b"m", "linear", "1"),
        feature_names: names.features.clone(),
        class_names: names.classes.clone(),
        recorded_ns: 0,
        input_digest: whyline_core::DigestAlgorithm::default(),
    };
    assert_eq!(record.names(), names);
}

#[test]
fn values_read_with_at_most_four_decimals_and_non_finite_ones_by_name() {
    let path = LinearPath {
        contributions: vec![0.123_456, -2.000_04, 0.0, 0.0],
        intercept: -0.000_01,
        logit: 1.234_567_8,
        prediction: 1.0,
        probability: Some(0.876_54),
    };
    let text = path.explain_with(&names());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Prediction: class=1 (approve) (probability=0.8765, confidence=88%), logit=1.2346"
    );
    assert_eq!(lines[2], "  - feature[1] (income): -2");
    assert_eq!(lines[3], "  - feature[0] (age): +0.1235");
    // Rounded to zero: no "-0".
    assert_eq!(lines.last(), Some(&"Intercept contribution: 0"));
    let regression = LinearPath {
        prediction: f32::INFINITY,
        probability: None,
        ..path
    };
    assert_eq!(
        regression.explain_with(&names()).lines().next(),
        Some("Prediction: inf")
    );
}
