//! Decision ingest (`POST /v1/decisions` without the HTTP): batches of 1,000 traces as JSON
//! lines and as APRT records, parsed alone (`parse_*`) and parsed + appended + durable
//! (`ingest_*`: `LedgerCollector::ingest`, which returns once the batch is fsync'd) under
//! `interval` durability on a real segment store, from one client and from 16 at once
//! (their waits share group commits). Two trace shapes: a linear path of 8 features (~100
//! bytes of APRT) and a tree path of depth 6 (~300 bytes). Goal (issue 11, at the HTTP
//! level): 200k traces/s as JSON lines, 1M/s as APRT; this library figure must be well above.

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whyline_core::{
    AnyPath, DecisionTrace, LeafInfo, LinearPath, SplitTest, TreePath, TreeSplit, encode_aprt,
    encode_json,
};
use whyline_ledger::{
    Durability, IngestBatch, IngestFormat, LedgerCollector, LedgerOptions, SegmentStore,
    parse_batch_into,
};

const BATCH: u64 = 1_000;
/// Clients ingesting at once in the `_clients` benches (an HTTP server's concurrent requests).
const CLIENTS: u64 = 16;

fn linear(i: u64) -> AnyPath {
    AnyPath::Linear(LinearPath {
        contributions: (0..8)
            .map(|k| (k as f32 - 3.5) * 0.1 + i as f32 * 1e-4)
            .collect(),
        intercept: 0.17,
        logit: 0.87,
        prediction: 1.0,
        probability: Some(0.7046),
    })
}

fn tree(i: u64) -> AnyPath {
    AnyPath::Tree(TreePath {
        splits: (0..6)
            .map(|depth| TreeSplit {
                node_index: 2 * depth + 1,
                feature_index: (depth * 3 + i as u32) % 20,
                threshold: 0.5 + depth as f32 * 0.25,
                test: SplitTest::LessOrEqual,
                categories: Vec::new(),
                went_left: (i + u64::from(depth)).is_multiple_of(2),
                missing: false,
                n_samples: 10_000 >> depth,
            })
            .collect(),
        leaf: LeafInfo {
            node_index: 13,
            prediction: 1.0,
            n_samples: 156,
            class_distribution: Some(vec![0.25, 0.75]),
        },
        impurity_path: vec![0.5, 0.45, 0.4, 0.3, 0.2, 0.1],
    })
}

fn traces(path: fn(u64) -> AnyPath) -> Vec<DecisionTrace<AnyPath>> {
    (0..BATCH)
        .map(|i| DecisionTrace {
            timestamp_ns: 1_765_000_000_000_000_000 + i * 1_000,
            sequence: i,
            input_hash: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            output: 0.7046,
            latency_ns: 23_000,
            path: path(i),
        })
        .collect()
}

fn body(traces: &[DecisionTrace<AnyPath>], format: IngestFormat) -> Vec<u8> {
    let mut body = Vec::new();
    for trace in traces {
        match format {
            IngestFormat::JsonLines => {
                encode_json(trace, &mut body).unwrap();
                body.push(b'\n');
            }
            IngestFormat::Aprt => {
                encode_aprt(trace, &mut body);
            }
        }
    }
    body
}

fn collector(dir: &std::path::Path) -> LedgerCollector<SegmentStore> {
    let store = SegmentStore::open(dir.join("log")).unwrap();
    let options = LedgerOptions::without_checkpoints("whyline.bench/ingest").durability(
        Durability::Interval {
            entries: 256,
            max_delay: Duration::from_millis(10),
        },
    );
    LedgerCollector::open(store, options).unwrap().0
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for (shape, path) in [("linear8", linear as fn(u64) -> AnyPath), ("tree6", tree)] {
        let traces = traces(path);
        for (format_name, format) in [
            ("json", IngestFormat::JsonLines),
            ("aprt", IngestFormat::Aprt),
        ] {
            let body = body(&traces, format);
            let mut batch = IngestBatch::new();
            group.bench_function(format!("parse_{format_name}_{shape}"), |b| {
                b.iter(|| {
                    parse_batch_into(black_box(&body), format, &mut batch).unwrap();
                    black_box(batch.len())
                });
            });
            group.bench_function(format!("ingest_{format_name}_{shape}"), |b| {
                b.iter_custom(|iters| {
                    let dir = tempfile::tempdir().unwrap();
                    let collector = collector(dir.path());
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(collector.ingest(black_box(&body), format).unwrap());
                    }
                    start.elapsed()
                });
            });
            group.bench_function(format!("ingest_{format_name}_{shape}_16_clients"), |b| {
                b.iter_custom(|iters| {
                    let dir = tempfile::tempdir().unwrap();
                    let collector = collector(dir.path());
                    let per_client = iters.div_ceil(CLIENTS);
                    let start = Instant::now();
                    std::thread::scope(|scope| {
                        for _ in 0..CLIENTS {
                            scope.spawn(|| {
                                for _ in 0..per_client {
                                    black_box(collector.ingest(black_box(&body), format).unwrap());
                                }
                            });
                        }
                    });
                    // Report per batch of the `iters` asked (CLIENTS × per_client were done).
                    start
                        .elapsed()
                        .mul_f64(iters as f64 / (CLIENTS * per_client) as f64)
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
