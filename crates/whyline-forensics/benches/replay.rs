//! Replay throughput on the demo's model (a 20-tree random forest, 6 features): 20 000
//! decisions recorded by the monitor with sealed inputs into an in-memory ledger, then
//! replayed from the stored entries (open each input, re-run the forest with its path,
//! re-encode the APRT record, compare bytes) on one thread and on every core.
//!
//! Goal (issue 10): ≥ 1M decisions/s on both cores for trees of the demo's size.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whyline_core::Context;
use whyline_forensics::{ReplayOptions, replay_entries};
use whyline_ledger::seal::{KeyStore, Sealer};
use whyline_ledger::{Durability, LedgerCollector, LedgerOptions, LedgerReader};
use whyline_models::Model;
use whyline_monitor::{Andon, AndonRules, InferenceMonitor, InputRecording};

const DECISIONS: u64 = 20_000;

fn bench(c: &mut Criterion) {
    let model_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../whyline-cli/assets/demo_model.json");
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyStore::create(&dir.path().join("subjects.wks")).unwrap();
    let collector = LedgerCollector::in_memory(
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
    let (_, collector, _) = monitor.into_parts();
    let store = collector.into_ledger().unwrap().into_store().unwrap();
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
    for (name, threads) in [("one_thread", 1), ("all_cores", 0)] {
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
