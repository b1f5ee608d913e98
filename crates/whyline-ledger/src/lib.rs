//! Collectors (ring, stream, hash chain) and tamper-evident storage for decision traces.
#![forbid(unsafe_code)]

pub mod collector;
mod error;
mod merkle;
mod proof;

pub use error::{CorruptionKind, LedgerError, NoteErrorKind, ProofErrorKind, Result};
pub use merkle::{
    CompactRange, Hash, HashReader, MerkleTree, empty_root, leaf_hash, node_hash,
    root_from_leaf_hashes, subtree_hash,
};
pub use proof::{
    consistency_proof, inclusion_proof, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
};
