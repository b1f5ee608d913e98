//! Inclusion and consistency proofs: generation over a [`HashReader`] and verification from
//! hashes alone (RFC 9162 §2.1.3 and §2.1.4).
//!
//! An inclusion proof shows that the leaf at `index` is in the tree of `size` leaves with a
//! given root; a consistency proof shows that the tree of `old_size` leaves is a prefix of the
//! tree of `new_size` leaves. Verification never trusts the proof's length: a proof with one
//! hash too many or too few is rejected as [`ProofErrorKind::WrongLength`].

use crate::error::{LedgerError, ProofErrorKind, Result};
use crate::merkle::{Hash, HashReader, node_hash, split_point, subtree_hash};

fn out_of_range(what: &'static str, index: u64, size: u64, available: u64) -> LedgerError {
    LedgerError::OutOfRange {
        what,
        index,
        size,
        available,
    }
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162
/// §2.1.3.1 `PATH(m, D[n])`), ordered from the leaf's sibling up to the root's child.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>> {
    if index >= size || size > reader.size() {
        return Err(out_of_range("leaf", index, size, reader.size()));
    }
    // Walk down from the root, collecting the sibling of each subtree that holds the leaf;
    // the proof lists them bottom-up, so reverse at the end.
    let mut proof = Vec::new();
    let (mut start, mut end) = (0u64, size);
    while end - start > 1 {
        let k = split_point(end - start);
        if index < start + k {
            proof.push(subtree_hash(reader, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_hash(reader, start, start + k)?);
            start += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size` leaves
/// (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`). Empty when `old_size` is 0 or equals `new_size`.
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>> {
    if old_size > new_size || new_size > reader.size() {
        return Err(out_of_range("size", old_size, new_size, reader.size()));
    }
    let mut proof = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(proof);
    }
    // SUBPROOF(m, D[start:end], complete), unrolled: m is relative to start.
    let (mut start, mut end, mut m) = (0u64, new_size, old_size);
    let mut complete = true;
    loop {
        let n = end - start;
        if m == n {
            if !complete {
                proof.push(subtree_hash(reader, start, end)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            proof.push(subtree_hash(reader, start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree_hash(reader, start, start + k)?);
            start += k;
            m -= k;
            complete = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or why it cannot lead anywhere.
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash> {
    let invalid = |kind| LedgerError::InvalidProof { index, size, kind };
    if index >= size {
        return Err(invalid(ProofErrorKind::OutOfRange));
    }
    let expected = inclusion_proof_length(index, size);
    if proof.len() != expected {
        return Err(invalid(ProofErrorKind::WrongLength {
            expected,
            found: proof.len(),
        }));
    }
    let (mut f, mut s) = (index, size - 1);
    let mut root = *leaf;
    for sibling in proof {
        if s == 0 {
            return Err(invalid(ProofErrorKind::WrongLength {
                expected,
                found: proof.len(),
            }));
        }
        if f & 1 == 1 || f == s {
            root = node_hash(sibling, &root);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            root = node_hash(&root, sibling);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(invalid(ProofErrorKind::WrongLength {
            expected,
            found: proof.len(),
        }));
    }
    Ok(root)
}

/// Checks that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    if &computed != root {
        return Err(LedgerError::InvalidProof {
            index,
            size,
            kind: ProofErrorKind::RootMismatch,
        });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// By convention (as transparency-dev's verifier) the empty tree is a prefix of every tree
/// with an empty proof, and equal sizes need equal roots and an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    let invalid = |kind| LedgerError::InvalidProof {
        index: old_size,
        size: new_size,
        kind,
    };
    if old_size > new_size {
        return Err(invalid(ProofErrorKind::OutOfRange));
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(invalid(ProofErrorKind::WrongLength {
                expected: 0,
                found: proof.len(),
            }));
        }
        if old_size == new_size && old_root != new_root {
            return Err(invalid(ProofErrorKind::RootMismatch));
        }
        return Ok(());
    }
    let expected = consistency_proof_length(old_size, new_size);
    if proof.len() != expected {
        return Err(invalid(ProofErrorKind::WrongLength {
            expected,
            found: proof.len(),
        }));
    }
    // When old_size is a power of two, the old root is itself the first node of the path.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(invalid(ProofErrorKind::RootMismatch)),
        }
    };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut old, mut new) = (*seed, *seed);
    for hash in rest {
        if s == 0 {
            return Err(invalid(ProofErrorKind::RootMismatch));
        }
        if f & 1 == 1 || f == s {
            old = node_hash(hash, &old);
            new = node_hash(hash, &new);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            new = node_hash(&new, hash);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 || &old != old_root || &new != new_root {
        return Err(invalid(ProofErrorKind::RootMismatch));
    }
    Ok(())
}

/// Hashes in an inclusion proof of `index` in a tree of `size` (`index < size`).
fn inclusion_proof_length(index: u64, size: u64) -> usize {
    // Inner part: bits below the highest bit where index and size-1 differ; border part:
    // the set bits of index above it.
    let last = size - 1;
    let inner = 64 - (index ^ last).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Hashes in a consistency proof from `old_size` to `new_size` (0 < old < new).
fn consistency_proof_length(old_size: u64, new_size: u64) -> usize {
    let shift = old_size.trailing_zeros();
    let inner = 64 - ((old_size - 1) ^ (new_size - 1)).leading_zeros();
    let border = ((old_size - 1) >> inner).count_ones();
    let seed = usize::from(!old_size.is_power_of_two());
    (inner - shift) as usize + border as usize + seed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MerkleTree, leaf_hash};

    #[test]
    fn proof_lengths_match_generated_proofs() {
        let tree = MerkleTree::from_leaf_hashes((0..40u64).map(|i| leaf_hash(&i.to_le_bytes())));
        for size in 1..=40u64 {
            for index in 0..size {
                let proof = inclusion_proof(&tree, index, size).unwrap();
                assert_eq!(
                    proof.len(),
                    inclusion_proof_length(index, size),
                    "{index}/{size}"
                );
            }
            for old in 1..size {
                let proof = consistency_proof(&tree, old, size).unwrap();
                assert_eq!(
                    proof.len(),
                    consistency_proof_length(old, size),
                    "{old}->{size}"
                );
            }
        }
    }
}
