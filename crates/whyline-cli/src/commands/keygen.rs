//! `whyline keygen --out DIR`: a checkpoint signing key and its verifier key.
//!
//! Writes `DIR/ledger.key` (the signer key, `PRIVATE+KEY+name+id+base64`, mode 0600) and
//! `DIR/ledger.pub` (the verifier key, `name+id+base64`), in the format of the Go reference
//! implementation of C2SP signed notes. Also the helpers other ledger commands use to read
//! them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use whyline_ledger::{NoteSigner, NoteVerifier};

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
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let key_path = args.out.join("ledger.key");
    let pub_path = args.out.join("ledger.pub");
    write_secret(&key_path, &signer.to_key_string())?;
    std::fs::write(
        &pub_path,
        format!("{}\n", signer.verifier().to_key_string()),
    )
    .with_context(|| format!("writing {}", pub_path.display()))?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "{}", signer.verifier().to_key_string())?;
    note(&format!(
        "wrote {} (keep it secret) and {}",
        key_path.display(),
        pub_path.display()
    ));
    Ok(Outcome::Clean)
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    writeln!(file, "{text}").with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads a signer key file written by `whyline keygen`.
pub(crate) fn read_signer(path: &Path) -> anyhow::Result<NoteSigner> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    NoteSigner::from_key_string(text.trim()).with_context(|| format!("key file {}", path.display()))
}

/// Reads a verifier key file written by `whyline keygen`.
pub(crate) fn read_verifier(path: &Path) -> anyhow::Result<NoteVerifier> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    NoteVerifier::from_key_string(text.trim())
        .with_context(|| format!("public key file {}", path.display()))
}
