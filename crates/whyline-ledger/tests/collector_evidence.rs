//! The ledger collector through `TraceCollector` beyond decisions: model records, alerts,
//! sealed inputs with and without a key store, and payloads built under the ledger lock.
//! Every receipt is checked against the RFC 6962 leaf hash of the bytes the entry holds.

use whyline_core::{
    AlertRecord, DecisionTrace, InputEvidence, LinearPath, ModelIdentity, ModelRecord,
    RecordOutcome, SealedInput, SealedLayout, TraceCollector, from_aprt, split_decision_entry,
    to_aprt,
};
use whyline_ledger::seal::{KeyStore, Sealer, open_sealed};
use whyline_ledger::{LedgerCollector, LedgerError, RecordedInput, leaf_hash};

use crate::common::{options, payload, trace};

fn model() -> ModelRecord {
    ModelRecord {
        identity: ModelIdentity::from_bytes(b"model bytes", "linear", "1"),
        feature_names: vec!["a".into(), "b".into()],
        class_names: Vec::new(),
        recorded_ns: 5,
        input_digest: Default::default(),
    }
}

fn alert(sequence: u64) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: 10 + sequence,
        level: "critical".into(),
        kind: "out_of_distribution".into(),
        message: "feature a far outside training range".into(),
        details: serde_json::json!({ "feature": 0 }),
    }
}

fn input<'a>(values: &'a [f32], subject: Option<&'a str>) -> InputEvidence<'a> {
    InputEvidence {
        decision_index: 0,
        trace_hash: [0; 32],
        timestamp_ns: 77,
        subject,
        values,
        context: &[],
    }
}

/// The entry payload at `index`.
fn entry(collector: &LedgerCollector, index: u64) -> Vec<u8> {
    collector
        .with_ledger(|ledger| ledger.read_entry(index).unwrap().payload)
        .unwrap()
}

fn size(collector: &LedgerCollector) -> u64 {
    collector.with_ledger(|ledger| ledger.size()).unwrap()
}

fn sealing_collector(dir: &std::path::Path) -> LedgerCollector {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let keys = KeyStore::create(&KeyStore::default_path(dir)).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    collector
}

#[test]
fn model_records_and_alerts_are_appended_as_ordinary_entries() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let sink: &dyn TraceCollector<LinearPath> = &collector;
    assert!(sink.keeps_alerts());
    let model = model();
    assert_eq!(
        sink.record_model(&model).unwrap(),
        Some(RecordOutcome::Appended {
            index: 0,
            leaf_hash: leaf_hash(&model.to_bytes()),
        })
    );
    sink.record(&trace(0)).unwrap();
    assert_eq!(
        sink.record_alert(&alert(0)).unwrap(),
        Some(RecordOutcome::Appended {
            index: 2,
            leaf_hash: leaf_hash(&alert(0).to_bytes()),
        })
    );
    assert_eq!(entry(&collector, 0), model.to_bytes());
    assert_eq!(entry(&collector, 2), alert(0).to_bytes());
    assert_eq!(sink.stats().recorded, 3);
    let debug = format!("{collector:?}");
    assert!(
        debug.starts_with("LedgerCollector { appended: 3, size: 3,"),
        "{debug}"
    );
}

#[test]
fn without_a_key_store_inputs_are_not_kept_and_the_decision_alone_is_recorded() {
    let mut collector = LedgerCollector::in_memory(options()).unwrap();
    let values = [1.0f32, 2.0];
    {
        let sink: &mut dyn TraceCollector<LinearPath> = &mut collector;
        assert!(!sink.keeps_inputs());
        assert_eq!(sink.record_input(&input(&values, None)).unwrap(), None);
        let (decision, sealed) = sink
            .record_with_input(&trace(0), &input(&values, None))
            .unwrap();
        assert_eq!(
            decision,
            RecordOutcome::Appended {
                index: 0,
                leaf_hash: leaf_hash(&payload(0)),
            }
        );
        assert_eq!(sealed, None);
    }
    assert_eq!(size(&collector), 1);
    // The typed call says why, and appends nothing.
    let error = collector
        .append_with_input(&trace(1), &input(&values, None))
        .unwrap_err();
    assert!(matches!(error, LedgerError::NoSealer), "{error:?}");
    assert_eq!(size(&collector), 1);
}

#[test]
fn a_decision_and_its_input_are_sealed_together_and_open_with_the_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut collector = sealing_collector(dir.path());
    let values = [0.5f32, -1.25, 3.0];
    let (decision, sealed) = {
        let sink: &mut dyn TraceCollector<LinearPath> = &mut collector;
        assert!(sink.keeps_inputs());
        sink.record_with_input(&trace(0), &input(&values, Some("alice")))
            .unwrap()
    };
    // One entry: the APRT record, then the input sealed as its trailer.
    assert_eq!(size(&collector), 1);
    let entry_bytes = entry(&collector, 0);
    let decision_bytes = to_aprt(&trace(0));
    let (record, trailer) = split_decision_entry(&entry_bytes).unwrap();
    assert_eq!(record, &decision_bytes[..]);
    let trailer = trailer.expect("the input follows the trace");
    assert_eq!(
        decision,
        RecordOutcome::Appended {
            index: 0,
            leaf_hash: leaf_hash(&entry_bytes),
        }
    );
    assert_eq!(sealed, Some(decision));
    // Readers of traces read it as any decision.
    assert_eq!(from_aprt::<LinearPath>(&entry_bytes).unwrap(), trace(0));
    // The trailer names its own entry and the decision's time; no trace hash.
    let (header, _) = SealedInput::split_trailer(trailer, trace(0).timestamp_ns).unwrap();
    assert_eq!(header.layout, SealedLayout::Trailer);
    assert_eq!(header.decision_index, 0);
    assert_eq!(header.trace_hash, [0; 32]);
    assert_eq!(header.timestamp_ns, trace(0).timestamp_ns);
    assert!(header.subject_digest.is_some());
    let keys = KeyStore::open(&KeyStore::default_path(dir.path())).unwrap();
    let expected: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(
        open_sealed(&keys, &entry_bytes),
        Some((
            0,
            RecordedInput::Sealed {
                values: expected.clone(),
                context: Vec::new(),
            }
        ))
    );
    // The associated data covers the trailer's header and the trace's APRT header: a change
    // to either (the output, the time, the entry index) fails authentication, as does one
    // in the ciphertext. A change in the path data is the leaf hash's to catch.
    let trailer_at = decision_bytes.len();
    for at in [
        32,                    // the APRT output
        8,                     // the APRT time
        trailer_at + 8,        // the trailer's entry index
        trailer_at + 52,       // the nonce
        entry_bytes.len() - 1, // the tag
        trailer_at + 85,       // the ciphertext
    ] {
        let mut changed = entry_bytes.clone();
        changed[at] ^= 1;
        assert!(
            matches!(
                open_sealed(&keys, &changed),
                Some((_, RecordedInput::Unreadable(_)))
            ),
            "byte {at} changed and the input still opened"
        );
    }
    // Bytes after the record that are not a sealed input are refused by trace readers.
    let mut junk = decision_bytes.clone();
    junk.extend_from_slice(b"WLSX0000");
    assert!(from_aprt::<LinearPath>(&junk).is_err());
    assert!(split_decision_entry(&junk).is_err());
    // A decision without an input holds no trailer and no input.
    assert_eq!(open_sealed(&keys, &decision_bytes), None);

    // record_input seals an input on its own, as given.
    let sink: &dyn TraceCollector<LinearPath> = &collector;
    let alone = sink
        .record_input(&InputEvidence {
            decision_index: 0,
            ..input(&values, None)
        })
        .unwrap();
    let alone_bytes = entry(&collector, 1);
    let record = SealedInput::from_bytes(&alone_bytes).unwrap();
    assert_eq!(record.header.layout, SealedLayout::OwnEntry);
    assert_eq!(
        alone,
        Some(RecordOutcome::Appended {
            index: 1,
            leaf_hash: leaf_hash(&alone_bytes),
        })
    );
    assert_eq!(
        open_sealed(&keys, &alone_bytes),
        Some((
            0,
            RecordedInput::Sealed {
                values: expected,
                context: Vec::new(),
            }
        ))
    );
}

#[test]
fn an_erased_subject_appends_neither_the_decision_nor_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let mut keys = KeyStore::create(&KeyStore::default_path(dir.path())).unwrap();
    keys.erase("bob", 1).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let values = [1.0f32];
    let error = collector
        .append_with_input(&trace(0), &input(&values, Some("bob")))
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::SubjectErased { .. }),
        "{error:?}"
    );
    assert_eq!(size(&collector), 0);
    // Through the trait the error names the collector and the decision.
    let mut collector = collector;
    let sink: &mut dyn TraceCollector<LinearPath> = &mut collector;
    let error = sink
        .record_with_input(&trace(4), &input(&values, Some("bob")))
        .unwrap_err();
    assert!(
        matches!(
            &error,
            whyline_core::CoreError::Collector {
                collector: "ledger",
                sequence: Some(4),
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_checked_append_builds_its_payload_under_the_lock_or_appends_nothing() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    collector.append(&trace(0)).unwrap();
    // The builder sees the ledger as it stands and the index the entry will take.
    let receipt = collector
        .append_checked(|ledger, index| {
            assert_eq!(ledger.size(), index);
            Ok::<_, String>(format!("entry {index}").into_bytes())
        })
        .unwrap()
        .unwrap();
    assert_eq!(receipt.index, 1);
    assert_eq!(receipt.leaf_hash, leaf_hash(b"entry 1"));
    assert_eq!(entry(&collector, 1), b"entry 1");
    let refused = collector
        .append_checked(|_, index| Err::<Vec<u8>, _>(format!("no entry {index}")))
        .unwrap();
    assert_eq!(refused, Err("no entry 2".to_owned()));
    assert_eq!(size(&collector), 2);
    // An empty batch appends nothing and returns no receipt.
    assert!(
        collector
            .append_batch(std::iter::empty())
            .unwrap()
            .is_empty()
    );
    assert_eq!(size(&collector), 2);
}

#[test]
fn a_decision_and_its_alerts_are_appended_in_order_under_one_lock() {
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let t: DecisionTrace<LinearPath> = trace(3);
    collector
        .append_with_alerts(&t, &[alert(3), alert(4)])
        .unwrap();
    assert_eq!(entry(&collector, 0), to_aprt(&t));
    assert_eq!(entry(&collector, 2), alert(4).to_bytes());
}

/// A log sealed partly with each AEAD (recorded on two machines, say) opens whole with one
/// opener; each record names its algorithm.
#[test]
fn inputs_sealed_with_each_aead_open_side_by_side() {
    use whyline_core::SealAlgorithm;
    use whyline_ledger::seal::InputOpener;
    let dir = tempfile::tempdir().unwrap();
    let path = KeyStore::default_path(dir.path());
    KeyStore::create(&path).unwrap();
    let collector = LedgerCollector::in_memory(options()).unwrap();
    let algorithms = [
        SealAlgorithm::XChaCha20Poly1305,
        SealAlgorithm::Aes256Gcm,
        SealAlgorithm::Aegis256,
    ];
    let values = [[0.5f32, 1.0], [2.0, -3.5], [7.25, 0.0]];
    for (i, algorithm) in algorithms.into_iter().enumerate() {
        let sealer = Sealer::with_algorithm(KeyStore::open(&path).unwrap(), algorithm).unwrap();
        assert_eq!(sealer.algorithm(), algorithm);
        collector.set_sealer(sealer).unwrap();
        for subject in [None, Some("alice")] {
            collector
                .append_with_input(&trace(i as u64), &input(&values[i], subject))
                .unwrap();
        }
        // And the first layout.
        collector
            .append_input(&InputEvidence {
                decision_index: 0,
                ..input(&values[i], Some("bob"))
            })
            .unwrap();
    }
    let keys = KeyStore::open(&path).unwrap();
    let mut opener = InputOpener::new(&keys);
    for index in 0..size(&collector) {
        let payload = entry(&collector, index);
        let algorithm = algorithms[index as usize / 3];
        let header = match split_decision_entry(&payload) {
            Ok((_, Some(trailer))) => {
                let header = SealedInput::split_trailer(trailer, 0).unwrap().0;
                // Its own entry, whatever index the caller's evidence carried (0 here).
                assert_eq!(header.decision_index, index, "entry {index}");
                header
            }
            _ => SealedInput::split(&payload).unwrap().0,
        };
        assert_eq!(header.algorithm, algorithm, "entry {index}");
        let (_, opened) = opener.open(&payload).unwrap();
        let expected: Vec<f64> = values[index as usize / 3]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        assert_eq!(
            opened,
            RecordedInput::Sealed {
                values: expected,
                context: Vec::new(),
            },
            "entry {index}"
        );
    }
}
