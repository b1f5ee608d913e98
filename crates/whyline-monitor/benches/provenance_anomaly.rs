//! Streaming provenance anomaly detection: time per observed edge (goal ≤ 1 µs), and per
//! learned edge. Each iteration observes a block of 10 000 edges of a pre-generated stream
//! (the synthetic AV pipelines of `tests/support/provenance_workload.rs`, 16 graphs
//! interleaved, 10 % attacked, fixed seed) through a monitor fitted once on 5 000 normal
//! graphs; criterion reports elements per second, so ns per edge is `1e9 / throughput`.
//! Generating the stream is outside the timing. Baseline: the same loop through a
//! `HashMap<graph id, edge count>` update, the least a per-graph streaming detector does.
//!
//! **Clock.** As in `benches/drift.rs`: the thread's CPU time on Linux (the machine is
//! shared), `WHYLINE_BENCH_CLOCK=wall` for wall time.

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/provenance_workload.rs"]
mod workload;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use whyline_monitor::provenance_anomaly::{
    ObservedEdge, ProvenanceAnomalySettings, StreamingProvenanceMonitor,
};
use workload::{Attack, Workload};

struct ThreadCpuTime {
    wall: bool,
}

const SCHEDSTAT: &str = "/proc/thread-self/schedstat";

impl ThreadCpuTime {
    fn new() -> Self {
        let wall = std::env::var("WHYLINE_BENCH_CLOCK").is_ok_and(|v| v == "wall")
            || Self::cpu_ns().is_none();
        Self { wall }
    }

    fn cpu_ns() -> Option<u64> {
        let text = std::fs::read_to_string(SCHEDSTAT).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }
}

static WALL: WallTime = WallTime;

impl Measurement for ThreadCpuTime {
    type Intermediate = (Instant, u64);
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        let cpu = if self.wall {
            0
        } else {
            Self::cpu_ns().unwrap()
        };
        (Instant::now(), cpu)
    }

    fn end(&self, (wall, cpu): Self::Intermediate) -> Self::Value {
        if self.wall {
            wall.elapsed()
        } else {
            Duration::from_nanos(Self::cpu_ns().unwrap().saturating_sub(cpu))
        }
    }

    fn add(&self, v1: &Self::Value, v2: &Self::Value) -> Self::Value {
        *v1 + *v2
    }

    fn zero(&self) -> Self::Value {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Self::Value) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        WALL.formatter()
    }
}

const BLOCK: usize = 10_000;

fn stream(seed: u64, attack_rate: f64, len: usize) -> Vec<ObservedEdge> {
    let mut workload = Workload::new(seed, 16, 1_000_000, attack_rate, &Attack::ALL);
    (0..len).map(|_| workload.next_edge().edge).collect()
}

fn fitted() -> StreamingProvenanceMonitor {
    let mut monitor =
        StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
    let mut warmup = Workload::new(1, 16, 0, 0.0, &[]);
    let mut finished = 0;
    while finished < 5_000 {
        let item = warmup.next_edge();
        monitor.learn(&item.edge).unwrap();
        finished += u32::from(item.last);
    }
    monitor.fit_baseline().unwrap();
    monitor
}

fn provenance(c: &mut Criterion<ThreadCpuTime>) {
    let edges = stream(2, 0.1, 200_000);
    let blocks: Vec<&[ObservedEdge]> = edges.chunks(BLOCK).collect();
    let mut group = c.benchmark_group("provenance_anomaly");
    group.throughput(Throughput::Elements(BLOCK as u64));

    let mut counts: HashMap<u64, u64> = HashMap::new();
    let mut next = 0;
    group.bench_function("baseline_hashmap_count", |b| {
        b.iter(|| {
            let block = blocks[next % blocks.len()];
            next += 1;
            for edge in block {
                *counts.entry(black_box(edge).graph).or_default() += 1;
            }
            if counts.len() > 4096 {
                counts.clear();
            }
        })
    });

    let mut monitor = fitted();
    let mut next = 0;
    group.bench_function("observe", |b| {
        b.iter(|| {
            let block = blocks[next % blocks.len()];
            next += 1;
            for edge in block {
                black_box(monitor.observe(black_box(edge)).unwrap());
            }
        })
    });

    let mut learner =
        StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
    let mut next = 0;
    group.bench_function("learn", |b| {
        b.iter(|| {
            let block = blocks[next % blocks.len()];
            next += 1;
            for edge in block {
                learner.learn(black_box(edge)).unwrap();
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime::new());
    targets = provenance
}
criterion_main!(benches);
