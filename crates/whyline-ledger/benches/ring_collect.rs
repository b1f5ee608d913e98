//! Ring collector: building an 8-feature linear trace and recording it, against the
//! baseline of building it alone, so the ring's cost reads as the difference.
//!
//! `cargo bench -p whyline-ledger --bench ring_collect -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{DecisionTrace, LinearPath, NoCollector, TraceCollector};
use whyline_ledger::collector::RingCollector;

const WEIGHTS: [f32; 8] = [0.5, -0.25, 0.125, 1.0, -1.0, 0.75, 0.3, -0.6];
const ROW: [f32; 8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];

/// What a linear model does per decision: fill a reused trace with 8 contributions.
fn build_into(trace: &mut DecisionTrace<LinearPath>, sequence: u64, row: &[f32; 8]) {
    trace.sequence = sequence;
    trace.timestamp_ns = sequence;
    trace.input_hash = sequence ^ 0x5555;
    trace.latency_ns = 1_000;
    let path = &mut trace.path;
    path.contributions.clear();
    path.contributions
        .extend(WEIGHTS.iter().zip(row).map(|(w, x)| w * x));
    path.intercept = 0.1;
    path.logit = path.intercept + path.contributions.iter().sum::<f32>();
    path.prediction = path.logit;
    path.probability = None;
    trace.output = path.prediction;
}

fn empty_trace() -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: LinearPath {
            contributions: Vec::with_capacity(8),
            ..LinearPath::default()
        },
    }
}

fn ring_collect(c: &mut Criterion) {
    let mut group = c.benchmark_group("ring_collect");
    let mut trace = empty_trace();
    let mut sequence = 0u64;

    group.bench_function("baseline_build_linear8", |b| {
        b.iter(|| {
            sequence += 1;
            build_into(&mut trace, sequence, black_box(&ROW));
            black_box(&trace);
        });
    });

    group.bench_function("build_and_no_collector_linear8", |b| {
        let collector = NoCollector;
        b.iter(|| {
            sequence += 1;
            build_into(&mut trace, sequence, black_box(&ROW));
            black_box(collector.record(black_box(&trace)))
        });
    });

    let template = {
        let mut t = empty_trace();
        build_into(&mut t, 0, &ROW);
        t
    };
    let ring = RingCollector::<LinearPath, 4096>::with_template(&template);
    group.bench_function("build_and_record_linear8", |b| {
        b.iter(|| {
            sequence += 1;
            build_into(&mut trace, sequence, black_box(&ROW));
            black_box(ring.record(black_box(&trace)))
        });
    });

    group.bench_function("record_only_linear8", |b| {
        b.iter(|| black_box(ring.record(black_box(&template))));
    });

    // The owner's path (a monitor owns its collector): no lock.
    let mut owned = RingCollector::<LinearPath, 4096>::with_template(&template);
    group.bench_function("build_and_record_exclusive_linear8", |b| {
        b.iter(|| {
            sequence += 1;
            build_into(&mut trace, sequence, black_box(&ROW));
            black_box(owned.record_exclusive(black_box(&trace)))
        });
    });

    group.bench_function("for_each_recent_64", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            let visited = ring.for_each_recent(black_box(64), |t| sum += t.sequence);
            black_box((visited, sum))
        });
    });
    group.finish();
}

criterion_group!(benches, ring_collect);
criterion_main!(benches);
