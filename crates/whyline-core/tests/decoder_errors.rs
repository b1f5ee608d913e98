//! The decoder names each malformation with its offset and never panics on any bytes.

use proptest::prelude::*;
use whyline_core::{
    AnyPath, AprtRecords, CoreError, DecisionTrace, LinearPath, TreePath, decode_aprt_prefix,
    from_aprt, to_aprt,
};

use crate::strategies;

fn linear_trace() -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 7,
        sequence: 3,
        input_hash: 5,
        output: 0.25,
        latency_ns: 10_000,
        path: LinearPath {
            contributions: vec![0.5, -0.25],
            intercept: 0.0,
            logit: 0.25,
            prediction: 0.25,
            probability: Some(0.75),
        },
    }
}

#[test]
fn bad_magic_is_named_with_its_offset() {
    let mut bytes = to_aprt(&linear_trace());
    bytes[0] = b'X';
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(
            result,
            Err(CoreError::BadMagic {
                offset: 0,
                found: 0x5850_5254
            })
        ),
        "{result:?}"
    );
}

#[test]
fn unknown_version_is_named_with_its_offset() {
    let mut bytes = to_aprt(&linear_trace());
    bytes[4] = 2;
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(
            result,
            Err(CoreError::UnknownVersion {
                offset: 4,
                found: 2
            })
        ),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(message.contains("unknown version 2"), "{message}");
}

#[test]
fn reserved_path_type_is_rejected() {
    let mut bytes = to_aprt(&linear_trace());
    bytes[5] = 9;
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(
            result,
            Err(CoreError::UnknownPathType {
                offset: 5,
                found: 9
            })
        ),
        "{result:?}"
    );
}

#[test]
fn path_length_beyond_the_buffer_is_truncation() {
    let mut bytes = to_aprt(&linear_trace());
    let declared = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]) + 100;
    bytes[40..44].copy_from_slice(&declared.to_le_bytes());
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(
            result,
            Err(CoreError::Truncated {
                offset: 44,
                field: "path data",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn a_short_path_length_leaves_bytes_over() {
    let mut bytes = to_aprt(&linear_trace());
    let declared = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]) - 4;
    bytes[40..44].copy_from_slice(&declared.to_le_bytes());
    // The path now ends inside the probability field.
    let result = decode_aprt_prefix::<AnyPath>(&bytes, 0);
    assert!(
        matches!(
            result,
            Err(CoreError::Truncated {
                field: "probability",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn a_count_larger_than_the_bytes_left_is_inconsistent() {
    let mut bytes = to_aprt(&linear_trace());
    // contributions count sits at offset 44.
    bytes[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(
            result,
            Err(CoreError::InconsistentLength { offset: 44, .. })
        ),
        "{result:?}"
    );
}

#[test]
fn a_flag_byte_other_than_0_or_1_is_invalid() {
    let mut bytes = to_aprt(&linear_trace());
    // probability flag: 44 + 4 + 2*4 (contributions) + 12 (intercept, logit, prediction).
    let flag = 44 + 4 + 8 + 12;
    assert_eq!(bytes[flag], 1);
    bytes[flag] = 7;
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(result, Err(CoreError::InvalidField { offset, field: "probability", .. }) if offset == flag as u64),
        "{result:?}"
    );
}

#[test]
fn undefined_split_flags_are_invalid() {
    let mut path = TreePath::default();
    path.splits.push(whyline_core::TreeSplit::default());
    let trace = DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path,
    };
    let mut bytes = to_aprt(&trace);
    // split flags: 44 + 4 (count) + 4 + 4 + 4 + 1 (test).
    bytes[44 + 17] = 0b100;
    let result = from_aprt::<AnyPath>(&bytes);
    assert!(
        matches!(
            result,
            Err(CoreError::InvalidField {
                field: "split.flags",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn the_record_iterator_stops_at_the_first_bad_record_with_its_offset() {
    let good = to_aprt(&linear_trace());
    let mut bytes = good.clone();
    bytes.extend_from_slice(&good);
    let second = good.len();
    bytes[second] = 0;
    let results: Vec<_> = AprtRecords::<AnyPath>::new(&bytes).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert!(
        matches!(&results[1], Err(CoreError::BadMagic { offset, .. }) if *offset == second as u64),
        "{:?}",
        results[1]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = from_aprt::<AnyPath>(&bytes);
        let _ = AprtRecords::<AnyPath>::new(&bytes).count();
    }

    /// Random path bytes behind a valid header reach deep into every path decoder.
    #[test]
    fn random_path_data_never_panics(
        path_type in 0u8..5,
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let mut bytes = to_aprt(&linear_trace());
        bytes.truncate(44);
        bytes[5] = path_type;
        bytes[40..44].copy_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&body);
        let _ = from_aprt::<AnyPath>(&bytes);
    }

    /// Any single changed byte of a valid record: an error or a valid decode, never a panic.
    #[test]
    fn mutated_records_never_panic(
        trace in strategies::trace(strategies::any_path()),
        position in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut bytes = to_aprt(&trace);
        let at = position.index(bytes.len());
        bytes[at] = value;
        if let Ok(decoded) = from_aprt::<AnyPath>(&bytes) {
            // Whatever decodes must re-encode to a record of the same length.
            prop_assert_eq!(to_aprt(&decoded).len(), bytes.len());
        }
    }
}

/// One path type: its default path's bytes decode, and with one byte more they are refused
/// with the bytes left over named.
fn refuses_a_trailing_byte<P: whyline_core::DecisionPath + Default + PartialEq>(name: &str) {
    let path = P::default();
    let mut bytes = path.to_bytes();
    let decoded = P::decode_path(path.path_type(), &bytes, 0).unwrap();
    assert!(decoded == path, "{name} round trip");
    bytes.push(0);
    let error = P::decode_path(path.path_type(), &bytes, 100).unwrap_err();
    assert!(
        matches!(&error, CoreError::InconsistentLength { .. }),
        "{name}: {error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("1 bytes left over after {name}")),
        "{name}: {error}"
    );
}

#[test]
fn every_path_type_refuses_bytes_left_over_after_it() {
    refuses_a_trailing_byte::<LinearPath>("LinearPath");
    refuses_a_trailing_byte::<TreePath>("TreePath");
    refuses_a_trailing_byte::<whyline_core::ForestPath>("ForestPath");
    refuses_a_trailing_byte::<whyline_core::KnnPath>("KnnPath");
    refuses_a_trailing_byte::<whyline_core::ClusterPath>("ClusterPath");
    refuses_a_trailing_byte::<whyline_core::NeuralPath>("NeuralPath");
}
