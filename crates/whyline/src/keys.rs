//! Key files: the checkpoint signing key (and its public half) and the input digest key.
//!
//! The key-file format and its atomic, never-replacing writes live in
//! [`whyline_ledger::keys`] (the format of `whyline keygen`: C2SP signed-note key strings, the
//! secret key with mode 0600); this module decides which key a profile needs and makes it
//! when it is missing.

use std::path::{Path, PathBuf};

use whyline_ledger::NoteSigner;
use whyline_ledger::keys::{self, KeyPaths};
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

/// Reads the signer key at `secret`, or makes one of `kind` named `name` and writes it there
/// (mode 0600) with its verifier key beside it (same name, extension `pub`), through
/// [`whyline_ledger::keys`], which owns the key-file format. For HMAC the verifier key *is*
/// the secret, so the ledger writes it with mode 0600 too.
pub(crate) fn load_or_create_signer(
    secret: &Path,
    kind: SigningChoice,
    name: &str,
) -> Result<SigningKey> {
    let paths = KeyPaths::beside(secret);
    let expected = kind_name(kind);
    if secret.exists() {
        let signer = keys::read_signing_key(secret)?;
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
            secret_path: paths.signing_key,
            public_path: paths.verifier_key,
            created: false,
        });
    }
    let signer = match kind {
        SigningChoice::Hmac => NoteSigner::generate_hmac(name)?,
        SigningChoice::Ed25519 | SigningChoice::None => NoteSigner::generate_ed25519(name)?,
    };
    keys::write_keypair_at(&paths, &signer)?;
    tracing::info!(path = %secret.display(), kind = expected, "made a checkpoint signing key");
    Ok(SigningKey {
        signer,
        secret_path: paths.signing_key,
        public_path: paths.verifier_key,
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
    keys::write_secret_file(path, &hex::encode(&key))?;
    tracing::info!(path = %path.display(), "made an input digest key");
    Ok((key, true))
}

fn kind_name(kind: SigningChoice) -> &'static str {
    match kind {
        SigningChoice::Hmac => "HMAC",
        SigningChoice::Ed25519 | SigningChoice::None => "Ed25519",
    }
}
