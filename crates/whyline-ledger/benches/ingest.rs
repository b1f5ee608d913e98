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
use whyline_core::AnyPath;
use whyline_ledger::{
    Durability, IngestBatch, IngestFormat, LedgerCollector, LedgerOptions, SegmentStore,
    parse_batch_into,
};

#[path = "support/ingest_shapes.rs"]
mod shapes;

use shapes::{BATCH, body, linear, traces, tree};
/// Clients ingesting at once in the `_clients` benches (an HTTP server's concurrent requests).
const CLIENTS: u64 = 16;

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
