//! `aggregate_traces` on the scalar and the SIMD backend (same bits, see `aggregate.rs`):
//! 10,000 traces of 8 and of 32 contributions.
//!
//! `cargo bench -p whyline-core --bench aggregate`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use whyline_core::{AggregationBackend, DecisionTrace, LinearPath, aggregate_traces_with};

fn traces(n: usize, width: usize) -> Vec<DecisionTrace<LinearPath>> {
    (0..n)
        .map(|i| DecisionTrace {
            timestamp_ns: i as u64,
            sequence: i as u64,
            input_hash: 0,
            output: 0.0,
            latency_ns: 0,
            path: LinearPath {
                contributions: (0..width)
                    .map(|f| ((i * 31 + f * 17) % 97) as f32 / 13.0 - 3.0)
                    .collect(),
                ..LinearPath::default()
            },
        })
        .collect()
}

fn aggregate(c: &mut Criterion) {
    let mut group = c.benchmark_group("aggregate_traces");
    for width in [8, 32] {
        let data = traces(10_000, width);
        group.throughput(Throughput::Elements(data.len() as u64));
        for (name, backend) in [
            ("scalar", AggregationBackend::Scalar),
            ("simd", AggregationBackend::Simd),
        ] {
            group.bench_with_input(BenchmarkId::new(name, width), &data, |b, data| {
                b.iter(|| aggregate_traces_with(backend, data));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, aggregate);
criterion_main!(benches);
