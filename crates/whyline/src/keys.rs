//! Key files: the checkpoint signing key (and its public half) and the input digest key.
//!
//! Reading and writing key files is kept behind [`load_or_create_signer`] and
//! [`load_or_create_digest_key`] so that the format lives in one place (it is the format of
//! `whyline keygen`: C2SP signed-note key strings, the secret key with mode 0600).

use std::io::Write;
use std::path::{Path, PathBuf};

use whyline_ledger::NoteSigner;
use whyline_monitor::SigningChoice;

use crate::error::{Result, WhylineError};

/// A signing key read from its file or made and written there.
#[derive(Debug)]
pub(crate) struct SigningKey {
    pub(crate) signer: NoteSigner,
    pub(crate) secret_path: PathBuf,
    pub(crate) public_path: PathBuf,
    pub(crate) created: bool,
}

/// The public key's file: the secret key's, with the extension `pub`.
pub(crate) fn public_key_path(secret: &Path) -> PathBuf {
    secret.with_extension("pub")
}

/// Reads the signer key at `secret`, or makes one of `kind` named `name` and writes it there
/// (mode 0600) with its verifier key beside it ([`public_key_path`]). For HMAC the verifier
/// key *is* the secret, so it is written with mode 0600 too.
pub(crate) fn load_or_create_signer(
    secret: &Path,
    kind: SigningChoice,
    name: &str,
) -> Result<SigningKey> {
    let public_path = public_key_path(secret);
    let expected = kind_name(kind);
    if secret.exists() {
        let text = std::fs::read_to_string(secret).map_err(WhylineError::io("reading", secret))?;
        let signer =
            NoteSigner::from_key_string(text.trim()).map_err(|e| WhylineError::BadKeyFile {
                path: secret.to_owned(),
                source: Box::new(e),
            })?;
        let found = match &signer {
            NoteSigner::Ed25519 { .. } => "Ed25519",
            NoteSigner::Hmac { .. } => "HMAC",
        };
        if found != expected {
            return Err(WhylineError::WrongKeyKind {
                path: secret.to_owned(),
                expected,
                found,
            });
        }
        return Ok(SigningKey {
            signer,
            secret_path: secret.to_owned(),
            public_path,
            created: false,
        });
    }
    let signer = match kind {
        SigningChoice::Hmac => NoteSigner::generate_hmac(name)?,
        SigningChoice::Ed25519 | SigningChoice::None => NoteSigner::generate_ed25519(name)?,
    };
    create_parent(secret)?;
    write_new(secret, &signer.to_key_string(), true)?;
    let public_is_secret = kind == SigningChoice::Hmac;
    write_new(
        &public_path,
        &signer.verifier().to_key_string(),
        public_is_secret,
    )?;
    tracing::info!(path = %secret.display(), kind = expected, "made a checkpoint signing key");
    Ok(SigningKey {
        signer,
        secret_path: secret.to_owned(),
        public_path,
        created: true,
    })
}

/// Reads the input digest key at `path` (hex), or makes 32 random bytes and writes them
/// there as hex (mode 0600). Returns the key and whether it was made.
pub(crate) fn load_or_create_digest_key(path: &Path) -> Result<(Vec<u8>, bool)> {
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(WhylineError::io("reading", path))?;
        let key = hex::decode(text.trim()).map_err(|e| WhylineError::BadKeyFile {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        if key.len() < 16 {
            return Err(WhylineError::BadKeyFile {
                path: path.to_owned(),
                source: format!("a digest key needs at least 16 bytes, found {}", key.len()).into(),
            });
        }
        return Ok((key, false));
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| WhylineError::Random {
        what: "an input digest key",
        detail: e.to_string(),
    })?;
    create_parent(path)?;
    write_new(path, &hex::encode(&key), true)?;
    tracing::info!(path = %path.display(), "made an input digest key");
    Ok((key, true))
}

fn kind_name(kind: SigningChoice) -> &'static str {
    match kind {
        SigningChoice::Hmac => "HMAC",
        SigningChoice::Ed25519 | SigningChoice::None => "Ed25519",
    }
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            std::fs::create_dir_all(parent).map_err(WhylineError::io("creating", parent))
        }
        None => Ok(()),
    }
}

/// Writes `text` and a newline to a file that must not exist yet; `secret` files get mode
/// 0600 (on Unix).
fn write_new(path: &Path, text: &str, secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(path)
        .map_err(WhylineError::io("creating", path))?;
    writeln!(file, "{text}").map_err(WhylineError::io("writing", path))?;
    file.sync_all().map_err(WhylineError::io("syncing", path))
}
