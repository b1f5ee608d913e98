//! Input digests: what a trace stores instead of the raw input (design invariant 7).
//!
//! [`fnv1a_features`] is the seed spec's `input_hash`: 64-bit FNV-1a over the little-endian
//! bytes of the features. It is fast and deterministic but not secret: anyone holding a
//! candidate input can recompute it, so low-entropy inputs (a few booleans, an age) can be
//! brute-forced back from the log. Deployments that care set a key and use [`InputDigester`]
//! with [`InputDigester::keyed`]: HMAC-SHA256 under the key, truncated to 64 bits, which
//! nobody without the key can recompute.

use hmac::{KeyInit, Mac};

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a of `bytes`.
///
/// ```
/// // Known answer from the FNV reference: FNV-1a 64 of "a".
/// assert_eq!(whyline_core::digest::fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
/// ```
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hash = FNV_OFFSET_BASIS;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// FNV-1a of the features' little-endian `f32` bytes, the seed spec's `input_hash`.
///
/// Equal to `fnv1a_64` over the concatenated `to_le_bytes()` of each feature; -0.0 and 0.0,
/// or two NaNs with different payloads, digest differently because their bytes differ.
pub fn fnv1a_features(features: &[f32]) -> u64 {
    let mut hash = FNV_OFFSET_BASIS;
    for value in features {
        for byte in value.to_bits().to_le_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    hash
}

/// HMAC-SHA256 of the features' little-endian bytes under `key`, truncated to the first 8
/// bytes of the tag read as a little-endian u64.
pub fn hmac_features(key: &[u8], features: &[f32]) -> u64 {
    InputDigester::keyed(key).digest(features)
}

/// Digests inputs the way a deployment chose: plain FNV-1a, or HMAC-SHA256 under a key.
///
/// ```
/// use whyline_core::digest::InputDigester;
/// let keyed = InputDigester::keyed(b"a deployment secret");
/// let plain = InputDigester::unkeyed();
/// let row = [1.0f32, 0.0, 35.0];
/// assert_ne!(keyed.digest(&row), plain.digest(&row));
/// assert_eq!(keyed.digest(&row), InputDigester::keyed(b"a deployment secret").digest(&row));
/// ```
#[derive(Clone)]
pub struct InputDigester {
    key: Option<hmac::Hmac<sha2::Sha256>>,
}

impl InputDigester {
    /// Plain FNV-1a ([`fnv1a_features`]): reproducible by anyone, brute-forceable for
    /// low-entropy inputs.
    pub fn unkeyed() -> Self {
        Self { key: None }
    }

    /// HMAC-SHA256 under `key` (any length; HMAC hashes long keys first).
    pub fn keyed(key: &[u8]) -> Self {
        // HMAC accepts keys of every length, so this cannot fail; fall back to unkeyed
        // rather than panic if a future `hmac` version ever disagreed.
        Self {
            key: hmac::Hmac::<sha2::Sha256>::new_from_slice(key).ok(),
        }
    }

    /// Whether digests are keyed.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// The digest of one row of features: of their little-endian `f32` bytes.
    pub fn digest(&self, features: &[f32]) -> u64 {
        match &self.key {
            None => fnv1a_features(features),
            Some(mac) => {
                let mut mac = mac.clone();
                for value in features {
                    mac.update(&value.to_bits().to_le_bytes());
                }
                first_eight_le(&mac.finalize().into_bytes())
            }
        }
    }

    /// The digest of raw bytes (a client id, a request body) under the same scheme.
    pub fn digest_bytes(&self, bytes: &[u8]) -> u64 {
        match &self.key {
            None => fnv1a_64(bytes),
            Some(mac) => {
                let mut mac = mac.clone();
                mac.update(bytes);
                first_eight_le(&mac.finalize().into_bytes())
            }
        }
    }
}

fn first_eight_le(tag: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    for (slot, byte) in first.iter_mut().zip(tag) {
        *slot = *byte;
    }
    u64::from_le_bytes(first)
}

impl std::fmt::Debug for InputDigester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("InputDigester")
            .field("keyed", &self.is_keyed())
            .finish()
    }
}
