//! Replay over ledgers recorded by the monitor with sealed inputs: the same model reproduces
//! every trace byte for byte (also across a mid-log model change), another model flags
//! exactly the decisions whose output differs (predicted independently with both models
//! through the path-free `predict_one`), and erased inputs are counted, not replayed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use whyline_core::{Context, EntryKind, Explainable, RecordOutcome};
use whyline_forensics::{CHUNK_BYTES, ReplayOptions, ReplayReport, replay, replay_with_chunk};
use whyline_ledger::seal::{KeyStore, Sealer, append_erasure};
use whyline_ledger::{
    Durability, Ledger, LedgerCollector, LedgerOptions, SegmentStore, VerifyOutcome, verify_store,
};
use whyline_models::Model;
use whyline_monitor::{Andon, AndonRules, InferenceMonitor, InputRecording};

const T0: u64 = 1_763_908_367_000_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(name)
}

fn model(name: &str) -> Model {
    Model::load(fixture(name)).unwrap()
}

/// Iris-shaped rows spread over and beyond the training ranges (a fixed LCG), so two
/// models disagree on some of them.
fn rows(n: usize) -> Vec<[f32; 4]> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..n)
        .map(|_| {
            [
                4.0 + 4.0 * next(),
                2.0 + 2.5 * next(),
                1.0 + 6.0 * next(),
                0.1 + 2.4 * next(),
            ]
        })
        .collect()
}

/// Records each `(model, rows)` segment into the ledger in `dir` through the monitor (a new
/// monitor per segment writes its model record), every input sealed, subjects alternating
/// between `car-1` and `car-2`. Returns the decisions' entry indices.
fn record<R: AsRef<[f32]>>(dir: &Path, segments: Vec<(Model, Vec<R>)>) -> Vec<u64> {
    let mut indices = Vec::new();
    let mut t = T0;
    for (model, rows) in segments {
        let store = SegmentStore::open(dir).unwrap();
        let options =
            LedgerOptions::without_checkpoints("test/replay").durability(Durability::None);
        let (collector, _) = LedgerCollector::open(store, options).unwrap();
        let keys = KeyStore::open_or_create(&KeyStore::default_path(dir)).unwrap();
        collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
        let mut monitor =
            InferenceMonitor::new(model, collector, Andon::new(AndonRules::default()).unwrap());
        monitor.record_model().unwrap();
        for (i, row) in rows.iter().enumerate() {
            let subject = if i % 2 == 0 { "car-1" } else { "car-2" };
            let context = Context::new().with("frame", i as i64);
            let decision = monitor
                .predict_one_recorded_at(
                    row.as_ref(),
                    &InputRecording {
                        subject: Some(subject),
                        context: context.fields(),
                    },
                    t,
                )
                .unwrap();
            t += 50_000_000;
            let Some(RecordOutcome::Appended { index, .. }) = decision.recorded else {
                panic!("{:?}", decision.recorded);
            };
            indices.push(index);
        }
        monitor.flush().unwrap();
    }
    indices
}

fn keys(dir: &Path) -> KeyStore {
    KeyStore::open(&KeyStore::default_path(dir)).unwrap()
}

/// Every entry of the ledger in `dir`, read back.
fn stored_entries(dir: &Path) -> Vec<whyline_ledger::StoredEntry> {
    let store = SegmentStore::open_existing(dir).unwrap();
    whyline_ledger::LedgerReader::new(&store)
        .unwrap()
        .all_entries()
        .unwrap()
        .entries
}

/// One input was unreadable: entry `index`'s, for a reason that says `why`.
fn assert_one_unreadable(report: &ReplayReport, index: u64, why: &str) {
    assert_eq!(report.unreadable, 1, "{report:?}");
    let first = report.first_unreadable.as_deref().unwrap_or("");
    assert!(
        first.starts_with(&format!("entry {index}: ")) && first.contains(why),
        "{first}"
    );
}

/// Replays `entries` with the keys in `dir` on `threads` threads (0: every core).
fn replay_entries_on(
    entries: &[whyline_ledger::StoredEntry],
    dir: &Path,
    models: &[Model],
    threads: usize,
) -> ReplayReport {
    let options = ReplayOptions {
        threads,
        ..ReplayOptions::default()
    };
    whyline_forensics::replay_entries(entries, &keys(dir), models, options).unwrap()
}

#[test]
fn the_same_model_reproduces_every_trace_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let indices = record(
        dir.path(),
        vec![(model("sk_gb_clf_iris.whyline.json"), rows(200))],
    );
    let report = replay(
        dir.path(),
        &keys(dir.path()),
        &[model("sk_gb_clf_iris.whyline.json")],
        ReplayOptions::default(),
    )
    .unwrap();
    assert_eq!(report.decisions, indices.len() as u64);
    assert_eq!(report.replayed, 200);
    assert_eq!(report.identical, 200);
    assert_eq!((report.different, report.changed, report.erased), (0, 0, 0));
    assert!(report.is_clean());
}

#[test]
fn a_time_range_replays_only_its_decisions() {
    let dir = tempfile::tempdir().unwrap();
    record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows(40))],
    );
    let options = ReplayOptions {
        from_ns: T0 + 10 * 50_000_000,
        to_ns: T0 + 19 * 50_000_000,
        threads: 1,
        ..ReplayOptions::default()
    };
    let report = replay(
        dir.path(),
        &keys(dir.path()),
        &[model("sk_logreg_iris.whyline.json")],
        options,
    )
    .unwrap();
    assert_eq!((report.decisions, report.identical), (10, 10));
}

#[test]
fn a_multi_model_log_replays_each_decision_with_the_model_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (rows(60), rows(90).split_off(60));
    record(
        dir.path(),
        vec![
            (model("sk_logreg_iris.whyline.json"), first),
            (model("sk_gb_clf_iris.whyline.json"), second),
        ],
    );
    let both = [
        model("sk_gb_clf_iris.whyline.json"),
        model("sk_logreg_iris.whyline.json"),
    ];
    let report = replay(
        dir.path(),
        &keys(dir.path()),
        &both,
        ReplayOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (report.replayed, report.identical, report.different),
        (90, 90, 0)
    );

    // Without the second model, its decisions cannot be matched: the error names it.
    let error = replay(
        dir.path(),
        &keys(dir.path()),
        &[
            model("sk_logreg_iris.whyline.json"),
            model("sk_knn_clf_iris.whyline.json"),
        ],
        ReplayOptions::default(),
    )
    .unwrap_err();
    let sha = both[0].identity().unwrap().sha256.clone();
    assert!(error.to_string().contains(&sha), "{error}");
}

#[test]
fn another_model_flags_exactly_the_decisions_whose_output_differs() {
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(300);
    let indices = record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows.clone())],
    );
    let (old, new) = (
        model("sk_logreg_iris.whyline.json"),
        model("sk_gb_clf_iris.whyline.json"),
    );
    let expected: Vec<u64> = rows
        .iter()
        .zip(&indices)
        .filter(|(row, _)| {
            old.predict_one(&row[..]).unwrap().to_bits()
                != new.predict_one(&row[..]).unwrap().to_bits()
        })
        .map(|(_, &index)| index)
        .collect();
    assert!(
        !expected.is_empty() && expected.len() < rows.len(),
        "{} of {}",
        expected.len(),
        rows.len()
    );

    let report = replay(
        dir.path(),
        &keys(dir.path()),
        &[new],
        ReplayOptions::default(),
    )
    .unwrap();
    let flagged: Vec<u64> = report.differences.iter().map(|d| d.index).collect();
    assert_eq!(flagged, expected);
    assert_eq!(report.changed as usize, expected.len());
    assert_eq!(report.unchanged as usize, rows.len() - expected.len());
    assert_eq!((report.identical, report.different), (0, 0));
    let first = &report.differences[0];
    assert_ne!(first.recorded_output, first.replayed_output);
    assert!(!first.attribution_shifts.is_empty());
    assert!(first.first_differing_byte.is_none());
}

#[test]
fn erased_inputs_are_counted_and_the_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows(30))],
    );
    let mut keys = keys(dir.path());
    let (mut ledger, _) = Ledger::open(
        SegmentStore::open_existing(dir.path()).unwrap(),
        LedgerOptions::without_checkpoints("test/replay"),
    )
    .unwrap();
    append_erasure(
        &mut ledger,
        &mut keys,
        "car-2",
        Some("dpo"),
        T0 + 10_000_000_000,
    )
    .unwrap();
    drop(ledger);
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    assert!(matches!(
        verify_store(&store, None).unwrap(),
        VerifyOutcome::Intact(_)
    ));
    let report = replay(
        dir.path(),
        &KeyStore::open(&KeyStore::default_path(dir.path())).unwrap(),
        &[model("sk_logreg_iris.whyline.json")],
        ReplayOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (
            report.decisions,
            report.replayed,
            report.identical,
            report.erased
        ),
        (30, 15, 15, 15)
    );
}

#[test]
fn a_stored_input_that_is_not_what_the_decision_saw_is_a_difference() {
    use whyline_core::InputEvidence;
    let dir = tempfile::tempdir().unwrap();
    let store = SegmentStore::open(dir.path()).unwrap();
    let options = LedgerOptions::without_checkpoints("test/replay").durability(Durability::None);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    let keys = KeyStore::open_or_create(&KeyStore::default_path(dir.path())).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let mut monitor = InferenceMonitor::new(
        model("sk_logreg_iris.whyline.json"),
        collector,
        Andon::new(AndonRules::default()).unwrap(),
    );
    let mut tampered = None;
    for (i, row) in rows(10).iter().enumerate() {
        let decision = monitor.predict_one_at(row, T0 + i as u64).unwrap();
        let Some(RecordOutcome::Appended { index, leaf_hash }) = decision.recorded else {
            panic!();
        };
        // Decision 3's sealed input is not the row it saw (its last feature nudged).
        let mut stored = *row;
        if i == 3 {
            stored[3] += 0.001;
            tampered = Some(index);
        }
        monitor
            .collector()
            .append_input(&InputEvidence {
                decision_index: index,
                trace_hash: leaf_hash,
                timestamp_ns: T0 + i as u64,
                subject: None,
                values: &stored,
                context: &[],
            })
            .unwrap();
    }
    monitor.flush().unwrap();
    drop(monitor);
    let report = replay(
        dir.path(),
        &KeyStore::open(&KeyStore::default_path(dir.path())).unwrap(),
        &[model("sk_logreg_iris.whyline.json")],
        ReplayOptions::default(),
    )
    .unwrap();
    assert_eq!((report.identical, report.different), (9, 1));
    assert!(!report.is_clean());
    let difference = &report.differences[0];
    assert_eq!(Some(difference.index), tampered);
    // The first byte that differs is the input digest's (APRT bytes 24..32), recomputed
    // from the stored input.
    assert!(
        matches!(difference.first_differing_byte, Some(24..32)),
        "{difference:?}"
    );
}

#[test]
fn the_report_gets_opened_inputs_erased_marks_and_outcomes() {
    use whyline_core::OutcomeRecord;
    use whyline_forensics::read_decision_evidence;
    use whyline_ledger::seal::append_outcome;
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(6);
    let indices = record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows.clone())],
    );
    let mut keys = keys(dir.path());
    let (mut ledger, _) = Ledger::open(
        SegmentStore::open_existing(dir.path()).unwrap(),
        LedgerOptions::without_checkpoints("test/replay"),
    )
    .unwrap();
    let outcome = OutcomeRecord {
        decision_index: indices[2],
        label: "setosa".into(),
        by: Some("botanist".into()),
        override_action: None,
        note: None,
        recorded_ns: T0 + 60_000_000_000,
    };
    append_outcome(&mut ledger, &outcome).unwrap();
    append_erasure(&mut ledger, &mut keys, "car-2", None, T0 + 61_000_000_000).unwrap();
    drop(ledger);
    // The window holds the first four decisions.
    let (inputs, outcomes) = read_decision_evidence(dir.path(), T0, T0 + 3 * 50_000_000).unwrap();
    assert_eq!(
        inputs.keys().copied().collect::<Vec<_>>(),
        indices[..4].to_vec()
    );
    for (i, index) in indices[..4].iter().enumerate() {
        let input = &inputs[index];
        // car-2 (odd frames) was erased.
        assert_eq!(input.erased, i % 2 == 1);
        if i % 2 == 0 {
            let expected: Vec<f64> = rows[i].iter().map(|&v| f64::from(v)).collect();
            assert_eq!(input.values, expected);
            assert_eq!(
                input.context,
                vec![("frame".to_owned(), serde_json::json!(i))]
            );
        } else {
            assert!(input.values.is_empty());
        }
    }
    assert_eq!(outcomes.len(), 1);
    assert_eq!(
        (outcomes[0].index, outcomes[0].label.as_str()),
        (indices[2], "setosa")
    );
}

#[test]
fn a_log_larger_than_its_chunk_streams_to_the_same_report_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows(200))],
    );
    let mut keys = keys(dir.path());
    let (mut ledger, _) = Ledger::open(
        SegmentStore::open_existing(dir.path()).unwrap(),
        LedgerOptions::without_checkpoints("test/replay"),
    )
    .unwrap();
    append_erasure(&mut ledger, &mut keys, "car-2", None, T0 + 20_000_000_000).unwrap();
    drop(ledger);
    let log_bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    // Another model: the changed decisions carry differences, whose order must not depend
    // on chunks or threads.
    let models = [model("sk_gb_clf_iris.whyline.json")];
    let one = |chunk: usize, threads: usize| {
        let options = ReplayOptions {
            threads,
            ..ReplayOptions::default()
        };
        replay_with_chunk(dir.path(), &keys, &models, options, chunk).unwrap()
    };
    let whole = one(CHUNK_BYTES, 1);
    assert_eq!(
        (whole.decisions, whole.replayed, whole.erased),
        (200, 100, 100)
    );
    assert!(whole.changed > 0 && whole.unchanged > 0, "{whole:?}");
    assert_eq!(whole.differences.len() as u64, whole.changed);
    assert!(
        whole
            .differences
            .windows(2)
            .all(|w| w[0].index < w[1].index),
        "differences in log order"
    );
    // Chunks of 1 byte (every decision waits for its input in the next chunk), of a few
    // decisions, and the default; the log is many chunks long.
    for chunk in [1, 3_000, CHUNK_BYTES] {
        for threads in [1, 2, 3] {
            assert_eq!(
                one(chunk, threads),
                whole,
                "chunk {chunk}, {threads} threads"
            );
        }
    }
    assert!(
        log_bytes > 10 * 3_000,
        "the log ({log_bytes} bytes) spans many chunks"
    );
}

#[test]
fn an_input_naming_another_trace_is_unreadable_unless_the_chain_was_verified() {
    use whyline_core::InputEvidence;
    let dir = tempfile::tempdir().unwrap();
    let store = SegmentStore::open(dir.path()).unwrap();
    let options = LedgerOptions::without_checkpoints("test/replay").durability(Durability::None);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    let keys = KeyStore::open_or_create(&KeyStore::default_path(dir.path())).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let mut monitor = InferenceMonitor::new(
        model("sk_logreg_iris.whyline.json"),
        collector,
        Andon::new(AndonRules::default()).unwrap(),
    );
    for (i, row) in rows(6).iter().enumerate() {
        let decision = monitor.predict_one_at(row, T0 + i as u64).unwrap();
        let Some(RecordOutcome::Appended { index, leaf_hash }) = decision.recorded else {
            panic!();
        };
        // Decision 2's input is sealed naming another trace hash.
        let trace_hash = if i == 2 { [0xEE; 32] } else { leaf_hash };
        monitor
            .collector()
            .append_input(&InputEvidence {
                decision_index: index,
                trace_hash,
                timestamp_ns: T0 + i as u64,
                subject: None,
                values: row,
                context: &[],
            })
            .unwrap();
    }
    monitor.flush().unwrap();
    drop(monitor);
    let keys = KeyStore::open(&KeyStore::default_path(dir.path())).unwrap();
    let models = [model("sk_logreg_iris.whyline.json")];
    let checked = replay(dir.path(), &keys, &models, ReplayOptions::default()).unwrap();
    assert_eq!((checked.identical, checked.unreadable), (5, 1));
    assert!(
        checked
            .first_unreadable
            .as_deref()
            .is_some_and(|why| why.contains("another trace hash")),
        "{checked:?}"
    );
    // With the chain verified the leaf hash is not recomputed: the link rests on the chain.
    let trusted = ReplayOptions {
        chain_verified: true,
        ..ReplayOptions::default()
    };
    let report = replay(dir.path(), &keys, &models, trusted).unwrap();
    assert_eq!((report.identical, report.unreadable), (6, 0));
}

#[test]
fn inputs_appended_out_of_order_are_paired_and_reported_in_log_order_across_chunks() {
    use whyline_core::InputEvidence;
    let dir = tempfile::tempdir().unwrap();
    let store = SegmentStore::open(dir.path()).unwrap();
    let options = LedgerOptions::without_checkpoints("test/replay").durability(Durability::None);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    let keys = KeyStore::open_or_create(&KeyStore::default_path(dir.path())).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let mut monitor = InferenceMonitor::new(
        model("sk_logreg_iris.whyline.json"),
        collector,
        Andon::new(AndonRules::default()).unwrap(),
    );
    // Decisions in pairs, each pair's inputs appended second-first (D0 D1 I1 I0 D2 D3 I3 I2
    // ...), every input nudged so that every decision shows as a difference, whose order
    // must be the log's.
    let rows = rows(40);
    let mut tampered = Vec::new();
    for pair in rows.chunks(2).enumerate() {
        let (p, pair) = pair;
        let mut made = Vec::new();
        for (j, row) in pair.iter().enumerate() {
            let t = T0 + (2 * p + j) as u64;
            let decision = monitor.predict_one_at(row, t).unwrap();
            let Some(RecordOutcome::Appended { index, leaf_hash }) = decision.recorded else {
                panic!();
            };
            let mut stored = *row;
            stored[3] += 0.001;
            tampered.push(index);
            made.push((index, leaf_hash, t, stored));
        }
        for (index, leaf_hash, t, stored) in made.iter().rev() {
            monitor
                .collector()
                .append_input(&InputEvidence {
                    decision_index: *index,
                    trace_hash: *leaf_hash,
                    timestamp_ns: *t,
                    subject: None,
                    values: stored,
                    context: &[],
                })
                .unwrap();
        }
    }
    monitor.flush().unwrap();
    drop(monitor);
    let keys = KeyStore::open(&KeyStore::default_path(dir.path())).unwrap();
    let models = [model("sk_logreg_iris.whyline.json")];
    let run = |chunk: usize, threads: usize| {
        let options = ReplayOptions {
            threads,
            ..ReplayOptions::default()
        };
        replay_with_chunk(dir.path(), &keys, &models, options, chunk).unwrap()
    };
    let whole = run(CHUNK_BYTES, 1);
    assert_eq!(
        (whole.identical, whole.different, whole.without_input),
        (0, 40, 0)
    );
    let found: Vec<u64> = whole.differences.iter().map(|d| d.index).collect();
    assert_eq!(found, tampered);
    // Chunk ends fall between a pair's two inputs for some of these sizes.
    for chunk in (600..=2_400).step_by(150) {
        for threads in [1, 2] {
            assert_eq!(
                run(chunk, threads),
                whole,
                "chunk {chunk}, {threads} threads"
            );
        }
    }
}

/// Records `rows` as a log of the first layout (version 1, before inputs were sealed into
/// their decision's entry): each decision, then its sealed input as an entry of its own
/// naming the decision's leaf hash. Returns the decisions' entry indices.
fn record_inputs_apart(dir: &Path, rows: &[[f32; 4]]) -> Vec<u64> {
    use whyline_core::InputEvidence;
    let store = SegmentStore::open(dir).unwrap();
    let options = LedgerOptions::without_checkpoints("test/replay").durability(Durability::None);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    let keys = KeyStore::open_or_create(&KeyStore::default_path(dir)).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let mut monitor = InferenceMonitor::new(
        model("sk_logreg_iris.whyline.json"),
        collector,
        Andon::new(AndonRules::default()).unwrap(),
    );
    monitor.record_model().unwrap();
    let mut indices = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let t = T0 + i as u64 * 50_000_000;
        let decision = monitor.predict_one_at(row, t).unwrap();
        let Some(RecordOutcome::Appended { index, leaf_hash }) = decision.recorded else {
            panic!("{:?}", decision.recorded);
        };
        monitor
            .collector()
            .append_input(&InputEvidence {
                decision_index: index,
                trace_hash: leaf_hash,
                timestamp_ns: t,
                subject: Some(if i % 2 == 0 { "car-1" } else { "car-2" }),
                values: row,
                context: &[],
            })
            .unwrap();
        indices.push(index);
    }
    monitor.flush().unwrap();
    indices
}

#[test]
fn a_log_of_the_first_layout_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let indices = record_inputs_apart(dir.path(), &rows(50));
    let entries = stored_entries(dir.path());
    let kinds: Vec<EntryKind> = entries.iter().map(|e| EntryKind::of(&e.payload)).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EntryKind::SealedInput)
            .count(),
        indices.len()
    );
    let models = [model("sk_logreg_iris.whyline.json")];
    for threads in [1, 0] {
        let options = ReplayOptions {
            threads,
            ..ReplayOptions::default()
        };
        let report = replay(dir.path(), &keys(dir.path()), &models, options).unwrap();
        assert_eq!(
            (report.decisions, report.replayed, report.identical),
            (50, 50, 50),
            "{report:?}"
        );
    }
}

#[test]
fn an_input_sealed_in_its_decisions_entry_fails_to_open_when_changed_and_a_changed_trace_differs() {
    let dir = tempfile::tempdir().unwrap();
    let indices = record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows(40))],
    );
    let mut entries = stored_entries(dir.path());
    // One entry per decision: no sealed input entries.
    assert!(
        entries
            .iter()
            .all(|e| EntryKind::of(&e.payload) != EntryKind::SealedInput)
    );
    // Decision 20's sealed input changed (the last byte of its tag); decision 30's trace
    // changed (the last byte of its APRT record, in the path, which the input's associated
    // data does not cover).
    let (sealed_changed, trace_changed) = (indices[20], indices[30]);
    let entry = entries
        .iter_mut()
        .find(|e| e.index == sealed_changed)
        .unwrap();
    *entry.payload.last_mut().unwrap() ^= 0x01;
    let entry = entries
        .iter_mut()
        .find(|e| e.index == trace_changed)
        .unwrap();
    let last_of_trace = whyline_core::AprtHeader::read(&entry.payload, 0)
        .unwrap()
        .record_len()
        - 1;
    entry.payload[last_of_trace] ^= 0x01;
    let models = [model("sk_logreg_iris.whyline.json")];
    for threads in [1, 0] {
        let report = replay_entries_on(&entries, dir.path(), &models, threads);
        assert_eq!(
            (
                report.decisions,
                report.replayed,
                report.identical,
                report.different
            ),
            (40, 39, 38, 1),
            "{report:?}"
        );
        assert_one_unreadable(&report, sealed_changed, "authentication");
        assert_eq!(report.differences[0].index, trace_changed);
        assert_eq!(
            report.differences[0].first_differing_byte,
            Some(last_of_trace)
        );
    }
}

#[test]
fn a_trace_changed_after_recording_fails_its_inputs_link_in_any_group_of_hashed_traces() {
    let dir = tempfile::tempdir().unwrap();
    let indices = record_inputs_apart(dir.path(), &rows(40));
    let mut entries = stored_entries(dir.path());
    // The 21st decision's trace changed after recording (its last byte): its sealed input
    // names the leaf hash of the trace as recorded. Decisions are replayed in groups whose
    // traces are hashed together; this one is inside the second group.
    let tampered = indices[20];
    let entry = entries.iter_mut().find(|e| e.index == tampered).unwrap();
    *entry.payload.last_mut().unwrap() ^= 0x01;
    let models = [model("sk_logreg_iris.whyline.json")];
    for threads in [1, 0] {
        let report = replay_entries_on(&entries, dir.path(), &models, threads);
        assert_eq!(
            (report.decisions, report.replayed, report.identical),
            (40, 39, 39),
            "{report:?}"
        );
        assert_one_unreadable(&report, tampered, "another trace hash");

        // Told the chain was verified, replay takes the input as the trace's and finds
        // the trace different from the one the model makes.
        let report = whyline_forensics::replay_entries(
            &entries,
            &keys(dir.path()),
            &models,
            ReplayOptions {
                threads,
                chain_verified: true,
                ..ReplayOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            (report.replayed, report.identical, report.different),
            (40, 39, 1),
            "{report:?}"
        );
        assert_eq!(report.differences[0].index, tampered);
    }
}

/// Entries already read (by a server from its store, say) replay to the report the log's
/// directory gives, another model's changes included.
#[test]
fn entries_already_read_replay_as_the_log_does() {
    let dir = tempfile::tempdir().unwrap();
    record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows(40))],
    );
    let entries =
        whyline_ledger::LedgerReader::new(&SegmentStore::open_existing(dir.path()).unwrap())
            .unwrap()
            .all_entries()
            .unwrap()
            .entries;
    for models in [
        vec![model("sk_logreg_iris.whyline.json")],
        vec![model("sk_gb_clf_iris.whyline.json")],
    ] {
        let from_dir = replay(
            dir.path(),
            &keys(dir.path()),
            &models,
            ReplayOptions::default(),
        )
        .unwrap();
        let from_entries = whyline_forensics::replay_entries(
            &entries,
            &keys(dir.path()),
            &models,
            ReplayOptions::default(),
        )
        .unwrap();
        assert_eq!(from_entries, from_dir);
        assert_eq!(from_entries.decisions, 40);
    }
}

/// The demo's random forest (20 trees of depth 9): replay checks its traces against
/// per-leaf encodings instead of rebuilding them. Every trace is identical; a byte changed
/// in the first or last tree's path or in the ensemble's tail is a difference located at
/// that byte, and one changed in the header fails the input's seal (whose associated data
/// covers it).
#[test]
fn a_random_forests_traces_are_checked_byte_for_byte() {
    let demo = || {
        Model::load(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json"),
        )
        .unwrap()
    };
    let rows: Vec<Vec<f32>> = (0..300)
        .map(|i| {
            let t = i as f32 * 0.37;
            vec![
                40.0 - (t % 30.0),
                t % 13.0 - 2.0,
                (t * 1.7) % 9.0,
                1.5 + (t % 4.0),
                (t * 0.3).sin() * 12.0,
                0.25 * (i % 7) as f32,
            ]
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let indices = record(dir.path(), vec![(demo(), rows)]);
    let mut entries = stored_entries(dir.path());
    let models = [demo()];
    let replay = |entries: &[whyline_ledger::StoredEntry], threads| {
        replay_entries_on(entries, dir.path(), &models, threads)
    };
    for threads in [1, 0] {
        let report = replay(&entries, threads);
        assert_eq!(
            (report.replayed, report.identical, report.different),
            (300, 300, 0),
            "{report:?}"
        );
    }
    // The path data start after the 44-byte header with the aggregation (1 byte), base
    // score and tree count (4 each); the first tree's path follows.
    let record_len = |payload: &[u8]| {
        whyline_core::AprtHeader::read(payload, 0)
            .unwrap()
            .record_len()
    };
    let changes: Vec<(u64, usize)> = [
        (10usize, 32usize),
        (20, 44 + 9 + 5),
        (30, usize::MAX - 1),
        (40, usize::MAX),
    ]
    .into_iter()
    .map(|(k, at)| {
        let index = indices[k];
        let entry = entries.iter_mut().find(|e| e.index == index).unwrap();
        let len = record_len(&entry.payload);
        // usize::MAX: the last byte of the record (the tail); MAX - 1: a byte of the
        // last tree's path, 300 bytes before the tail's ~60.
        let at = match at {
            usize::MAX => len - 1,
            n if n == usize::MAX - 1 => len - 360,
            n => n,
        };
        entry.payload[at] ^= 0x04;
        (index, at)
    })
    .collect();
    for threads in [1, 0] {
        let report = replay(&entries, threads);
        assert_eq!(
            (report.replayed, report.identical, report.different),
            (299, 296, 3),
            "{report:?}"
        );
        assert_one_unreadable(&report, changes[0].0, "authentication");
        let found: Vec<(u64, usize)> = report
            .differences
            .iter()
            .map(|d| (d.index, d.first_differing_byte.unwrap()))
            .collect();
        assert_eq!(found, changes[1..]);
    }
}

/// A decision's trace changed on disk after recording (a byte of its path data, so that its
/// sealed input still opens): read as usual, the frame's CRC stops the replay there; told
/// the log was verified (`--chain-verified`, which skips the body CRCs), replay reads on and
/// reports that decision as the difference it is.
#[test]
fn a_trace_changed_on_disk_stops_a_replay_unless_the_log_was_verified() {
    let dir = tempfile::tempdir().unwrap();
    let indices = record(
        dir.path(),
        vec![(model("sk_logreg_iris.whyline.json"), rows(40))],
    );
    let store = SegmentStore::open_existing(dir.path()).unwrap();
    let entries = whyline_ledger::LedgerReader::new(&store)
        .unwrap()
        .all_entries()
        .unwrap()
        .entries;
    drop(store);
    let changed = entries.iter().find(|e| e.index == indices[20]).unwrap();
    let file = dir.path().join("entries.wls");
    let mut bytes = std::fs::read(&file).unwrap();
    // The frame header is 16 bytes, then the APRT header, then the path data.
    let at = changed.offset as usize + 16 + whyline_core::APRT_HEADER_LEN + 5;
    assert_eq!(
        bytes[at],
        changed.payload[whyline_core::APRT_HEADER_LEN + 5]
    );
    bytes[at] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();

    let keys = KeyStore::open(&KeyStore::default_path(dir.path())).unwrap();
    let models = [model("sk_logreg_iris.whyline.json")];
    let read = replay(dir.path(), &keys, &models, ReplayOptions::default()).unwrap();
    assert_eq!(read.stopped_at, Some(changed.offset), "{read:?}");
    assert_eq!(
        (read.decisions, read.identical, read.different),
        (20, 20, 0)
    );

    let verified = ReplayOptions {
        chain_verified: true,
        ..ReplayOptions::default()
    };
    let report = replay(dir.path(), &keys, &models, verified).unwrap();
    assert_eq!(report.stopped_at, None, "{report:?}");
    assert_eq!(
        (report.decisions, report.identical, report.different),
        (40, 39, 1)
    );
    assert_eq!(report.differences[0].index, changed.index);
}
