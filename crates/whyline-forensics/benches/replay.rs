//! Replay throughput on the demo's model (a 20-tree random forest, 6 features): 20 000
//! decisions recorded by the monitor with sealed inputs into a ledger on disk, then
//! replayed (open each input, re-run the forest with its path, re-encode the APRT record,
//! compare bytes):
//!
//! - `entries_*`: from entries already in memory, on one thread and on every core;
//! - `streamed_*`: from the directory, streamed in chunks (`whyline replay`'s path), on every
//!   core, and with `chain_verified` (which skips the leaf hash linking an input of its own
//!   entry to its trace; the monitor now seals inputs inside their decisions' entries, which
//!   need no such link, so the two should match);
//! - `step/*`: one decision's steps alone (open the input, explain, encode, compare, leaf
//!   hash, and `check_recorded_path`, which replaces explain, encode and compare for a
//!   random forest), to say where the time goes.
//!
//! Goal (issue 10): ≥ 1M decisions/s on both cores for trees of the demo's size.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use whyline_core::{AnyPath, Context, EntryKind, Explainable, encode_aprt};
use whyline_forensics::{ReplayOptions, replay, replay_entries};
use whyline_ledger::seal::{InputOpener, KeyStore, OpenedRow, Sealer};
use whyline_ledger::{
    Durability, LedgerCollector, LedgerOptions, LedgerReader, SegmentStore, leaf_hash,
};
use whyline_models::{Model, RecordedPathScratch};
use whyline_monitor::{Andon, AndonRules, InferenceMonitor, InputRecording};

const DECISIONS: u64 = 20_000;

fn bench(c: &mut Criterion) {
    let model_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json");
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyStore::create(&dir.path().join("subjects.wks")).unwrap();
    let log = dir.path().join("log");
    let (collector, _) = LedgerCollector::open(
        SegmentStore::open(&log).unwrap(),
        LedgerOptions::without_checkpoints("bench").durability(Durability::None),
    )
    .unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let mut monitor = InferenceMonitor::new(
        Model::load(&model_file).unwrap(),
        collector,
        Andon::new(AndonRules::default()).unwrap(),
    );
    monitor.record_model().unwrap();
    for i in 0..DECISIONS {
        let t = i as f32 * 0.01;
        let row = [
            40.0 - (t % 30.0),
            (t * 0.7).sin().abs() * 10.0,
            0.3 + (t % 4.0),
            0.2 + (t * 0.3).cos().abs() * 0.7,
            (t * 1.3).sin() * 3.0,
            35.0 - (t % 20.0),
        ];
        let context = Context::new().with("object", "cat").with("frame", i as i64);
        monitor
            .predict_one_recorded_at(
                &row,
                &InputRecording {
                    subject: Some("AV-2847-XK"),
                    context: context.fields(),
                },
                1_700_000_000_000_000_000 + i * 50_000_000,
            )
            .unwrap();
    }
    monitor.flush().unwrap();
    drop(monitor);
    let store = SegmentStore::open_read_only(&log).unwrap();
    let entries = LedgerReader::new(&store)
        .unwrap()
        .all_entries()
        .unwrap()
        .entries;
    // The subject's key was made while recording: read the store back.
    let keys = KeyStore::open(&dir.path().join("subjects.wks")).unwrap();
    let models = [Model::load(&model_file).unwrap()];

    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(DECISIONS));
    group.sample_size(10);
    for (name, threads) in [("entries_one_thread", 1), ("entries_all_cores", 0)] {
        let options = ReplayOptions {
            threads,
            ..ReplayOptions::default()
        };
        let report = replay_entries(&entries, &keys, &models, options).unwrap();
        assert_eq!(report.identical, DECISIONS, "{report:?}");
        group.bench_function(name, |b| {
            b.iter(|| replay_entries(&entries, &keys, &models, options).unwrap());
        });
    }
    for (name, chain_verified) in [
        ("streamed_all_cores", false),
        ("streamed_all_cores_chain_verified", true),
    ] {
        let options = ReplayOptions {
            chain_verified,
            ..ReplayOptions::default()
        };
        let report = replay(&log, &keys, &models, options).unwrap();
        assert_eq!(report.identical, DECISIONS, "{report:?}");
        group.bench_function(name, |b| {
            b.iter(|| replay(&log, &keys, &models, options).unwrap());
        });
    }
    group.finish();

    // One decision's steps. The recorder seals each input at the end of its decision's
    // entry (one entry: the APRT record, then the sealed input).
    let decision = entries
        .iter()
        .find(|e| EntryKind::of(&e.payload) == EntryKind::Decision)
        .unwrap();
    let (record, trailer) = whyline_core::split_decision_entry(&decision.payload).unwrap();
    assert!(
        trailer.is_some(),
        "the input is sealed in the decision's entry"
    );
    let mut opener = InputOpener::new(&keys);
    let mut row = Vec::new();
    assert!(matches!(
        opener.open_row(&decision.payload, &mut row),
        OpenedRow::Row(_)
    ));
    let mut trace: whyline_core::DecisionTrace<AnyPath> =
        whyline_core::from_aprt(&decision.payload).unwrap();
    let mut buffer = Vec::with_capacity(8 << 10);
    let mut group = c.benchmark_group("step");
    group.bench_function("open_row", |b| {
        b.iter(|| opener.open_row(black_box(&decision.payload), &mut row));
    });
    group.bench_function("explain_into", |b| {
        b.iter(|| models[0].explain_into(black_box(&row), &mut trace.path));
    });
    group.bench_function("encode_aprt", |b| {
        b.iter(|| {
            buffer.clear();
            encode_aprt(black_box(&trace), &mut buffer)
        });
    });
    // Encoded again, so that a run filtered to the later cases compares real bytes too.
    buffer.clear();
    encode_aprt(&trace, &mut buffer);
    assert_eq!(buffer.as_slice(), record);
    group.bench_function("compare", |b| {
        b.iter(|| black_box(buffer.as_slice()) == record);
    });
    // What replay does instead of explain, encode and compare for a random forest: walk
    // each tree to its leaf and compare the recorded bytes with the leaf's encoding.
    let check = models[0].recorded_path_check().unwrap();
    let mut scratch = RecordedPathScratch::default();
    let path_data = &record[whyline_core::APRT_HEADER_LEN..];
    assert!(check.matches(&row, path_data, &mut scratch).is_some());
    group.bench_function("check_recorded_path", |b| {
        b.iter(|| check.matches(black_box(&row), black_box(path_data), &mut scratch));
    });
    group.bench_function("leaf_hash", |b| {
        b.iter(|| leaf_hash(black_box(&decision.payload)));
    });
    eprintln!(
        "a decision's entry: {} bytes, its trace {} bytes",
        decision.payload.len(),
        record.len()
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
