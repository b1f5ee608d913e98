//! The stream benches' decision, shared with the `stream_throughput` example: an 8-feature
//! linear trace rebuilt in place for each record (no allocation once warm).

use whyline_core::{DecisionTrace, LinearPath};

const WEIGHTS: [f32; 8] = [0.5, -0.25, 0.125, 1.0, -1.0, 0.75, 0.3, -0.6];

/// Fills `trace` as decision `sequence` of the linear model on `row`.
pub(crate) fn build_into(trace: &mut DecisionTrace<LinearPath>, sequence: u64, row: &[f32; 8]) {
    trace.sequence = sequence;
    trace.timestamp_ns = 1_700_000_000_000_000_000 + sequence;
    trace.input_hash = sequence.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    trace.latency_ns = 1_234;
    let path = &mut trace.path;
    path.contributions.clear();
    path.contributions
        .extend(WEIGHTS.iter().zip(row).map(|(w, x)| w * x));
    path.intercept = 0.1;
    path.logit = path.intercept + path.contributions.iter().sum::<f32>();
    path.prediction = path.logit;
    path.probability = Some(0.9);
    trace.output = path.prediction;
}

/// A trace with room for 8 contributions.
pub(crate) fn empty_trace() -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: LinearPath {
            contributions: Vec::with_capacity(8),
            ..LinearPath::default()
        },
    }
}
