//! The Rust floor under `Monitor.predict_proba(x)`: the same model and row through the
//! same monitor (a `sil2` ledger: interval durability, group commit), without Python, and
//! the parts of one decision timed alone.
//!
//! ```sh
//! cargo run --release -p whyline-python --example monitor_floor -- MODEL.whyline.json ROW.json [CALLS]
//! ```
//!
//! `ROW.json` is one row as a JSON array of numbers. `python/bench_python.py --floor`
//! writes both files and runs this.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context, Result};
use whyline::core::{DecisionTrace, Explainable, encode_aprt};
use whyline::ledger::leaf_hash;
use whyline::models::Model;
use whyline::{Recorder, SafetyIntegrityLevel};

/// Best mean time per call, in microseconds, over five runs of `calls` calls.
fn best(calls: usize, mut call: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                call();
            }
            start.elapsed().as_secs_f64() * 1e6 / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(model_path), Some(row_path)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: monitor_floor MODEL ROW.json [CALLS]");
    };
    let calls: usize = args.get(2).map_or(Ok(2000), |c| c.parse())?;
    let model = Model::load(model_path)?;
    let row64: Vec<f64> = serde_json::from_str(
        &std::fs::read_to_string(row_path).with_context(|| format!("reading {row_path}"))?,
    )?;
    #[allow(clippy::cast_possible_truncation)]
    let row32: Vec<f32> = row64.iter().map(|&x| x as f32).collect();

    let mut path = model.empty_path();
    let t_explain = best(calls, || {
        black_box(model.explain_into(black_box(&row32), &mut path).ok());
    });
    let t_predict = best(calls, || {
        black_box(model.predict(black_box(&row64)).ok());
    });
    let mut trace = DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: model.empty_path(),
    };
    trace.output = model.explain_into(&row32, &mut trace.path)?;
    let mut bytes = Vec::new();
    let t_encode = best(calls, || {
        bytes.clear();
        black_box(encode_aprt(black_box(&trace), &mut bytes));
    });
    let t_hash = best(calls, || {
        black_box(leaf_hash(black_box(&bytes)));
    });

    let dir = tempfile::tempdir()?;
    let mut settings = SafetyIntegrityLevel::SIL2.defaults();
    settings.key_file = Some("keys/ledger.key".into());
    let recorder: Recorder = Recorder::from_settings(&settings, dir.path())?;
    let mut monitor = recorder.monitor(model.clone())?;
    let t_monitor = best(calls, || {
        black_box(monitor.predict_one(black_box(&row32)).ok());
    });
    let t_both = best(calls, || {
        black_box(monitor.predict_one(black_box(&row32)).ok());
        black_box(monitor.model().predict(black_box(&row64)).ok());
    });
    monitor.flush()?;

    println!("one row, {model_path}, best of 5 × {calls} calls:");
    println!("  explain_into (the decision path)              {t_explain:8.1} µs");
    println!("  predict (f64, the library-exact output)        {t_predict:8.1} µs");
    println!(
        "  encode the trace (APRT, {:>6} bytes)          {t_encode:8.1} µs",
        bytes.len()
    );
    println!("  SHA-256 of the record (the ledger's leaf hash) {t_hash:8.1} µs");
    println!("  InferenceMonitor::predict_one, sil2 ledger     {t_monitor:8.1} µs");
    println!("  predict_one + predict (what Monitor.predict_proba runs) {t_both:8.1} µs");
    Ok(())
}
