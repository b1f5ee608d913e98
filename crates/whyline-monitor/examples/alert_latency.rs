//! Condition → in-process callback latency of a red Andon alert, as a distribution (issue
//! #6's goal: ≤ 5 µs at p99). Each round times one `Andon::check` of a decision below the red
//! confidence threshold, from the call to the moment the callback sink runs, and prints the
//! percentiles; criterion's `andon/red_alert_to_callback` gives the mean of the whole decision.
//!
//! ```text
//! cargo run --release -p whyline-monitor --example alert_latency -- 200000
//! ```

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use whyline_monitor::{Andon, AndonRules, CallbackSink, DecisionFacts};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let origin = Instant::now();
    // When the callback ran, in nanoseconds since `origin`.
    let ran_at = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&ran_at);
    let rules = AndonRules {
        red_confidence: Some(0.6),
        ..AndonRules::default()
    };
    let mut andon = Andon::new(rules)?;
    andon.add_sink(CallbackSink::new(move |_| {
        seen.store(origin.elapsed().as_nanos() as u64, Ordering::Release);
    }));
    let row = [0.5f32; 8];
    let mut latencies = Vec::with_capacity(rounds);
    for sequence in 0..rounds as u64 {
        let facts = DecisionFacts {
            sequence,
            timestamp_ns: 1_700_000_000_000_000_000 + sequence,
            row: &row,
            output: 3.0,
            confidence: 0.41,
            latency_ns: 2_000,
        };
        let start = origin.elapsed().as_nanos() as u64;
        let alert = andon.check(&facts);
        let ran = ran_at.load(Ordering::Acquire);
        if alert.is_none() || ran < start {
            return Err("the red alert did not reach the callback".into());
        }
        latencies.push(ran - start);
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "condition → callback over {rounds} red alerts: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        at(0.50),
        at(0.99),
        at(0.999),
        latencies[latencies.len() - 1]
    )?;
    Ok(())
}
