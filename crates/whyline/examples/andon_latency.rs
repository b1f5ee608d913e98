//! Andon alert latency, from the decision that meets an alert condition to the alert in the
//! hands of whoever acts on it (issue 15: "p99.9 and max, against the spec's 1 ms").
//!
//! A logistic model decides rows under an Andon rule that every decision trips (yellow below
//! confidence 0.999); each decision is recorded into a ledger in memory. Two deliveries are
//! timed from the instant before `predict_one`:
//! - `callback`: a `CallbackSink` run in the deciding thread;
//! - `channel`: a `ChannelSink` whose alerts a consumer thread, blocked on the channel,
//!   receives: the cross-thread latency an operator's alert handler sees.
//!
//! `--rate HZ` paces the decisions (a control loop's rate; default 1,000 per second), so
//! the channel figure is the consumer's wake-up, not a backlog; `--busy N` adds N threads
//! spinning on the cores meanwhile. `--consumer-fifo P` runs the consumer thread under the
//! real-time `SCHED_FIFO` policy at priority P (1–99; needs root or `CAP_SYS_NICE`), as a
//! vehicle's or a drone's alert handler would run: woken, it preempts the busy threads
//! instead of waiting for a time slice.
//!
//! `cargo run --release -p whyline --example andon_latency -- --alerts 20000 --rate 1000 --busy 2 [--consumer-fifo 50]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use whyline::core::Explainable;
use whyline::ledger::{LedgerCollector, LedgerOptions};
use whyline::monitor::{Andon, AndonRules};
use whyline::monitor::{CallbackSink, ChannelSink};
use whyline::{InferenceMonitor, Model};

fn percentiles(name: &str, mut nanos: Vec<u64>) -> String {
    nanos.sort_unstable();
    let at = |q: f64| {
        let i = ((nanos.len() as f64 - 1.0) * q).round() as usize;
        nanos.get(i).copied().unwrap_or(0) as f64 / 1e3
    };
    format!(
        "{name:<9} alerts {:>7}  p50 {:>7.1} µs  p99 {:>7.1} µs  p99.9 {:>7.1} µs  max {:>8.1} µs",
        nanos.len(),
        at(0.5),
        at(0.99),
        at(0.999),
        nanos.last().copied().unwrap_or(0) as f64 / 1e3
    )
}

/// Puts the calling thread under `SCHED_FIFO` at `priority`.
fn fifo(priority: u8) -> Result<(), String> {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let value = ThreadPriorityValue::try_from(priority)
        .map_err(|e| format!("--consumer-fifo {priority}: {e}"))?;
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
    )
    .map_err(|e| {
        format!(
            "SCHED_FIFO at priority {priority} refused ({e:?}): run as root or grant CAP_SYS_NICE"
        )
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut alerts = 100_000usize;
    let mut busy = 0usize;
    let mut rate = 1_000.0f64;
    let mut consumer_fifo: Option<u8> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--alerts" => alerts = args.next().ok_or("--alerts N")?.parse()?,
            "--busy" => busy = args.next().ok_or("--busy N")?.parse()?,
            "--rate" => rate = args.next().ok_or("--rate HZ")?.parse()?,
            "--consumer-fifo" => {
                consumer_fifo = Some(args.next().ok_or("--consumer-fifo PRIORITY")?.parse()?)
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let model = Model::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json"
    ))?;
    let row = [5.9f32, 3.0, 5.1, 1.8];
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..busy)
        .map(|_| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    std::hint::black_box(x);
                }
            })
        })
        .collect();

    let base = Instant::now();
    let started = Arc::new((0..alerts).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    let callback_latency = Arc::new((0..alerts).map(|_| AtomicU64::new(0)).collect::<Vec<_>>());
    let (channel, received) = ChannelSink::bounded(alerts);
    let consumer = {
        let started = Arc::clone(&started);
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let _ = ready_tx.send(consumer_fifo.map(fifo).transpose());
            let mut latencies = Vec::with_capacity(alerts);
            while let Ok(alert) = received.recv() {
                let now = base.elapsed().as_nanos() as u64;
                let from = started[alert.sequence as usize].load(Ordering::Acquire);
                latencies.push(now.saturating_sub(from));
                if latencies.len() == alerts {
                    break;
                }
            }
            latencies
        });
        // The consumer's scheduling is set before the first decision (or the run stops).
        ready.recv().map_err(|_| "the consumer thread stopped")??;
        handle
    };
    let rules = AndonRules {
        yellow_confidence: Some(0.999),
        ..AndonRules::default()
    };
    let mut andon = Andon::new(rules)?;
    {
        let started = Arc::clone(&started);
        let callback_latency = Arc::clone(&callback_latency);
        andon.add_sink(CallbackSink::new(move |alert: &whyline::Alert| {
            let now = base.elapsed().as_nanos() as u64;
            let i = alert.sequence as usize;
            let from = started[i].load(Ordering::Acquire);
            callback_latency[i].store(now.saturating_sub(from), Ordering::Release);
        }));
    }
    andon.add_sink(channel);
    let collector = LedgerCollector::in_memory(LedgerOptions::without_checkpoints("andon"))?;
    let n_features = model.n_features();
    assert_eq!(n_features, row.len());
    let mut monitor = InferenceMonitor::new(model, collector, andon);
    let mut raised = 0usize;
    let period = std::time::Duration::from_secs_f64(1.0 / rate);
    let mut next = Instant::now();
    for i in 0..alerts {
        // Paced like a control loop: sleep most of the period, spin the rest.
        next += period;
        while let Some(left) = next.checked_duration_since(Instant::now()) {
            if left > std::time::Duration::from_micros(200) {
                std::thread::sleep(left - std::time::Duration::from_micros(100));
            } else {
                std::hint::spin_loop();
            }
        }
        started[i].store(base.elapsed().as_nanos() as u64, Ordering::Release);
        if monitor.predict_one(&row)?.alert.is_some() {
            raised += 1;
        }
    }
    let channel_latency = consumer.join().map_err(|_| "consumer panicked")?;
    stop.store(true, Ordering::Relaxed);
    for spinner in spinners {
        let _ = spinner.join();
    }
    let callback: Vec<u64> = callback_latency
        .iter()
        .map(|l| l.load(Ordering::Acquire))
        .collect();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    writeln!(
        out,
        "{raised} of {alerts} decisions raised an alert, {rate} per second; {busy} busy threads; consumer {}; load average {}",
        consumer_fifo.map_or_else(|| "SCHED_OTHER".to_owned(), |p| format!("SCHED_FIFO {p}")),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )?;
    writeln!(out, "{}", percentiles("callback", callback))?;
    writeln!(out, "{}", percentiles("channel", channel_latency))?;
    Ok(())
}
