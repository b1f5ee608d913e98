//! Appends N traces to an in-memory hash-chain collector, then verifies the log; prints the
//! wall time per entry of each phase. Run under `perf stat -e task-clock` to read CPU time
//! instead of wall time on a busy machine:
//!
//! ```text
//! cargo run --release -p whyline-ledger --example append_throughput -- 1000000
//! perf stat -e task-clock target/release/examples/append_throughput 1000000 --append-only
//! ```
//!
//! With `--pipelined` the traces go through a `PipelinedLedgerCollector` (the chain, the
//! tree, frames and checkpoints on its sequencer thread; the figure includes the final
//! flush): `perf stat`'s task-clock then counts both threads.

use std::io::Write;
use std::time::Instant;

use whyline_core::{DecisionTrace, LinearPath, TraceCollector};
use whyline_ledger::{
    Durability, LedgerCollector, LedgerOptions, NoteSigner, PipelinedLedgerCollector, verify_store,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let signer = NoteSigner::Ed25519 {
        name: "example".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]),
    };
    let verifier = signer.verifier();
    let options = LedgerOptions::signed("whyline.example/ledger", signer)
        .durability(Durability::None)
        .checkpoint_every(4096);
    let collector = LedgerCollector::in_memory(options)?;
    let mut trace = DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000,
        sequence: 0,
        input_hash: 42,
        output: 0.87,
        latency_ns: 2_000,
        path: LinearPath {
            contributions: vec![0.42, 0.28, -0.1, 0.05, 0.3, -0.2, 0.11, 0.07],
            intercept: 0.17,
            logit: 0.87,
            prediction: 0.87,
            probability: None,
        },
    };
    let flags: Vec<String> = std::env::args().skip(2).collect();
    let flag = |name: &str| flags.iter().any(|f| f == name);
    let start = Instant::now();
    let (append, ledger) = if flag("--pipelined") {
        let collector = PipelinedLedgerCollector::new(collector)?;
        for i in 0..n {
            trace.sequence = i;
            collector.record(&trace)?;
        }
        collector.flush()?;
        let append = start.elapsed();
        (append, collector.close()?.into_ledger()?)
    } else {
        for i in 0..n {
            trace.sequence = i;
            collector.append(&trace)?;
        }
        (start.elapsed(), collector.into_ledger()?)
    };
    let mut out = std::io::stdout().lock();
    if flag("--append-only") {
        writeln!(
            out,
            "append: {:.0} ns/entry",
            append.as_nanos() as f64 / n as f64
        )?;
        return Ok(());
    }
    let start = Instant::now();
    let report = verify_store(ledger.store(), Some(&verifier))?.into_result()?;
    let verify = start.elapsed();
    writeln!(
        out,
        "append: {:.0} ns/entry; verify: {:.0} ns/entry ({:.2} M entries/s), {} entries, {} checkpoints",
        append.as_nanos() as f64 / n as f64,
        verify.as_nanos() as f64 / n as f64,
        n as f64 / verify.as_secs_f64() / 1e6,
        report.entries,
        report.checkpoints
    )?;
    Ok(())
}
