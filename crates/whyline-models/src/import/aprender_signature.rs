//! The Ed25519 signature block of a signed `.apr` file (aprender's `format::save_signed`):
//! 64 signature bytes and the signer's 32-byte public key after the payload, before the CRC32
//! trailer. The signature covers header, metadata and payload.
//!
//! Verifying with the key the file carries proves only that the signed bytes were not changed
//! after signing by whoever holds that key: anyone can re-sign an edited file with their own
//! key and embed it. Verifying with a key given by the caller (`--apr-public-key`) proves the
//! holder of that key signed these bytes.

use std::path::Path;

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::{ModelError, Result};

/// Signature length.
pub(super) const SIGNATURE_SIZE: usize = 64;

/// Public key length.
pub(super) const PUBLIC_KEY_SIZE: usize = 32;

/// The whole block after the payload.
pub(super) const BLOCK_SIZE: usize = SIGNATURE_SIZE + PUBLIC_KEY_SIZE;

/// Verifies the block at `bytes[signed_end..signed_end + BLOCK_SIZE]` over
/// `bytes[..signed_end]`, with `trusted` when given, else with the key the file carries.
pub(super) fn verify(
    bytes: &[u8],
    signed_end: usize,
    trusted: Option<&[u8; PUBLIC_KEY_SIZE]>,
    file: &Path,
) -> Result<()> {
    let block = bytes
        .get(signed_end..signed_end + BLOCK_SIZE)
        .ok_or_else(|| ModelError::Truncated {
            path: file.to_path_buf(),
            format: super::aprender::FORMAT,
            what: "the signature block",
            needed: (signed_end + BLOCK_SIZE) as u64,
            found: bytes.len() as u64,
        })?;
    let (signature, embedded) = block.split_at(SIGNATURE_SIZE);
    let mut signature_bytes = [0u8; SIGNATURE_SIZE];
    signature_bytes.copy_from_slice(signature);
    let mut embedded_bytes = [0u8; PUBLIC_KEY_SIZE];
    embedded_bytes.copy_from_slice(embedded);
    let (key_bytes, which) = match trusted {
        Some(key) => (*key, format!("the given public key {}", hex(key))),
        None => (
            embedded_bytes,
            format!(
                "the public key the file carries {} (an integrity check only: it does not say \
                 who signed; pass --apr-public-key to check the signer)",
                hex(&embedded_bytes)
            ),
        ),
    };
    let invalid = |detail: String| ModelError::SignatureInvalid {
        path: file.to_path_buf(),
        format: super::aprender::FORMAT,
        key: which.clone(),
        detail,
    };
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|e| invalid(format!("not an Ed25519 public key: {e}")))?;
    let signature = Signature::from_bytes(&signature_bytes);
    let signed = bytes.get(..signed_end).unwrap_or(&[]);
    key.verify_strict(signed, &signature)
        .map_err(|e| invalid(e.to_string()))
}

/// Reads a public key file: 32 raw bytes, or 64 hexadecimal digits (surrounding whitespace
/// ignored).
pub(crate) fn read_public_key(path: &Path) -> Result<[u8; PUBLIC_KEY_SIZE]> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_owned(),
        source,
    })?;
    if let Ok(raw) = <[u8; PUBLIC_KEY_SIZE]>::try_from(bytes.as_slice()) {
        return Ok(raw);
    }
    let text = std::str::from_utf8(&bytes).unwrap_or("").trim();
    let mut key = [0u8; PUBLIC_KEY_SIZE];
    let digits = text.as_bytes();
    if digits.len() != 2 * PUBLIC_KEY_SIZE {
        return Err(ModelError::malformed(
            path,
            "public key",
            format!(
                "expected 32 raw bytes or 64 hexadecimal digits, found {} bytes",
                bytes.len()
            ),
        ));
    }
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        let byte = std::str::from_utf8(pair)
            .ok()
            .and_then(|p| u8::from_str_radix(p, 16).ok())
            .ok_or_else(|| {
                ModelError::malformed(
                    path,
                    "public key",
                    format!("characters {}-{} are not hexadecimal", 2 * i, 2 * i + 1),
                )
            })?;
        if let Some(slot) = key.get_mut(i) {
            *slot = byte;
        }
    }
    Ok(key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
