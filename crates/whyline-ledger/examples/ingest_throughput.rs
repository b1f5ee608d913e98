//! Decision ingest at full speed, for figures on a busy machine: `CLIENTS` threads each
//! send `BATCHES` batches of 1,000 traces (the bench's shapes) through
//! `LedgerCollector::ingest` (parse + append + durable under `interval`, on a segment store
//! in a temporary directory), or only parse them (`parse`). Prints wall time and traces per
//! second; run under `perf stat -e task-clock` for the CPU time per trace, which the load of
//! other processes does not inflate:
//!
//! ```text
//! cargo build --release -p whyline-ledger --example ingest_throughput
//! perf stat -e task-clock target/release/examples/ingest_throughput json linear8 ingest 200 4
//! ```
//!
//! Arguments: `json|aprt`, `linear8|tree6`, `ingest|parse`, batches per client (200),
//! clients (4).

#[path = "../benches/support/ingest_shapes.rs"]
mod shapes;

use std::io::Write;
use std::time::{Duration, Instant};

use whyline_ledger::{
    Durability, IngestBatch, IngestFormat, LedgerCollector, LedgerOptions, SegmentStore,
    parse_batch_into,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let format = match arg(0, "json").as_str() {
        "aprt" => IngestFormat::Aprt,
        _ => IngestFormat::JsonLines,
    };
    let shape = arg(1, "linear8");
    let path = if shape == "tree6" {
        shapes::tree
    } else {
        shapes::linear
    };
    let ingest = arg(2, "ingest") == "ingest";
    let batches: u64 = arg(3, "200").parse()?;
    let clients: u64 = arg(4, "4").parse()?;
    let body = shapes::body(&shapes::traces(path), format);

    let dir = tempfile::tempdir()?;
    let store = SegmentStore::open(dir.path().join("log"))?;
    let options = LedgerOptions::without_checkpoints("whyline.example/ingest").durability(
        Durability::Interval {
            entries: 256,
            max_delay: Duration::from_millis(10),
        },
    );
    let (collector, _) = LedgerCollector::open(store, options)?;
    let start = Instant::now();
    std::thread::scope(|scope| -> Result<(), whyline_ledger::LedgerError> {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| -> Result<(), whyline_ledger::LedgerError> {
                    let mut batch = IngestBatch::new();
                    for _ in 0..batches {
                        if ingest {
                            collector.ingest(&body, format)?;
                        } else {
                            parse_batch_into(&body, format, &mut batch)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| whyline_ledger::LedgerError::Poisoned {
                    collector: "ingest example",
                })??;
        }
        Ok(())
    })?;
    let wall = start.elapsed();
    let traces = batches * clients * shapes::BATCH;
    writeln!(
        std::io::stdout().lock(),
        "{} {shape} {}: {traces} traces in {:.3} s wall: {:.0} traces/s ({} clients, body {} bytes per batch)",
        if format == IngestFormat::Aprt {
            "aprt"
        } else {
            "json"
        },
        if ingest { "ingest" } else { "parse" },
        wall.as_secs_f64(),
        traces as f64 / wall.as_secs_f64(),
        clients,
        body.len()
    )?;
    Ok(())
}
