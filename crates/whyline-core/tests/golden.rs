//! Golden APRT and JSON fixtures: one trace of each path type, pinned byte for byte so the
//! format cannot drift unnoticed. `WHYLINE_BLESS=1 cargo test -p whyline-core golden` rewrites
//! them after an intended format change (which also needs a version bump and a note in
//! `docs/aprt-format.md`).

use std::path::PathBuf;

use whyline_core::{
    Aggregation, AnyPath, ClusterPath, DecisionTrace, ForestPath, KnnPath, LeafInfo, LinearPath,
    NeuralPath, SplitTest, TreePath, TreeSplit, from_aprt, from_json, to_aprt, to_json,
};

pub(crate) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

fn tree(node: u32, leaf_value: f32) -> TreePath {
    TreePath {
        splits: vec![
            TreeSplit {
                node_index: 0,
                feature_index: 2,
                threshold: 35.0,
                test: SplitTest::LessOrEqual,
                categories: vec![],
                went_left: true,
                missing: false,
                n_samples: 1000,
            },
            TreeSplit {
                node_index: 1,
                feature_index: 0,
                threshold: 50_000.0,
                test: SplitTest::Less,
                categories: vec![],
                went_left: false,
                missing: true,
                n_samples: 600,
            },
            TreeSplit {
                node_index: 4,
                feature_index: 3,
                threshold: 0.0,
                test: SplitTest::InCategories,
                categories: vec![1, 4, 7],
                went_left: true,
                missing: false,
                n_samples: 250,
            },
        ],
        leaf: LeafInfo {
            node_index: node,
            prediction: leaf_value,
            n_samples: 230,
            class_distribution: Some(vec![20.0, 230.0]),
        },
        impurity_path: vec![0.5, 0.42, 0.3, 0.15],
    }
}

/// The golden traces, by fixture name.
pub(crate) fn golden_traces() -> Vec<(&'static str, DecisionTrace<AnyPath>)> {
    let base = DecisionTrace {
        timestamp_ns: 1_710_512_347_123_456_789,
        sequence: 42,
        input_hash: 0xdead_beef_1234_5678,
        output: 0.87,
        latency_ns: 234_000,
        path: AnyPath::default(),
    };
    let linear = LinearPath {
        contributions: vec![0.42, 0.28, -0.15, 0.08, 0.12],
        intercept: 0.32,
        logit: 1.07,
        prediction: 1.0,
        probability: Some(0.7446),
    };
    let forest = ForestPath {
        aggregation: Aggregation::Mean,
        base_score: 0.0,
        tree_paths: vec![tree(7, 1.0), tree(9, 1.0)],
        tree_predictions: vec![1.0, 1.0],
        ensemble_prediction: 1.0,
        tree_agreement: 1.0,
        feature_importance: vec![0.1, 0.0, 0.6, 0.3],
        probability: Some(0.92),
    };
    let knn = KnnPath {
        neighbor_indices: vec![17, 3, 250],
        distances: vec![0.5, 0.75, 1.25],
        neighbor_labels: vec![1.0, 1.0, 0.0],
        votes: vec![(0, 1), (1, 2)],
        weighted_votes: Some(vec![0.8, 3.333_333_3]),
    };
    let neural = NeuralPath {
        input_gradient: vec![0.01, -0.2, 0.05],
        activations: Some(vec![vec![0.0, 1.5], vec![0.1, 0.2, 0.7]]),
        attention_weights: None,
        integrated_gradients: Some(vec![0.02, -0.3, f32::NAN]),
        probability: Some(0.7),
    };
    let cluster = ClusterPath {
        squared_distances: vec![4.5, 0.25, 2.0],
        cluster: 1,
        runner_up: 2,
        margin: 1.75,
        contributions: vec![1.5, -0.25, 0.5],
    };
    vec![
        (
            "linear",
            DecisionTrace {
                path: linear.into(),
                ..base.clone()
            },
        ),
        (
            "tree",
            DecisionTrace {
                sequence: 43,
                path: tree(7, 1.0).into(),
                ..base.clone()
            },
        ),
        (
            "forest",
            DecisionTrace {
                sequence: 44,
                path: forest.into(),
                ..base.clone()
            },
        ),
        (
            "knn",
            DecisionTrace {
                sequence: 45,
                output: 1.0,
                path: knn.into(),
                ..base.clone()
            },
        ),
        (
            "neural",
            DecisionTrace {
                sequence: 46,
                output: f32::INFINITY,
                path: neural.into(),
                ..base.clone()
            },
        ),
        (
            "cluster",
            DecisionTrace {
                sequence: 47,
                output: 1.0,
                path: cluster.into(),
                ..base
            },
        ),
    ]
}

fn blessing() -> bool {
    std::env::var_os("WHYLINE_BLESS").is_some()
}

#[test]
fn golden_aprt_bytes_are_stable() {
    let dir = fixture_dir();
    let mut all = Vec::new();
    for (name, trace) in golden_traces() {
        let bytes = to_aprt(&trace);
        let path = dir.join(format!("{name}.aprt"));
        if blessing() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let pinned = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            bytes,
            pinned,
            "{name}: APRT encoding drifted from {}",
            path.display()
        );
        let decoded: DecisionTrace<AnyPath> = from_aprt(&pinned).unwrap();
        assert_eq!(
            to_aprt(&decoded),
            pinned,
            "{name}: decode of the fixture re-encodes differently"
        );
        // all.aprt and all.jsonl keep the five first path types: other tests build logs of
        // a known size from them. The cluster path is pinned in its own files.
        if name != "cluster" {
            all.extend_from_slice(&bytes);
        }
    }
    let path = dir.join("all.aprt");
    if blessing() {
        std::fs::write(&path, &all).unwrap();
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        all,
        "all.aprt is the concatenation of the five first"
    );
}

#[test]
fn golden_json_is_stable() {
    let dir = fixture_dir();
    let mut lines = String::new();
    for (name, trace) in golden_traces() {
        let mut line = to_json(&trace).unwrap();
        line.push('\n');
        if name == "cluster" {
            let path = dir.join("cluster.json");
            if blessing() {
                std::fs::write(&path, &line).unwrap();
            }
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                line,
                "cluster.json drifted"
            );
            let back: DecisionTrace<AnyPath> = from_json(&line).unwrap();
            assert_eq!(
                to_aprt(&back),
                to_aprt(&trace),
                "cluster: JSON reads back differently"
            );
        } else {
            lines.push_str(&line);
        }
    }
    let path = dir.join("all.jsonl");
    if blessing() {
        std::fs::write(&path, &lines).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap();
    assert_eq!(lines, pinned, "JSON view drifted from {}", path.display());
    for (line, (name, trace)) in pinned.lines().zip(golden_traces()) {
        let back: DecisionTrace<AnyPath> = from_json(line).unwrap();
        assert_eq!(
            to_aprt(&back),
            to_aprt(&trace),
            "{name}: JSON fixture reads back differently"
        );
    }
}
