//! The traces of the ingest bench and example: batches of [`BATCH`] decisions of two shapes
//! (a linear path of 8 features, ~100 bytes of APRT; a tree path of depth 6, ~300 bytes),
//! and their bodies as JSON lines or APRT.

#![allow(dead_code, clippy::unwrap_used)]

use whyline_core::{
    AnyPath, DecisionTrace, LeafInfo, LinearPath, SplitTest, TreePath, TreeSplit, encode_aprt,
    encode_json,
};
use whyline_ledger::IngestFormat;

/// Traces per batch (per request).
pub(crate) const BATCH: u64 = 1_000;

/// A linear path of 8 features.
pub(crate) fn linear(i: u64) -> AnyPath {
    AnyPath::Linear(LinearPath {
        contributions: (0..8)
            .map(|k| (k as f32 - 3.5) * 0.1 + i as f32 * 1e-4)
            .collect(),
        intercept: 0.17,
        logit: 0.87,
        prediction: 1.0,
        probability: Some(0.7046),
    })
}

/// A tree path of depth 6.
pub(crate) fn tree(i: u64) -> AnyPath {
    AnyPath::Tree(TreePath {
        splits: (0..6)
            .map(|depth| TreeSplit {
                node_index: 2 * depth + 1,
                feature_index: (depth * 3 + i as u32) % 20,
                threshold: 0.5 + depth as f32 * 0.25,
                test: SplitTest::LessOrEqual,
                categories: Vec::new(),
                went_left: (i + u64::from(depth)).is_multiple_of(2),
                missing: false,
                n_samples: 10_000 >> depth,
            })
            .collect(),
        leaf: LeafInfo {
            node_index: 13,
            prediction: 1.0,
            n_samples: 156,
            class_distribution: Some(vec![0.25, 0.75]),
        },
        impurity_path: vec![0.5, 0.45, 0.4, 0.3, 0.2, 0.1],
    })
}

/// A batch of traces whose paths `path` makes.
pub(crate) fn traces(path: fn(u64) -> AnyPath) -> Vec<DecisionTrace<AnyPath>> {
    (0..BATCH)
        .map(|i| DecisionTrace {
            timestamp_ns: 1_765_000_000_000_000_000 + i * 1_000,
            sequence: i,
            input_hash: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            output: 0.7046,
            latency_ns: 23_000,
            path: path(i),
        })
        .collect()
}

/// The body of `traces` in `format`.
pub(crate) fn body(traces: &[DecisionTrace<AnyPath>], format: IngestFormat) -> Vec<u8> {
    let mut body = Vec::new();
    for trace in traces {
        match format {
            IngestFormat::JsonLines => {
                encode_json(trace, &mut body).unwrap();
                body.push(b'\n');
            }
            IngestFormat::Aprt => {
                encode_aprt(trace, &mut body);
            }
        }
    }
    body
}
