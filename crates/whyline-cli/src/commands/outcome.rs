//! `whyline outcome LOG --index N --label L`: what became of decision N (the ground truth
//! once known, or a human override), appended as an entry linked to it.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use whyline_core::{OutcomeRecord, now_ns};
use whyline_ledger::keys;

use crate::Outcome;

/// Arguments of `whyline outcome`.
#[derive(Debug, Args)]
pub(crate) struct OutcomeArgs {
    /// The ledger directory.
    log: PathBuf,
    /// Entry index of the decision (as `whyline trace`, `prove` and the reports give it).
    #[arg(long)]
    index: u64,
    /// The outcome or ground truth (`cat`, `defaulted`).
    #[arg(long)]
    label: String,
    /// Who records it.
    #[arg(long)]
    by: Option<String>,
    /// The action a human took instead (an override).
    #[arg(long = "override")]
    override_action: Option<String>,
    /// Free text.
    #[arg(long)]
    note: Option<String>,
    /// Signing key: sign a checkpoint covering the outcome entry.
    #[arg(long)]
    signing_key: Option<PathBuf>,
}

pub(crate) fn run(args: &OutcomeArgs) -> anyhow::Result<Outcome> {
    let signer = args
        .signing_key
        .as_deref()
        .map(keys::read_signing_key)
        .transpose()?;
    let record = OutcomeRecord {
        decision_index: args.index,
        label: args.label.clone(),
        by: args.by.clone(),
        override_action: args.override_action.clone(),
        note: args.note.clone(),
        recorded_ns: now_ns(),
    };
    let receipt = whyline::record_outcome(&args.log, &record, signer)?;
    writeln!(
        std::io::stdout().lock(),
        "outcome {:?} of decision {} recorded as entry {}",
        record.label,
        record.decision_index,
        receipt.index
    )?;
    Ok(Outcome::Clean)
}
