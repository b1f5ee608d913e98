//! Decisions per second appended through `Ledger` with group commit into PostgreSQL (a
//! private cluster on loopback, default settings: `synchronous_commit = on`, `fsync = on`)
//! and, in the same run, into segment files: batches of 1, 64, 1024 and 4096 decisions per commit
//! (`Durability::Interval { entries: batch }`; every batch durable before the next starts).
//!
//! `cargo bench -p whyline-store-postgres --bench group_commit`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use whyline_ledger::store_conformance::{options, payload};
use whyline_ledger::{Durability, Ledger, SegmentStore, Store};
use whyline_store_postgres::PostgresStore;
use whyline_store_postgres::testing::Cluster;

const BATCHES: [u32; 4] = [1, 64, 1024, 4096];

fn ledger<S: Store>(store: S, batch: u32) -> Ledger<S> {
    let durability = Durability::Interval {
        entries: batch,
        max_delay: Duration::from_secs(3600),
    };
    // Checkpoints every 4096 entries, as the ledger's default.
    Ledger::open(
        store,
        options().durability(durability).checkpoint_every(4096),
    )
    .unwrap()
    .0
}

/// Appends `iters` batches of `batch` decisions, each committed, and returns the time taken.
fn run<S: Store>(ledger: &mut Ledger<S>, payloads: &[Vec<u8>], batch: u32, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        for payload in payloads.iter().take(batch as usize) {
            ledger.append(payload).unwrap();
        }
        assert_eq!(ledger.durable_size(), ledger.size());
    }
    start.elapsed()
}

fn group_commit(c: &mut Criterion) {
    let payloads: Vec<Vec<u8>> = (0..4096).map(payload).collect();
    let cluster = Cluster::start().unwrap();
    let database = cluster.create_database().unwrap();
    let files = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("group_commit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    for batch in BATCHES {
        group.throughput(Throughput::Elements(u64::from(batch)));
        let url = cluster.url(&database, &format!("bench-{batch}"));
        let mut postgres = ledger(PostgresStore::open(&url).unwrap(), batch);
        group.bench_with_input(BenchmarkId::new("postgres", batch), &batch, |b, &batch| {
            b.iter_custom(|iters| run(&mut postgres, &payloads, batch, iters));
        });
        drop(postgres);
        let dir = files.path().join(format!("log-{batch}"));
        let mut segments = ledger(SegmentStore::open(&dir).unwrap(), batch);
        group.bench_with_input(BenchmarkId::new("files", batch), &batch, |b, &batch| {
            b.iter_custom(|iters| run(&mut segments, &payloads, batch, iters));
        });
    }
    group.finish();
}

criterion_group!(benches, group_commit);
criterion_main!(benches);
