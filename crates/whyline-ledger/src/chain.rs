//! The hash chain: each entry's chain hash commits to its index, the previous
//! entry's chain hash and its APRT bytes, so removing, reordering or editing any entry breaks
//! every link after it.
//!
//! ```text
//! chain(0) = SHA-256(0u64 LE ‖ 32 zero bytes ‖ APRT bytes of entry 0)
//! chain(i) = SHA-256(i as u64 LE ‖ chain(i-1) ‖ APRT bytes of entry i)
//! ```

use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The "previous chain hash" of entry 0: 32 zero bytes.
pub const GENESIS_CHAIN_HASH: Hash = [0u8; 32];

/// `SHA-256(index as u64 LE ‖ previous ‖ payload)`.
#[inline]
pub fn chain_hash(index: u64, previous: &Hash, payload: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(index.to_le_bytes());
    hasher.update(previous);
    hasher.update(payload);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hash_is_sha256_of_the_concatenation() {
        // Oracle: the same bytes hashed in one piece.
        let mut whole = Vec::new();
        whole.extend_from_slice(&7u64.to_le_bytes());
        whole.extend_from_slice(&[0xab; 32]);
        whole.extend_from_slice(b"APRT payload");
        let expected: Hash = Sha256::digest(&whole).into();
        assert_eq!(chain_hash(7, &[0xab; 32], b"APRT payload"), expected);
    }
}
