//! The text of every error a user can meet, exactly: each names where (file, entry, byte,
//! sizes) and, where there is something to do, what to do. Errors are produced through the
//! calls that raise them wherever a test can; the kinds nested in them are checked one by one.

use whyline_core::{LinearPath, OutcomeRecord};
use whyline_ledger::collector::{
    Backpressure, DynamicRingCollector, StreamCollectorBuilder, StreamFormat,
};
use whyline_ledger::seal::KeyStore;
use whyline_ledger::{
    CorruptionKind, Evidence, Ledger, LedgerCollector, LedgerError, LedgerOptions, LedgerTail,
    MAX_PAYLOAD, MemoryStore, NotALedgerReason, NoteErrorKind, ProofErrorKind, SegmentOptions,
    SegmentStore, WindowErrorKind, keys, verify_inclusion,
};

use crate::common::{ORIGIN, frame_spans, memory_ledger, options, signer};

#[test]
fn each_corruption_kind_says_what_was_found() {
    let cases = [
        (
            CorruptionKind::TornTail { bytes: 36 },
            "torn tail (36 bytes)",
        ),
        (CorruptionKind::ContentChanged, "content changed"),
        (CorruptionKind::LinkBroken, "chain link broken"),
        (
            CorruptionKind::EntryMissing { found: 8 },
            "entry missing (found index 8 in its place)",
        ),
        (
            CorruptionKind::EntriesReordered { found: 3 },
            "entries reordered (found index 3)",
        ),
        (CorruptionKind::Duplicated, "entry duplicated"),
        (CorruptionKind::Inserted, "entry inserted"),
        (CorruptionKind::BadFrame, "unreadable frame header"),
        (
            CorruptionKind::SignatureInvalid,
            "checkpoint signature invalid",
        ),
        (CorruptionKind::RootMismatch, "checkpoint root mismatch"),
        (
            CorruptionKind::TimeDisorderUnderstated {
                stated_ns: 5,
                actual_ns: 900,
            },
            "checkpoint states a time disorder of 5 ns, its entries step back 900 ns",
        ),
        (
            CorruptionKind::CheckpointBeyondLog {
                checkpoint_size: 64,
            },
            "checkpoint of size 64 covers entries the log does not hold",
        ),
        (CorruptionKind::BadHeader, "bad ledger header"),
        (
            CorruptionKind::SegmentGap {
                expected_start: 4096,
                found_start: 8192,
            },
            "segment gap: a segment should start at byte 4096, the next found starts at 8192",
        ),
    ];
    for (kind, text) in cases {
        assert_eq!(kind.to_string(), text, "{kind:?}");
    }
}

#[test]
fn each_proof_window_note_and_not_a_ledger_kind_says_what_was_found() {
    let proof = [
        (ProofErrorKind::OutOfRange, "index or size out of range"),
        (
            ProofErrorKind::WrongLength {
                expected: 3,
                found: 2,
            },
            "proof has 2 hashes, expected 3",
        ),
        (ProofErrorKind::RootMismatch, "recomputed root differs"),
    ];
    for (kind, text) in proof {
        assert_eq!(kind.to_string(), text, "{kind:?}");
    }
    let window = [
        (
            WindowErrorKind::Inverted,
            "the window ends before it starts",
        ),
        (
            WindowErrorKind::Unstamped { index: 4 },
            "boundary entry 4 carries no time",
        ),
        (
            WindowErrorKind::NotBefore {
                index: 4,
                timestamp_ns: 1000,
            },
            "entry 4 (stamped 1000 ns) is not before the window by the log's time disorder",
        ),
        (
            WindowErrorKind::NotAfter {
                index: 9,
                timestamp_ns: 2000,
            },
            "entry 9 (stamped 2000 ns) is not after the window by the log's time disorder",
        ),
        (
            WindowErrorKind::RangeNotBounded {
                first: 5,
                end: 8,
                expected_first: 5,
                expected_end: 9,
            },
            "range 5..8 is not the range 5..9 between the boundary entries",
        ),
        (
            WindowErrorKind::DisorderMismatch {
                stated_ns: 0,
                signed_ns: 10,
            },
            "the proof states a time disorder of 0 ns, its checkpoint signs 10 ns",
        ),
        (
            WindowErrorKind::TimeMismatch {
                index: 4,
                stated_ns: 1,
                entry_ns: 2,
            },
            "entry 4 is stamped 2 ns, the proof states 1 ns",
        ),
    ];
    for (kind, text) in window {
        assert_eq!(kind.to_string(), text, "{kind:?}");
    }
    let note = [
        (
            NoteErrorKind::BadText,
            "not UTF-8 text without control characters",
        ),
        (NoteErrorKind::BadSignatureLine, "malformed signature block"),
        (NoteErrorKind::BadBody, "malformed checkpoint body"),
        (
            NoteErrorKind::BadKey,
            "malformed key (expected one line name+hexid+base64, as whyline keygen writes it)",
        ),
        (
            NoteErrorKind::NoSignature,
            "no signature by the expected key (is this the log's verifier key?)",
        ),
        (NoteErrorKind::SignatureInvalid, "signature does not verify"),
    ];
    for (kind, text) in note {
        assert_eq!(kind.to_string(), text, "{kind:?}");
    }
    assert_eq!(NotALedgerReason::Missing.to_string(), "it does not exist");
    assert_eq!(
        NotALedgerReason::NoEntryLog.to_string(),
        "it has no entries.wls"
    );
}

#[test]
fn opening_a_damaged_log_for_writing_names_the_entry_the_byte_and_the_damage() {
    let mut bytes = memory_ledger(5)
        .into_store()
        .unwrap()
        .entry_bytes()
        .to_vec();
    let spans = frame_spans(&bytes);
    bytes[spans[2].start + 20] ^= 0x01;
    let error = Ledger::open(MemoryStore::from_bytes(bytes, Vec::new()), options())
        .err()
        .unwrap();
    assert_eq!(error.corruption(), Some(CorruptionKind::ContentChanged));
    assert_eq!(
        error.to_string(),
        format!(
            "memory: entry 2 at byte {}: content changed",
            spans[2].start
        )
    );
    assert_eq!(LedgerError::NoCheckpoint.corruption(), None);
}

#[test]
fn a_directory_that_is_no_ledger_is_named_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let error = LedgerTail::open(&missing).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} is not a whyline ledger: it does not exist",
            missing.display()
        )
    );
}

#[test]
fn proof_errors_name_the_index_the_sizes_and_what_to_do_without_a_checkpoint() {
    let ledger = memory_ledger(3);
    let proof = ledger.prove_inclusion(1).unwrap();
    let error = verify_inclusion(&proof.leaf, 1, 3, &proof.proof[..1], &proof.root).unwrap_err();
    assert_eq!(
        error.to_string(),
        "proof for index 1 in tree of size 3: proof has 1 hashes, expected 2"
    );
    let error = ledger.prove_inclusion(3).unwrap_err();
    assert_eq!(
        error.to_string(),
        "tree of size 3: cannot prove leaf 3 in size 3"
    );
    assert_eq!(
        ledger.prove_consistency(4).unwrap_err().to_string(),
        "tree of size 3: cannot prove size 4 in size 3"
    );
    let (bare, _) = Ledger::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints(ORIGIN),
    )
    .unwrap();
    assert_eq!(
        bare.prove_inclusion(0).unwrap_err().to_string(),
        "no checkpoint yet (sign one with whyline checkpoint --signing-key, or append with --signing-key)"
    );
}

#[test]
fn proof_file_errors_say_what_the_file_lacks() {
    let cases = [
        (
            "{",
            "proof file: EOF while parsing an object at line 1 column 1",
        ),
        (
            r#"{"index":1}"#,
            r#"proof file: no "type" field (inclusion, consistency or window)"#,
        ),
        (
            r#"{"type":"audit"}"#,
            r#"proof file: unknown type "audit" (expected inclusion, consistency or window)"#,
        ),
        (
            r#"{"type":"inclusion","index":1}"#,
            "proof file: inclusion proof: missing field `leaf`",
        ),
    ];
    for (json, text) in cases {
        assert_eq!(Evidence::from_json(json).unwrap_err().to_string(), text);
    }
}

#[test]
fn a_note_signed_by_another_key_and_a_malformed_key_file_are_named() {
    let mut ledger = memory_ledger(3);
    ledger.checkpoint().unwrap();
    let note = &ledger.latest_checkpoint().unwrap().note;
    let other = whyline_ledger::NoteSigner::generate_ed25519("whyline.test").unwrap();
    let error = whyline_ledger::verify_note(note, &other.verifier()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "note {ORIGIN}: no signature by the expected key (is this the log's verifier key?)"
        )
    );

    let tmp = tempfile::tempdir().unwrap();
    let paths = keys::write_keypair(tmp.path(), &signer()).unwrap();
    let error = keys::write_keypair(tmp.path(), &signer()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} exists already (a key file is never replaced)",
            paths.signing_key.display()
        )
    );
    std::fs::write(&paths.verifier_key, "whyline.test+zz+AAAA\n").unwrap();
    let error = keys::read_verifier(&paths.verifier_key).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "key file {}: malformed key (expected one line name+hexid+base64, as whyline keygen writes it)",
            paths.verifier_key.display()
        )
    );
}

#[test]
fn refused_payloads_and_settings_name_the_limit() {
    let mut ledger = memory_ledger(2);
    assert_eq!(
        ledger.append(b"").unwrap_err().to_string(),
        format!("entry 2: payload of 0 bytes is outside 1..={MAX_PAYLOAD}")
    );
    let tmp = tempfile::tempdir().unwrap();
    let error = SegmentStore::open_with_options(tmp.path(), SegmentOptions { segment_bytes: 0 })
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid setting segment_bytes = 0: expected at least 1"
    );
    let error = Ledger::open(MemoryStore::new(), LedgerOptions::without_checkpoints(""))
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        r#"invalid setting origin = "": expected one non-empty line"#
    );
    let error = Ledger::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints(ORIGIN).durability(
            whyline_ledger::Durability::Interval {
                entries: 0,
                max_delay: std::time::Duration::from_secs(1),
            },
        ),
    )
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "invalid setting durability.entries = 0: expected at least 1 entry per group commit"
    );
    let error = DynamicRingCollector::<LinearPath>::with_capacity(0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid setting capacity = 0: expected at least 1"
    );
    let error = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .backpressure(Backpressure::Fallback)
        .build::<LinearPath>(Vec::new())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "stream collector: backpressure Fallback needs a fallback sink (builder.fallback(sink))"
    );
}

#[test]
fn sealing_errors_say_where_the_key_store_is_and_what_became_of_the_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let path = KeyStore::default_path(tmp.path());
    assert_eq!(
        KeyStore::open(&path).unwrap_err().to_string(),
        format!(
            "{}: no key store (sealed inputs need the subject key store beside the ledger)",
            path.display()
        )
    );
    let mut keys = KeyStore::create(&path).unwrap();
    let (digest, _) = keys.erase("alice", 1).unwrap();
    assert_eq!(
        keys.key_for_subject("alice").unwrap_err().to_string(),
        format!(
            "subject {} was erased: its key is destroyed and no input is sealed for it again",
            hex::encode(digest)
        )
    );

    let collector = LedgerCollector::in_memory(options()).unwrap();
    let input = whyline_core::InputEvidence {
        decision_index: 0,
        trace_hash: [0; 32],
        timestamp_ns: 1,
        subject: None,
        values: &[1.0],
        context: &[],
    };
    assert_eq!(
        collector.append_input(&input).unwrap_err().to_string(),
        "this ledger collector has no key store: inputs cannot be sealed (give it one with set_sealer)"
    );
    let alert = whyline_core::AlertRecord {
        sequence: 0,
        timestamp_ns: 2,
        level: "warning".into(),
        kind: "drift".into(),
        message: "drift".into(),
        details: serde_json::Value::Null,
    };
    collector.append_alert(&alert).unwrap();
    let outcome = |decision_index| OutcomeRecord {
        decision_index,
        label: "approved".into(),
        by: None,
        override_action: None,
        note: None,
        recorded_ns: 3,
    };
    assert_eq!(
        collector
            .append_outcome(&outcome(0))
            .unwrap_err()
            .to_string(),
        "entry 0 is not a decision (Alert); outcomes link to decisions"
    );
    assert_eq!(
        collector
            .append_outcome(&outcome(5))
            .unwrap_err()
            .to_string(),
        "entry 5 is not a decision (the log has 1 entries); outcomes link to decisions"
    );
}

#[test]
fn crash_residue_is_named_with_its_bytes_and_why_it_is_not_damage() {
    let bytes = memory_ledger(4)
        .into_store()
        .unwrap()
        .entry_bytes()
        .to_vec();
    let spans = frame_spans(&bytes);
    let cut = bytes[..spans[3].start + 9].to_vec();
    let residue = crate::common::residue(&MemoryStore::from_bytes(cut, Vec::new()), None);
    assert_eq!(residue.len(), 1);
    assert_eq!(
        residue[0].to_string(),
        format!(
            "memory: 9 bytes at byte {} after the last whole record (3 before it): an append cut short by a crash, covered by no receipt or checkpoint",
            spans[3].start
        )
    );
}
