//! `whyline verify LOG`: re-hash a ledger (a directory or `postgres://...?log=NAME`) and report
//! the first bad entry.
//!
//! Exit 0 when intact; exit 1 with the first bad entry, its byte offset and kind (content
//! changed, link broken, entry missing, entries reordered, duplicated, inserted, signature
//! invalid, root mismatch, checkpoint beyond log). What a crash leaves past the last whole
//! entry (an append cut short, covered by no receipt or checkpoint) is not damage: it is
//! named in a warning, exit 0 (1 with `--strict`), and `whyline recover` removes it. `--format json` prints one line
//! `{"type":"intact",...}` or `{"type":"problem",...}`. Logs of 64 MiB or more show a
//! progress line on stderr when it is a terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use whyline_ledger::{Store, VerifyOutcome, keys, verify_store_with_progress};

use crate::Outcome;
use crate::location::{LogLocation, log_parser};
use crate::output::{Format, TEXT_OR_JSON, note};

/// Logs from this size on get a progress line when stderr is a terminal.
const PROGRESS_FROM_BYTES: u64 = 64 << 20;

/// Arguments of `whyline verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The ledger: a directory, or a PostgreSQL log (`postgres://user@host:port/db?log=NAME`).
    #[arg(value_parser = log_parser())]
    log: LogLocation,
    /// Verifier key file (`ledger.pub` from `whyline keygen`): checkpoint signatures are
    /// checked with it. Without it only hashes and roots are checked.
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_parser = Format::parser(TEXT_OR_JSON), default_value = "text")]
    format: Format,
    /// Exit 1 on a warning: residue a crash left past the last whole entry (no receipt
    /// covers those bytes), or a time index that disagrees with the entry log (derived
    /// data). By default both are warnings, exit 0.
    #[arg(long)]
    strict: bool,
}

pub(crate) fn run(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let verifier = args
        .public_key
        .as_deref()
        .map(keys::read_verifier)
        .transpose()?;
    // Read-only: creates nothing, changes no byte.
    let store = args.log.open_read_only()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A progress line on stderr for long logs, only when a person is watching.
    let show_progress = std::io::stderr().is_terminal() && store.len() >= PROGRESS_FROM_BYTES;
    let mut last_percent = None;
    let mut progress = |done: u64, total: u64| {
        if !show_progress || total == 0 {
            return;
        }
        let percent = done.saturating_mul(100) / total;
        if last_percent != Some(percent) {
            last_percent = Some(percent);
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rwhyline: verifying {}: {percent:>3}%",
                args.log.path().display()
            );
            if done >= total {
                let _ = writeln!(err);
            }
        }
    };
    let outcome = verify_store_with_progress(&*store, verifier.as_ref(), &mut progress)?;
    match args.format {
        Format::Html => return Err(Format::Html.unsupported("verify")),
        Format::Json => writeln!(out, "{}", outcome.to_json())?,
        Format::Text => match &outcome {
            VerifyOutcome::Intact(report) => writeln!(
                out,
                "{}: intact: {} entries, {} checkpoints{}, root {}",
                args.log.path().display(),
                report.entries,
                report.checkpoints,
                if report.signatures_checked {
                    " (signatures checked)"
                } else {
                    ""
                },
                hex::encode(report.root)
            )?,
            VerifyOutcome::Broken(damage) => writeln!(out, "{damage}")?,
        },
    }
    if let (Format::Text, VerifyOutcome::Intact(report)) = (args.format, &outcome) {
        if let Some(record) = report.time_index_mismatch {
            writeln!(
                out,
                "warning: time index record {record} disagrees with the entry log: the index was changed (derived data: reads check it against the log; `whyline recover {}` rebuilds it)",
                args.log.path().display()
            )?;
        }
        for residue in &report.crash_residue {
            writeln!(
                out,
                "warning: crash residue: {residue}; `whyline recover {}` removes it",
                args.log.path().display()
            )?;
        }
    }
    if let (Format::Text, VerifyOutcome::Intact(report)) = (args.format, &outcome)
        && let Some(step) = report.time_order
    {
        writeln!(
            out,
            "{}: times not in order ({step}); the largest step back is {} ns, by which window proofs widen their range",
            args.log.path().display(),
            report.time_disorder_ns
        )?;
    }
    match outcome {
        VerifyOutcome::Intact(report) => {
            if !report.signatures_checked && report.checkpoints > 0 {
                note("checkpoint signatures not checked: pass --public-key");
            }
            if args.strict
                && (!report.crash_residue.is_empty() || report.time_index_mismatch.is_some())
            {
                return Ok(Outcome::Problem);
            }
            Ok(Outcome::Clean)
        }
        VerifyOutcome::Broken(_) => Ok(Outcome::Problem),
    }
}
