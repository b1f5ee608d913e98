//! Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).
//!
//! ```text
//! whyline.example/ledger            origin line
//! 1024                              tree size, decimal
//! 3q2+7w...=                        root hash, base64 (RFC 4648 §4)
//!                                   blank line
//! — name base64(key id ‖ signature) one line per signature (em dash U+2014)
//! ```
//!
//! The signature covers the body (the three lines, final newline included). The key id is
//! the first 4 bytes of `SHA-256(name ‖ "\n" ‖ type ‖ key)`, read big-endian: type 0x01 and
//! the Ed25519 public key (as the Go reference `golang.org/x/mod/sumdb/note`), or, for the
//! HMAC-SHA256 alternative, type 0xff followed by `"whyline-hmac-sha256"` and
//! `SHA-256(secret)` (0xff is the signed-note escape for types outside the registry).
//!
//! Keys are written as the Go reference writes them: a verifier key
//! `name+hexid+base64(type ‖ public key)` and a signer key
//! `PRIVATE+KEY+name+hexid+base64(type ‖ secret)`. An HMAC verifier key necessarily holds the
//! secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, NoteErrorKind, Result};
use crate::merkle::Hash;

const ED25519: u8 = 0x01;
const ESCAPE: u8 = 0xff;
const HMAC_LABEL: &[u8] = b"whyline-hmac-sha256";
const SIGNATURE_PREFIX: &str = "\u{2014} ";

type HmacSha256 = hmac::Hmac<Sha256>;

fn note_error(context: impl Into<String>, kind: NoteErrorKind) -> LedgerError {
    LedgerError::Note {
        context: context.into(),
        kind,
    }
}

/// What a checkpoint commits to: the log's origin, its size and its Merkle root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name (first line), e.g. `whyline.example/ledger`.
    pub origin: String,
    /// Number of entries covered.
    pub size: u64,
    /// `MTH` of those entries.
    pub root: Hash,
}

impl Checkpoint {
    /// The note body: origin, size and base64 root, one per line, ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Reads a checkpoint body (extension lines after the root are allowed and ignored).
    pub fn from_body(body: &str) -> Result<Self> {
        let bad = || note_error(body.lines().next().unwrap_or(""), NoteErrorKind::BadBody);
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(bad());
        };
        if origin.is_empty() || size.is_empty() || (size.len() > 1 && size.starts_with('0')) {
            return Err(bad());
        }
        let size: u64 = size.parse().map_err(|_| bad())?;
        let root: Hash = STANDARD
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(bad)?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// Signs the body with `signer` and returns the whole signed note.
    pub fn sign(&self, signer: &NoteSigner) -> String {
        sign_note(&self.body(), signer)
    }

    /// Verifies a signed checkpoint note with `verifier` and reads it.
    pub fn verify(note: &str, verifier: &NoteVerifier) -> Result<Self> {
        let body = verify_note(note, verifier)?;
        Checkpoint::from_body(body)
    }
}

fn key_id(name: &str, key_material: &[u8]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update(key_material);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

fn hmac_material(secret: &[u8]) -> Vec<u8> {
    let mut material = vec![ESCAPE];
    material.extend_from_slice(HMAC_LABEL);
    material.extend_from_slice(&Sha256::digest(secret));
    material
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['+', ' ', '\n']) && !name.chars().any(char::is_control)
}

/// Splits `name+hexid+base64` and checks the id; returns the name, id and decoded key bytes.
fn parse_key<'k>(text: &'k str, context: &str) -> Result<(&'k str, u32, Vec<u8>)> {
    let bad = || note_error(context, NoteErrorKind::BadKey);
    let mut parts = text.trim().splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if !valid_name(name) || id.len() != 8 {
        return Err(bad());
    }
    let mut id_bytes = [0u8; 4];
    hex::decode_to_slice(id, &mut id_bytes).map_err(|_| bad())?;
    let id = u32::from_be_bytes(id_bytes);
    let key = STANDARD.decode(key).map_err(|_| bad())?;
    Ok((name, id, key))
}

/// A key that signs checkpoint notes: Ed25519, or HMAC-SHA256 where no asymmetric key is
/// wanted.
#[derive(Clone)]
pub enum NoteSigner {
    /// An Ed25519 signing key.
    Ed25519 {
        /// The key name written on signature lines.
        name: String,
        /// The key.
        key: SigningKey,
    },
    /// An HMAC-SHA256 secret.
    Hmac {
        /// The key name written on signature lines.
        name: String,
        /// The secret.
        secret: Vec<u8>,
    },
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("NoteSigner")
            .field("name", &self.name())
            .field("key_id", &hex::encode(self.key_id().to_be_bytes()))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A new Ed25519 key from the operating system's random source.
    pub fn generate_ed25519(name: &str) -> Result<Self> {
        if !valid_name(name) {
            return Err(note_error(name, NoteErrorKind::BadKey));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| LedgerError::Random {
            what: "an Ed25519 key",
            detail: e.to_string(),
        })?;
        Ok(NoteSigner::Ed25519 {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A new HMAC-SHA256 signer with a 32-byte secret from the operating system's random
    /// source.
    pub fn generate_hmac(name: &str) -> Result<Self> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| LedgerError::Random {
            what: "an HMAC secret",
            detail: e.to_string(),
        })?;
        Self::hmac(name, &secret)
    }

    /// An HMAC-SHA256 signer (the secret should be at least 32 random bytes).
    pub fn hmac(name: &str, secret: &[u8]) -> Result<Self> {
        if !valid_name(name) || secret.is_empty() {
            return Err(note_error(name, NoteErrorKind::BadKey));
        }
        Ok(NoteSigner::Hmac {
            name: name.to_owned(),
            secret: secret.to_vec(),
        })
    }

    /// Reads a signer key `PRIVATE+KEY+name+hexid+base64(type ‖ secret)`.
    pub fn from_key_string(text: &str) -> Result<Self> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| note_error("signer key", NoteErrorKind::BadKey))?;
        let (name, id, key) = parse_key(rest, "signer key")?;
        let bad = || note_error(name, NoteErrorKind::BadKey);
        let signer = match key.split_first() {
            Some((&ED25519, seed)) => {
                let seed: [u8; 32] = seed.try_into().map_err(|_| bad())?;
                NoteSigner::Ed25519 {
                    name: name.to_owned(),
                    key: SigningKey::from_bytes(&seed),
                }
            }
            Some((&ESCAPE, rest)) => {
                let secret = rest.strip_prefix(HMAC_LABEL).ok_or_else(bad)?;
                NoteSigner::hmac(name, secret)?
            }
            _ => return Err(bad()),
        };
        if signer.key_id() != id {
            return Err(bad());
        }
        Ok(signer)
    }

    /// The signer key string (secret: store it with care).
    pub fn to_key_string(&self) -> String {
        let material = match self {
            NoteSigner::Ed25519 { key, .. } => [&[ED25519][..], &key.to_bytes()].concat(),
            NoteSigner::Hmac { secret, .. } => [&[ESCAPE][..], HMAC_LABEL, secret].concat(),
        };
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name(),
            hex::encode(self.key_id().to_be_bytes()),
            STANDARD.encode(material)
        )
    }

    /// The verifier matching this signer.
    pub fn verifier(&self) -> NoteVerifier {
        match self {
            NoteSigner::Ed25519 { name, key } => NoteVerifier::Ed25519 {
                name: name.clone(),
                key: key.verifying_key(),
            },
            NoteSigner::Hmac { name, secret } => NoteVerifier::Hmac {
                name: name.clone(),
                secret: secret.clone(),
            },
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        match self {
            NoteSigner::Ed25519 { name, .. } | NoteSigner::Hmac { name, .. } => name,
        }
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> u32 {
        self.verifier().key_id()
    }

    fn signature(&self, message: &[u8]) -> Vec<u8> {
        match self {
            NoteSigner::Ed25519 { key, .. } => key.sign(message).to_bytes().to_vec(),
            NoteSigner::Hmac { secret, .. } => hmac_tag(secret, message).to_vec(),
        }
    }
}

fn hmac_tag(secret: &[u8], message: &[u8]) -> [u8; 32] {
    match <HmacSha256 as KeyInit>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        // HMAC takes keys of any length; this arm is unreachable in practice and yields a
        // tag no verifier accepts.
        Err(_) => [0u8; 32],
    }
}

/// A key that verifies checkpoint notes.
#[derive(Clone)]
pub enum NoteVerifier {
    /// An Ed25519 public key.
    Ed25519 {
        /// The key name.
        name: String,
        /// The public key.
        key: VerifyingKey,
    },
    /// An HMAC-SHA256 secret.
    Hmac {
        /// The key name.
        name: String,
        /// The secret.
        secret: Vec<u8>,
    },
}

impl std::fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteVerifier")
            .field("name", &self.name())
            .field("key_id", &hex::encode(self.key_id().to_be_bytes()))
            .finish_non_exhaustive()
    }
}

impl NoteVerifier {
    /// Reads a verifier key `name+hexid+base64(type ‖ key)`.
    pub fn from_key_string(text: &str) -> Result<Self> {
        let (name, id, key) = parse_key(text, "verifier key")?;
        let bad = || note_error(name, NoteErrorKind::BadKey);
        let verifier = match key.split_first() {
            Some((&ED25519, public)) => {
                let public: [u8; 32] = public.try_into().map_err(|_| bad())?;
                NoteVerifier::Ed25519 {
                    name: name.to_owned(),
                    key: VerifyingKey::from_bytes(&public).map_err(|_| bad())?,
                }
            }
            Some((&ESCAPE, rest)) => NoteVerifier::Hmac {
                name: name.to_owned(),
                secret: rest.strip_prefix(HMAC_LABEL).ok_or_else(bad)?.to_vec(),
            },
            _ => return Err(bad()),
        };
        if verifier.key_id() != id {
            return Err(bad());
        }
        Ok(verifier)
    }

    /// The verifier key string. For HMAC it holds the secret.
    pub fn to_key_string(&self) -> String {
        let material = match self {
            NoteVerifier::Ed25519 { key, .. } => [&[ED25519][..], key.as_bytes()].concat(),
            NoteVerifier::Hmac { secret, .. } => [&[ESCAPE][..], HMAC_LABEL, secret].concat(),
        };
        format!(
            "{}+{}+{}",
            self.name(),
            hex::encode(self.key_id().to_be_bytes()),
            STANDARD.encode(material)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        match self {
            NoteVerifier::Ed25519 { name, .. } | NoteVerifier::Hmac { name, .. } => name,
        }
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> u32 {
        match self {
            NoteVerifier::Ed25519 { name, key } => {
                key_id(name, &[&[ED25519][..], key.as_bytes()].concat())
            }
            NoteVerifier::Hmac { name, secret } => key_id(name, &hmac_material(secret)),
        }
    }

    fn accepts(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            NoteVerifier::Ed25519 { key, .. } => Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(message, &sig).is_ok()),
            NoteVerifier::Hmac { secret, .. } => {
                match <HmacSha256 as KeyInit>::new_from_slice(secret) {
                    Ok(mut mac) => {
                        mac.update(message);
                        mac.verify_slice(signature).is_ok()
                    }
                    Err(_) => false,
                }
            }
        }
    }
}

/// Signs `text` (which must end in a newline) and returns the signed note.
pub fn sign_note(text: &str, signer: &NoteSigner) -> String {
    let mut blob = signer.key_id().to_be_bytes().to_vec();
    blob.extend_from_slice(&signer.signature(text.as_bytes()));
    format!(
        "{text}\n{SIGNATURE_PREFIX}{} {}\n",
        signer.name(),
        STANDARD.encode(blob)
    )
}

/// Checks a signed note's signature by `verifier` and returns its text (the signed part).
///
/// Fails with [`NoteErrorKind::NoSignature`] when no line carries the verifier's name and
/// key id, and [`NoteErrorKind::SignatureInvalid`] when one does but does not verify.
pub fn verify_note<'n>(note: &'n str, verifier: &NoteVerifier) -> Result<&'n str> {
    let context = || note.lines().next().unwrap_or("").to_owned();
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(note_error(context(), NoteErrorKind::BadText));
    }
    // The text ends at the last "\n\n"; signature lines follow.
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| note_error(context(), NoteErrorKind::BadSignatureLine))?;
    let (text, signatures) = note.split_at(split + 1);
    let signatures = signatures
        .strip_prefix('\n')
        .ok_or_else(|| note_error(context(), NoteErrorKind::BadSignatureLine))?;
    if !signatures.ends_with('\n') || signatures.len() < 2 {
        return Err(note_error(context(), NoteErrorKind::BadSignatureLine));
    }
    let mut found = false;
    for line in signatures.trim_end_matches('\n').split('\n') {
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or_else(|| note_error(context(), NoteErrorKind::BadSignatureLine))?;
        let (name, blob) = rest
            .split_once(' ')
            .ok_or_else(|| note_error(context(), NoteErrorKind::BadSignatureLine))?;
        let blob = STANDARD
            .decode(blob)
            .map_err(|_| note_error(context(), NoteErrorKind::BadSignatureLine))?;
        let Some((id, signature)) = blob.split_first_chunk::<4>() else {
            return Err(note_error(context(), NoteErrorKind::BadSignatureLine));
        };
        if name != verifier.name() || u32::from_be_bytes(*id) != verifier.key_id() {
            continue;
        }
        found = true;
        if verifier.accepts(text.as_bytes(), signature) {
            return Ok(text);
        }
    }
    Err(note_error(
        context(),
        if found {
            NoteErrorKind::SignatureInvalid
        } else {
            NoteErrorKind::NoSignature
        },
    ))
}
