//! `whyline recover LOG [--salvage]`: cut what a crash left at the end of a ledger.
//!
//! Opens the ledger for writing, which runs recovery: a frame cut short at the end of the
//! entry log, a checkpoint record cut short, a stale time index. Prints what was cut; exit 0.
//! Damage in the middle of the log is not crash residue and is refused (exit 2) unless
//! `--salvage` is given, which keeps the entries before it and drops everything from it on,
//! with the checkpoints that covered them: run `whyline verify` first and keep a copy.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use whyline_ledger::{Ledger, LedgerError, LedgerOptions, RecoveryReport};

use crate::Outcome;
use crate::location::{LogLocation, log_parser};
use crate::output::{Format, TEXT_OR_JSON};

/// Arguments of `whyline recover`.
#[derive(Debug, Args)]
pub(crate) struct RecoverArgs {
    /// The ledger: a directory, or a PostgreSQL log (`postgres://user@host:port/db?log=NAME`;
    /// recovery takes its writer lock, so stop the writer first).
    #[arg(value_parser = log_parser())]
    log: LogLocation,
    /// Also cut damage in the middle of the log, with every entry after it (they can no
    /// longer be verified) and the checkpoints that covered them.
    #[arg(long)]
    salvage: bool,
    /// Output format.
    #[arg(long, value_parser = Format::parser(TEXT_OR_JSON), default_value = "text")]
    format: Format,
}

pub(crate) fn run(args: &RecoverArgs) -> anyhow::Result<Outcome> {
    // Recovery checks checkpoint roots, not signatures (`whyline verify --public-key` does);
    // the ledger is opened without a signer, so nothing new is signed or appended.
    let mut options = LedgerOptions::without_checkpoints("whyline/recover");
    if args.salvage {
        options = options.salvage();
    }
    // Opens the existing ledger for writing (a PostgreSQL log takes its writer lock), never
    // creating one.
    let store = args.log.open_existing_writer()?;
    let (ledger, report) = match Ledger::open(store, options) {
        Ok(opened) => opened,
        Err(error @ LedgerError::Corrupt { .. }) => {
            return Err(anyhow::Error::new(error).context(format!(
                "{} is damaged before its end, which is not what a crash leaves; \
                 `whyline verify` names the damage, `whyline recover --salvage` keeps the \
                 entries before it",
                args.log.path().display()
            )));
        }
        Err(error) => return Err(error.into()),
    };
    drop(
        ledger
            .into_store()
            .with_context(|| format!("closing {}", args.log.path().display()))?,
    );
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Json => writeln!(out, "{}", report_json(&report))?,
        Format::Text => write_text(&mut out, args.log.path(), &report)?,
        Format::Html => return Err(Format::Html.unsupported("recover")),
    }
    Ok(Outcome::Clean)
}

fn report_json(report: &RecoveryReport) -> serde_json::Value {
    serde_json::json!({
        "type": "recovered",
        "entries": report.entries,
        "torn_bytes": report.torn_bytes,
        "torn_entries": report.torn_entries,
        "torn_checkpoint_bytes": report.torn_checkpoint_bytes,
        "index_rebuilt": report.index_rebuilt,
        "salvaged": report.salvaged.map(|s| serde_json::json!({
            "offset": s.offset,
            "index": s.index,
            "kind": s.kind.to_string(),
            "bytes": s.bytes,
        })),
        "dropped_checkpoints": report.dropped_checkpoints,
    })
}

fn write_text(
    out: &mut impl Write,
    log: &std::path::Path,
    report: &RecoveryReport,
) -> std::io::Result<()> {
    let log = log.display();
    let mut changed = false;
    if report.torn_bytes > 0 {
        changed = true;
        writeln!(
            out,
            "{log}: cut {} bytes of crash residue past entry {} ({} partial entry, covered by no receipt or checkpoint)",
            report.torn_bytes,
            report.entries.saturating_sub(1),
            report.torn_entries
        )?;
    }
    if report.torn_checkpoint_bytes > 0 {
        changed = true;
        writeln!(
            out,
            "{log}: cut {} bytes of a checkpoint record cut short",
            report.torn_checkpoint_bytes
        )?;
    }
    if let Some(salvage) = report.salvaged {
        changed = true;
        writeln!(
            out,
            "{log}: salvaged: cut {} bytes from entry {} at byte {} ({}) to the end",
            salvage.bytes, salvage.index, salvage.offset, salvage.kind
        )?;
        if !report.dropped_checkpoints.is_empty() {
            let sizes: Vec<String> = report
                .dropped_checkpoints
                .iter()
                .map(u64::to_string)
                .collect();
            writeln!(
                out,
                "{log}: dropped the checkpoints of sizes {} (they covered cut entries)",
                sizes.join(", ")
            )?;
        }
    }
    if report.index_rebuilt {
        changed = true;
        writeln!(out, "{log}: rebuilt the time index from the entry log")?;
    }
    if changed {
        writeln!(out, "{log}: recovered: {} entries", report.entries)
    } else {
        writeln!(
            out,
            "{log}: nothing to recover: {} entries, ended cleanly",
            report.entries
        )
    }
}
