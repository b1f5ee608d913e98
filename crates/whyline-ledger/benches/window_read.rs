//! Finding an incident window in a large stored log: open the segment store, read the time
//! index and return the decisions of a 30 s window (issue #6's goal: ≤ 20 ms for a 30 s window
//! in a 10M-entry log). Verification of the chain is not included: see the `verify` bench.
//!
//! The log (decisions at 20 Hz, a LinearPath with 8 features each) is built once under the
//! system temp dir and reused by later runs; `WHYLINE_BENCH_ENTRIES` sets its size (default
//! 10,000,000, about 1.4 GB and a minute to build).
//!
//! Run: `cargo bench -p whyline-ledger --bench window_read`

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{DecisionTrace, LinearPath, encode_aprt};
use whyline_ledger::{Durability, Ledger, LedgerOptions, LedgerReader, SegmentStore};

const START_NS: u64 = 1_700_000_000_000_000_000;
const STEP_NS: u64 = 50_000_000; // 20 Hz

fn build(dir: &Path, entries: u64) {
    let marker = dir.join("complete");
    if marker.exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let store = SegmentStore::open(dir).unwrap();
    let options =
        LedgerOptions::without_checkpoints("whyline.bench/window").durability(Durability::None);
    let (mut ledger, _) = Ledger::open(store, options).unwrap();
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
        trace.input_hash = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        buffer.clear();
        encode_aprt(&trace, &mut buffer);
        ledger.append(&buffer).unwrap();
    }
    ledger.commit().unwrap();
    drop(ledger);
    std::fs::write(marker, b"").unwrap();
}

fn bench(c: &mut Criterion) {
    let entries: u64 = std::env::var("WHYLINE_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let dir: PathBuf = std::env::temp_dir().join(format!("whyline-window-bench-{entries}"));
    build(&dir, entries);
    // The incident at 80% of the log: 30 s before it and 1 s after, 621 decisions.
    let at = START_NS + entries * 4 / 5 * STEP_NS;
    let (from, to) = (at - 30_000_000_000, at + 1_000_000_000);
    let mut group = c.benchmark_group(format!("window_read_{entries}_entries"));
    group.bench_function("open_index_read_30s", |b| {
        b.iter(|| {
            let store = SegmentStore::open(&dir).unwrap();
            let reader = LedgerReader::new(&store).unwrap();
            let window = reader
                .entries_between(black_box(from), black_box(to))
                .unwrap();
            assert!(window.used_index);
            assert_eq!(window.entries.len(), 621);
            black_box(window.entries.len())
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
