//! `whyline prove LOG --index N` (inclusion), `--from SIZE` (consistency) or `--window
//! FROM..TO` (a complete time window), against the latest checkpoint, as one JSON object
//! with a `type` field that `whyline verify-proof` reads back. A damaged log is reported
//! (exit 1), not proven from, and not modified.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use whyline_forensics::parse_time_ns;
use whyline_ledger::{Ledger, LedgerOptions, VerifyOutcome, verify_store};

use crate::Outcome;
use crate::location::{LogLocation, log_parser};
use crate::output::problem;

/// Arguments of `whyline prove`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["index", "from", "window"])))]
pub(crate) struct ProveArgs {
    /// The ledger: a directory, or a PostgreSQL log (`postgres://user@host:port/db?log=NAME`).
    #[arg(value_parser = log_parser())]
    log: LogLocation,
    /// Prove that the entry at this index (0-based position in the ledger) is in the latest
    /// checkpoint.
    // `--seq`, its old name, still works (hidden).
    #[arg(long, alias = "seq", value_name = "N")]
    index: Option<u64>,
    /// Prove that the tree of this size is a prefix of the latest checkpoint.
    #[arg(long)]
    from: Option<u64>,
    /// Prove that an index range holds every entry stamped in this time window, both ends
    /// included: `FROM..TO`, each RFC 3339 (2026-11-23T14:32:47.123Z) or Unix nanoseconds.
    #[arg(long, value_name = "FROM..TO")]
    window: Option<String>,
}

/// Reads `FROM..TO` into Unix nanoseconds.
pub(crate) fn parse_window(text: &str) -> anyhow::Result<(u64, u64)> {
    let (from, to) = text
        .split_once("..")
        .with_context(|| format!("--window {text:?}: expected FROM..TO"))?;
    let from = parse_time_ns(from).context("--window start")?;
    let to = parse_time_ns(to).context("--window end")?;
    anyhow::ensure!(from <= to, "--window {text:?}: ends before it starts");
    Ok((from, to))
}

pub(crate) fn run(args: &ProveArgs) -> anyhow::Result<Outcome> {
    let store = args.log.open_read_only()?;
    // Never prove from a damaged log, and never repair it here (opening would cut a torn
    // tail): check it first, read-only.
    if let VerifyOutcome::Broken(damage) = verify_store(&*store, None)? {
        problem(&format!("{damage}; run whyline verify for details"));
        return Ok(Outcome::Problem);
    }
    let (ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("whyline/ledger"))?;
    let at = || args.log.path().display().to_string();
    let json = match (args.index, &args.window) {
        (Some(index), _) => {
            serde_json::to_string(&ledger.prove_inclusion(index).with_context(at)?)?
        }
        (None, Some(window)) => {
            let (from, to) = parse_window(window)?;
            serde_json::to_string(&ledger.prove_window(from, to).with_context(at)?)?
        }
        (None, None) => serde_json::to_string(
            &ledger
                .prove_consistency(args.from.unwrap_or(0))
                .with_context(at)?,
        )?,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{json}")?;
    Ok(Outcome::Clean)
}
