//! The hash chain: each entry's chain hash commits to its index, the previous entry's chain
//! hash and its content, so removing, reordering or editing any entry breaks every link after
//! it. Two rules, one per entry-log format version ([`FormatVersion`]):
//!
//! ```text
//! version 1: chain(i) = SHA-256(i as u64 LE ‖ chain(i-1) ‖ APRT bytes of entry i)
//! version 2: chain(i) = SHA-256(i as u64 LE ‖ chain(i-1) ‖ leaf(i))
//!            leaf(i)  = SHA-256(0x00 ‖ APRT bytes of entry i)      (the Merkle leaf)
//! chain(-1) = 32 zero bytes
//! ```
//!
//! Version 2 commits to the same content (the leaf hash is SHA-256 of the bytes) without
//! hashing the record a second time: the chain costs two SHA-256 blocks per entry whatever
//! the record's size. A log keeps the rule of the version in its file header for its whole
//! life, appends included.

use crate::merkle::{Hash, sha256_72};
use sha2::{Digest, Sha256};

/// The "previous chain hash" of entry 0: 32 zero bytes.
pub const GENESIS_CHAIN_HASH: Hash = [0u8; 32];

/// The format version of an entry log (its file header), which fixes its chain rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FormatVersion {
    /// Version 1: the chain hashes the whole record ([`chain_hash_v1`]). Read, verified and
    /// appended to with that rule; no longer written for new logs.
    V1,
    /// Version 2 (written for new logs): the chain hashes the Merkle leaf ([`chain_hash`]).
    #[default]
    V2,
}

impl FormatVersion {
    /// The version new logs are written with.
    pub const CURRENT: FormatVersion = FormatVersion::V2;

    /// The version of the file header's `u32`; `None` for a version this build cannot read.
    pub fn from_u32(version: u32) -> Option<Self> {
        match version {
            1 => Some(Self::V1),
            2 => Some(Self::V2),
            _ => None,
        }
    }

    /// The `u32` in the file header.
    pub fn as_u32(self) -> u32 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }

    /// The chain hash of entry `index` after `previous`, whose record is `payload` with
    /// Merkle leaf hash `leaf` (`leaf_hash(payload)`, which both rules need anyway).
    #[inline]
    pub fn chain_hash(self, index: u64, previous: &Hash, payload: &[u8], leaf: &Hash) -> Hash {
        match self {
            Self::V1 => chain_hash_v1(index, previous, payload),
            Self::V2 => chain_hash(index, previous, leaf),
        }
    }
}

/// Version 2: `SHA-256(index as u64 LE ‖ previous ‖ leaf)`, 72 bytes, two SHA-256 blocks.
#[inline]
pub fn chain_hash(index: u64, previous: &Hash, leaf: &Hash) -> Hash {
    let mut message = [0u8; 72];
    message[..8].copy_from_slice(&index.to_le_bytes());
    message[8..40].copy_from_slice(previous);
    message[40..].copy_from_slice(leaf);
    sha256_72(&message)
}

/// Version 1: `SHA-256(index as u64 LE ‖ previous ‖ payload)`.
#[inline]
pub fn chain_hash_v1(index: u64, previous: &Hash, payload: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(index.to_le_bytes());
    hasher.update(previous);
    hasher.update(payload);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn the_v1_chain_hash_is_sha256_of_the_concatenation() {
        // Oracle: the same bytes hashed in one piece.
        let mut whole = Vec::new();
        whole.extend_from_slice(&7u64.to_le_bytes());
        whole.extend_from_slice(&[0xab; 32]);
        whole.extend_from_slice(b"APRT payload");
        let expected: Hash = Sha256::digest(&whole).into();
        assert_eq!(chain_hash_v1(7, &[0xab; 32], b"APRT payload"), expected);
        let leaf = leaf_hash(b"APRT payload");
        assert_eq!(
            FormatVersion::V1.chain_hash(7, &[0xab; 32], b"APRT payload", &leaf),
            expected
        );
    }

    #[test]
    fn the_v2_chain_hash_is_sha256_of_index_previous_and_leaf() {
        let leaf = leaf_hash(b"APRT payload");
        let mut whole = Vec::new();
        whole.extend_from_slice(&7u64.to_le_bytes());
        whole.extend_from_slice(&[0xab; 32]);
        whole.extend_from_slice(&leaf);
        let expected: Hash = Sha256::digest(&whole).into();
        assert_eq!(chain_hash(7, &[0xab; 32], &leaf), expected);
        assert_eq!(
            FormatVersion::V2.chain_hash(7, &[0xab; 32], b"ignored", &leaf),
            expected
        );
    }

    #[test]
    fn versions_round_trip_and_unknown_ones_are_refused() {
        for version in [FormatVersion::V1, FormatVersion::V2] {
            assert_eq!(FormatVersion::from_u32(version.as_u32()), Some(version));
        }
        assert_eq!(FormatVersion::from_u32(0), None);
        assert_eq!(FormatVersion::from_u32(3), None);
        assert_eq!(FormatVersion::CURRENT.as_u32(), 2);
    }
}
