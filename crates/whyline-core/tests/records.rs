//! The small records and values beside the decision traces: alert records, batch traces,
//! the entry kinds a log holds, erasure subjects, input context, and the policy words.

use std::time::Duration;

use whyline_core::{
    AlertRecord, BatchTrace, Context, ContextValue, CoreError, DecisionTrace, Durability,
    EntryKind, ErasureRecord, LinearPath, OutcomeRecord, StreamFormat, parse_subject_digest,
};

fn alert() -> AlertRecord {
    AlertRecord {
        sequence: 17,
        timestamp_ns: 1_700_000_000_123,
        level: "yellow".to_owned(),
        kind: "drift".to_owned(),
        message: "ADWIN detected a shift".to_owned(),
        details: serde_json::json!({"window": 64, "mean_before": 0.1}),
    }
}

#[test]
fn an_alert_record_round_trips_with_its_timestamp_in_the_header() {
    let bytes = alert().to_bytes();
    assert_eq!(&bytes[..5], b"WLAL\x01");
    assert_eq!(&bytes[5..8], &[0, 0, 0]);
    assert_eq!(&bytes[8..16], &1_700_000_000_123u64.to_le_bytes());
    assert!(AlertRecord::is_alert_record(&bytes));
    assert!(!AlertRecord::is_alert_record(b"APRT"));
    assert!(!AlertRecord::is_alert_record(b"WL"));
    assert_eq!(EntryKind::of(&bytes), EntryKind::Alert);
    assert_eq!(AlertRecord::from_bytes(&bytes).unwrap(), alert());
}

#[test]
fn an_alert_record_whose_header_and_body_disagree_on_the_time_is_refused() {
    let mut bytes = alert().to_bytes();
    bytes[8] ^= 1;
    let error = AlertRecord::from_bytes(&bytes).unwrap_err();
    assert!(
        matches!(
            error,
            CoreError::InvalidField {
                offset: 8,
                field: "alert record timestamp",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "APRT record at byte 8: invalid alert record timestamp: the header says Some(1700000000122), the body 1700000000123"
    );
}

#[test]
fn a_malformed_alert_record_is_refused_with_where_and_why() {
    let bytes = alert().to_bytes();
    let error = AlertRecord::from_bytes(b"APRT\x01").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("invalid alert record: magic 0x41505254, expected \"WLAL\""),
        "{error}"
    );
    let mut wrong_version = bytes.clone();
    wrong_version[4] = 2;
    assert!(matches!(
        AlertRecord::from_bytes(&wrong_version),
        Err(CoreError::UnknownVersion {
            offset: 4,
            found: 2
        })
    ));
    assert!(matches!(
        AlertRecord::from_bytes(b"WLAL"),
        Err(CoreError::Truncated {
            offset: 4,
            needed: 1,
            available: 0,
            ..
        })
    ));
    assert!(matches!(
        AlertRecord::from_bytes(&bytes[..10]),
        Err(CoreError::Truncated {
            offset: 5,
            needed: 11,
            available: 5,
            ..
        })
    ));
    // Cut one byte into the header: a short header. Cut right after it: a whole header
    // and an empty body, which is a JSON error at its first byte, not a truncated header.
    assert!(matches!(
        AlertRecord::from_bytes(&bytes[..15]),
        Err(CoreError::Truncated {
            offset: 5,
            needed: 11,
            available: 10,
            ..
        })
    ));
    let error = AlertRecord::from_bytes(&bytes[..16]).unwrap_err();
    assert!(
        matches!(
            error,
            CoreError::Json {
                line: 1,
                column: 0,
                ..
            }
        ),
        "{error:?}"
    );
    let mut bad_json = bytes[..16].to_vec();
    bad_json.extend_from_slice(b"{\"sequence\":");
    let error = AlertRecord::from_bytes(&bad_json).unwrap_err();
    assert!(
        matches!(error, CoreError::Json { line: 1, .. }),
        "{error:?}"
    );
}

fn path(weight: f32) -> LinearPath {
    LinearPath {
        contributions: vec![weight, -weight],
        intercept: 0.0,
        logit: 0.0,
        prediction: weight,
        probability: None,
    }
}

#[test]
fn a_batch_becomes_one_trace_per_row_sharing_its_time_and_latency() {
    let mut batch = BatchTrace::<LinearPath>::new();
    assert!(batch.is_empty());
    assert_eq!(batch.latency_per_row_ns(), 0);
    assert_eq!(batch.trace(0), None);
    batch.timestamp_ns = 99;
    batch.first_sequence = 10;
    batch.latency_ns = 3_001;
    batch.input_hashes = vec![7, 8, 9];
    batch.outputs = vec![1.0, 2.0, 3.0];
    batch.paths = vec![path(1.0), path(2.0), path(3.0)];
    assert_eq!(batch.len(), 3);
    assert!(!batch.is_empty());
    // 3,001 ns among three rows: 1,000 each, the remainder dropped.
    assert_eq!(batch.latency_per_row_ns(), 1_000);
    let traces: Vec<_> = batch.traces().collect();
    assert_eq!(traces.len(), 3);
    assert_eq!(
        traces[2],
        DecisionTrace {
            timestamp_ns: 99,
            sequence: 12,
            input_hash: 9,
            output: 3.0,
            latency_ns: 1_000,
            path: path(3.0),
        }
    );
    assert_eq!(batch.trace(3), None);
    // A batch whose vectors disagree yields only the rows that are whole.
    batch.paths.pop();
    assert_eq!(batch.traces().count(), 2);
    assert_eq!(BatchTrace::<LinearPath>::default(), BatchTrace::new());
}

#[test]
fn map_path_keeps_everything_but_the_path() {
    let trace = DecisionTrace {
        timestamp_ns: 1,
        sequence: 2,
        input_hash: 3,
        output: 4.0,
        latency_ns: 5,
        path: path(1.5),
    };
    let mapped = trace.clone().map_path(|p| p.contributions.len());
    assert_eq!(
        (
            mapped.timestamp_ns,
            mapped.sequence,
            mapped.input_hash,
            mapped.output,
            mapped.latency_ns,
            mapped.path
        ),
        (1, 2, 3, 4.0, 5, 2)
    );
    // now_ns is the wall clock: after 2020-01-01 and not decreasing between two reads.
    let (a, b) = (whyline_core::now_ns(), whyline_core::now_ns());
    assert!(a > 1_577_836_800_000_000_000 && b >= a);
}

#[test]
fn entry_kinds_are_told_by_their_magic() {
    // Every kind by the magic docs/ledger-format.md gives it.
    for (magic, kind) in [
        (b"APRT", EntryKind::Decision),
        (b"WLMD", EntryKind::Model),
        (b"WLAL", EntryKind::Alert),
        (b"WLSI", EntryKind::SealedInput),
        (b"WLOC", EntryKind::Outcome),
        (b"WLER", EntryKind::Erasure),
        (b"WLPN", EntryKind::ProvenanceNode),
        (b"WLPE", EntryKind::ProvenanceEdge),
    ] {
        let mut payload = magic.to_vec();
        assert_eq!(EntryKind::of(&payload), kind, "{magic:?}");
        payload.extend_from_slice(b"\x01rest");
        assert_eq!(EntryKind::of(&payload), kind, "{magic:?} with a body");
    }
    assert_eq!(EntryKind::of(&alert().to_bytes()), EntryKind::Alert);
    assert_eq!(EntryKind::of(b"XXXX"), EntryKind::Unknown);
    assert_eq!(EntryKind::of(b"APR"), EntryKind::Unknown);
    assert!(EntryKind::Decision.is_stamped() && !EntryKind::Decision.is_evidence());
    assert!(!EntryKind::Model.is_stamped() && !EntryKind::Model.is_evidence());
    assert!(EntryKind::Alert.is_stamped() && !EntryKind::Alert.is_evidence());
    for kind in [
        EntryKind::SealedInput,
        EntryKind::Outcome,
        EntryKind::Erasure,
        EntryKind::ProvenanceNode,
        EntryKind::ProvenanceEdge,
    ] {
        assert!(kind.is_stamped() && kind.is_evidence(), "{kind:?}");
    }
    assert!(!EntryKind::Unknown.is_stamped() && !EntryKind::Unknown.is_evidence());
}

#[test]
fn an_erasure_record_round_trips_and_refuses_a_digest_that_is_not_lowercase_hex() {
    let record = ErasureRecord {
        subject_digest: [0xab; 32],
        by: Some("dpo@example.com".to_owned()),
        erased_ns: 1_234,
    };
    let bytes = record.to_bytes();
    assert!(ErasureRecord::is_erasure_record(&bytes));
    assert!(!ErasureRecord::is_erasure_record(b"WLAL"));
    assert!(!OutcomeRecord::is_outcome_record(&bytes));
    assert_eq!(ErasureRecord::from_bytes(&bytes).unwrap(), record);
    let text = String::from_utf8_lossy(&bytes[16..]).into_owned();
    let upper = text.replace(&"ab".repeat(32), &"AB".repeat(32));
    let mut shouting = bytes[..16].to_vec();
    shouting.extend_from_slice(upper.as_bytes());
    let error = ErasureRecord::from_bytes(&shouting).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the digest is not lowercase hex"),
        "{error}"
    );
    let short = text.replace(&"ab".repeat(32), "abab");
    let mut cut = bytes[..16].to_vec();
    cut.extend_from_slice(short.as_bytes());
    assert!(matches!(
        ErasureRecord::from_bytes(&cut),
        Err(CoreError::Json { .. })
    ));
}

#[test]
fn a_subject_digest_is_64_hex_digits() {
    assert_eq!(parse_subject_digest(&"0f".repeat(32)).unwrap(), [0x0f; 32]);
    let error = parse_subject_digest("abc").unwrap_err();
    assert!(matches!(
        error,
        CoreError::BadRecord {
            record: "subject digest",
            offset: 0,
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .starts_with("subject digest at byte 0: \"abc\" is not 64 hex digits"),
        "{error}"
    );
}

#[test]
fn context_keeps_fields_in_order_and_converts_plain_values() {
    let mut context = Context::new()
        .with("age", 42i64)
        .with("score", 0.1f32)
        .with("vip", true)
        .with("city", "Lyon")
        .with("tags", vec!["a", "b"]);
    context.push("note", String::from("n"));
    context.push("ratio", 0.25f64);
    assert!(!context.is_empty());
    assert_eq!(context.get("age"), Some(&ContextValue::I64(42)));
    // An f32 is kept as its shortest decimal, not as its widened binary value.
    assert_eq!(context.get("score"), Some(&ContextValue::F64(0.1)));
    assert_eq!(context.get("missing"), None);
    let rendered: Vec<String> = context
        .fields()
        .iter()
        .map(|(_, v)| v.to_string())
        .collect();
    assert_eq!(
        rendered,
        [
            "42",
            "0.1",
            "true",
            "\"Lyon\"",
            "[\"a\", \"b\"]",
            "\"n\"",
            "0.25"
        ]
    );
    let fields: Vec<(String, ContextValue)> = context.clone().into();
    assert_eq!(Context::from(fields), context);
    context.clear();
    assert!(context.is_empty());
}

#[test]
fn context_from_json_maps_every_json_type() {
    let value = serde_json::json!({"n": null, "i": -3, "f": 1.5, "s": "x", "a": [true, 2]});
    let converted = ContextValue::from_json(&value);
    assert_eq!(
        converted,
        ContextValue::List(vec![
            ContextValue::List(vec![
                ContextValue::Str("a".into()),
                ContextValue::List(vec![ContextValue::Bool(true), ContextValue::I64(2)])
            ]),
            ContextValue::List(vec![ContextValue::Str("f".into()), ContextValue::F64(1.5)]),
            ContextValue::List(vec![ContextValue::Str("i".into()), ContextValue::I64(-3)]),
            ContextValue::List(vec![
                ContextValue::Str("n".into()),
                ContextValue::List(vec![])
            ]),
            ContextValue::List(vec![
                ContextValue::Str("s".into()),
                ContextValue::Str("x".into())
            ]),
        ])
    );
    // A number past i64 is kept as a float.
    let big = ContextValue::from_json(&serde_json::json!(u64::MAX));
    assert_eq!(big, ContextValue::F64(u64::MAX as f64));
}

#[test]
fn policy_words_print_as_the_configuration_says_them() {
    assert_eq!(Durability::None.to_string(), "none");
    assert_eq!(Durability::Sync.to_string(), "sync");
    let interval = Durability::Interval {
        entries: 8,
        max_delay: Duration::from_millis(250),
    };
    assert_eq!(
        interval.to_string(),
        "interval (group commit every 8 entries or 250 ms)"
    );
    assert_eq!(StreamFormat::Aprt.to_string(), "APRT");
    assert_eq!(StreamFormat::JsonLines.to_string(), "JSON lines");
}
