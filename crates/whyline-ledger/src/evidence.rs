//! Proofs as an auditor receives them: an inclusion, consistency or window proof
//! ([`WindowEvidence`], in `window.rs`) against the ledger's latest checkpoint, with the
//! signed note it is checked under, in one serialisable value that [`Evidence`] reads back
//! and checks offline with only the log's public key.
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

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, NoteVerifier, verify_note};
use crate::checkpoint_file::StoredCheckpoint;
use crate::error::{LedgerError, Result};
use crate::hex_serde;
use crate::ledger::Ledger;
use crate::merkle::{Hash, leaf_hash};
use crate::proof::{consistency_proof, inclusion_proof, verify_consistency, verify_inclusion};
use crate::store::Store;
use crate::time_order::stated_time_disorder;
use crate::window::WindowEvidence;

/// Proof that the entry at `index` is in the tree of the latest checkpoint (RFC 9162
/// §2.1.3). JSON: `{"type":"inclusion","index","leaf","tree_size","root","proof","checkpoint"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "inclusion")]
pub struct InclusionEvidence {
    /// The entry's position in the ledger.
    pub index: u64,
    /// The entry's Merkle leaf hash, `SHA-256(0x00 ‖ entry bytes)`.
    #[serde(
        serialize_with = "hex_serde::hash",
        deserialize_with = "hex_serde::read_hash"
    )]
    pub leaf: Hash,
    /// The size of the checkpoint's tree.
    pub tree_size: u64,
    /// The checkpoint's root.
    #[serde(
        serialize_with = "hex_serde::hash",
        deserialize_with = "hex_serde::read_hash"
    )]
    pub root: Hash,
    /// The audit path, from the leaf's sibling up.
    #[serde(
        serialize_with = "hex_serde::hashes",
        deserialize_with = "hex_serde::read_hashes"
    )]
    pub proof: Vec<Hash>,
    /// The signed checkpoint (C2SP signed note) whose root the proof reaches.
    pub checkpoint: String,
}

/// Proof that the tree of `old_size` entries is a prefix of the latest checkpoint's tree (RFC
/// 9162 §2.1.4). JSON: `{"type":"consistency","old_size","old_root","tree_size","root",
/// "proof","checkpoint"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "consistency")]
pub struct ConsistencyEvidence {
    /// The size of the earlier tree.
    pub old_size: u64,
    /// The earlier tree's root, as this ledger computes it.
    #[serde(
        serialize_with = "hex_serde::hash",
        deserialize_with = "hex_serde::read_hash"
    )]
    pub old_root: Hash,
    /// The size of the checkpoint's tree.
    pub tree_size: u64,
    /// The checkpoint's root.
    #[serde(
        serialize_with = "hex_serde::hash",
        deserialize_with = "hex_serde::read_hash"
    )]
    pub root: Hash,
    /// The consistency proof.
    #[serde(
        serialize_with = "hex_serde::hashes",
        deserialize_with = "hex_serde::read_hashes"
    )]
    pub proof: Vec<Hash>,
    /// The signed checkpoint (C2SP signed note) the proof reaches.
    pub checkpoint: String,
}

/// Any proof `whyline prove` writes, read back by its `type` (`verify-proof`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// An inclusion proof.
    Inclusion(InclusionEvidence),
    /// A consistency proof.
    Consistency(ConsistencyEvidence),
    /// A window proof.
    Window(WindowEvidence),
}

impl Evidence {
    /// Reads a proof file's JSON, dispatching on its `type` field.
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |detail: String| LedgerError::BadProofFile { detail };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let kind = value
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| bad("no \"type\" field (inclusion, consistency or window)".into()))?
            .to_owned();
        let parsed = match kind.as_str() {
            "inclusion" => serde_json::from_value(value).map(Evidence::Inclusion),
            "consistency" => serde_json::from_value(value).map(Evidence::Consistency),
            "window" => serde_json::from_value(value).map(Evidence::Window),
            other => {
                return Err(bad(format!(
                    "unknown type {other:?} (expected inclusion, consistency or window)"
                )));
            }
        };
        parsed.map_err(|e| bad(format!("{kind} proof: {e}")))
    }

    /// Checks the proof offline with the log's public key: its checkpoint's signature and
    /// origin, then the proof itself. Returns the checkpoint it was checked against.
    pub fn verify(&self, verifier: &NoteVerifier, origin: &str) -> Result<Checkpoint> {
        match self {
            Evidence::Inclusion(proof) => proof.verify(verifier, origin),
            Evidence::Consistency(proof) => proof.verify(verifier, origin),
            Evidence::Window(proof) => proof.verify(verifier, origin),
        }
    }

    /// `inclusion`, `consistency` or `window`.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::Inclusion(_) => "inclusion",
            Evidence::Consistency(_) => "consistency",
            Evidence::Window(_) => "window",
        }
    }
}

/// Verifies a proof's signed checkpoint and that it is `origin`'s, of `tree_size` entries
/// with `root`; returns it with the time disorder it states, if any.
pub(crate) fn checked_checkpoint(
    note: &str,
    verifier: &NoteVerifier,
    origin: &str,
    tree_size: u64,
    root: &Hash,
) -> Result<(Checkpoint, Option<u64>)> {
    let body = verify_note(note, verifier)?;
    let disorder = stated_time_disorder(body);
    let checkpoint = Checkpoint::from_body(body)?;
    if checkpoint.origin != origin {
        return Err(LedgerError::OtherLog {
            expected: origin.to_owned(),
            found: checkpoint.origin,
        });
    }
    if checkpoint.size != tree_size {
        return Err(LedgerError::CheckpointMismatch { what: "tree size" });
    }
    if &checkpoint.root != root {
        return Err(LedgerError::CheckpointMismatch { what: "root" });
    }
    Ok((checkpoint, disorder))
}

impl InclusionEvidence {
    /// Checks the proof offline: the checkpoint's signature by `verifier` and its origin,
    /// then the audit path from the leaf to the checkpoint's root.
    pub fn verify(&self, verifier: &NoteVerifier, origin: &str) -> Result<Checkpoint> {
        let (checkpoint, _) = checked_checkpoint(
            &self.checkpoint,
            verifier,
            origin,
            self.tree_size,
            &self.root,
        )?;
        verify_inclusion(
            &self.leaf,
            self.index,
            self.tree_size,
            &self.proof,
            &self.root,
        )?;
        Ok(checkpoint)
    }
}

impl ConsistencyEvidence {
    /// Checks the proof offline: the checkpoint's signature by `verifier` and its origin,
    /// then that the tree of `old_size` with `old_root` is a prefix of the checkpoint's.
    pub fn verify(&self, verifier: &NoteVerifier, origin: &str) -> Result<Checkpoint> {
        let (checkpoint, _) = checked_checkpoint(
            &self.checkpoint,
            verifier,
            origin,
            self.tree_size,
            &self.root,
        )?;
        verify_consistency(
            self.old_size,
            self.tree_size,
            &self.old_root,
            &self.root,
            &self.proof,
        )?;
        Ok(checkpoint)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LedgerOptions, MemoryStore, NoteSigner};

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
