//! Proofs as an auditor receives them: an inclusion or consistency proof against the ledger's
//! latest checkpoint, with the signed note it is checked under, in one serialisable value.
//!
//! The CLI prints these (`whyline prove`), and every other front end hands out the same
//! value, so an auditor gets the same fields whichever way they asked. Hashes are hex in the
//! JSON form.
//!
//! ```
//! use whyline_ledger::{Ledger, LedgerOptions, MemoryStore, NoteSigner};
//!
//! let signer = NoteSigner::generate_ed25519("example.com/log")?;
//! let (mut ledger, _) = Ledger::open(MemoryStore::new(), LedgerOptions::signed("example.com/log", signer))?;
//! for payload in [b"a".as_slice(), b"b", b"c"] {
//!     ledger.append(payload)?;
//! }
//! ledger.checkpoint()?;
//! let proof = ledger.prove_inclusion(1)?;
//! assert_eq!((proof.index, proof.tree_size, proof.proof.len()), (1, 3, 2));
//! let json = serde_json::to_value(&proof)?;
//! assert_eq!(json["type"], "inclusion");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Serialize, Serializer};

use crate::checkpoint_file::StoredCheckpoint;
use crate::error::{LedgerError, Result};
use crate::ledger::Ledger;
use crate::merkle::{Hash, leaf_hash};
use crate::proof::{consistency_proof, inclusion_proof};
use crate::store::Store;

/// Proof that the entry at `index` is in the tree of the latest checkpoint (RFC 9162
/// §2.1.3). JSON: `{"type":"inclusion","index","leaf","tree_size","root","proof","checkpoint"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "inclusion")]
pub struct InclusionEvidence {
    /// The entry's position in the ledger.
    pub index: u64,
    /// The entry's Merkle leaf hash, `SHA-256(0x00 ‖ entry bytes)`.
    #[serde(serialize_with = "hex_hash")]
    pub leaf: Hash,
    /// The size of the checkpoint's tree.
    pub tree_size: u64,
    /// The checkpoint's root.
    #[serde(serialize_with = "hex_hash")]
    pub root: Hash,
    /// The audit path, from the leaf's sibling up.
    #[serde(serialize_with = "hex_hashes")]
    pub proof: Vec<Hash>,
    /// The signed checkpoint (C2SP signed note) whose root the proof reaches.
    pub checkpoint: String,
}

/// Proof that the tree of `old_size` entries is a prefix of the latest checkpoint's tree (RFC
/// 9162 §2.1.4). JSON: `{"type":"consistency","old_size","old_root","tree_size","root",
/// "proof","checkpoint"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename = "consistency")]
pub struct ConsistencyEvidence {
    /// The size of the earlier tree.
    pub old_size: u64,
    /// The earlier tree's root, as this ledger computes it.
    #[serde(serialize_with = "hex_hash")]
    pub old_root: Hash,
    /// The size of the checkpoint's tree.
    pub tree_size: u64,
    /// The checkpoint's root.
    #[serde(serialize_with = "hex_hash")]
    pub root: Hash,
    /// The consistency proof.
    #[serde(serialize_with = "hex_hashes")]
    pub proof: Vec<Hash>,
    /// The signed checkpoint (C2SP signed note) the proof reaches.
    pub checkpoint: String,
}

impl<S: Store> Ledger<S> {
    /// The checkpoint covering the most entries, if the ledger has one.
    pub fn latest_checkpoint(&self) -> Option<&StoredCheckpoint> {
        self.checkpoints()
            .iter()
            .max_by_key(|stored| stored.checkpoint.size)
    }

    /// Proves that the entry at `index` is in the latest checkpoint's tree. Fails with
    /// [`LedgerError::NoCheckpoint`] when the ledger has none, and
    /// [`LedgerError::OutOfRange`] when the checkpoint does not cover `index`.
    pub fn prove_inclusion(&self, index: u64) -> Result<InclusionEvidence> {
        let latest = self.latest_checkpoint().ok_or(LedgerError::NoCheckpoint)?;
        let tree_size = latest.checkpoint.size;
        let proof = inclusion_proof(&self.merkle_tree()?, index, tree_size)?;
        let entry = self.read_entry(index)?;
        Ok(InclusionEvidence {
            index,
            leaf: leaf_hash(&entry.payload),
            tree_size,
            root: latest.checkpoint.root,
            proof,
            checkpoint: latest.note.clone(),
        })
    }

    /// Proves that the tree of the first `old_size` entries is a prefix of the latest
    /// checkpoint's tree. Fails with [`LedgerError::NoCheckpoint`] when the ledger has none,
    /// and [`LedgerError::OutOfRange`] when `old_size` is larger than the checkpoint.
    pub fn prove_consistency(&self, old_size: u64) -> Result<ConsistencyEvidence> {
        let latest = self.latest_checkpoint().ok_or(LedgerError::NoCheckpoint)?;
        let tree_size = latest.checkpoint.size;
        let tree = self.merkle_tree()?;
        let proof = consistency_proof(&tree, old_size, tree_size)?;
        Ok(ConsistencyEvidence {
            old_size,
            old_root: tree.root_at(old_size)?,
            tree_size,
            root: latest.checkpoint.root,
            proof,
            checkpoint: latest.note.clone(),
        })
    }
}

fn hex_hash<S: Serializer>(hash: &Hash, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(hash))
}

fn hex_hashes<S: Serializer>(
    hashes: &[Hash],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.collect_seq(hashes.iter().map(hex::encode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LedgerOptions, MemoryStore, NoteSigner, verify_inclusion};

    fn ledger(entries: u64, checkpoint: bool) -> Ledger<MemoryStore> {
        let signer = NoteSigner::generate_ed25519("test/log").unwrap();
        let options = LedgerOptions::signed("test/log", signer).checkpoint_every(0);
        let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
        for i in 0..entries {
            ledger.append(format!("entry {i}").as_bytes()).unwrap();
        }
        if checkpoint {
            ledger.checkpoint().unwrap();
        }
        ledger
    }

    #[test]
    fn an_inclusion_proof_checks_against_the_checkpoint_root() {
        let ledger = ledger(7, true);
        for index in 0..7 {
            let evidence = ledger.prove_inclusion(index).unwrap();
            assert_eq!(evidence.tree_size, 7);
            verify_inclusion(
                &evidence.leaf,
                index,
                evidence.tree_size,
                &evidence.proof,
                &evidence.root,
            )
            .unwrap();
            let json = serde_json::to_value(&evidence).unwrap();
            assert_eq!(json["type"], "inclusion");
            assert_eq!(json["root"], hex::encode(evidence.root));
            assert_eq!(json["checkpoint"], evidence.checkpoint);
        }
        let error = ledger.prove_inclusion(7).unwrap_err();
        assert!(matches!(error, LedgerError::OutOfRange { .. }), "{error:?}");
    }

    #[test]
    fn a_consistency_proof_names_the_old_root() {
        let ledger = ledger(9, true);
        let evidence = ledger.prove_consistency(4).unwrap();
        assert_eq!(
            evidence.old_root,
            ledger.merkle_tree().unwrap().root_at(4).unwrap()
        );
        crate::verify_consistency(
            evidence.old_size,
            evidence.tree_size,
            &evidence.old_root,
            &evidence.root,
            &evidence.proof,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&evidence).unwrap()["type"],
            "consistency"
        );
    }

    #[test]
    fn without_a_checkpoint_there_is_nothing_to_prove_against() {
        let ledger = ledger(3, false);
        assert!(ledger.latest_checkpoint().is_none());
        assert!(matches!(
            ledger.prove_inclusion(0),
            Err(LedgerError::NoCheckpoint)
        ));
        assert!(matches!(
            ledger.prove_consistency(1),
            Err(LedgerError::NoCheckpoint)
        ));
    }
}
