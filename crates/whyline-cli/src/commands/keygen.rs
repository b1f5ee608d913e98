//! `whyline keygen --out DIR`: a checkpoint signing key and its verifier key.
//!
//! Writes `DIR/ledger.key` (the signer key, `PRIVATE+KEY+name+id+base64`, mode 0600) and
//! `DIR/ledger.pub` (the verifier key, `name+id+base64`), in the format of the Go reference
//! implementation of C2SP signed notes, through `whyline_ledger::keys` (which the other
//! ledger commands read them with).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use whyline_ledger::{NoteSigner, keys};

use crate::Outcome;
use crate::output::note;

/// Arguments of `whyline keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Directory to write `ledger.key` and `ledger.pub` into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Key name, written on every signature line; also the origin of checkpoints.
    #[arg(long, default_value = "whyline/ledger")]
    name: String,
    /// Signature scheme: Ed25519, or HMAC-SHA256 (symmetric: the verifier key is the secret).
    #[arg(long, value_enum, default_value_t = KeyKind::Ed25519)]
    kind: KeyKind,
}

/// Signature schemes for checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyKind {
    /// Ed25519 (public-key verification).
    Ed25519,
    /// HMAC-SHA256 (whoever verifies holds the secret).
    Hmac,
}

pub(crate) fn run(args: &KeygenArgs) -> anyhow::Result<Outcome> {
    let signer = match args.kind {
        KeyKind::Ed25519 => NoteSigner::generate_ed25519(&args.name)?,
        KeyKind::Hmac => NoteSigner::generate_hmac(&args.name)?,
    };
    let paths = keys::write_keypair(&args.out, &signer)
        .with_context(|| format!("creating a key pair in {}", args.out.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{}", signer.verifier().to_key_string())?;
    note(&format!(
        "wrote {} (keep it secret) and {}",
        paths.signing_key.display(),
        paths.verifier_key.display()
    ));
    Ok(Outcome::Clean)
}
