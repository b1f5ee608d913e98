//! `whyline trace decode FILE`: APRT records to JSON lines.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use whyline_core::{AnyPath, AprtRecords, DecisionPath, DecisionTrace, encode_json};

use crate::Outcome;
use crate::output::{Format, TEXT_OR_JSON, problem};

/// Subcommands of `whyline trace`.
#[derive(Debug, Subcommand)]
pub(crate) enum TraceCommand {
    /// Decode a file of concatenated APRT records and print each as one line of JSON.
    ///
    /// Stops at the first bad record, reports its byte offset on stderr and exits 1.
    Decode(DecodeArgs),
}

/// Arguments of `whyline trace decode`.
#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The APRT file to decode ("-" reads standard input).
    file: PathBuf,

    /// Output format: one JSON document per line, or a readable explanation per record.
    #[arg(long, value_parser = Format::parser(TEXT_OR_JSON), default_value = "json")]
    format: Format,
}

pub(crate) fn run(command: TraceCommand) -> anyhow::Result<Outcome> {
    match command {
        TraceCommand::Decode(args) => decode(&args),
    }
}

fn decode(args: &DecodeArgs) -> anyhow::Result<Outcome> {
    let bytes = if args.file.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buffer)
            .context("reading standard input")?;
        buffer
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut line = Vec::with_capacity(512);
    for record in AprtRecords::<AnyPath>::new(&bytes) {
        match record {
            Ok((offset, trace)) => match args.format {
                Format::Html => return Err(Format::Html.unsupported("trace decode")),
                Format::Json => {
                    line.clear();
                    encode_json(&trace, &mut line)?;
                    line.push(b'\n');
                    out.write_all(&line)?;
                }
                Format::Text => write_text(&mut out, offset, &trace)?,
            },
            Err(error) => {
                out.flush()?;
                problem(&format!("{}: {error}", args.file.display()));
                return Ok(Outcome::Problem);
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}

fn write_text(
    out: &mut impl Write,
    offset: u64,
    trace: &DecisionTrace<AnyPath>,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "#{} at byte {offset}: {} output={} confidence={:.2} latency={}µs time_ns={} input={:#018x}",
        trace.sequence,
        trace.path.path_type(),
        trace.output,
        trace.path.confidence(),
        trace.latency_ns / 1_000,
        trace.timestamp_ns,
        trace.input_hash,
    )?;
    for line in trace.path.explain().lines() {
        writeln!(out, "    {line}")?;
    }
    writeln!(out)?;
    Ok(())
}
