//! `whyline trace decode FILE`: APRT records to JSON lines.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use whyline_core::{AnyPath, AprtRecords, encode_json};

use crate::Outcome;
use crate::output::note;

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
            Ok((_offset, trace)) => {
                line.clear();
                encode_json(&trace, &mut line)?;
                line.push(b'\n');
                out.write_all(&line)?;
            }
            Err(error) => {
                out.flush()?;
                note(&format!("{}: {error}", args.file.display()));
                return Ok(Outcome::Problem);
            }
        }
    }
    out.flush()?;
    Ok(Outcome::Clean)
}
