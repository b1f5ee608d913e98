//! Input digests: what a trace stores instead of the raw input (design invariant 7).
//!
//! Three algorithms, named by [`DigestAlgorithm`] in the log's model record so a reader
//! knows which one made the digests (a record that names none is from before the choice
//! existed and means FNV-1a):
//!
//! - [`fnv1a_features`], the seed spec's `input_hash`: 64-bit FNV-1a over the little-endian
//!   bytes of the features, one byte (one dependent multiply) at a time.
//! - [`xxh3_features`], the default of new monitors: XXH3-64 (seed 0) over the same bytes,
//!   which reads them eight bytes at a time: 3–4× faster on a row of 8 features.
//! - [`InputDigester::keyed`]: HMAC-SHA256 under a key, truncated to 64 bits.
//!
//! The first two are not secret: anyone holding a candidate input can recompute them, so
//! low-entropy inputs (a few booleans, an age) can be brute-forced back from the log.
//! Deployments that care set a key; nobody without it can recompute an HMAC digest.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

/// Which algorithm made a log's input digests, as its model record names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    /// 64-bit FNV-1a of the features' little-endian bytes ([`fnv1a_features`]), the seed
    /// spec's; what a model record that names no algorithm means.
    #[default]
    #[serde(rename = "fnv1a-64")]
    Fnv1a64,
    /// XXH3-64 with seed 0 of the same bytes ([`xxh3_features`]).
    #[serde(rename = "xxh3-64")]
    Xxh3_64,
    /// HMAC-SHA256 of the same bytes under the deployment's digest key, the tag's first 8
    /// bytes read as a little-endian u64 ([`hmac_features`]).
    #[serde(rename = "hmac-sha256-64")]
    HmacSha256_64,
}

impl DigestAlgorithm {
    /// The name the model record uses: `fnv1a-64`, `xxh3-64` or `hmac-sha256-64`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Fnv1a64 => "fnv1a-64",
            DigestAlgorithm::Xxh3_64 => "xxh3-64",
            DigestAlgorithm::HmacSha256_64 => "hmac-sha256-64",
        }
    }

    /// Whether the algorithm needs the deployment's key.
    pub fn is_keyed(self) -> bool {
        self == DigestAlgorithm::HmacSha256_64
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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

/// XXH3-64 (seed 0) of the features' little-endian `f32` bytes: the same bytes as
/// [`fnv1a_features`], hashed eight at a time.
///
/// ```
/// // XXH3-64 of no bytes, from the xxHash reference (`xxhsum -H3` of an empty file).
/// assert_eq!(whyline_core::digest::xxh3_features(&[]), 0x2d06800538d394c2);
/// ```
pub fn xxh3_features(features: &[f32]) -> u64 {
    // On a little-endian machine the features' memory already is their little-endian bytes:
    // hash it in place (no copy, no buffer to clear; the monitor digests every decision).
    #[cfg(target_endian = "little")]
    {
        xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice(features))
    }
    #[cfg(not(target_endian = "little"))]
    {
        let mut state = xxhash_rust::xxh3::Xxh3Default::new();
        for value in features {
            state.update(&value.to_bits().to_le_bytes());
        }
        state.digest()
    }
}

/// HMAC-SHA256 of the features' little-endian bytes under `key`, truncated to the first 8
/// bytes of the tag read as a little-endian u64.
pub fn hmac_features(key: &[u8], features: &[f32]) -> u64 {
    InputDigester::keyed(key).digest(features)
}

/// Digests inputs the way a deployment chose: FNV-1a, XXH3-64, or HMAC-SHA256 under a key.
///
/// ```
/// use whyline_core::digest::{DigestAlgorithm, InputDigester};
/// let keyed = InputDigester::keyed(b"a deployment secret");
/// let fast = InputDigester::xxh3();
/// let row = [1.0f32, 0.0, 35.0];
/// assert_eq!(fast.algorithm(), DigestAlgorithm::Xxh3_64);
/// assert_ne!(keyed.digest(&row), fast.digest(&row));
/// assert_eq!(keyed.digest(&row), InputDigester::keyed(b"a deployment secret").digest(&row));
/// ```
#[derive(Clone)]
pub struct InputDigester {
    scheme: Scheme,
}

#[derive(Clone)]
enum Scheme {
    Fnv1a,
    Xxh3,
    Hmac(hmac::Hmac<sha2::Sha256>),
}

impl InputDigester {
    /// The seed spec's FNV-1a ([`fnv1a_features`]); the same as [`fnv1a`](Self::fnv1a).
    pub fn unkeyed() -> Self {
        Self::fnv1a()
    }

    /// The seed spec's FNV-1a ([`fnv1a_features`]): reproducible by anyone,
    /// brute-forceable for low-entropy inputs.
    pub fn fnv1a() -> Self {
        Self {
            scheme: Scheme::Fnv1a,
        }
    }

    /// XXH3-64 ([`xxh3_features`]): reproducible by anyone, like FNV-1a, and faster.
    pub fn xxh3() -> Self {
        Self {
            scheme: Scheme::Xxh3,
        }
    }

    /// The unkeyed digester of `algorithm`; `None` for HMAC-SHA256, which needs a key
    /// ([`keyed`](Self::keyed)).
    pub fn unkeyed_with(algorithm: DigestAlgorithm) -> Option<Self> {
        match algorithm {
            DigestAlgorithm::Fnv1a64 => Some(Self::fnv1a()),
            DigestAlgorithm::Xxh3_64 => Some(Self::xxh3()),
            DigestAlgorithm::HmacSha256_64 => None,
        }
    }

    /// HMAC-SHA256 under `key` (any length; HMAC hashes long keys first).
    pub fn keyed(key: &[u8]) -> Self {
        // HMAC accepts keys of every length, so this cannot fail; fall back to FNV-1a
        // rather than panic if a future `hmac` version ever disagreed.
        match hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
            Ok(mac) => Self {
                scheme: Scheme::Hmac(mac),
            },
            Err(_) => Self::fnv1a(),
        }
    }

    /// Whether digests are keyed.
    pub fn is_keyed(&self) -> bool {
        matches!(self.scheme, Scheme::Hmac(_))
    }

    /// The algorithm, as the model record names it.
    pub fn algorithm(&self) -> DigestAlgorithm {
        match self.scheme {
            Scheme::Fnv1a => DigestAlgorithm::Fnv1a64,
            Scheme::Xxh3 => DigestAlgorithm::Xxh3_64,
            Scheme::Hmac(_) => DigestAlgorithm::HmacSha256_64,
        }
    }

    /// The digest of one row of features: of their little-endian `f32` bytes.
    #[inline]
    pub fn digest(&self, features: &[f32]) -> u64 {
        match &self.scheme {
            Scheme::Xxh3 => xxh3_features(features),
            Scheme::Fnv1a => fnv1a_features(features),
            Scheme::Hmac(mac) => {
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
        match &self.scheme {
            Scheme::Fnv1a => fnv1a_64(bytes),
            Scheme::Xxh3 => xxhash_rust::xxh3::xxh3_64(bytes),
            Scheme::Hmac(mac) => {
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
            .field("algorithm", &self.algorithm())
            .field("keyed", &self.is_keyed())
            .finish()
    }
}
