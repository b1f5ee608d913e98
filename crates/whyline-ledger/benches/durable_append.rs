//! Appends to segment files per durability policy: `none` (process buffer and page cache),
//! `interval` (group commit of 256 or 4,096 entries), `sync` (fdatasync per entry), through
//! the bare `Ledger` (which syncs inline) and through the `LedgerCollector` (`collector_*`:
//! the two-buffer group commit, one batch syncing on the commit thread while the next
//! fills). Goal (issue 17): `collector_interval_4096` within 10 % of `collector_none`'s
//! throughput, `collector_interval_256` within 25 %; every entry measured is durable.

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whyline_ledger::{Durability, Ledger, LedgerOptions, SegmentStore};

fn payload() -> Vec<u8> {
    let trace = whyline_core::DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000,
        sequence: 1,
        input_hash: 42,
        output: 0.87,
        latency_ns: 2_000,
        path: whyline_core::LinearPath {
            contributions: vec![0.42, 0.28, -0.1, 0.05, 0.3, -0.2, 0.11, 0.07],
            intercept: 0.17,
            logit: 0.87,
            prediction: 0.87,
            probability: None,
        },
    };
    whyline_core::to_aprt(&trace)
}

/// A ledger collector over segment files in `dir`, every record durable on return.
fn sync_collector(dir: &std::path::Path) -> whyline_ledger::LedgerCollector<SegmentStore> {
    let store = SegmentStore::open(dir.join("log")).unwrap();
    let options =
        LedgerOptions::without_checkpoints("whyline.bench/ledger").durability(Durability::Sync);
    whyline_ledger::LedgerCollector::open(store, options)
        .unwrap()
        .0
}

fn bench(c: &mut Criterion) {
    let payload = payload();
    let mut group = c.benchmark_group("durable_append");
    group.throughput(Throughput::Elements(1));
    for (name, durability) in [
        ("none", Durability::None),
        (
            "interval_256",
            Durability::Interval {
                entries: 256,
                max_delay: Duration::from_millis(10),
            },
        ),
        (
            "interval_4096",
            Durability::Interval {
                entries: 4096,
                max_delay: Duration::from_millis(10),
            },
        ),
        ("sync", Durability::Sync),
    ] {
        if name == "sync" {
            group.sample_size(10);
        }
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let dir = tempfile::tempdir().unwrap();
                let store = SegmentStore::open(dir.path().join("log")).unwrap();
                let options = LedgerOptions::without_checkpoints("whyline.bench/ledger")
                    .durability(durability);
                let (mut ledger, _) = Ledger::open(store, options).unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(ledger.append(black_box(&payload)).is_ok());
                }
                // Count the final commit: every entry measured is durable (except `none`).
                if durability != Durability::None {
                    ledger.commit().unwrap();
                }
                start.elapsed()
            });
        });
    }
    // One thread recording through the collector: the commit thread syncs one batch while
    // this thread fills the next.
    for (name, durability) in [
        ("collector_none", Durability::None),
        (
            "collector_interval_256",
            Durability::Interval {
                entries: 256,
                max_delay: Duration::from_millis(10),
            },
        ),
        (
            "collector_interval_4096",
            Durability::Interval {
                entries: 4096,
                max_delay: Duration::from_millis(10),
            },
        ),
    ] {
        group.sample_size(30);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let dir = tempfile::tempdir().unwrap();
                let store = SegmentStore::open(dir.path().join("log")).unwrap();
                let options = LedgerOptions::without_checkpoints("whyline.bench/ledger")
                    .durability(durability);
                let (collector, _) = whyline_ledger::LedgerCollector::open(store, options).unwrap();
                let trace = whyline_core::from_aprt::<whyline_core::LinearPath>(&payload).unwrap();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(collector.append(black_box(&trace)).is_ok());
                }
                // Count the final commit: every entry measured is durable (except `none`).
                if durability != Durability::None {
                    whyline_core::TraceCollector::<whyline_core::LinearPath>::flush(&collector)
                        .unwrap();
                }
                let elapsed = start.elapsed();
                drop(collector);
                elapsed
            });
        });
    }
    group.sample_size(10);
    // Four threads recording with `Sync` through the collector: records that arrive while a
    // sync runs share the next one (group commit).
    group.bench_function("sync_4_threads_collector", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            let collector = sync_collector(dir.path());
            let trace = whyline_core::from_aprt::<whyline_core::LinearPath>(&payload).unwrap();
            let per_thread = iters.div_ceil(4);
            let start = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        for _ in 0..per_thread {
                            black_box(collector.append(black_box(&trace)).is_ok());
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    // The same with each decision's input sealed in its entry (8 features, a subject per
    // thread): the sealer must not be held while a caller waits for its commit, or the
    // threads take turns at the fsync instead of sharing it.
    group.bench_function("sync_4_threads_collector_sealed", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            let collector = sync_collector(dir.path());
            let keys =
                whyline_ledger::seal::KeyStore::create(&dir.path().join("keys.wks")).unwrap();
            collector
                .set_sealer(whyline_ledger::seal::Sealer::new(keys).unwrap())
                .unwrap();
            let trace = whyline_core::from_aprt::<whyline_core::LinearPath>(&payload).unwrap();
            let values = [0.42f32, 0.28, -0.1, 0.05, 0.3, -0.2, 0.11, 0.07];
            let per_thread = iters.div_ceil(4);
            let start = Instant::now();
            std::thread::scope(|scope| {
                for subject in ["a", "b", "c", "d"] {
                    let (collector, trace, values) = (&collector, &trace, &values);
                    scope.spawn(move || {
                        let input = whyline_core::InputEvidence {
                            decision_index: 0,
                            trace_hash: [0; 32],
                            timestamp_ns: 0,
                            subject: Some(subject),
                            values,
                            context: &[],
                        };
                        for _ in 0..per_thread {
                            black_box(
                                collector
                                    .append_with_input(black_box(trace), &input)
                                    .is_ok(),
                            );
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
