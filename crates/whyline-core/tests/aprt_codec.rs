//! APRT round trips, header layout against the spec table, truncation and trailing bytes.

use proptest::prelude::*;
use whyline_core::{
    APRT_HEADER_LEN, AnyPath, ClusterPath, CoreError, DecisionPath, DecisionTrace, ForestPath,
    KnnPath, LinearPath, NeuralPath, PathType, TreePath, decode_aprt_prefix, from_aprt, to_aprt,
};

use crate::strategies;

/// Decodes as the concrete type and as `AnyPath`; both must re-encode to the same bytes.
fn assert_round_trip<P: DecisionPath>(trace: &DecisionTrace<P>) {
    let bytes = to_aprt(trace);
    let back: DecisionTrace<P> = from_aprt(&bytes).unwrap();
    assert_eq!(to_aprt(&back), bytes, "concrete round trip changed bytes");
    let any: DecisionTrace<AnyPath> = from_aprt(&bytes).unwrap();
    assert_eq!(any.path.path_type(), trace.path.path_type());
    assert_eq!(to_aprt(&any), bytes, "AnyPath round trip changed bytes");
    assert_eq!(back.latency_ns, trace.latency_ns);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn linear_round_trips(trace in strategies::trace(strategies::linear_path())) {
        assert_round_trip(&trace);
    }

    #[test]
    fn tree_round_trips(trace in strategies::trace(strategies::tree_path())) {
        assert_round_trip(&trace);
    }

    #[test]
    fn forest_round_trips(trace in strategies::trace(strategies::forest_path())) {
        assert_round_trip(&trace);
    }

    #[test]
    fn knn_round_trips(trace in strategies::trace(strategies::knn_path())) {
        assert_round_trip(&trace);
    }

    #[test]
    fn cluster_round_trips(trace in strategies::trace(strategies::cluster_path())) {
        assert_round_trip(&trace);
    }

    #[test]
    fn neural_round_trips(trace in strategies::trace(strategies::neural_path())) {
        assert_round_trip(&trace);
    }

    #[test]
    fn every_truncation_is_an_error(trace in strategies::trace(strategies::any_path())) {
        let bytes = to_aprt(&trace);
        for cut in 0..bytes.len() {
            let result = from_aprt::<AnyPath>(&bytes[..cut]);
            prop_assert!(
                matches!(result, Err(CoreError::Truncated { .. } | CoreError::InconsistentLength { .. })),
                "cut at {cut} of {}: {result:?}", bytes.len()
            );
        }
    }

    #[test]
    fn a_trailing_byte_is_rejected(trace in strategies::trace(strategies::any_path()), extra in any::<u8>()) {
        let mut bytes = to_aprt(&trace);
        let len = bytes.len();
        bytes.push(extra);
        let result = from_aprt::<AnyPath>(&bytes);
        prop_assert!(
            matches!(result, Err(CoreError::InconsistentLength { offset, .. }) if offset == len as u64),
            "{result:?}"
        );
    }
}

/// The header laid out exactly as the table in design.md / the seed spec §11.
#[test]
fn header_matches_the_spec_table() {
    let trace = DecisionTrace {
        timestamp_ns: 0x0102_0304_0506_0708,
        sequence: 42,
        input_hash: 0xdead_beef_1234_5678,
        output: 0.5,
        latency_ns: 234_567,
        path: KnnPath::default(),
    };
    let bytes = to_aprt(&trace);
    assert_eq!(&bytes[0..4], &[0x41, 0x50, 0x52, 0x54], "magic \"APRT\"");
    assert_eq!(bytes[4], 0x01, "version");
    assert_eq!(bytes[5], 3, "path type 3 = Knn");
    assert_eq!(&bytes[6..8], &[0, 0], "reserved");
    assert_eq!(&bytes[8..16], &[8, 7, 6, 5, 4, 3, 2, 1], "timestamp_ns LE");
    assert_eq!(&bytes[16..24], &[42, 0, 0, 0, 0, 0, 0, 0], "sequence LE");
    assert_eq!(
        &bytes[24..32],
        &[0x78, 0x56, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde],
        "input_hash LE"
    );
    assert_eq!(
        &bytes[32..36],
        &[0x00, 0x00, 0x00, 0x3f],
        "output 0.5f32 LE"
    );
    assert_eq!(&bytes[36..40], &[234, 0, 0, 0], "latency in whole µs");
    let path_length = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]) as usize;
    assert_eq!(path_length, bytes.len() - APRT_HEADER_LEN, "path_length");
    // An empty KnnPath: four zero counts and an absent flag.
    assert_eq!(&bytes[44..], &[0u8; 17][..]);
}

#[test]
fn each_path_type_writes_its_byte() {
    let cases: [(AnyPath, u8); 6] = [
        (LinearPath::default().into(), 0),
        (TreePath::default().into(), 1),
        (ForestPath::default().into(), 2),
        (KnnPath::default().into(), 3),
        (NeuralPath::default().into(), 4),
        (ClusterPath::default().into(), 5),
    ];
    for (path, byte) in cases {
        let trace = DecisionTrace {
            timestamp_ns: 0,
            sequence: 0,
            input_hash: 0,
            output: 0.0,
            latency_ns: 0,
            path,
        };
        assert_eq!(to_aprt(&trace)[5], byte);
        assert_eq!(PathType::from_byte(byte).map(PathType::to_byte), Some(byte));
    }
    assert_eq!(PathType::from_byte(6), None);
}

#[test]
fn latency_is_stored_in_whole_microseconds_and_saturates() {
    let mut trace = DecisionTrace {
        timestamp_ns: 1,
        sequence: 1,
        input_hash: 1,
        output: 1.0,
        latency_ns: 1_999,
        path: LinearPath::default(),
    };
    let back: DecisionTrace<LinearPath> = from_aprt(&to_aprt(&trace)).unwrap();
    assert_eq!(back.latency_ns, 1_000);
    trace.latency_ns = u64::MAX;
    let back: DecisionTrace<LinearPath> = from_aprt(&to_aprt(&trace)).unwrap();
    assert_eq!(back.latency_ns, u64::from(u32::MAX) * 1_000);
}

#[test]
fn a_concrete_decoder_rejects_another_path_type() {
    let trace = DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: TreePath::default(),
    };
    let result = from_aprt::<LinearPath>(&to_aprt(&trace));
    assert!(
        matches!(
            result,
            Err(CoreError::PathTypeMismatch {
                expected: PathType::Linear,
                found: PathType::Tree
            })
        ),
        "{result:?}"
    );
}

#[test]
fn concatenated_records_decode_one_after_another() {
    let first = DecisionTrace {
        timestamp_ns: 1,
        sequence: 0,
        input_hash: 9,
        output: 1.0,
        latency_ns: 0,
        path: AnyPath::from(LinearPath {
            contributions: vec![1.0, 2.0],
            ..LinearPath::default()
        }),
    };
    let second = DecisionTrace {
        sequence: 1,
        path: AnyPath::from(KnnPath::default()),
        ..first.clone()
    };
    let mut bytes = to_aprt(&first);
    let first_len = bytes.len();
    bytes.extend(to_aprt(&second));
    let (a, len_a) = decode_aprt_prefix::<AnyPath>(&bytes, 0).unwrap();
    assert_eq!(len_a, first_len);
    assert_eq!(a, first);
    let (b, len_b) = decode_aprt_prefix::<AnyPath>(&bytes[len_a..], len_a as u64).unwrap();
    assert_eq!(b, second);
    assert_eq!(len_a + len_b, bytes.len());
    let walked: Vec<u64> = whyline_core::AprtRecords::<AnyPath>::new(&bytes)
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(walked, vec![0, first_len as u64]);
}

/// `encode_aprt` appends: after bytes already in the buffer, it writes the same record and
/// returns that record's length, not the buffer's.
#[test]
fn encoding_after_other_bytes_appends_the_record_and_returns_its_length() {
    let trace = DecisionTrace {
        timestamp_ns: 7,
        sequence: 3,
        input_hash: 11,
        output: 1.5,
        latency_ns: 2_000,
        path: LinearPath {
            contributions: vec![0.5, -0.25],
            ..LinearPath::default()
        },
    };
    let alone = to_aprt(&trace);
    let mut out = b"earlier entries".to_vec();
    let written = whyline_core::encode_aprt(&trace, &mut out);
    assert_eq!(written, alone.len());
    assert_eq!(&out[..15], b"earlier entries");
    assert_eq!(&out[15..], &alone[..]);
    let written_again = whyline_core::encode_aprt(&trace, &mut out);
    assert_eq!(written_again, alone.len());
    assert_eq!(&out[15 + alone.len()..], &alone[..]);
}
