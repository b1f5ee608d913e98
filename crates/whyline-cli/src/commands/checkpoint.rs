//! `whyline checkpoint LOG [--signing-key FILE]`: print the latest signed checkpoint, or with
//! a signing key, sign a new one of the whole log first.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use whyline_ledger::{Ledger, LedgerOptions, keys};

use crate::Outcome;
use crate::output::problem;

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
    let note_text = if args.signing_key.is_some() {
        ledger.checkpoint()?
    } else {
        ledger
            .checkpoints()
            .iter()
            .max_by_key(|c| c.checkpoint.size)
            .map(|c| c.note.clone())
    };
    let Some(note_text) = note_text else {
        problem(&format!(
            "{}: no checkpoint yet (pass --signing-key to sign one)",
            args.log.display()
        ));
        return Ok(Outcome::Problem);
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    write!(out, "{note_text}")?;
    Ok(Outcome::Clean)
}
