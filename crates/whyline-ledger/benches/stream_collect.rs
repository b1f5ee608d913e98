//! Stream collector: the caller's cost per record (against the baseline of building the
//! trace alone) and sustained throughput to a file, for APRT records and JSON lines.
//!
//! `cargo bench -p whyline-ledger --bench stream_collect -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whyline_core::{LinearPath, TraceCollector};
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};

#[path = "support/linear_trace.rs"]
mod linear_trace;
use linear_trace::{build_into, empty_trace};

const ROW: [f32; 8] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
/// Queue capacity used throughout; the caller-side bench records at most half of it between
/// flushes, so it measures the caller's work, not waiting for the writer.
const CAPACITY: usize = 8192;
/// Records per iteration of the sustained benches.
const SUSTAINED: u64 = 200_000;

fn caller_side(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_caller");
    let mut trace = empty_trace();
    let mut sequence = 0u64;
    group.bench_function("baseline_build_linear8", |b| {
        b.iter(|| {
            sequence += 1;
            build_into(&mut trace, sequence, black_box(&ROW));
            black_box(&trace);
        });
    });
    for (name, format) in [
        ("build_and_record_aprt", StreamFormat::Aprt),
        ("build_and_record_json", StreamFormat::JsonLines),
    ] {
        let Ok(stream) = StreamCollectorBuilder::new(format)
            .capacity(CAPACITY)
            .backpressure(Backpressure::Block)
            .build::<LinearPath>(std::io::sink())
        else {
            return;
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let chunk = left.min(CAPACITY as u64 / 2);
                    let start = Instant::now();
                    for _ in 0..chunk {
                        sequence += 1;
                        build_into(&mut trace, sequence, black_box(&ROW));
                        let _ = black_box(stream.record(black_box(&trace)));
                    }
                    timed += start.elapsed();
                    // Untimed: let the writer catch up so the next chunk never waits.
                    let _ = stream.flush();
                    left -= chunk;
                }
                timed
            });
        });
    }
    group.finish();
}

fn sustained(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let mut group = c.benchmark_group("stream_sustained_file");
    group.throughput(Throughput::Elements(SUSTAINED));
    group.sample_size(10);
    let mut trace = empty_trace();
    for (name, format) in [
        ("aprt", StreamFormat::Aprt),
        ("json_lines", StreamFormat::JsonLines),
    ] {
        let path = dir.path().join(name);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let Ok(file) = std::fs::File::create(&path) else {
                        return Duration::MAX;
                    };
                    let start = Instant::now();
                    let Ok(stream) = StreamCollectorBuilder::new(format)
                        .capacity(CAPACITY)
                        .backpressure(Backpressure::Block)
                        .build::<LinearPath>(file)
                    else {
                        return Duration::MAX;
                    };
                    for sequence in 0..SUSTAINED {
                        build_into(&mut trace, sequence, &ROW);
                        let _ = black_box(stream.record(&trace));
                    }
                    // Until every record is in the file and the writer has exited.
                    let _ = black_box(stream.close());
                    total += start.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

criterion_group!(benches, caller_side, sustained);
criterion_main!(benches);
