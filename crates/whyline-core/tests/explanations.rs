//! Explanation text: the seed spec's layout, names where given, indices otherwise.

use whyline_core::{
    DecisionPath, KnnPath, LeafInfo, LinearPath, Names, NeuralPath, SplitTest, TreePath, TreeSplit,
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
