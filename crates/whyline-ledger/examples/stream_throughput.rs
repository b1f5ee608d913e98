//! Sustained JSON-lines (or APRT) stream to a file, records per second, for profiling the
//! writer without criterion's analysis in the profile:
//!
//!     cargo run --release -p whyline-ledger --example stream_throughput -- [json|aprt] [RECORDS] [FILE]
//!
//! The same workload as the `stream_sustained_file` bench (its 8-feature linear trace, queue
//! 8192, `Backpressure::Block`), timed from building the collector until every record is in
//! the file and the writer is done. Prints the rate and the records callers rendered.

use std::io::Write;
use std::time::Instant;

use whyline_core::{LinearPath, TraceCollector};
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};

#[path = "../benches/support/linear_trace.rs"]
mod linear_trace;
use linear_trace::{build_into, empty_trace};

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
    let mut trace = empty_trace();
    let row = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    let mut out = std::io::stdout().lock();
    for round in 0..3 {
        let file = std::fs::File::create(&path)?;
        let start = Instant::now();
        let stream = StreamCollectorBuilder::new(format)
            .capacity(8192)
            .backpressure(Backpressure::Block)
            .build::<LinearPath>(file)?;
        for sequence in 0..records {
            build_into(&mut trace, sequence, &row);
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
