//! Verification of a stored log: re-hash every frame (CRCs, chain, Merkle leaf and frontier)
//! and check the signed checkpoints. Goal ≥ 3M entries/s.

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whyline_ledger::{Durability, Ledger, LedgerOptions, MemoryStore, NoteSigner, verify_store};

const ENTRIES: u64 = 100_000;

fn bench(c: &mut Criterion) {
    let signer = NoteSigner::Ed25519 {
        name: "bench".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]),
    };
    let verifier = signer.verifier();
    let options = LedgerOptions::signed("whyline.bench/ledger", signer)
        .durability(Durability::None)
        .checkpoint_every(4096);
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
    for i in 0..ENTRIES {
        let trace = whyline_core::DecisionTrace {
            timestamp_ns: 1_700_000_000_000_000_000 + i,
            sequence: i,
            input_hash: i,
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
        ledger.append(&whyline_core::to_aprt(&trace)).unwrap();
    }
    let store = ledger.into_store().unwrap();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(ENTRIES));
    group.sample_size(20);
    group.bench_function("memory_100k_signed", |b| {
        b.iter(|| {
            black_box(
                verify_store(black_box(&store), Some(&verifier)).map(|outcome| outcome.is_intact()),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
