//! `whyline verify LOG`: re-hash a ledger and report the first bad entry.
//!
//! Exit 0 when intact; exit 1 with the first bad entry, its byte offset and kind (torn tail,
//! content changed, link broken, entry missing, entries reordered, duplicated, inserted,
//! signature invalid, root mismatch, checkpoint beyond log). `--format json` prints one line
//! `{"type":"intact",...}` or `{"type":"problem",...}`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use whyline_ledger::{ENTRIES_FILE, LedgerError, SegmentStore, verify_store};

use crate::Outcome;
use crate::commands::append::hex;
use crate::output::note;

/// Arguments of `whyline verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The ledger directory.
    log: PathBuf,
    /// Verifier key file (`ledger.pub` from `whyline keygen`): checkpoint signatures are
    /// checked with it. Without it only hashes and roots are checked.
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// One JSON object per line with a `type` field.
    Json,
}

pub(crate) fn run(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let verifier = args
        .public_key
        .as_deref()
        .map(super::keygen::read_verifier)
        .transpose()?;
    if !args.log.join(ENTRIES_FILE).is_file() {
        anyhow::bail!(
            "{}: not a whyline ledger (no {ENTRIES_FILE})",
            args.log.display()
        );
    }
    // Opening for reading only: SegmentStore::open does not modify an existing log.
    let store =
        SegmentStore::open(&args.log).with_context(|| format!("opening {}", args.log.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match verify_store(&store, verifier.as_ref()) {
        Ok(report) => {
            match args.format {
                Format::Text => writeln!(
                    out,
                    "{}: intact: {} entries, {} checkpoints{}, root {}",
                    args.log.display(),
                    report.entries,
                    report.checkpoints,
                    if verifier.is_some() {
                        " (signatures checked)"
                    } else {
                        ""
                    },
                    hex(&report.root)
                )?,
                Format::Json => writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "type": "intact",
                        "entries": report.entries,
                        "bytes": report.bytes,
                        "checkpoints": report.checkpoints,
                        "signatures_checked": verifier.is_some(),
                        "root": hex(&report.root),
                    })
                )?,
            }
            if verifier.is_none() && report.checkpoints > 0 {
                note("checkpoint signatures not checked: pass --public-key");
            }
            Ok(Outcome::Clean)
        }
        Err(LedgerError::Corrupt {
            path,
            offset,
            sequence,
            kind,
        }) => {
            match args.format {
                Format::Text => writeln!(
                    out,
                    "{}: entry {sequence} at byte {offset}: {kind}",
                    path.display()
                )?,
                Format::Json => writeln!(
                    out,
                    "{}",
                    serde_json::json!({
                        "type": "problem",
                        "path": path.display().to_string(),
                        "sequence": sequence,
                        "offset": offset,
                        "kind": kind.to_string(),
                    })
                )?,
            }
            Ok(Outcome::Problem)
        }
        Err(error) => Err(error.into()),
    }
}
