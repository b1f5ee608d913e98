//! The fast JSON writer (`encode_json`) against the reference (`encode_json_reference`, the
//! serde derive through serde_json): byte for byte the same for every path type, every float
//! (NaN payloads and infinities included) and the committed golden fixtures.

use proptest::prelude::*;
use whyline_core::{DecisionPath, DecisionTrace, LinearPath, encode_json, encode_json_reference};

use crate::{golden, strategies};

/// Both encoders append after the same prefix, so a reused buffer keeps what it held.
fn assert_same_bytes<P: DecisionPath>(trace: &DecisionTrace<P>) {
    let mut fast = b"kept|".to_vec();
    let mut reference = b"kept|".to_vec();
    encode_json(trace, &mut fast).unwrap();
    encode_json_reference(trace, &mut reference).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&fast),
        String::from_utf8_lossy(&reference)
    );
}

/// Any latency, not only whole microseconds: the JSON view carries nanoseconds.
fn with_any_latency<P: std::fmt::Debug + Clone>(
    path: impl Strategy<Value = P>,
) -> impl Strategy<Value = DecisionTrace<P>> {
    (strategies::trace(path), any::<u64>()).prop_map(|(mut trace, latency_ns)| {
        trace.latency_ns = latency_ns;
        trace
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn linear_fast_json_is_the_reference(trace in with_any_latency(strategies::linear_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn tree_fast_json_is_the_reference(trace in with_any_latency(strategies::tree_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn forest_fast_json_is_the_reference(trace in with_any_latency(strategies::forest_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn knn_fast_json_is_the_reference(trace in with_any_latency(strategies::knn_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn cluster_fast_json_is_the_reference(trace in with_any_latency(strategies::cluster_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn neural_fast_json_is_the_reference(trace in with_any_latency(strategies::neural_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn any_path_fast_json_is_the_reference(trace in with_any_latency(strategies::any_path())) {
        assert_same_bytes(&trace);
    }

    #[test]
    fn every_f32_bit_pattern_is_written_as_serde_json_does(bits in any::<u32>()) {
        let value = f32::from_bits(bits);
        let trace = DecisionTrace {
            timestamp_ns: 0,
            sequence: 0,
            input_hash: 0,
            output: value,
            latency_ns: 0,
            path: LinearPath {
                contributions: vec![value, -value],
                intercept: value,
                logit: value,
                prediction: value,
                probability: Some(value),
            },
        };
        assert_same_bytes(&trace);
    }
}

#[test]
fn special_floats_are_written_as_the_reference_writes_them() {
    let specials = [
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7fc0_0001),
        f32::from_bits(0xffc0_0000),
        f32::from_bits(0x7f80_0001),
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::MAX,
        f32::MIN,
        1e-7,
        1e16,
        0.1,
    ];
    let trace = DecisionTrace {
        timestamp_ns: u64::MAX,
        sequence: u64::MAX,
        input_hash: u64::MAX,
        output: f32::from_bits(0x7fc0_0001),
        latency_ns: u64::MAX,
        path: LinearPath {
            contributions: specials.to_vec(),
            intercept: f32::NEG_INFINITY,
            logit: f32::NAN,
            prediction: -0.0,
            probability: None,
        },
    };
    assert_same_bytes(&trace);
    let mut text = Vec::new();
    encode_json(&trace, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    for expected in [
        "\"output\":\"NaN:0x7fc00001\"",
        "\"input_hash\":\"0xffffffffffffffff\"",
        "[\"NaN\",\"NaN:0xffc00000\",\"NaN:0x7fc00001\",\"NaN:0xffc00000\",\"NaN:0x7f800001\",\"Infinity\",\"-Infinity\",0.0,-0.0,",
        "\"intercept\":\"-Infinity\",\"logit\":\"NaN\",\"prediction\":-0.0,\"probability\":null}",
    ] {
        assert!(text.contains(expected), "{expected} not in {text}");
    }
}

/// The committed fixture is what both encoders write, so the fast writer matches the bytes
/// that were pinned before it existed.
#[test]
fn both_encoders_write_the_golden_fixture() {
    let dir = golden::fixture_dir();
    let mut pinned = std::fs::read_to_string(dir.join("all.jsonl")).unwrap();
    pinned.push_str(&std::fs::read_to_string(dir.join("cluster.json")).unwrap());
    let mut fast = Vec::new();
    let mut reference = Vec::new();
    for (_, trace) in golden::golden_traces() {
        encode_json(&trace, &mut fast).unwrap();
        fast.push(b'\n');
        encode_json_reference(&trace, &mut reference).unwrap();
        reference.push(b'\n');
    }
    assert_eq!(String::from_utf8(fast).unwrap(), pinned);
    assert_eq!(String::from_utf8(reference).unwrap(), pinned);
}
