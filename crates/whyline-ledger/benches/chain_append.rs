//! Hash-chain collector in memory: encode a LinearPath trace with 8 features to APRT, Merkle
//! leaf, chain hash of the leaf (format version 2) and Merkle frontier, frame with CRCs, append to a memory store. Checkpoints
//! (Ed25519) every 4096 entries, so signing is amortised into the figure. Spec budget:
//! 10 µs; goal ≤ 300 ns. `pipelined_collector` writes the same log through
//! `PipelinedLedgerCollector` (the chain and the rest on a sequencer thread).

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{DecisionTrace, LinearPath, TraceCollector};
use whyline_ledger::{
    Durability, LedgerCollector, LedgerOptions, NoteSigner, PipelinedLedgerCollector, chain_hash,
    chain_hash_v1, leaf_hash,
};

fn trace(i: u64) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000 + i,
        sequence: i,
        input_hash: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        output: 0.87,
        latency_ns: 2_000,
        path: LinearPath {
            contributions: vec![0.42, 0.28, -0.1, 0.05, 0.3, -0.2, 0.11, 0.07],
            intercept: 0.17,
            logit: 0.87,
            prediction: 0.87,
            probability: None,
        },
    }
}

fn options() -> LedgerOptions {
    let signer = NoteSigner::Ed25519 {
        name: "bench".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]),
    };
    LedgerOptions::signed("whyline.bench/ledger", signer)
        .durability(Durability::None)
        .checkpoint_every(4096)
}

fn bench(c: &mut Criterion) {
    let t = trace(1);
    let aprt = whyline_core::to_aprt(&t);
    let mut group = c.benchmark_group("chain_append");
    group.bench_function("hashes_only", |b| {
        // The floor of format version 2: leaf hash of one APRT record, chain hash of the
        // leaf, nothing else (the Merkle frontier adds about one node hash per entry).
        let prev = [0u8; 32];
        b.iter(|| {
            let leaf = leaf_hash(black_box(&aprt));
            (chain_hash(black_box(7), &prev, &leaf), leaf)
        });
    });
    group.bench_function("hashes_only_v1", |b| {
        // The same for format version 1: the chain hashes the whole record again.
        let prev = [0u8; 32];
        b.iter(|| {
            (
                chain_hash_v1(black_box(7), &prev, black_box(&aprt)),
                leaf_hash(black_box(&aprt)),
            )
        });
    });
    group.bench_function("memory_collector", |b| {
        // A fresh ledger per sample keeps memory bounded.
        b.iter_custom(|iters| {
            let collector = LedgerCollector::in_memory(options()).unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                let outcome = collector.record(black_box(&t));
                black_box(outcome.is_ok());
            }
            start.elapsed()
        });
    });
    group.bench_function("pipelined_collector", |b| {
        // The same log with the chain, the tree, the frames and the checkpoints on the
        // sequencer thread: the figure is the sustained rate (the final flush, which waits
        // for the sequencer to append everything, is inside it).
        b.iter_custom(|iters| {
            let collector =
                PipelinedLedgerCollector::new(LedgerCollector::in_memory(options()).unwrap())
                    .unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                let outcome = collector.record(black_box(&t));
                black_box(outcome.is_ok());
            }
            collector.flush().unwrap();
            start.elapsed()
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
