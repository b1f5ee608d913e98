//! The producer's cost per decision: `record` into a stream collector whose batches go to
//! JetStream, against the same collector writing to `io::sink()` and against building the
//! trace alone (the baseline), in the same run. Starts a private `nats-server -js`.
//!
//! `cargo bench -p whyline-nats --bench nats_record -- --warm-up-time 1 --measurement-time 3`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support.rs"]
#[allow(dead_code, unreachable_pub)]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use whyline_core::{DecisionTrace, LinearPath, TraceCollector};
use whyline_ledger::collector::{
    Backpressure, StreamCollector, StreamCollectorBuilder, StreamFormat,
};
use whyline_nats::{JetStreamSinkBuilder, ProducerId, Topology};

const WEIGHTS: [f32; 8] = [0.5, -0.25, 0.125, 1.0, -1.0, 0.75, 0.3, -0.6];
const ROW: [f32; 8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
const CAPACITY: usize = 16 * 1024;

fn build_into(trace: &mut DecisionTrace<LinearPath>, sequence: u64) {
    trace.sequence = sequence;
    trace.timestamp_ns = 1_700_000_000_000_000_000 + sequence;
    trace.input_hash = sequence.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    trace.latency_ns = 1_234;
    let path = &mut trace.path;
    path.contributions.clear();
    path.contributions
        .extend(WEIGHTS.iter().zip(black_box(&ROW)).map(|(w, x)| w * x));
    path.intercept = 0.1;
    path.logit = path.intercept + path.contributions.iter().sum::<f32>();
    path.prediction = path.logit;
    path.probability = Some(0.9);
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

/// Times `record` in chunks of half the queue, letting the writer catch up (untimed)
/// between chunks, so the figure is the caller's work, not waiting for the broker.
fn time_records(stream: &StreamCollector<LinearPath>, iters: u64, sequence: &mut u64) -> Duration {
    let mut trace = empty_trace();
    let mut timed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let chunk = left.min(CAPACITY as u64 / 2);
        let start = Instant::now();
        for _ in 0..chunk {
            *sequence += 1;
            build_into(&mut trace, *sequence);
            let _ = black_box(stream.record(black_box(&trace)));
        }
        timed += start.elapsed();
        stream.flush().unwrap();
        left -= chunk;
    }
    timed
}

fn caller_side(c: &mut Criterion) {
    let server = support::NatsServer::start();
    let mut group = c.benchmark_group("nats_caller");
    let mut sequence = 0u64;
    let mut trace = empty_trace();
    group.bench_function("baseline_build_linear8", |b| {
        b.iter(|| {
            sequence += 1;
            build_into(&mut trace, sequence);
            black_box(&trace);
        });
    });
    let plain = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(CAPACITY)
        .batch_records(1024)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(std::io::sink())
        .unwrap();
    group.bench_function("build_and_record_io_sink", |b| {
        b.iter_custom(|iters| time_records(&plain, iters, &mut sequence));
    });
    let topology = Topology::new("BENCH").unwrap();
    let sink =
        JetStreamSinkBuilder::new(&server.url(), topology, ProducerId::new("bench").unwrap())
            .build()
            .unwrap();
    let nats = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(CAPACITY)
        .batch_records(1024)
        .backpressure(Backpressure::Block)
        .build_batches::<LinearPath>(sink)
        .unwrap();
    group.bench_function("build_and_record_jetstream", |b| {
        b.iter_custom(|iters| time_records(&nats, iters, &mut sequence));
    });
    group.finish();
    nats.close().unwrap();
}

criterion_group!(benches, caller_side);
criterion_main!(benches);
