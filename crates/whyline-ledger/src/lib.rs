//! Collectors (ring, stream, hash chain) and tamper-evident storage for decision traces.
#![forbid(unsafe_code)]

mod chain;
mod chain_collector;
mod checkpoint;
pub mod collector;
mod error;
mod frame;
mod ledger;
mod merkle;
mod proof;
mod segment;
mod store;
mod time_index;
mod verify;

pub use chain::{GENESIS_CHAIN_HASH, chain_hash};
pub use chain_collector::LedgerCollector;
pub use checkpoint::{Checkpoint, NoteSigner, NoteVerifier, sign_note, verify_note};
pub use error::{CorruptionKind, LedgerError, NoteErrorKind, ProofErrorKind, Result};
pub use frame::{FRAME_OVERHEAD, MAX_PAYLOAD};
pub use ledger::{
    Durability, Ledger, LedgerOptions, Receipt, RecoveryReport, SalvageReport, StoredEntry,
};
pub use merkle::{
    CompactRange, Hash, HashReader, MerkleTree, empty_root, leaf_hash, node_hash,
    root_from_leaf_hashes, subtree_hash,
};
pub use proof::{
    consistency_proof, inclusion_proof, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
};
pub use segment::{CHECKPOINTS_FILE, ENTRIES_FILE, SegmentFile, SegmentStore, TIME_INDEX_FILE};
pub use store::{MemoryStore, Side, Store};
pub use time_index::{INDEX_BLOCK, INDEX_RECORD_LEN, IndexRecord, payload_timestamp};
pub use verify::{StoredCheckpoint, VerifyReport, verify_store};
