//! Per-decision costs: what a monitor with a ring adds to the bare explained prediction, a
//! ring's build-and-record, and the APRT encoding of one trace.

use std::hint::black_box;
use std::time::Instant;

use entrenar::monitor::inference::{Explainable as _, TraceCollector as _};
use whyline_core::{Explainable as _, LinearPath, TraceCollector as _};
use whyline_ledger::collector::RingCollector;
use whyline_monitor::{Andon, InferenceMonitor};

use crate::Config;
use crate::runner::{self, Contender, Unit};
use crate::shape::{self, EntrenarLogistic, ROW, WhylineLogistic};

/// Nanoseconds per call of `op` over `iters` calls (the iteration number passed in).
#[inline]
fn ns_per_op(iters: u64, mut op: impl FnMut(u64)) -> f64 {
    let start = Instant::now();
    for i in 0..iters {
        op(i);
    }
    start.elapsed().as_nanos() as f64 / iters as f64
}

/// The monitor's overhead, ns over the bare explained prediction: each round times the bare
/// call and the monitored call back to back and reports the difference.
pub fn overhead(config: &Config) -> anyhow::Result<runner::Outcome> {
    let iters = config.scaled(2_000_000);
    let bare = WhylineLogistic;
    let mut path = LinearPath::default();
    let mut monitor = InferenceMonitor::new(
        WhylineLogistic,
        RingCollector::<LinearPath, 1024>::new(),
        Andon::disabled(),
    );
    let mut whyline_figures = (0.0, 0.0);
    let entrenar_bare = EntrenarLogistic;
    let mut entrenar_monitor = entrenar::monitor::inference::InferenceMonitor::new(
        EntrenarLogistic,
        entrenar::monitor::inference::RingCollector::<_, 1024>::new(),
    );
    let mut entrenar_figures = (0.0, 0.0);
    let mut failures = 0u64;
    let mut contenders = vec![
        Contender::new(
            "whyline `InferenceMonitor::predict_one`, ring of 1024, Andon off − bare `explain_into`",
            || {
                let base = ns_per_op(iters, |_| {
                    black_box(bare.explain_into(black_box(&ROW), &mut path).is_ok());
                });
                let monitored = ns_per_op(iters, |_| {
                    failures += u64::from(monitor.predict_one(black_box(&ROW)).is_err());
                });
                if failures != 0 {
                    anyhow::bail!("whyline monitor failed {failures} predictions");
                }
                whyline_figures = (base, monitored);
                Ok(monitored - base)
            },
        ),
        Contender::new(
            "entrenar `InferenceMonitor::predict`, `RingCollector` of 1024 − bare `predict_explained`",
            || {
                let base = ns_per_op(iters, |_| {
                    black_box(entrenar_bare.predict_explained(black_box(&ROW), 1));
                });
                let monitored = ns_per_op(iters, |_| {
                    black_box(entrenar_monitor.predict(black_box(&ROW), 1));
                });
                entrenar_figures = (base, monitored);
                Ok(monitored - base)
            },
        ),
    ];
    let mut outcome = runner::run(
        "monitor overhead over the bare prediction",
        Unit::NsPerOp,
        &mut contenders,
        config.rounds,
    )?;
    drop(contenders);
    if monitor.collector().stats().recorded == 0 || entrenar_monitor.collector().is_empty() {
        anyhow::bail!("a monitor recorded nothing");
    }
    outcome.notes.push(format!(
        "{iters} predictions per figure; last round: whyline bare {:.1} ns, monitored {:.1} ns; \
         entrenar bare {:.1} ns, monitored {:.1} ns (same 8-feature logistic model)",
        whyline_figures.0, whyline_figures.1, entrenar_figures.0, entrenar_figures.1
    ));
    Ok(outcome)
}

/// Building an 8-feature trace and recording it into a ring of 4096, ns per decision.
pub fn ring(config: &Config) -> anyhow::Result<runner::Outcome> {
    let iters = config.scaled(2_000_000);
    let mut template = shape::whyline_empty();
    shape::whyline_fill(&mut template, 0);
    let locked = RingCollector::<LinearPath, 4096>::with_template(&template);
    let mut owned = RingCollector::<LinearPath, 4096>::with_template(&template);
    let mut trace = shape::whyline_empty();
    let mut trace2 = shape::whyline_empty();
    let mut theirs = entrenar::monitor::inference::RingCollector::<_, 4096>::new();
    let mut sequence = 0u64;
    let mut contenders = vec![
        Contender::new(
            "whyline `RingCollector::record_exclusive` (the owner's `&mut` path, as entrenar's)",
            || {
                Ok(ns_per_op(iters, |i| {
                    shape::whyline_fill(&mut trace, black_box(i));
                    black_box(owned.record_exclusive(black_box(&trace)).is_ok());
                }))
            },
        ),
        Contender::new(
            "whyline `RingCollector::record` (shared `&self`, locked)",
            || {
                Ok(ns_per_op(iters, |i| {
                    shape::whyline_fill(&mut trace2, black_box(i));
                    black_box(locked.record(black_box(&trace2)).is_ok());
                }))
            },
        ),
        Contender::new(
            "entrenar `RingCollector::record` (trace by value: one allocation)",
            || {
                Ok(ns_per_op(iters, |i| {
                    sequence = i;
                    theirs.record(shape::entrenar_trace(black_box(i)));
                }))
            },
        ),
    ];
    let mut outcome = runner::run(
        "ring build + record (4096 slots)",
        Unit::NsPerOp,
        &mut contenders,
        config.rounds,
    )?;
    drop(contenders);
    if theirs.len() != 4096 || sequence + 1 != iters {
        anyhow::bail!("entrenar's ring holds {} traces", theirs.len());
    }
    outcome.notes.push(format!(
        "{iters} decisions per figure, 8-feature linear trace"
    ));
    Ok(outcome)
}

/// Encoding one 8-feature trace as an APRT record, ns per record.
pub fn aprt(config: &Config) -> anyhow::Result<runner::Outcome> {
    let iters = config.scaled(4_000_000);
    let mut ours = shape::whyline_empty();
    shape::whyline_fill(&mut ours, 7);
    let theirs = shape::entrenar_trace(7);
    let serializer = entrenar::monitor::inference::TraceSerializer::new(
        entrenar::monitor::inference::TraceFormat::Binary,
    );
    let mut buffer = Vec::with_capacity(256);
    let mut sizes = (0usize, 0usize);
    let mut contenders = vec![
        Contender::new("whyline `encode_aprt` into a reused buffer", || {
            Ok(ns_per_op(iters, |_| {
                buffer.clear();
                sizes.0 = whyline_core::encode_aprt(black_box(&ours), &mut buffer);
                black_box(&buffer);
            }))
        }),
        Contender::new(
            "entrenar `TraceSerializer::serialize` (Binary, a new `Vec` per record)",
            || {
                let mut failed = false;
                let figure = ns_per_op(iters, |_| {
                    match serializer.serialize(
                        black_box(&theirs),
                        entrenar::monitor::inference::PathType::Linear,
                    ) {
                        Ok(bytes) => sizes.1 = black_box(bytes).len(),
                        Err(_) => failed = true,
                    }
                });
                if failed {
                    anyhow::bail!("entrenar's serializer failed");
                }
                Ok(figure)
            },
        ),
    ];
    let mut outcome = runner::run("APRT encode", Unit::NsPerOp, &mut contenders, config.rounds)?;
    drop(contenders);
    outcome.notes.push(format!(
        "{iters} encodings per figure; records of {} bytes (whyline) and {} bytes (entrenar)",
        sizes.0, sizes.1
    ));
    Ok(outcome)
}
