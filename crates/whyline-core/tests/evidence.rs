//! The evidence records (sealed input, alone or as the trailer of its decision's entry,
//! outcome, erasure) and the sealed plaintext: round
//! trips for any value, and every truncation or bit flip either refused or read as a
//! different record, never as the original and never a panic.

use proptest::prelude::*;
use whyline_core::{
    ContextValue, CoreError, DecisionInput, DecisionTrace, EntryKind, ErasureRecord, LinearPath,
    OutcomeRecord, SealAlgorithm, SealedHeader, SealedInput, SealedLayout, decode_input,
    encode_input_f64, from_aprt, split_decision_entry, to_aprt,
};

fn context_value() -> impl Strategy<Value = ContextValue> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(ContextValue::Bool),
        any::<i64>().prop_map(ContextValue::I64),
        any::<f64>().prop_map(ContextValue::F64),
        ".{0,12}".prop_map(ContextValue::Str),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop::collection::vec(inner, 0..4).prop_map(ContextValue::List)
    })
}

fn decision_input() -> impl Strategy<Value = DecisionInput> {
    (
        prop::collection::vec(any::<f64>(), 0..10),
        prop::collection::vec((".{0,8}", context_value()), 0..5),
    )
        .prop_map(|(values, context)| DecisionInput { values, context })
}

fn sealed_input() -> impl Strategy<Value = SealedInput> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::option::of(any::<[u8; 32]>()),
        any::<u32>(),
        any::<[u8; 24]>(),
        prop::collection::vec(any::<u8>(), 16..64),
    )
        .prop_map(
            |(timestamp_ns, decision_index, trace_hash, subject_digest, key_id, nonce, ct)| {
                SealedInput {
                    header: SealedHeader {
                        timestamp_ns,
                        decision_index,
                        trace_hash,
                        subject_digest,
                        key_id,
                        nonce,
                        algorithm: SealAlgorithm::XChaCha20Poly1305,
                        layout: SealedLayout::OwnEntry,
                    },
                    ciphertext: ct,
                }
            },
        )
}

fn outcome() -> impl Strategy<Value = OutcomeRecord> {
    (
        any::<u64>(),
        ".{0,10}",
        prop::option::of(".{0,6}"),
        prop::option::of(".{0,6}"),
        prop::option::of(".{0,20}"),
        any::<u64>(),
    )
        .prop_map(
            |(decision_index, label, by, override_action, note, recorded_ns)| OutcomeRecord {
                decision_index,
                label,
                by,
                override_action,
                note,
                recorded_ns,
            },
        )
}

fn erasure() -> impl Strategy<Value = ErasureRecord> {
    (any::<[u8; 32]>(), prop::option::of(".{0,8}"), any::<u64>()).prop_map(
        |(subject_digest, by, erased_ns)| ErasureRecord {
            subject_digest,
            by,
            erased_ns,
        },
    )
}

/// Whether `flipped` differs from `bytes` only in the case of a hex digit of a JSON `\\uXXXX`
/// escape: another spelling of the same character, which a JSON-bodied record reads back the
/// same (the ledger hashes the bytes, so the change is still found there).
fn respelled_unicode_escape(bytes: &[u8], flipped: &[u8], at: usize) -> bool {
    let (was, is) = (bytes[at], flipped[at]);
    let case_only = was != is && was.eq_ignore_ascii_case(&is) && was.is_ascii_hexdigit();
    case_only && (1..=4).any(|back| at > back && bytes[at - back - 1..at - back + 1] == *b"\\u")
}

/// Bit-exact equality of plaintexts (NaN payloads included).
fn same_input(a: &DecisionInput, b: &DecisionInput) -> bool {
    let mut x = Vec::new();
    let mut y = Vec::new();
    encode_input_f64(&a.values, &a.context, &mut x);
    encode_input_f64(&b.values, &b.context, &mut y);
    x == y
}

proptest! {
    #[test]
    fn a_plaintext_round_trips_bit_for_bit(input in decision_input()) {
        let mut bytes = Vec::new();
        encode_input_f64(&input.values, &input.context, &mut bytes);
        let back = decode_input(&bytes).unwrap();
        prop_assert!(same_input(&back, &input));
        for len in 0..bytes.len() {
            prop_assert!(decode_input(&bytes[..len]).is_err(), "cut at {len} was read");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(decode_input(&longer).is_err());
    }

    #[test]
    fn a_flipped_plaintext_is_refused_or_reads_differently(
        input in decision_input(), at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let mut bytes = Vec::new();
        encode_input_f64(&input.values, &input.context, &mut bytes);
        let at = at.index(bytes.len());
        bytes[at] ^= 1 << bit;
        if let Ok(back) = decode_input(&bytes) {
            prop_assert!(!same_input(&back, &input));
        }
    }

    #[test]
    fn a_sealed_input_record_round_trips_and_refuses_damage(
        record in sealed_input(), at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let bytes = record.to_bytes();
        prop_assert_eq!(EntryKind::of(&bytes), EntryKind::SealedInput);
        prop_assert_eq!(&SealedInput::from_bytes(&bytes).unwrap(), &record);
        for len in 0..bytes.len() {
            prop_assert!(SealedInput::from_bytes(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut flipped = bytes.clone();
        let at = at.index(bytes.len());
        flipped[at] ^= 1 << bit;
        if let Ok(back) = SealedInput::from_bytes(&flipped) {
            prop_assert_ne!(back, record);
        }
    }

    #[test]
    fn a_decision_entry_with_its_sealed_input_splits_round_trips_and_refuses_damage(
        record in sealed_input(), at in any::<prop::sample::Index>(), bit in 0u8..8,
        contributions in prop::collection::vec(-10.0f32..10.0, 0..6),
    ) {
        let trace = DecisionTrace {
            timestamp_ns: record.header.timestamp_ns,
            sequence: 3,
            input_hash: 9,
            output: 0.25,
            latency_ns: 2_000,
            path: LinearPath { contributions, ..LinearPath::default() },
        };
        let header = SealedHeader {
            layout: SealedLayout::Trailer,
            trace_hash: [0; 32],
            ..record.header
        };
        let aprt = to_aprt(&trace);
        let mut entry = aprt.clone();
        entry.extend_from_slice(&header.trailer_bytes(record.ciphertext.len()));
        entry.extend_from_slice(&record.ciphertext);
        prop_assert_eq!(EntryKind::of(&entry), EntryKind::Decision);
        let (front, trailer) = split_decision_entry(&entry).unwrap();
        prop_assert_eq!(front, &aprt[..]);
        let trailer = trailer.unwrap();
        let (back, ciphertext) = SealedInput::split_trailer(trailer, trace.timestamp_ns).unwrap();
        prop_assert_eq!(back, header);
        prop_assert_eq!(ciphertext, &record.ciphertext[..]);
        prop_assert_eq!(from_aprt::<LinearPath>(&entry).unwrap(), trace.clone());
        // Cut anywhere inside the trailer: neither the trailer nor the entry reads.
        for len in aprt.len() + 1..entry.len() {
            prop_assert!(split_decision_entry(&entry[..len]).is_err(), "cut at {len}");
            prop_assert!(from_aprt::<LinearPath>(&entry[..len]).is_err(), "cut at {len}");
        }
        // A flip in the trailer is refused or reads as another header or ciphertext.
        let mut flipped = entry.clone();
        let at = aprt.len() + at.index(entry.len() - aprt.len());
        flipped[at] ^= 1 << bit;
        if let Ok((_, Some(trailer))) = split_decision_entry(&flipped) {
            let (h, c) = SealedInput::split_trailer(trailer, trace.timestamp_ns).unwrap();
            prop_assert!(h != header || c != &record.ciphertext[..], "a flip at {at} reads the same");
        }
        // The version-1 form is not a trailer, nor a trailer a version-1 record.
        let mut own = aprt.clone();
        own.extend_from_slice(&record.to_bytes());
        prop_assert!(split_decision_entry(&own).is_err());
        prop_assert!(SealedInput::from_bytes(trailer).is_err());
    }

    #[test]
    fn an_outcome_record_round_trips_and_refuses_damage(
        record in outcome(), at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let bytes = record.to_bytes();
        prop_assert_eq!(EntryKind::of(&bytes), EntryKind::Outcome);
        prop_assert_eq!(&OutcomeRecord::from_bytes(&bytes).unwrap(), &record);
        for len in 0..bytes.len() {
            prop_assert!(OutcomeRecord::from_bytes(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut flipped = bytes.clone();
        let at = at.index(bytes.len());
        flipped[at] ^= 1 << bit;
        if let Ok(back) = OutcomeRecord::from_bytes(&flipped) {
            prop_assert!(
                back != record || respelled_unicode_escape(&bytes, &flipped, at),
                "a flip at {at} reads back the same record"
            );
        }
    }

    #[test]
    fn an_erasure_record_round_trips_and_refuses_damage(
        record in erasure(), at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let bytes = record.to_bytes();
        prop_assert_eq!(EntryKind::of(&bytes), EntryKind::Erasure);
        prop_assert_eq!(&ErasureRecord::from_bytes(&bytes).unwrap(), &record);
        for len in 0..bytes.len() {
            prop_assert!(ErasureRecord::from_bytes(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut flipped = bytes.clone();
        let at = at.index(bytes.len());
        flipped[at] ^= 1 << bit;
        if let Ok(back) = ErasureRecord::from_bytes(&flipped) {
            prop_assert!(
                back != record || respelled_unicode_escape(&bytes, &flipped, at),
                "a flip at {at} reads back the same record"
            );
        }
    }
}

#[test]
fn the_plaintext_layout_is_the_documented_one() {
    let mut bytes = Vec::new();
    let context = vec![
        ("o".to_owned(), ContextValue::Str("cat".into())),
        (
            "n".to_owned(),
            ContextValue::List(vec![ContextValue::Bool(true), ContextValue::I64(-2)]),
        ),
    ];
    encode_input_f64(&[1.5], &context, &mut bytes);
    let mut expected = Vec::new();
    expected.extend_from_slice(&1u32.to_le_bytes());
    expected.extend_from_slice(&1.5f64.to_le_bytes());
    expected.extend_from_slice(&2u32.to_le_bytes());
    expected.extend_from_slice(&[1, 0, b'o', 3, 3, 0, 0, 0, b'c', b'a', b't']);
    expected.extend_from_slice(&[1, 0, b'n', 4, 2, 0, 0, 0, 2, 1, 1]);
    expected.extend_from_slice(&(-2i64).to_le_bytes());
    assert_eq!(bytes, expected);
}

#[test]
fn a_sealed_header_is_laid_out_as_documented() {
    let header = SealedHeader {
        timestamp_ns: 0x0102_0304_0506_0708,
        decision_index: 9,
        trace_hash: [0xAA; 32],
        subject_digest: None,
        key_id: 0,
        nonce: [0x55; 24],
        algorithm: SealAlgorithm::XChaCha20Poly1305,
        layout: SealedLayout::OwnEntry,
    };
    let bytes = header.to_bytes(20);
    assert_eq!(&bytes[..8], b"WLSI\x01\x00\x00\x00");
    assert_eq!(&bytes[8..16], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(&bytes[16..24], &9u64.to_le_bytes());
    assert_eq!(&bytes[56..88], &[0u8; 32]);
    assert_eq!(&bytes[92..116], &[0x55; 24]);
    assert_eq!(&bytes[116..120], &20u32.to_le_bytes());
}

#[test]
fn only_bytes_opening_with_the_sealed_input_magic_are_taken_for_one() {
    let record = SealedInput {
        header: SealedHeader {
            timestamp_ns: 1,
            decision_index: 1,
            trace_hash: [0; 32],
            subject_digest: None,
            key_id: 0,
            nonce: [0; 24],
            algorithm: SealAlgorithm::XChaCha20Poly1305,
            layout: SealedLayout::OwnEntry,
        },
        ciphertext: vec![0; 16],
    };
    assert!(SealedInput::is_sealed_input(&record.to_bytes()));
    assert!(SealedInput::is_sealed_input(b"WLSI"));
    let outcome = OutcomeRecord {
        decision_index: 1,
        label: "ok".into(),
        by: None,
        override_action: None,
        note: None,
        recorded_ns: 2,
    };
    assert!(!SealedInput::is_sealed_input(&outcome.to_bytes()));
    assert!(!SealedInput::is_sealed_input(b"WLS"));
    assert!(!SealedInput::is_sealed_input(b"WLSJ\x01"));
    assert!(!SealedInput::is_sealed_input(&[]));
}

#[test]
fn the_algorithm_byte_names_the_cipher_and_an_unknown_one_is_refused() {
    let record = SealedInput {
        header: SealedHeader {
            timestamp_ns: 1,
            decision_index: 1,
            trace_hash: [0; 32],
            subject_digest: None,
            key_id: 0,
            nonce: [0; 24],
            algorithm: SealAlgorithm::XChaCha20Poly1305,
            layout: SealedLayout::OwnEntry,
        },
        ciphertext: vec![0; 16],
    };
    let mut bytes = record.to_bytes();
    // Records from before the byte was defined hold zero there: XChaCha20-Poly1305.
    assert_eq!(bytes[6], 0);
    assert_eq!(
        SealedInput::from_bytes(&bytes).unwrap().header.algorithm,
        SealAlgorithm::XChaCha20Poly1305
    );
    bytes[6] = 1;
    assert_eq!(
        SealedInput::from_bytes(&bytes).unwrap().header.algorithm,
        SealAlgorithm::Aes256Gcm
    );
    bytes[6] = 2;
    assert_eq!(
        SealedInput::from_bytes(&bytes).unwrap().header.algorithm,
        SealAlgorithm::Aegis256
    );
    for unknown in [3u8, 0x80, 0xff] {
        bytes[6] = unknown;
        let error = SealedInput::from_bytes(&bytes).unwrap_err();
        assert!(
            matches!(error, CoreError::BadRecord { offset: 6, .. }),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .contains(&format!("sealing algorithm {unknown} is not known")),
            "{error}"
        );
    }
    let algorithms = [
        SealAlgorithm::XChaCha20Poly1305,
        SealAlgorithm::Aes256Gcm,
        SealAlgorithm::Aegis256,
    ];
    for (id, algorithm) in algorithms.into_iter().enumerate() {
        assert_eq!(algorithm.id() as usize, id);
        assert_eq!(SealAlgorithm::from_id(algorithm.id()), Some(algorithm));
    }
    bytes[6] = 0;
    bytes[7] = 1;
    let error = SealedInput::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(error, CoreError::BadRecord { offset: 7, .. }),
        "{error}"
    );
}

#[test]
fn a_subject_digest_without_its_flag_is_refused() {
    let record = SealedInput {
        header: SealedHeader {
            timestamp_ns: 1,
            decision_index: 1,
            trace_hash: [0; 32],
            subject_digest: Some([1; 32]),
            key_id: 1,
            nonce: [0; 24],
            algorithm: SealAlgorithm::XChaCha20Poly1305,
            layout: SealedLayout::OwnEntry,
        },
        ciphertext: vec![0; 16],
    };
    let mut bytes = record.to_bytes();
    bytes[5] = 0;
    let error = SealedInput::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(error, CoreError::BadRecord { offset: 56, .. }),
        "{error}"
    );
}

#[test]
fn deeply_nested_lists_are_refused_on_read() {
    // A plaintext whose one field nests lists 9 deep.
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&[1, 0, b'x']);
    for _ in 0..9 {
        bytes.extend_from_slice(&[4, 1, 0, 0, 0]);
    }
    bytes.extend_from_slice(&[2, 1]);
    let error = decode_input(&bytes).unwrap_err();
    assert!(error.to_string().contains("nest deeper"), "{error}");
}

#[test]
fn an_f32_context_value_is_the_decimal_the_caller_wrote() {
    assert_eq!(ContextValue::from(12.4f32), ContextValue::F64(12.4));
    assert_eq!(ContextValue::from(-0.05f32), ContextValue::F64(-0.05));
    assert_eq!(ContextValue::from(1.0e-7f32), ContextValue::F64(1.0e-7));
    // What cannot be written as a decimal stays what it is.
    assert!(matches!(ContextValue::from(f32::NAN), ContextValue::F64(x) if x.is_nan()));
    assert_eq!(
        ContextValue::from(f32::INFINITY),
        ContextValue::F64(f64::INFINITY)
    );
}

proptest! {
    #[test]
    fn every_f32_context_value_reads_back_as_the_same_f32(v in any::<f32>().prop_filter("a number", |v| !v.is_nan())) {
        let ContextValue::F64(wide) = ContextValue::from(v) else { unreachable!() };
        prop_assert_eq!(wide as f32, v);
    }
}

#[test]
fn f32_values_are_sealed_as_their_exact_f64_widening() {
    let context = vec![("k".to_owned(), ContextValue::I64(3))];
    let (mut narrow, mut wide) = (Vec::new(), Vec::new());
    whyline_core::encode_input(&[0.1, -2.5], &context, &mut narrow);
    encode_input_f64(&[f64::from(0.1f32), -2.5], &context, &mut wide);
    assert_eq!(narrow, wide);
    let back = decode_input(&narrow).unwrap();
    assert_eq!(back.values, vec![f64::from(0.1f32), -2.5]);
    assert_eq!(back.context, context);
}

#[test]
fn a_list_nested_past_the_limit_is_written_empty_and_a_long_name_is_cut_on_a_char() {
    let mut deep = ContextValue::Str("bottom".into());
    for _ in 0..whyline_core::MAX_CONTEXT_DEPTH + 2 {
        deep = ContextValue::List(vec![deep]);
    }
    // 65,535 bytes allowed: 32,767 two-byte characters and one more that would straddle.
    let name = "é".repeat(32_768);
    let mut bytes = Vec::new();
    encode_input_f64(&[], &[(name.clone(), deep)], &mut bytes);
    let back = decode_input(&bytes).unwrap();
    let (read_name, value) = &back.context[0];
    assert_eq!(read_name.len(), 65_534);
    assert!(name.starts_with(read_name.as_str()));
    // The lists down to the limit are kept; the one at the limit is written empty.
    let mut depth = 0;
    let mut cursor = value;
    while let ContextValue::List(items) = cursor {
        depth += 1;
        match items.first() {
            Some(inner) => cursor = inner,
            None => break,
        }
    }
    assert_eq!(depth, whyline_core::MAX_CONTEXT_DEPTH);
    assert!(matches!(cursor, ContextValue::List(items) if items.is_empty()));
}

#[test]
fn an_outcome_record_whose_json_escape_is_respelled_in_upper_case_reads_the_same() {
    // Found by a proptest run (cargo-mutants' re-run, 2026-12-06): serde_json writes U+000B as
    // `\u000b` and reads `\u000B` as the same character, so this one flipped bit (0x20 of the
    // `b`) decodes to an equal record. The ledger's hash of the bytes still changes.
    let record = OutcomeRecord {
        decision_index: 7,
        label: "a".into(),
        by: None,
        override_action: Some("\u{b}".into()),
        note: None,
        recorded_ns: 10,
    };
    let bytes = record.to_bytes();
    let at = bytes
        .windows(6)
        .position(|w| w == b"\\u000b")
        .map(|p| p + 5)
        .unwrap();
    let mut flipped = bytes.clone();
    flipped[at] ^= 0x20;
    assert_eq!(&flipped[at - 5..=at], b"\\u000B");
    assert_eq!(OutcomeRecord::from_bytes(&flipped).unwrap(), record);
    assert!(respelled_unicode_escape(&bytes, &flipped, at));
    // Any other bit of that byte makes another character or no hex digit: read differently
    // or refused.
    for bit in [0, 1, 2, 3, 4, 6, 7] {
        let mut other = bytes.clone();
        other[at] ^= 1 << bit;
        assert!(!respelled_unicode_escape(&bytes, &other, at));
        assert!(!OutcomeRecord::from_bytes(&other).is_ok_and(|back| back == record));
    }
}

#[test]
fn outcome_and_erasure_records_are_told_by_their_magic_alone() {
    let outcome = OutcomeRecord {
        decision_index: 3,
        label: "cat".into(),
        by: Some("reviewer".into()),
        override_action: None,
        note: None,
        recorded_ns: 4,
    }
    .to_bytes();
    let erasure = ErasureRecord {
        subject_digest: [7; 32],
        by: Some("dpo".into()),
        erased_ns: 5,
    }
    .to_bytes();
    assert!(OutcomeRecord::is_outcome_record(&outcome));
    assert!(OutcomeRecord::is_outcome_record(b"WLOC"));
    assert!(!OutcomeRecord::is_outcome_record(&erasure));
    assert!(!OutcomeRecord::is_outcome_record(b"WLO"));
    assert!(!OutcomeRecord::is_outcome_record(&[]));
    assert!(ErasureRecord::is_erasure_record(&erasure));
    assert!(!ErasureRecord::is_erasure_record(&outcome));
    assert!(!ErasureRecord::is_erasure_record(b"WLE"));
}

/// The trailer's associated data is, as `docs/ledger-format.md` lays it out, its 80-byte
/// header followed by the entry's 44-byte APRT header.
#[test]
fn the_trailer_associated_data_is_its_header_then_the_aprt_header() {
    use whyline_core::{APRT_HEADER_LEN, SEALED_TRAILER_AAD_LEN, SEALED_TRAILER_HEADER_LEN};
    assert_eq!(SEALED_TRAILER_HEADER_LEN, 80);
    assert_eq!(APRT_HEADER_LEN, 44);
    assert_eq!(SEALED_TRAILER_AAD_LEN, 124);
    let head: [u8; 80] = std::array::from_fn(|i| i as u8);
    let aprt: [u8; 44] = std::array::from_fn(|i| 200 + i as u8);
    let aad = whyline_core::trailer_aad(&head, &aprt);
    assert_eq!(&aad[..80], &head[..]);
    assert_eq!(&aad[80..], &aprt[..]);
}

/// A sealer prefers AEGIS-256 exactly where the processor has the AES instructions that
/// make it fast and constant-time.
#[test]
fn aegis_is_preferred_exactly_where_the_processor_has_aes_instructions() {
    #[cfg(target_arch = "x86_64")]
    let hardware = std::arch::is_x86_feature_detected!("aes");
    #[cfg(target_arch = "aarch64")]
    let hardware = std::arch::is_aarch64_feature_detected!("aes");
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let hardware = false;
    let expected = if hardware {
        SealAlgorithm::Aegis256
    } else {
        SealAlgorithm::XChaCha20Poly1305
    };
    assert_eq!(SealAlgorithm::preferred(), expected);
}

/// A linear decision with these contributions.
fn linear_trace(contributions: Vec<f32>) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1,
        sequence: 2,
        input_hash: 3,
        output: 0.5,
        latency_ns: 0,
        path: LinearPath {
            contributions,
            ..LinearPath::default()
        },
    }
}

/// A decision entry cut inside its path data says how many path bytes it needs and how
/// many are there.
#[test]
fn a_decision_entry_cut_inside_its_path_says_what_is_missing() {
    let record = to_aprt(&linear_trace(vec![0.25; 8]));
    let path_len = record.len() - 44;
    for cut in [45, 50, record.len() - 1] {
        let error = split_decision_entry(&record[..cut]).unwrap_err();
        assert!(
            matches!(
                error,
                CoreError::Truncated { offset: 44, needed, available, .. }
                    if needed == path_len && available == cut - 44
            ),
            "cut at {cut}: {error:?}"
        );
    }
}

/// Bytes after a decision's APRT record: not a sealed input at all is an inconsistent
/// length at the record's end; a damaged trailer is reported at its own field, counted from
/// the start of the entry.
#[test]
fn bytes_after_a_decision_are_refused_where_they_go_wrong() {
    let record = to_aprt(&linear_trace(Vec::new()));
    let len = record.len() as u64;
    let mut junk = record.clone();
    junk.extend_from_slice(b"not a trailer");
    assert!(matches!(
        split_decision_entry(&junk),
        Err(CoreError::InconsistentLength { offset, .. }) if offset == len
    ));
    let header = SealedHeader {
        timestamp_ns: 1,
        decision_index: 9,
        trace_hash: [0; 32],
        subject_digest: None,
        key_id: 0,
        nonce: [0; 24],
        algorithm: SealAlgorithm::Aes256Gcm,
        layout: SealedLayout::Trailer,
    };
    let mut entry = record.clone();
    entry.extend_from_slice(&header.trailer_bytes(16));
    entry.extend_from_slice(&[0; 16]);
    assert!(split_decision_entry(&entry).is_ok());
    let mut bad_flags = entry.clone();
    bad_flags[record.len() + 5] = 0x80;
    let error = split_decision_entry(&bad_flags).unwrap_err();
    assert!(
        matches!(error, CoreError::BadRecord { offset, .. } if offset == len + 5),
        "{error:?}"
    );
    let mut bad_version = entry.clone();
    bad_version[record.len() + 4] = 7;
    let error = split_decision_entry(&bad_version).unwrap_err();
    assert!(
        matches!(error, CoreError::UnknownVersion { offset, found: 7 } if offset == len + 4),
        "{error:?}"
    );
}

/// A count the rest of the record cannot hold is refused before anything is allocated, with
/// the bytes actually left after the count.
#[test]
fn a_count_longer_than_the_bytes_left_is_refused_naming_both() {
    let mut bytes = Vec::new();
    whyline_core::encode_input(&[1.0, 2.0], &[], &mut bytes);
    assert_eq!(bytes.len(), 24);
    // Three values where two are: 20 bytes follow the count, three need 24.
    let mut values = bytes.clone();
    values[..4].copy_from_slice(&3u32.to_le_bytes());
    let error = decode_input(&values).unwrap_err().to_string();
    assert!(
        error.contains("3 values cannot fit in the 20 bytes left"),
        "{error}"
    );
    // Two context fields after the values: nothing is left for them.
    let mut fields = bytes;
    fields[20..24].copy_from_slice(&2u32.to_le_bytes());
    let error = decode_input(&fields).unwrap_err().to_string();
    assert!(
        error.contains("2 context fields cannot fit in the 0 bytes left"),
        "{error}"
    );
}
