//! RFC 6962 known-answer vectors (transparency-dev/merkle), plus proptests over random trees.

use proptest::prelude::*;
use whyline_ledger::{
    Hash, LedgerError, MerkleTree, ProofErrorKind, consistency_proof, empty_root, inclusion_proof,
    leaf_hash, verify_consistency, verify_inclusion,
};

#[derive(serde::Deserialize)]
struct Vectors {
    empty_root: String,
    leaves: Vec<String>,
    roots: Vec<String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(serde::Deserialize)]
struct Inclusion {
    leaf: u64,
    size: u64,
    proof: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Consistency {
    size1: u64,
    size2: u64,
    proof: Vec<String>,
}

/// index, size, leaf, proof, root, description.
type InclusionProbe = (u64, u64, Hash, Vec<Hash>, Hash, &'static str);
/// size1, size2, root1, root2, proof, description.
type ConsistencyProbe = (u64, u64, Hash, Hash, Vec<Hash>, &'static str);

fn vectors() -> Vectors {
    let text = include_str!("fixtures/rfc6962/vectors.json");
    serde_json::from_str(text).unwrap()
}

fn h(hex_text: &str) -> Hash {
    hex::decode(hex_text).unwrap().try_into().unwrap()
}

fn tree(v: &Vectors) -> MerkleTree {
    MerkleTree::from_leaf_hashes(v.leaves.iter().map(|l| leaf_hash(&hex::decode(l).unwrap())))
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(empty_root(), h(&vectors().empty_root));
}

#[test]
fn roots_of_the_eight_standard_leaves_match_rfc6962() {
    let v = vectors();
    let tree = tree(&v);
    for (i, root) in v.roots.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(tree.root_at(size).unwrap(), h(root), "root of size {size}");
    }
}

#[test]
fn inclusion_proofs_match_and_verify() {
    let v = vectors();
    let tree = tree(&v);
    for case in &v.inclusion {
        let index = case.leaf - 1;
        let expected: Vec<Hash> = case.proof.iter().map(|p| h(p)).collect();
        let proof = inclusion_proof(&tree, index, case.size).unwrap();
        assert_eq!(proof, expected, "proof of {index} in {}", case.size);
        let root = h(&v.roots[case.size as usize - 1]);
        let leaf = tree.leaf(index).unwrap();
        verify_inclusion(&leaf, index, case.size, &expected, &root).unwrap();
    }
}

#[test]
fn consistency_proofs_match_and_verify() {
    let v = vectors();
    let tree = tree(&v);
    for case in &v.consistency {
        let expected: Vec<Hash> = case.proof.iter().map(|p| h(p)).collect();
        let proof = consistency_proof(&tree, case.size1, case.size2).unwrap();
        assert_eq!(proof, expected, "proof {} -> {}", case.size1, case.size2);
        let r1 = h(&v.roots[case.size1 as usize - 1]);
        let r2 = h(&v.roots[case.size2 as usize - 1]);
        verify_consistency(case.size1, case.size2, &r1, &r2, &expected).unwrap();
    }
}

/// The corruptions transparency-dev's verifier tests apply to every known-good inclusion proof.
#[test]
fn corrupted_inclusion_proofs_are_rejected() {
    let v = vectors();
    let tree = tree(&v);
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for case in v.inclusion.iter().filter(|c| !c.proof.is_empty()) {
        let (i, n) = (case.leaf - 1, case.size);
        let proof: Vec<Hash> = case.proof.iter().map(|p| h(p)).collect();
        let root = h(&v.roots[n as usize - 1]);
        let leaf = tree.leaf(i).unwrap();
        let mut probes: Vec<InclusionProbe> = vec![
            (i.wrapping_sub(1), n, leaf, proof.clone(), root, "index - 1"),
            (i + 1, n, leaf, proof.clone(), root, "index + 1"),
            (i ^ 2, n, leaf, proof.clone(), root, "index ^ 2"),
            (i, n * 2, leaf, proof.clone(), root, "size * 2"),
            (i, n / 2, leaf, proof.clone(), root, "size / 2"),
            (i, n, some, proof.clone(), root, "wrong leaf"),
            (i, n, leaf, proof.clone(), empty_root(), "empty root"),
            (i, n, leaf, proof.clone(), some, "random root"),
            (
                i,
                n,
                leaf,
                [proof.clone(), vec![root]].concat(),
                root,
                "trailing root",
            ),
            (
                i,
                n,
                leaf,
                [vec![root], proof.clone()].concat(),
                root,
                "preceding root",
            ),
            (
                i,
                n,
                leaf,
                proof[..proof.len() - 1].to_vec(),
                root,
                "removed component",
            ),
        ];
        for k in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[k][0] ^= 8;
            probes.push((i, n, leaf, wrong, root, "modified component"));
        }
        for (index, size, leaf, proof, root, what) in probes {
            let result = verify_inclusion(&leaf, index, size, &proof, &root);
            assert!(
                matches!(result, Err(LedgerError::InvalidProof { .. })),
                "{what} on {i}/{n} gave {result:?}"
            );
        }
    }
}

#[test]
fn corrupted_consistency_proofs_are_rejected() {
    let v = vectors();
    for case in v.consistency.iter().filter(|c| !c.proof.is_empty()) {
        let (s1, s2) = (case.size1, case.size2);
        let proof: Vec<Hash> = case.proof.iter().map(|p| h(p)).collect();
        let r1 = h(&v.roots[s1 as usize - 1]);
        let r2 = h(&v.roots[s2 as usize - 1]);
        let mut probes: Vec<ConsistencyProbe> = vec![
            (s1 - 1, s2, r1, r2, proof.clone(), "size1 - 1"),
            (s1 + 1, s2, r1, r2, proof.clone(), "size1 + 1"),
            (s1 ^ 2, s2, r1, r2, proof.clone(), "size1 ^ 2"),
            (s1, s2 * 2, r1, r2, proof.clone(), "size2 * 2"),
            (s1, s2 / 2, r1, r2, proof.clone(), "size2 / 2"),
            (s1, s2, r2, r2, proof.clone(), "wrong root1"),
            (s1, s2, r1, r1, proof.clone(), "wrong root2"),
            (s1, s2, r2, r1, proof.clone(), "swapped roots"),
            (s1, s2, r1, r2, vec![], "empty proof"),
            (
                s1,
                s2,
                r1,
                r2,
                [proof.clone(), vec![r1]].concat(),
                "trailing root1",
            ),
            (
                s1,
                s2,
                r1,
                r2,
                [vec![r2], proof.clone()].concat(),
                "preceding root2",
            ),
            (
                s1,
                s2,
                r1,
                r2,
                [vec![proof[0]], proof.clone()].concat(),
                "preceding proof[0]",
            ),
            (
                s1,
                s2,
                r1,
                r2,
                proof[..proof.len() - 1].to_vec(),
                "truncated",
            ),
        ];
        for k in 0..proof.len() {
            let mut wrong = proof.clone();
            wrong[k][0] ^= 16;
            probes.push((s1, s2, r1, r2, wrong, "modified component"));
        }
        for (a, b, ra, rb, proof, what) in probes {
            let result = verify_consistency(a, b, &ra, &rb, &proof);
            assert!(
                matches!(result, Err(LedgerError::InvalidProof { .. })),
                "{what} on {s1}->{s2} gave {result:?}"
            );
        }
    }
}

/// Edge cases of transparency-dev's `TestVerifyConsistency`.
#[test]
fn consistency_edge_cases_follow_transparency_dev() {
    let r1 = leaf_hash(b"don't care 1");
    let r2 = leaf_hash(b"don't care 2");
    let e = empty_root();
    assert!(verify_consistency(0, 0, &r1, &r1, &[]).is_ok());
    assert!(verify_consistency(0, 1, &r1, &r2, &[]).is_ok());
    assert!(verify_consistency(1, 1, &r2, &r2, &[]).is_ok());
    for (a, b, ra, rb, proof) in [
        (0, 0, r1, r2, vec![]),
        (1, 1, r1, r2, vec![]),
        (1, 0, r1, r2, vec![]),
        (2, 1, r1, r2, vec![]),
        (1, 2, r1, r2, vec![]),
        (0, 0, e, r2, vec![]),
        (0, 0, e, e, vec![e]),
        (0, 1, e, e, vec![e]),
        (1, 1, e, e, vec![e]),
    ] {
        let result = verify_consistency(a, b, &ra, &rb, &proof);
        assert!(
            matches!(result, Err(LedgerError::InvalidProof { .. })),
            "{a}->{b} gave {result:?}"
        );
    }
}

#[test]
fn a_proof_of_the_wrong_length_names_both_lengths() {
    let v = vectors();
    let tree = tree(&v);
    let proof = inclusion_proof(&tree, 0, 8).unwrap();
    let error =
        verify_inclusion(&tree.leaf(0).unwrap(), 0, 8, &proof[..2], &tree.root()).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidProof {
                index: 0,
                size: 8,
                kind: ProofErrorKind::WrongLength {
                    expected: 3,
                    found: 2
                }
            }
        ),
        "{error:?}"
    );
}

fn random_tree(leaves: &[Vec<u8>]) -> MerkleTree {
    MerkleTree::from_leaf_hashes(leaves.iter().map(|l| leaf_hash(l)))
}

proptest! {
    #[test]
    fn every_inclusion_proof_of_a_random_tree_verifies(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..80),
        pick in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let tree = random_tree(&leaves);
        let size = tree.size();
        let index = pick.index(leaves.len()) as u64;
        let proof = inclusion_proof(&tree, index, size).unwrap();
        let leaf = leaf_hash(&leaves[index as usize]);
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &tree.root()).is_ok());
        if !proof.is_empty() {
            let mut wrong = proof.clone();
            let k = flip.index(wrong.len());
            wrong[k][k % 32] ^= 1;
            let rejected = matches!(
                verify_inclusion(&leaf, index, size, &wrong, &tree.root()),
                Err(LedgerError::InvalidProof { kind: ProofErrorKind::RootMismatch, .. })
            );
            prop_assert!(rejected);
        }
    }

    #[test]
    fn every_consistency_proof_of_a_random_tree_verifies(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..80),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let tree = random_tree(&leaves);
        let n = tree.size();
        let (x, y) = (a.index(leaves.len() + 1) as u64, b.index(leaves.len() + 1) as u64);
        let (old, new) = (x.min(y), x.max(y).max(1).min(n));
        let old = old.min(new);
        let proof = consistency_proof(&tree, old, new).unwrap();
        let (r1, r2) = (tree.root_at(old).unwrap(), tree.root_at(new).unwrap());
        prop_assert!(verify_consistency(old, new, &r1, &r2, &proof).is_ok());
        if !proof.is_empty() {
            let mut wrong = proof.clone();
            let k = flip.index(wrong.len());
            wrong[k][0] ^= 0x80;
            prop_assert!(verify_consistency(old, new, &r1, &r2, &wrong).is_err());
        }
    }
}
