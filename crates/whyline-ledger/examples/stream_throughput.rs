//! Sustained JSON-lines (or APRT) stream to a file, records per second, for profiling the
//! writer without criterion's analysis in the profile:
//!
//!     cargo run --release -p whyline-ledger --example stream_throughput -- [json|aprt] [RECORDS] [FILE]
//!
//! The same workload as the `stream_sustained_file` bench (8-feature linear traces, queue
//! 8192, `Backpressure::Block`), timed from building the collector until every record is in
//! the file and the writer is done. Prints the rate and the records callers rendered.

use std::io::Write;
use std::time::Instant;

use whyline_core::{DecisionTrace, LinearPath, TraceCollector};
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let format = match args.next().as_deref() {
        None | Some("json") => StreamFormat::JsonLines,
        Some("aprt") => StreamFormat::Aprt,
        Some(other) => return Err(format!("format {other:?}: expected json or aprt").into()),
    };
    let records: u64 = args.next().map_or(Ok(2_000_000), |n| n.parse())?;
    let path = args.next().map_or_else(
        || std::env::temp_dir().join("whyline-stream-throughput"),
        Into::into,
    );
    let mut trace = DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: LinearPath::default(),
    };
    let row = [1.0f32, 2.0, 0.5, -0.25, 0.125, 3.0, -1.0, 0.75];
    let weights = [0.5f32, -0.25, 0.125, 1.0, -1.5, 0.75, 0.05, -0.3];
    let mut out = std::io::stdout().lock();
    for round in 0..3 {
        let file = std::fs::File::create(&path)?;
        let start = Instant::now();
        let stream = StreamCollectorBuilder::new(format)
            .capacity(8192)
            .backpressure(Backpressure::Block)
            .build::<LinearPath>(file)?;
        for sequence in 0..records {
            trace.sequence = sequence;
            trace.timestamp_ns = 1_700_000_000_000_000_000 + sequence;
            trace.input_hash = sequence.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            trace.latency_ns = 1_234;
            let path = &mut trace.path;
            path.contributions.clear();
            path.contributions
                .extend(weights.iter().zip(&row).map(|(w, x)| w * x));
            path.intercept = 0.1;
            path.logit = 0.1 + path.contributions.iter().sum::<f32>();
            path.prediction = path.logit;
            path.probability = Some(0.9);
            trace.output = path.prediction;
            stream.record(&trace)?;
        }
        let stats = stream.close()?;
        let seconds = start.elapsed().as_secs_f64();
        writeln!(
            out,
            "round {round}: {:.3} M records/s ({} written, {} rendered by the caller)",
            records as f64 / seconds / 1e6,
            stats.written,
            stats.rendered_by_callers
        )?;
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
