//! `whyline erase LOG --subject ID`: crypto-shredding of one subject's sealed inputs.
//!
//! Destroys the subject's key in the key store beside the ledger and appends an erasure
//! entry (who, when, the subject's keyed digest). The log still verifies; the subject's
//! inputs read as erased in replays and reports. Copies of the key store made before (backups,
//! snapshots) still hold the key: see docs/ledger-format.md.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use whyline_ledger::keys;

use crate::Outcome;

/// Arguments of `whyline erase`.
#[derive(Debug, Args)]
pub(crate) struct EraseArgs {
    /// The ledger directory.
    log: PathBuf,
    /// The subject whose inputs are erased (as given when recording, e.g. a vehicle id).
    #[arg(long)]
    subject: String,
    /// Who asks for the erasure (recorded in the erasure entry).
    #[arg(long)]
    by: Option<String>,
    /// The subject key store (default: LOG/keys/subjects.wks).
    #[arg(long)]
    key_store: Option<PathBuf>,
    /// Signing key: sign a checkpoint covering the erasure entry.
    #[arg(long)]
    signing_key: Option<PathBuf>,
}

pub(crate) fn run(args: &EraseArgs) -> anyhow::Result<Outcome> {
    let signer = args
        .signing_key
        .as_deref()
        .map(keys::read_signing_key)
        .transpose()?;
    let erasure = whyline::erase_subject(
        &args.log,
        args.key_store.as_deref(),
        &args.subject,
        args.by.as_deref(),
        signer,
    )?;
    writeln!(
        std::io::stdout().lock(),
        "erased subject {}: key destroyed in {}; erasure recorded as entry {}",
        hex::encode(erasure.record.subject_digest),
        erasure.key_store.display(),
        erasure.receipt.index
    )?;
    Ok(Outcome::Clean)
}
