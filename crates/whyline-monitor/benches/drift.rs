//! Drift detectors: time per `update` on long streams. Each iteration feeds a whole stream to a
//! fresh detector, and criterion reports elements per second, so ns per update is
//! `1e9 / throughput` (or the time divided by the stream length). Goal for ADWIN: ≤ 30 ns per
//! update (river's Rust core: 46 ns).
//!
//! Streams: the river fixture `adwin_bernoulli_long` (30 000 errors, two drifts) and synthetic
//! 1M-value streams from a fixed xorshift generator: a stationary Gaussian-like stream (ADWIN's
//! worst case: the window keeps growing, about 20 bucket levels), the same with a mean shift
//! every 100 000 values, and a 0/1 error stream at rate 0.2 for DDM and EDDM.
//!
//! **Clock.** The machines this runs on are shared, and wall time there mostly measures the
//! other tenants. On Linux the bench therefore measures the thread's own CPU time (the
//! scheduler's `sum_exec_runtime`, read from `/proc/thread-self/schedstat`, updated at every
//! tick, so each reading is late by at most a tick either way, and iterations last tens of
//! milliseconds). `WHYLINE_BENCH_CLOCK=wall` measures wall time instead, as does any system
//! without that file.

// A bench that cannot set up has nothing to measure: failing loudly is right here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use whyline_monitor::drift::{
    Adwin, AdwinConfig, Ddm, DriftDetector, DriftStatus, Eddm, PageHinkley,
};

/// Thread CPU time (see the module docs), or wall time as a fallback.
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

const LEN: usize = 1_000_000;

/// xorshift64*, uniform in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        bits as f64 / (1u64 << 53) as f64
    }

    /// Sum of 4 uniforms, centred: mean 0, sd ~0.58.
    fn gaussian_like(&mut self) -> f64 {
        (0..4).map(|_| self.next()).sum::<f64>() - 2.0
    }
}

fn stationary() -> Vec<f64> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..LEN).map(|_| rng.gaussian_like()).collect()
}

fn shifting() -> Vec<f64> {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    (0..LEN)
        .map(|i| rng.gaussian_like() + if (i / 100_000) % 2 == 0 { 0.0 } else { 1.0 })
        .collect()
}

fn errors() -> Vec<f64> {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    (0..LEN)
        .map(|_| if rng.next() < 0.2 { 1.0 } else { 0.0 })
        .collect()
}

fn river_fixture(name: &str) -> Vec<f64> {
    #[derive(serde::Deserialize)]
    struct Fixture {
        inputs: Vec<f64>,
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/drift")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str::<Fixture>(&text).unwrap().inputs
}

/// Feeds the stream to a fresh detector; returns the drift count so nothing is optimised away.
fn feed<D: DriftDetector>(mut detector: D, stream: &[f64]) -> usize {
    let mut drifts = 0;
    for &x in stream {
        if detector.update(black_box(x)).unwrap() == DriftStatus::Drift {
            drifts += 1;
        }
    }
    drifts
}

fn bench(c: &mut Criterion<ThreadCpuTime>) {
    let stationary = stationary();
    let shifting = shifting();
    let errors = errors();
    let fixture = river_fixture("adwin_bernoulli_long");

    let mut group = c.benchmark_group("drift_update");
    let mut run = |name: &str, stream: &[f64], make: &dyn Fn(&[f64]) -> usize| {
        group.throughput(Throughput::Elements(stream.len() as u64));
        group.bench_with_input(BenchmarkId::new(name, stream.len()), stream, |b, s| {
            b.iter(|| black_box(make(s)));
        });
    };
    // Floor: the loop, black_box and a compare, no detector.
    run("baseline/sum", &stationary, &|s| {
        s.iter().filter(|&&x| black_box(x) > 1.5).count()
    });
    run("adwin/stationary", &stationary, &|s| {
        feed(Adwin::default(), s)
    });
    // Bucket insertion and merging alone: the window is never checked.
    let no_checks = AdwinConfig {
        clock: u64::MAX,
        ..AdwinConfig::default()
    };
    run("adwin/stationary_no_checks", &stationary, &|s| {
        feed(Adwin::new(no_checks.clone()).unwrap(), s)
    });
    run("adwin/mean_shift_every_100k", &shifting, &|s| {
        feed(Adwin::default(), s)
    });
    run("adwin/river_adwin_bernoulli_long", &fixture, &|s| {
        feed(Adwin::default(), s)
    });
    run("ddm/errors_p0.2", &errors, &|s| feed(Ddm::default(), s));
    run("eddm/errors_p0.2", &errors, &|s| feed(Eddm::default(), s));
    run("page_hinkley/stationary", &stationary, &|s| {
        feed(PageHinkley::default(), s)
    });
    run("page_hinkley/mean_shift_every_100k", &shifting, &|s| {
        feed(PageHinkley::default(), s)
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime::new());
    targets = bench
}
criterion_main!(benches);
