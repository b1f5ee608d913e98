//! JSON-lines stream collector to a file: records per second from the first record until every
//! record is in the file and the writer is done.

use std::fs::File;
use std::hint::black_box;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use atd_runtime::audit::BackpressureStrategy;
use atd_runtime::{AuditSink, CallEvent, JsonLinesAuditSink, Outcome};
use entrenar::monitor::inference::TraceCollector as _;
use whyline_core::{LinearPath, TraceCollector as _};
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};

use crate::Config;
use crate::runner::{self, Contender, Unit};
use crate::shape;

/// whyline's queue and atd's channel: the same capacity.
const CAPACITY: usize = 8192;

fn whyline_round(path: &Path, records: u64) -> anyhow::Result<f64> {
    let file = File::create(path)?;
    let mut trace = shape::whyline_empty();
    let start = Instant::now();
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .capacity(CAPACITY)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(file)?;
    for sequence in 0..records {
        shape::whyline_fill(&mut trace, sequence);
        black_box(stream.record(&trace)?);
    }
    let stats = stream.close()?;
    let elapsed = start.elapsed();
    if stats.written != records || stats.dropped != 0 {
        bail!(
            "whyline stream wrote {} of {records} records",
            stats.written
        );
    }
    Ok(records as f64 / elapsed.as_secs_f64())
}

fn entrenar_round(path: &Path, records: u64) -> anyhow::Result<f64> {
    let file = BufWriter::new(File::create(path)?);
    let start = Instant::now();
    let mut stream = entrenar::monitor::inference::StreamCollector::<
        entrenar::monitor::inference::LinearPath,
        _,
    >::new(file, entrenar::monitor::inference::StreamFormat::JsonLines);
    for sequence in 0..records {
        stream.record(black_box(shape::entrenar_trace(sequence)));
    }
    stream.flush()?;
    drop(stream);
    let elapsed = start.elapsed();
    Ok(records as f64 / elapsed.as_secs_f64())
}

fn atd_round(path: &Path, records: u64) -> anyhow::Result<f64> {
    let file = File::create(path)?;
    // A fixed RFC 3339 stamp: reading the clock is not the sink's work (whyline's trace
    // carries a synthetic timestamp too).
    let ts = "2026-12-06T12:00:00.000000001+00:00";
    let start = Instant::now();
    let sink =
        JsonLinesAuditSink::with_strategy(Box::new(file), CAPACITY, BackpressureStrategy::Block);
    for sequence in 0..records {
        let event = CallEvent::new(
            ts,
            sequence.to_string(),
            "model.predict",
            1,
            Outcome::Success,
            "local",
        );
        sink.on_call(black_box(&event));
    }
    let drops = sink.drops();
    // Dropping the sink closes its channel and joins its writer thread.
    drop(sink);
    let elapsed = start.elapsed();
    if drops != 0 {
        bail!("atd sink dropped {drops} events under Block");
    }
    Ok(records as f64 / elapsed.as_secs_f64())
}

fn lines_and_bytes(path: &Path) -> anyhow::Result<(u64, u64)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    Ok((lines, bytes.len() as u64))
}

/// The JSON-lines workload: `records` per round, each implementation to its own file in `dir`.
pub fn json_lines(config: &Config, dir: &Path) -> anyhow::Result<runner::Outcome> {
    let records = config.scaled(200_000);
    let files: [PathBuf; 3] = [
        dir.join("whyline.jsonl"),
        dir.join("entrenar.jsonl"),
        dir.join("atd.jsonl"),
    ];
    let mut contenders = vec![
        Contender::new(
            "whyline `StreamCollector` JSON lines (queue 8192, Block, writer thread)",
            || whyline_round(&files[0], records),
        ),
        Contender::new(
            "entrenar `StreamCollector` JsonLines into a `BufWriter<File>` (flush every 100)",
            || entrenar_round(&files[1], records),
        ),
        Contender::new(
            "atd-runtime `JsonLinesAuditSink` (channel 8192, Block, writer thread)",
            || atd_round(&files[2], records),
        ),
    ];
    let mut outcome = runner::run(
        "JSON-lines stream to a file",
        Unit::PerSecond,
        &mut contenders,
        config.rounds,
    )?;
    drop(contenders);
    outcome.notes.push(format!(
        "{records} records per round, timed from building the collector until the file holds \
         every line and the writer is done"
    ));
    for (file, who) in files.iter().zip(["whyline", "entrenar", "atd-runtime"]) {
        let (lines, bytes) = lines_and_bytes(file)?;
        if lines != records {
            bail!("{who} wrote {lines} lines, not {records}");
        }
        outcome.notes.push(format!(
            "{who}: {:.0} bytes per line",
            bytes as f64 / lines as f64
        ));
    }
    outcome.notes.push(
        "atd's `CallEvent` has no field for a decision path: its line is a tool-call record \
         (id, tool, outcome), not the trace"
            .to_string(),
    );
    Ok(outcome)
}
