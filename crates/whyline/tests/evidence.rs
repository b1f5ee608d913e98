//! What the facade adds over the crates it joins: one ledger shared by the monitors of many
//! models, and evidence (outcomes, erasures) appended to a recorded log that still verifies.

use whyline::core::{AprtRecords, EntryKind, ErasureRecord, OutcomeRecord};
use whyline::ledger::seal::{InputOpener, KeyStore, RecordedInput};
use whyline::monitor::InputRecording;
use whyline::{AnyPath, Recorder, TraceCollector, erase_subject, record_outcome};

use crate::support::{entries, intact, iris_model, iris_rows, ledger_settings};

#[test]
fn a_shared_recorder_puts_each_models_record_before_its_decisions_in_one_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let recorder: Recorder = Recorder::from_settings(&ledger_settings(""), dir.path()).unwrap();
    let shared = recorder.into_shared();
    assert_eq!(shared.settings(), &ledger_settings(""));
    let (secret, public) = shared.signing_key_files().unwrap();
    assert_eq!(
        (secret, public),
        (
            dir.path().join("ledger.key").as_path(),
            dir.path().join("ledger.pub").as_path()
        )
    );
    assert_eq!(
        shared.created_files().len(),
        2,
        "{:?}",
        shared.created_files()
    );
    let mut first = shared.monitor(iris_model()).unwrap();
    let mut second = shared.monitor(iris_model()).unwrap();
    let mut outputs = Vec::new();
    for row in iris_rows().take(6) {
        outputs.push(first.predict_one(&row).unwrap().output);
        outputs.push(second.predict_one(&row).unwrap().output);
    }
    shared.collector().flush().unwrap();
    assert_eq!(
        TraceCollector::<AnyPath>::len(shared.collector().as_ref()),
        14
    );
    drop((first, second));

    let found = entries(dir.path());
    let kinds: Vec<EntryKind> = found.iter().map(|(kind, _)| *kind).collect();
    let mut expected = vec![EntryKind::Model, EntryKind::Model];
    expected.extend([EntryKind::Decision; 12]);
    assert_eq!(kinds, expected);
    // Each monitor numbers its own decisions; they interleave in the one log.
    let decisions: Vec<(u64, f32)> = found
        .iter()
        .skip(2)
        .map(|(_, payload)| {
            let (_, trace) = AprtRecords::<AnyPath>::new(payload)
                .next()
                .unwrap()
                .unwrap();
            (trace.sequence, trace.output)
        })
        .collect();
    let sequences: Vec<u64> = decisions.iter().map(|d| d.0).collect();
    assert_eq!(sequences, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    let recorded: Vec<f32> = decisions.iter().map(|d| d.1).collect();
    assert_eq!(recorded, outputs);
    assert_eq!(intact(dir.path()), 14);
}

#[test]
fn an_outcome_and_an_erasure_join_a_recorded_log_that_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let settings = ledger_settings("record_inputs = true\n");
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path()).unwrap();
    let mut monitor = recorder.monitor(iris_model()).unwrap();
    let rows: Vec<[f32; 4]> = iris_rows().take(4).collect();
    for (i, row) in rows.iter().enumerate() {
        let subject = if i < 3 { "AV-1" } else { "AV-2" };
        let recording = InputRecording {
            subject: Some(subject),
            context: &[],
        };
        monitor.predict_one_recorded(row, &recording).unwrap();
    }
    monitor.flush().unwrap();
    drop(monitor);
    // The model record, then each decision with its sealed input in one entry.
    assert_eq!(intact(dir.path()), 5);

    let outcome = OutcomeRecord {
        decision_index: 3,
        label: "cat".into(),
        by: Some("reviewer".into()),
        override_action: Some("brake".into()),
        note: None,
        recorded_ns: 1_700_000_000_000_000_000,
    };
    let receipt = record_outcome(dir.path(), &outcome, None).unwrap();
    assert_eq!(receipt.index, 5);
    let erasure = erase_subject(dir.path(), None, "AV-1", Some("dpo"), None).unwrap();
    assert_eq!(erasure.receipt.index, 6);
    assert_eq!(erasure.record.by.as_deref(), Some("dpo"));
    assert_eq!(
        erasure.key_store,
        KeyStore::default_path(dir.path()),
        "the key store beside the ledger"
    );
    assert_eq!(intact(dir.path()), 7);

    let found = entries(dir.path());
    assert_eq!(OutcomeRecord::from_bytes(&found[5].1).unwrap(), outcome);
    assert_eq!(
        ErasureRecord::from_bytes(&found[6].1).unwrap(),
        erasure.record
    );
    // AV-1's inputs can no longer be opened; AV-2's still can, exactly.
    let keys = KeyStore::open(&erasure.key_store).unwrap();
    assert!(keys.is_erased(&erasure.record.subject_digest));
    let mut opener = InputOpener::new(&keys);
    let opened: Vec<(u64, RecordedInput)> = found
        .iter()
        .filter_map(|(_, payload)| opener.open(payload))
        .collect();
    let indices: Vec<u64> = opened.iter().map(|(index, _)| *index).collect();
    assert_eq!(
        indices,
        [1, 2, 3, 4],
        "each input names its decision's entry, which holds it"
    );
    for (_, input) in &opened[..3] {
        assert_eq!(input, &RecordedInput::Erased);
    }
    let expected: Vec<f64> = rows[3].iter().map(|&v| f64::from(v)).collect();
    assert_eq!(
        opened[3].1,
        RecordedInput::Sealed {
            values: expected,
            context: Vec::new(),
        }
    );
}
