//! `whyline append LOG`: append traces read as JSON lines on stdin to a ledger.
//!
//! Each line is one trace in the JSON codec's shape, read as decision ingest reads a line
//! (`whyline_ledger::decode_json_record`: a NaN output or an oversized record is refused
//! too); its canonical APRT record is appended. One
//! receipt line `{"index":N,"leaf":"hex"}` (N the entry's index in the ledger) is printed
//! per entry once it is durable (at once with `--durability sync`, per group commit with
//! `interval`, at the end with `none`).
//! With `--signing-key`, a signed checkpoint of the whole log is written at the end.
//!
//! A line that is not a trace stops the command with exit 2 (bad input, like every other
//! input error), after the receipts of the entries before it are printed and made durable.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use whyline::Durability;
use whyline::ledger::{
    IngestBatch, IngestErrorKind, Ledger, LedgerOptions, Receipt, SegmentStore, decode_json_record,
};

use crate::Outcome;
use crate::output::note;

/// Arguments of `whyline append`.
#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// The ledger directory (created if missing).
    log: PathBuf,
    /// When an entry is durable (and its receipt printed).
    #[arg(long, default_value = "interval", value_parser = durability_parser())]
    durability: Durability,
    /// Signing key file (`ledger.key` from `whyline keygen`): checkpoints are signed with
    /// it.
    // `--key`, its old name, still works (hidden).
    #[arg(long, alias = "key", value_name = "FILE")]
    signing_key: Option<PathBuf>,
}

/// `--durability`: the names of the one [`Durability`], `interval` being a group commit of
/// 256 entries or 10 ms.
fn durability_parser() -> impl TypedValueParser<Value = Durability> {
    PossibleValuesParser::new([
        PossibleValue::new("sync").help("fsync after every entry"),
        PossibleValue::new("interval").help("Group commit: fsync every 256 entries or 10 ms"),
        PossibleValue::new("none").help("fsync only at the end"),
    ])
    .map(|name| match name.as_str() {
        "sync" => Durability::Sync,
        "none" => Durability::None,
        // The parser admits only the three names above.
        _ => Durability::Interval {
            entries: 256,
            max_delay: Duration::from_millis(10),
        },
    })
}

pub(crate) fn run(args: &AppendArgs) -> anyhow::Result<Outcome> {
    let durability = args.durability;
    let options = match &args.signing_key {
        Some(path) => {
            let signer = whyline_ledger::keys::read_signing_key(path)?;
            let origin = signer.name().to_owned();
            LedgerOptions::signed(&origin, signer)
        }
        None => LedgerOptions::without_checkpoints("whyline/ledger"),
    }
    .durability(durability);
    let store = SegmentStore::open(&args.log)?;
    let (mut ledger, report) = Ledger::open(store, options)?;
    if report.torn_bytes > 0 {
        note(&format!(
            "{}: recovered: cut a torn tail of {} bytes ({} partial entry)",
            args.log.display(),
            report.torn_bytes,
            report.torn_entries
        ));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut pending: VecDeque<Receipt> = VecDeque::new();
    let mut record = IngestBatch::new();
    let stdin = std::io::stdin();
    for (number, line) in stdin.lock().lines().enumerate() {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        // The same reader as decision ingest (`POST /v1/decisions`): the same checks (a NaN
        // output, the entry size) and the same messages.
        record.clear();
        if let Err(error) = decode_json_record(line.as_bytes(), &mut record) {
            ledger.commit()?;
            print_durable(&mut out, &mut pending, ledger.durable_size())?;
            let at = format!("standard input, line {}", number + 1);
            return Err(match error {
                IngestErrorKind::Json { column, message } => {
                    anyhow::anyhow!("{at}, column {column}: not a JSON trace: {message}")
                }
                error => anyhow::Error::new(error).context(at),
            });
        }
        for payload in record.payloads() {
            pending.push_back(ledger.append(payload)?);
        }
        print_durable(&mut out, &mut pending, ledger.durable_size())?;
    }
    ledger.commit()?;
    ledger.checkpoint()?;
    print_durable(&mut out, &mut pending, ledger.durable_size())?;
    out.flush()?;
    Ok(Outcome::Clean)
}

fn print_durable(
    out: &mut impl Write,
    pending: &mut VecDeque<Receipt>,
    durable: u64,
) -> anyhow::Result<()> {
    let mut line = Vec::with_capacity(96);
    while let Some(receipt) = pending.front() {
        if receipt.index >= durable {
            break;
        }
        line.clear();
        receipt.write_json(&mut line);
        line.push(b'\n');
        out.write_all(&line)?;
        pending.pop_front();
    }
    out.flush()?;
    Ok(())
}
