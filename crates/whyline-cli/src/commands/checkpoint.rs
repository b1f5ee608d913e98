//! `whyline checkpoint LOG [--signing-key FILE]`: print the latest signed checkpoint, or with
//! a signing key, sign a new one of the whole log first.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use whyline_ledger::{Ledger, LedgerError, LedgerOptions, keys};

use crate::Outcome;

/// Arguments of `whyline checkpoint`.
#[derive(Debug, Args)]
pub(crate) struct CheckpointArgs {
    /// The ledger directory.
    log: PathBuf,
    /// Signing key file (`ledger.key` from `whyline keygen`): sign and store a new
    /// checkpoint covering every entry.
    // `--key`, its old name, still works (hidden).
    #[arg(long, alias = "key", value_name = "FILE")]
    signing_key: Option<PathBuf>,
}

pub(crate) fn run(args: &CheckpointArgs) -> anyhow::Result<Outcome> {
    let options = match &args.signing_key {
        Some(path) => {
            let signer = keys::read_signing_key(path)?;
            let origin = signer.name().to_owned();
            LedgerOptions::signed(&origin, signer)
        }
        None => LedgerOptions::without_checkpoints("whyline/ledger"),
    };
    let (mut ledger, _) = Ledger::open_existing(&args.log, options)?;
    let note_text = match &args.signing_key {
        Some(_) => ledger.checkpoint()?,
        None => ledger.latest_checkpoint().map(|latest| latest.note.clone()),
    };
    let Some(note_text) = note_text else {
        return Err(LedgerError::NoCheckpoint).with_context(|| args.log.display().to_string());
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write!(out, "{note_text}")?;
    Ok(Outcome::Clean)
}
