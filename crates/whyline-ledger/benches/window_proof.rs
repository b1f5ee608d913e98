//! Window proofs over a 10M-entry log (issue 10's budget: built in ≤ 10 ms, verified in
//! ≤ 1 ms).
//!
//! Set-up, not measured: a ledger of `WHYLINE_BENCH_ENTRIES` decisions (default 10,000,000,
//! stamped 1 ms apart, a LinearPath of 8 features each: the frames a real log holds) in a
//! [`MemoryStore`], one signed checkpoint over all of them, and the Merkle tree built once from
//! the stored leaves ([`Ledger::merkle_tree`]), standing in for the stored subtree hashes
//! (tiles) a log server keeps. The build is measured: finding both boundaries through the
//! time index (one pass over ~9,800 index records, two 1024-entry blocks read from the store),
//! two inclusion proofs from the tree, the JSON-ready value. The check is measured from the
//! proof alone: the Ed25519 signature, both leaves and audit paths, the bounds. A third
//! group measures the read-only path of `whyline incident` (verify the stored log keeping
//! its leaves, build the tree, prove) against verification alone, on a log a tenth the
//! size, since both are O(size).
//!
//! Run: `cargo bench -p whyline-ledger --bench window_proof`

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{DecisionTrace, LinearPath, encode_aprt};
use whyline_ledger::{
    Durability, Ledger, LedgerOptions, MemoryStore, NoteSigner, verify_and_prove_window,
    verify_store,
};

const ORIGIN: &str = "whyline.bench/window";
const START_NS: u64 = 1_700_000_000_000_000_000;
const STEP_NS: u64 = 1_000_000; // 1 kHz

fn bench(c: &mut Criterion) {
    let entries: u64 = std::env::var("WHYLINE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let signer = NoteSigner::Ed25519 {
        name: ORIGIN.into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    };
    let verifier = signer.verifier();
    let options = LedgerOptions::signed(ORIGIN, signer)
        .durability(Durability::None)
        .checkpoint_every(0);
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
    let mut trace = DecisionTrace {
        timestamp_ns: START_NS,
        sequence: 0,
        input_hash: 0,
        output: 1.0,
        latency_ns: 2_000,
        path: LinearPath {
            contributions: vec![0.42, 0.28, -0.1, 0.05, 0.3, -0.2, 0.11, 0.07],
            intercept: 0.17,
            logit: 1.1,
            prediction: 1.0,
            probability: Some(0.75),
        },
    };
    let mut buffer = Vec::new();
    for i in 0..entries {
        trace.sequence = i;
        trace.timestamp_ns = START_NS + i * STEP_NS;
        buffer.clear();
        encode_aprt(&trace, &mut buffer);
        ledger.append(&buffer).unwrap();
    }
    ledger.checkpoint().unwrap();
    let tree = ledger.merkle_tree().unwrap();
    // A 30 s window in the middle of the log.
    let from = START_NS + entries / 2 * STEP_NS;
    let to = from + 30_000_000_000;
    let proof = ledger.prove_window_with(&tree, from, to).unwrap();
    proof.verify(&verifier, ORIGIN).unwrap();
    assert_eq!(proof.entries(), 30_001.min(entries - entries / 2));

    let mut group = c.benchmark_group(format!("window_proof_{entries}"));
    group.bench_function("build", |b| {
        b.iter(|| {
            black_box(
                ledger
                    .prove_window_with(&tree, black_box(from), black_box(to))
                    .unwrap(),
            )
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| black_box(black_box(&proof).verify(&verifier, ORIGIN).unwrap()))
    });
    group.finish();

    // The read-only path an incident report takes: verify the stored log (every hash, on
    // both cores) keeping its leaves, build the tree, prove. O(size): measured on a tenth
    // of the log, against verification alone in the same run.
    let small = (entries / 10).max(1);
    let store = {
        let signer = NoteSigner::Ed25519 {
            name: ORIGIN.into(),
            key: ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
        };
        let options = LedgerOptions::signed(ORIGIN, signer)
            .durability(Durability::None)
            .checkpoint_every(0);
        let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
        for i in 0..small {
            trace.sequence = i;
            trace.timestamp_ns = START_NS + i * STEP_NS;
            buffer.clear();
            encode_aprt(&trace, &mut buffer);
            ledger.append(&buffer).unwrap();
        }
        ledger.checkpoint().unwrap();
        ledger.into_store().unwrap()
    };
    let from = START_NS + small / 2 * STEP_NS;
    let mut group = c.benchmark_group(format!("window_proof_read_only_{small}"));
    group.sample_size(10);
    group.bench_function("verify_only", |b| {
        b.iter(|| black_box(verify_store(&store, Some(&verifier)).unwrap()))
    });
    group.bench_function("verify_and_prove", |b| {
        b.iter(|| {
            let (_, proof) = verify_and_prove_window(
                &store,
                Some(&verifier),
                black_box(from),
                from + 30_000_000_000,
            )
            .unwrap();
            black_box(proof.unwrap().unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
