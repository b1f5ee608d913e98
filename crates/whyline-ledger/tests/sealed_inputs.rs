//! Sealed inputs, outcomes and erasures in a ledger on disk: what goes in comes out with the
//! key, nothing comes out without it or after erasure, tampering with a sealed record is
//! caught by the AEAD, and none of it disturbs verification.

use hmac::{KeyInit, Mac};
use whyline_core::{
    ContextValue, DecisionTrace, EntryKind, ErasureRecord, InputEvidence, LinearPath,
    OutcomeRecord, SealedInput,
};
use whyline_ledger::seal::{KeyStore, Sealer, append_erasure, append_outcome, open_sealed};
use whyline_ledger::{
    Ledger, LedgerCollector, LedgerError, LedgerOptions, RecordedInput, SegmentStore,
    VerifyOutcome, read_inputs, verify_store,
};

fn trace(sequence: u64) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_000 + sequence,
        sequence,
        input_hash: sequence,
        output: sequence as f32,
        latency_ns: 1_000,
        path: LinearPath {
            contributions: vec![0.5, -0.25],
            intercept: 0.1,
            logit: 0.35,
            prediction: 0.35,
            probability: None,
        },
    }
}

fn context(i: u64) -> Vec<(String, ContextValue)> {
    vec![
        ("object".into(), ContextValue::Str("cat".into())),
        ("distance_m".into(), ContextValue::F64(3.5 + i as f64)),
        (
            "track".into(),
            ContextValue::List(vec![ContextValue::I64(i as i64)]),
        ),
    ]
}

/// A ledger in `dir` with `n` decisions, each followed by its sealed input; subject `alice`
/// for even sequences, `bob` for odd ones, none for every third.
fn record(dir: &std::path::Path, n: u64) -> Vec<(u64, Vec<f32>)> {
    let store = SegmentStore::open(dir).unwrap();
    let (collector, _) =
        LedgerCollector::open(store, LedgerOptions::without_checkpoints("test/log")).unwrap();
    let keys = KeyStore::open_or_create(&KeyStore::default_path(dir)).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let mut rows = Vec::new();
    for i in 0..n {
        let t = trace(i);
        let receipt = collector.append(&t).unwrap();
        let values = vec![i as f32 * 0.5, -(i as f32), f32::MIN_POSITIVE];
        let subject = match i {
            i if i % 3 == 0 => None,
            i if i % 2 == 0 => Some("alice"),
            _ => Some("bob"),
        };
        let context = context(i);
        collector
            .append_input(&InputEvidence {
                decision_index: receipt.index,
                trace_hash: receipt.leaf_hash,
                timestamp_ns: t.timestamp_ns,
                subject,
                values: &values,
                context: &context,
            })
            .unwrap();
        rows.push((receipt.index, values));
    }
    rows
}

fn keys(dir: &std::path::Path) -> KeyStore {
    KeyStore::open(&KeyStore::default_path(dir)).unwrap()
}

#[test]
fn sealed_inputs_come_back_with_the_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let rows = record(dir.path(), 9);
    let read: Vec<_> = read_inputs(dir.path(), &keys(dir.path()), 0, u64::MAX)
        .unwrap()
        .collect();
    assert_eq!(read.len(), 9);
    for ((index, input), (expected_index, values)) in read.iter().zip(&rows) {
        assert_eq!(index, expected_index);
        let RecordedInput::Sealed {
            values: got,
            context: ctx,
        } = input
        else {
            panic!("entry {index}: {input:?}");
        };
        let widened: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(got, &widened);
        assert_eq!(ctx, &context(*index / 2));
    }
    // The log holds no plaintext: the object name appears in no entry.
    let bytes = std::fs::read(dir.path().join("entries.wls")).unwrap();
    assert!(!bytes.windows(3).any(|w| w == b"cat"));
    assert!(!bytes.windows(5).any(|w| w == b"alice"));
}

#[test]
fn a_sealed_input_is_linked_to_its_decision_and_covered_by_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 4);
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    let outcome = verify_store(&store, None).unwrap();
    assert!(
        matches!(&outcome, VerifyOutcome::Intact(r) if r.entries == 8),
        "{outcome:?}"
    );
    let (ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("test/log")).unwrap();
    for decision in [0u64, 2, 4, 6] {
        let sealed = ledger.read_entry(decision + 1).unwrap();
        let record = SealedInput::from_bytes(&sealed.payload).unwrap();
        let trace = ledger.read_entry(decision).unwrap();
        assert_eq!(record.header.decision_index, decision);
        assert_eq!(
            record.header.trace_hash,
            whyline_ledger::leaf_hash(&trace.payload)
        );
        assert_eq!(record.header.timestamp_ns, 1_000 + decision / 2);
    }
}

#[test]
fn a_changed_ciphertext_or_a_moved_record_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 3);
    let keys = keys(dir.path());
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    let (ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("test/log")).unwrap();
    let payload = ledger.read_entry(3).unwrap().payload;
    assert!(matches!(
        open_sealed(&keys, &payload),
        Some((2, RecordedInput::Sealed { .. }))
    ));
    // Every single bit flip in the ciphertext (tag included) fails authentication.
    for at in whyline_core::SEALED_INPUT_HEADER_LEN..payload.len() {
        let mut flipped = payload.clone();
        flipped[at] ^= 0x01;
        let (_, input) = open_sealed(&keys, &flipped).unwrap();
        assert!(
            matches!(input, RecordedInput::Unreadable(ref why) if why.contains("authentication")),
            "byte {at}: {input:?}"
        );
    }
    // The same ciphertext relabelled for another decision (index and leaf hash) fails too.
    let mut record = SealedInput::from_bytes(&payload).unwrap();
    let other = ledger.read_entry(0).unwrap();
    record.header.decision_index = 0;
    record.header.trace_hash = whyline_ledger::leaf_hash(&other.payload);
    let (_, input) = open_sealed(&keys, &record.to_bytes()).unwrap();
    assert!(matches!(input, RecordedInput::Unreadable(_)), "{input:?}");
}

#[test]
fn another_logs_key_store_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    record(dir.path(), 4);
    record(other.path(), 1);
    for (_, input) in read_inputs(dir.path(), &keys(other.path()), 0, u64::MAX).unwrap() {
        assert!(matches!(input, RecordedInput::Unreadable(_)), "{input:?}");
    }
}

#[test]
fn erasure_destroys_one_subject_and_the_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 6); // alice: 2, 4; bob: 1, 5; log-wide: 0, 3
    let mut keys = keys(dir.path());
    let digest = keys.subject_digest("alice");
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    let (mut ledger, _) =
        Ledger::open(store, LedgerOptions::without_checkpoints("test/log")).unwrap();
    let (record, receipt) =
        append_erasure(&mut ledger, &mut keys, "alice", Some("dpo"), 5_000).unwrap();
    assert_eq!(record.subject_digest, digest);
    let stored = ledger.read_entry(receipt.index).unwrap();
    assert_eq!(EntryKind::of(&stored.payload), EntryKind::Erasure);
    assert_eq!(ErasureRecord::from_bytes(&stored.payload).unwrap(), record);
    drop(ledger);

    let store = SegmentStore::open_existing(dir.path()).unwrap();
    assert!(
        matches!(verify_store(&store, None).unwrap(), VerifyOutcome::Intact(r) if r.entries == 13)
    );
    let reopened = KeyStore::open(&KeyStore::default_path(dir.path())).unwrap();
    let read: Vec<_> = read_inputs(dir.path(), &reopened, 0, u64::MAX)
        .unwrap()
        .collect();
    let erased: Vec<u64> = read
        .iter()
        .filter(|(_, input)| input.is_erased())
        .map(|(index, _)| index / 2)
        .collect();
    assert_eq!(erased, vec![2, 4]);
    assert!(
        read.iter()
            .filter(|(index, _)| ![4, 8].contains(index))
            .all(|(_, input)| matches!(input, RecordedInput::Sealed { .. }))
    );

    // Nothing is sealed for the erased subject again.
    let store = SegmentStore::open(dir.path()).unwrap();
    let (collector, _) =
        LedgerCollector::open(store, LedgerOptions::without_checkpoints("test/log")).unwrap();
    collector
        .set_sealer(Sealer::new(reopened).unwrap())
        .unwrap();
    let error = collector
        .append_input(&InputEvidence {
            decision_index: 0,
            trace_hash: [0; 32],
            timestamp_ns: 6_000,
            subject: Some("alice"),
            values: &[1.0],
            context: &[],
        })
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::SubjectErased { .. }),
        "{error}"
    );
    assert_eq!(
        collector.with_ledger(|l| l.size()).unwrap(),
        13,
        "nothing was appended"
    );
}

#[test]
fn an_outcome_links_only_to_a_decision() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 2);
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    let (mut ledger, _) =
        Ledger::open(store, LedgerOptions::without_checkpoints("test/log")).unwrap();
    let outcome = |decision_index| OutcomeRecord {
        decision_index,
        label: "cat".into(),
        by: Some("investigator".into()),
        override_action: Some("EMERGENCY_BRAKE".into()),
        note: None,
        recorded_ns: 9_000,
    };
    let receipt = append_outcome(&mut ledger, &outcome(2)).unwrap();
    let stored = ledger.read_entry(receipt.index).unwrap();
    assert_eq!(
        OutcomeRecord::from_bytes(&stored.payload).unwrap(),
        outcome(2)
    );
    for bad in [1, 3, 4, 99] {
        let error = append_outcome(&mut ledger, &outcome(bad)).unwrap_err();
        assert!(
            matches!(error, LedgerError::NotADecision { index, .. } if index == bad),
            "{error}"
        );
    }
    assert_eq!(ledger.size(), 5);
}

#[test]
fn a_sealer_without_a_key_store_is_refused_and_the_digest_is_rfc_hmac() {
    let collector = LedgerCollector::in_memory(LedgerOptions::without_checkpoints("t")).unwrap();
    let error = collector
        .append_input(&InputEvidence {
            decision_index: 0,
            trace_hash: [0; 32],
            timestamp_ns: 1,
            subject: None,
            values: &[],
            context: &[],
        })
        .unwrap_err();
    assert!(matches!(error, LedgerError::NoSealer), "{error}");
    assert_eq!(collector.with_ledger(|l| l.size()).unwrap(), 0);

    // The subject digest is HMAC-SHA256(secret, subject) as the hmac crate computes it from
    // the secret in the store file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subjects.wks");
    let store = KeyStore::create(&path).unwrap();
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let secret = hex::decode(file["digest_secret"].as_str().unwrap()).unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&secret).unwrap();
    mac.update(b"AV-2847-XK");
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(store.subject_digest("AV-2847-XK"), expected);
}

#[test]
fn a_running_collector_takes_outcomes_for_its_decisions() {
    let collector = LedgerCollector::in_memory(LedgerOptions::without_checkpoints("t")).unwrap();
    let receipt = collector.append(&trace(0)).unwrap();
    let outcome = OutcomeRecord {
        decision_index: receipt.index,
        label: "defaulted".into(),
        by: None,
        override_action: None,
        note: Some("after 90 days".into()),
        recorded_ns: 2_000,
    };
    let stored = collector.append_outcome(&outcome).unwrap();
    assert_eq!(stored.index, 1);
    let error = collector
        .append_outcome(&OutcomeRecord {
            decision_index: 1,
            ..outcome
        })
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::NotADecision { index: 1, .. }),
        "{error}"
    );
    let ledger = collector.into_ledger().unwrap();
    assert_eq!(ledger.size(), 2);
}

#[test]
fn an_unstamped_model_record_does_not_pull_a_closed_blocks_time_to_zero() {
    // A model record (no timestamp) in the first block of 1024 entries: the block's range
    // and the log's time span start at the first decision, not at the epoch.
    let (mut ledger, _) = Ledger::open(
        whyline_ledger::MemoryStore::new(),
        LedgerOptions::without_checkpoints("t"),
    )
    .unwrap();
    let record = whyline_core::ModelRecord {
        identity: whyline_core::ModelIdentity::from_bytes(b"m", "linear", "1"),
        feature_names: vec![],
        class_names: vec![],
        recorded_ns: 0,
        input_digest: whyline_core::DigestAlgorithm::Xxh3_64,
    };
    ledger.append(&record.to_bytes()).unwrap();
    for i in 0..1100u64 {
        let mut t = trace(i);
        t.timestamp_ns = 1_700_000_000_000_000_000 + i;
        ledger.append(&whyline_core::to_aprt(&t)).unwrap();
    }
    let store = ledger.into_store().unwrap();
    let reader = whyline_ledger::LedgerReader::new(&store).unwrap();
    let span = reader.time_span().unwrap().range.unwrap();
    assert_eq!(span, (1_700_000_000_000_000_000, 1_700_000_000_000_001_099));
    assert!(reader.entries_between(0, 1_000).unwrap().entries.is_empty());
}

#[test]
fn a_record_sealed_by_rustcrypto_xchacha20poly1305_opens() {
    // How inputs were sealed before the ring-based cipher: RustCrypto's XChaCha20Poly1305
    // with a random nonce, the header (algorithm byte zero) as associated data.
    use chacha20poly1305::XChaCha20Poly1305;
    use chacha20poly1305::aead::{AeadInOut, KeyInit as _};
    use whyline_core::{SealAlgorithm, SealedHeader, TAG_LEN, encode_input};
    let dir = tempfile::tempdir().unwrap();
    let mut keys = KeyStore::create(&dir.path().join("subjects.wks")).unwrap();
    let (digest, id, key) = keys.key_for_subject("alice").unwrap();
    let values = [1.5f32, -2.25, 1e-3];
    let mut plaintext = Vec::new();
    encode_input(&values, &context(4), &mut plaintext);
    let header = SealedHeader {
        timestamp_ns: 77,
        decision_index: 4,
        trace_hash: [3; 32],
        subject_digest: Some(digest),
        key_id: id,
        nonce: [0x9A; 24],
        algorithm: SealAlgorithm::XChaCha20Poly1305,
        layout: whyline_core::SealedLayout::OwnEntry,
    };
    let aad = header.to_bytes(plaintext.len() + TAG_LEN);
    assert_eq!(&aad[6..8], &[0, 0], "the bytes old records hold there");
    let mut body = plaintext.clone();
    let tag = XChaCha20Poly1305::new(&key.into())
        .encrypt_inout_detached(&header.nonce.into(), &aad, (&mut body[..]).into())
        .unwrap();
    body.extend_from_slice(tag.as_slice());
    let record = SealedInput {
        header,
        ciphertext: body,
    }
    .to_bytes();
    let (index, input) = open_sealed(&keys, &record).unwrap();
    assert_eq!(index, 4);
    assert_eq!(
        input,
        RecordedInput::Sealed {
            values: values.iter().map(|&v| f64::from(v)).collect(),
            context: context(4),
        }
    );
}

#[test]
fn erasing_through_the_sealer_drops_its_cached_cipher() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subjects.wks");
    let mut sealer = Sealer::new(KeyStore::create(&path).unwrap()).unwrap();
    let context = context(1);
    let input = InputEvidence {
        decision_index: 1,
        trace_hash: [1; 32],
        timestamp_ns: 5,
        subject: Some("alice"),
        values: &[1.0, 2.0],
        context: &context,
    };
    let sealed = sealer.seal(&input).unwrap();
    assert!(sealer.caches_subject("alice"));
    assert!(matches!(
        open_sealed(sealer.key_store(), &sealed),
        Some((1, RecordedInput::Sealed { .. }))
    ));
    let (_, had_key) = sealer.erase("alice", 9).unwrap();
    assert!(had_key);
    assert!(
        !sealer.caches_subject("alice"),
        "the cached subkey went with the key"
    );
    assert!(matches!(
        sealer.seal(&input),
        Err(LedgerError::SubjectErased { .. })
    ));
    assert_eq!(
        open_sealed(&KeyStore::open(&path).unwrap(), &sealed),
        Some((1, RecordedInput::Erased))
    );
}

/// The sealer keeps its subjects' ciphers in slots; erasing one moves another into its
/// slot, and every other subject still seals under its own key afterwards, whichever subject
/// was sealed last.
#[test]
fn erasing_one_subject_leaves_the_others_sealing_under_their_own_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subjects.wks");
    let mut sealer = Sealer::new(KeyStore::create(&path).unwrap()).unwrap();
    let subjects = ["alice", "bob", "carol", "dave"];
    let input = |subject: &'static str, index: u64| InputEvidence {
        decision_index: index,
        trace_hash: [1; 32],
        timestamp_ns: 5,
        subject: Some(subject),
        values: &[1.0, 2.0],
        context: &[],
    };
    for (i, subject) in subjects.iter().enumerate() {
        sealer.seal(&input(subject, i as u64)).unwrap();
    }
    sealer.erase("bob", 9).unwrap();
    assert!(!sealer.caches_subject("bob"));
    let keys = |sealer: &Sealer| KeyStore::open(sealer.key_store().path()).unwrap();
    for (round, order) in [["dave", "alice", "carol"], ["carol", "carol", "alice"]]
        .iter()
        .enumerate()
    {
        for (i, subject) in order.iter().enumerate() {
            let index = 100 * (round as u64 + 1) + i as u64;
            let sealed = sealer.seal(&input(subject, index)).unwrap();
            let header = SealedInput::split(&sealed).unwrap().0;
            assert_eq!(
                header.subject_digest,
                Some(sealer.key_store().subject_digest(subject)),
                "{subject}"
            );
            assert!(matches!(
                open_sealed(&keys(&sealer), &sealed),
                Some((i2, RecordedInput::Sealed { .. })) if i2 == index
            ));
        }
    }
    assert!(matches!(
        sealer.seal(&input("bob", 1)),
        Err(LedgerError::SubjectErased { .. })
    ));
}

/// Two simulated runs from one seed draw the same nonce prefix and subject key; sealed with
/// different AEADs, their records share key and prefix. An opener that has cached the
/// cipher of one must not open the other with it.
#[test]
fn one_key_and_prefix_under_each_aead_open_with_their_own_cipher() {
    use whyline_core::SealAlgorithm;
    let dir = tempfile::tempdir().unwrap();
    let input = InputEvidence {
        decision_index: 3,
        trace_hash: [3; 32],
        timestamp_ns: 5,
        subject: Some("alice"),
        values: &[1.5, -2.0],
        context: &[],
    };
    let sealed_with = |name: &str, algorithm| {
        let keys = KeyStore::create_for_simulation(&dir.path().join(name), 7).unwrap();
        Sealer::with_algorithm(keys, algorithm)
            .unwrap()
            .seal(&input)
            .unwrap()
    };
    let aes = sealed_with("a.wks", SealAlgorithm::Aes256Gcm);
    let chacha = sealed_with("b.wks", SealAlgorithm::XChaCha20Poly1305);
    let aegis = sealed_with("c.wks", SealAlgorithm::Aegis256);
    let (aes_header, chacha_header) = (
        SealedInput::split(&aes).unwrap().0,
        SealedInput::split(&chacha).unwrap().0,
    );
    assert_eq!(
        aes_header.nonce[..16],
        chacha_header.nonce[..16],
        "one prefix"
    );
    assert_eq!(aes_header.subject_digest, chacha_header.subject_digest);
    let keys = KeyStore::open(&dir.path().join("a.wks")).unwrap();
    let mut opener = whyline_ledger::seal::InputOpener::new(&keys);
    assert_eq!(
        SealedInput::split(&aegis).unwrap().0.nonce[..16],
        aes_header.nonce[..16]
    );
    for record in [&aes, &chacha, &aegis, &aes, &aegis, &chacha] {
        assert_eq!(
            opener.open(record),
            Some((
                3,
                RecordedInput::Sealed {
                    values: vec![1.5, -2.0],
                    context: Vec::new(),
                }
            ))
        );
    }
}

/// A subject's inputs from two recording runs (two nonce prefixes, so two per-run keys)
/// open with one opener, interleaved: each with its own run's cipher.
#[test]
fn one_subjects_inputs_from_two_runs_open_interleaved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("subjects.wks");
    KeyStore::create(&path).unwrap();
    let input = |index: u64, values: &'static [f32]| InputEvidence {
        decision_index: index,
        trace_hash: [1; 32],
        timestamp_ns: index,
        subject: Some("alice"),
        values,
        context: &[],
    };
    let runs: Vec<Vec<u8>> = [&[1.0f32][..], &[2.0f32][..]]
        .iter()
        .enumerate()
        .map(|(run, values)| {
            let mut sealer = Sealer::new(KeyStore::open(&path).unwrap()).unwrap();
            sealer.seal(&input(run as u64, values)).unwrap()
        })
        .collect();
    let prefixes: Vec<[u8; 24]> = runs
        .iter()
        .map(|r| SealedInput::split(r).unwrap().0.nonce)
        .collect();
    assert_ne!(
        prefixes[0][..16],
        prefixes[1][..16],
        "two runs, two prefixes"
    );
    let keys = KeyStore::open(&path).unwrap();
    let mut opener = whyline_ledger::seal::InputOpener::new(&keys);
    for (run, record) in [0, 1, 0, 1].map(|run| (run, &runs[run])) {
        assert_eq!(
            opener.open(record),
            Some((
                run as u64,
                RecordedInput::Sealed {
                    values: vec![f64::from(run as u8 + 1)],
                    context: Vec::new(),
                }
            )),
            "run {run}"
        );
    }
}
