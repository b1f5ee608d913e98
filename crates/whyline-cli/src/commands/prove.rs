//! `whyline prove LOG --index N` (inclusion) or `--from SIZE` (consistency), against the
//! latest checkpoint, as one JSON object. A damaged log is reported (exit 1), not proven
//! from, and not modified.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use whyline_ledger::{Ledger, LedgerOptions, SegmentStore, VerifyOutcome, verify_store};

use crate::Outcome;
use crate::output::problem;

/// Arguments of `whyline prove`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["index", "from"])))]
pub(crate) struct ProveArgs {
    /// The ledger directory.
    log: PathBuf,
    /// Prove that the entry at this index (0-based position in the ledger) is in the latest
    /// checkpoint.
    // `--seq`, its old name, still works (hidden).
    #[arg(long, alias = "seq", value_name = "N")]
    index: Option<u64>,
    /// Prove that the tree of this size is a prefix of the latest checkpoint.
    #[arg(long)]
    from: Option<u64>,
}

pub(crate) fn run(args: &ProveArgs) -> anyhow::Result<Outcome> {
    let store = SegmentStore::open_existing(&args.log)?;
    // Never prove from a damaged log, and never repair it here (opening would cut a torn
    // tail): check it first, read-only.
    if let VerifyOutcome::Broken(damage) = verify_store(&store, None)? {
        problem(&format!("{damage}; run whyline verify for details"));
        return Ok(Outcome::Problem);
    }
    let (ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("whyline/ledger"))?;
    let at = || args.log.display().to_string();
    let json = match args.index {
        Some(index) => serde_json::to_string(&ledger.prove_inclusion(index).with_context(at)?)?,
        None => serde_json::to_string(
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
