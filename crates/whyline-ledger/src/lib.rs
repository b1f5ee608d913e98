//! Collectors and tamper-evident storage for decision traces: where a
//! [`TraceCollector`](whyline_core::TraceCollector)
//! hands its traces, and where forensics later proves they were not altered.
//!
//! # Overview
//!
//! - [`collector`]: the ring (last `N` traces in memory) and stream (background writer of
//!   APRT or JSON lines) collectors.
//! - [`LedgerCollector`] (in [`collector`]): the hash-chain collector, a `TraceCollector` in front of a
//!   [`Ledger`]. Each trace's APRT record becomes one entry: chained
//!   ([`chain_hash`] of the leaf, format version 2), a leaf of an RFC 6962 Merkle tree ([`leaf_hash`], [`CompactRange`]),
//!   framed with CRC32C checksums and appended to a [`Store`]. Its commits are two-buffer
//!   group commits: the fdatasync of one batch runs without the ledger lock
//!   ([`Store::begin_sync`], [`SyncTicket`]) while appends fill the next, and a decision
//!   with its alerts is one commit ([`LedgerCollector::append_with_alerts`]).
//! - [`Ledger`]: the writer. It commits per [`Durability`] (`None`, group commit `Interval`,
//!   `Sync`; under `Sync` concurrent collector records share fsyncs), signs [`Checkpoint`]s as C2SP signed notes ([`NoteSigner`]: Ed25519 or
//!   HMAC-SHA256) every N entries or T, and recovers on open ([`RecoveryReport`]).
//! - [`Store`]: the storage seam (append, sync, read, truncate, two side logs), with
//!   [`MemoryStore`] and [`SegmentStore`] (segment files rolled at
//!   [`SegmentOptions::segment_bytes`]; [`SegmentFile`] lets tests inject faults).
//! - `store_conformance` (with the `conformance` cargo feature): the checks every [`Store`]
//!   passes, run against the memory store, segment files and PostgreSQL.
//! - [`verify_store`]: re-hashes every stored byte (on all cores for large logs) and returns
//!   a [`VerifyOutcome`]: intact, or broken at the first bad entry ([`Damage`], with its
//!   [`CorruptionKind`]: a torn tail or a change in the middle). [`SegmentStore::open_existing`]
//!   opens a ledger directory without creating anything ([`LedgerError::NotALedger`]),
//!   [`SegmentStore::open_read_only`] with every file opened for reading only (a read-only
//!   file system, a write-protected evidence copy), and
//!   [`LedgerReader`] reads a stored log for investigators without ever modifying it;
//!   [`LedgerTail`] follows a directory another process is writing, entry by entry as they
//!   land, telling a frame still being written from damage.
//! - [`seal`]: sealed inputs: a decision's input row and context encrypted
//!   (XChaCha20-Poly1305) under its subject's key from a [`KeyStore`] beside the ledger;
//!   [`read_inputs`] opens them ([`RecordedInput`]: sealed, erased or unreadable); outcomes and
//!   erasures ([`seal::append_outcome`], [`seal::append_erasure`]).
//! - Decision ingest ([`parse_batch`], [`LedgerCollector::ingest`]): a body of JSON lines or
//!   APRT records from elsewhere read into canonical records, all or nothing
//!   ([`LedgerError::Ingest`] names the record and its byte offset), appended as one batch
//!   ([`LedgerCollector::append_batch`]) and receipted once durable
//!   ([`LedgerCollector::wait_durable`]); `docs/server-ingest.md`.
//! - C2SP tlog-tiles ([`parse_tile_path`], [`TilePath`], [`TileCache`]): hash tiles and
//!   entry bundles of the tree of the latest signed checkpoint; `docs/tiles.md`.
//! - [`keys`]: the signing and verifier key files (written atomically, the secret 0600).
//! - Merkle math, pure and I/O-free: [`MerkleTree`], [`HashReader`], [`inclusion_proof`],
//!   [`consistency_proof`], [`verify_inclusion`], [`verify_consistency`] (RFC 9162 §2.1).
//! - Proofs as an auditor receives them, against the latest checkpoint and with its signed
//!   note: [`InclusionEvidence`], [`ConsistencyEvidence`] ([`Ledger::prove_inclusion`],
//!   [`Ledger::prove_consistency`]) and [`WindowEvidence`] ([`Ledger::prove_window`]:
//!   every entry of a time window, complete, since each checkpoint signs a bound on how far
//!   stored times step backwards, see [`TimeOrder`]); [`Evidence`] reads any of them back
//!   and checks it offline with the log's public key; [`verify_and_prove_window`] verifies
//!   a stored log and proves a window from the same walk.
//!
//! # Example
//!
//! ```
//! use whyline_core::{DecisionTrace, LinearPath};
//! use whyline_ledger::{
//!     Checkpoint, LedgerCollector, LedgerOptions, NoteSigner, VerifyOutcome, inclusion_proof,
//!     verify_inclusion, verify_store,
//! };
//!
//! let signer = NoteSigner::generate_ed25519("example.com/log")?;
//! let verifier = signer.verifier();
//! let collector = LedgerCollector::in_memory(LedgerOptions::signed("example.com/log", signer))?;
//! let trace = DecisionTrace {
//!     timestamp_ns: 1_710_512_347_123_456_789,
//!     sequence: 0,
//!     input_hash: 7,
//!     output: 0.87,
//!     latency_ns: 2_000,
//!     path: LinearPath { contributions: vec![0.42, 0.28], intercept: 0.17, ..Default::default() },
//! };
//! // `TraceCollector::record` does the same and returns `RecordOutcome::Appended`.
//! let receipt = collector.append(&trace)?;
//! let (index, leaf_hash) = (receipt.index, receipt.leaf_hash);
//! assert_eq!(index, 0);
//!
//! // Sign a checkpoint, then prove the entry is in the tree it commits to.
//! let note = collector.with_ledger(|ledger| ledger.checkpoint())??;
//! let note = note.expect("a signed ledger returns its checkpoint");
//! let checkpoint = Checkpoint::verify(&note, &verifier)?;
//! let tree = collector.with_ledger(|ledger| ledger.merkle_tree())??;
//! let proof = inclusion_proof(&tree, index, checkpoint.size)?;
//! verify_inclusion(&leaf_hash, index, checkpoint.size, &proof, &checkpoint.root)?;
//!
//! // Verification re-hashes every stored byte and checks the signature.
//! let outcome = collector.with_ledger(|ledger| verify_store(ledger.store(), Some(&verifier)))??;
//! assert!(matches!(&outcome, VerifyOutcome::Intact(report) if report.entries == 1));
//! let report = outcome.into_result()?; // a broken log would be `LedgerError::Corrupt` here
//! assert_eq!(report.checkpoints, 1);
//! # Ok::<(), whyline_ledger::LedgerError>(())
//! ```
//!
//! # Guarantees
//!
//! - Nothing lost silently (design invariant 3): a [`Receipt`] below
//!   [`Ledger::durable_size`] is on stable storage (fsync'd); with [`Durability::Sync`] every
//!   `Ok` append is. A failed write or fsync stops the writer ([`LedgerError::WriterFailed`])
//!   instead of retrying blindly.
//! - Tamper evidence that re-hashes (invariant 4): [`verify_store`] recomputes CRCs, chain
//!   links, Merkle roots and checkpoint signatures from the stored bytes, and tells a torn
//!   tail (crash) from a change in the middle (tampering), naming the first bad entry.
//! - Canonical bytes (invariant 2): entries are the APRT records, hashed as stored.
//! - No panics on input (invariant 5): damaged files, hostile notes and bad proofs return a
//!   [`LedgerError`].
//!
//! # Format
//!
//! The entry log, checkpoints file and time index are documented byte by byte in
//! `docs/ledger-format.md` and beside the code that reads them. Merkle hashing follows
//! RFC 9162 §2.1; checkpoints follow c2sp.org/tlog-checkpoint and c2sp.org/signed-note.
#![forbid(unsafe_code)]

mod batched_range;
mod chain;
mod checkpoint;
mod checkpoint_file;
pub mod collector;
mod crc;
mod error;
mod evidence;
mod frame;
mod hex_serde;
mod ingest;
pub mod keys;
mod ledger;
mod merkle;
mod proof;
mod reader;
mod recovery;
pub mod seal;
mod segment;
mod store;
#[cfg(feature = "conformance")]
pub mod store_conformance;
mod sync;
mod tail;
mod tile_path;
mod tiles;
mod time_index;
mod time_order;
mod verify;
mod walk;
mod window;

pub use chain::{FormatVersion, GENESIS_CHAIN_HASH, chain_hash, chain_hash_v1};
pub use checkpoint::{Checkpoint, NoteSigner, NoteVerifier, sign_note, verify_note};
pub use checkpoint_file::StoredCheckpoint;
pub use collector::{LedgerCollector, PipelinedLedgerCollector};
pub use error::{
    CorruptionKind, LedgerError, NotALedgerReason, NoteErrorKind, ProofErrorKind, Result,
    WindowErrorKind,
};
pub use evidence::{ConsistencyEvidence, Evidence, InclusionEvidence};
pub use frame::{FRAME_OVERHEAD, MAX_PAYLOAD};
pub use ingest::{
    IngestBatch, IngestErrorKind, IngestFormat, Payloads, decode_json_record, parse_batch,
    parse_batch_into,
};
pub use ledger::{Durability, Ledger, LedgerOptions, Receipt, StoredEntry};
pub use merkle::{
    CompactRange, Hash, HashReader, MerkleTree, empty_root, leaf_hash, leaf_hashes, node_hash,
    root_from_leaf_hashes, subtree_hash,
};
pub use proof::{
    consistency_proof, inclusion_proof, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
};
pub use reader::{EntryRef, LedgerReader, ReadStop, TimeSpan, WindowRead};
pub use recovery::{RecoveryReport, SalvageReport};
pub use seal::{InputOpener, KeyStore, OpenedRow, RecordedInput, Sealer, open_inputs, read_inputs};
pub use segment::{
    CHECKPOINTS_FILE, ENTRIES_FILE, SegmentFile, SegmentOpener, SegmentOptions, SegmentStore,
    TIME_INDEX_FILE, is_ledger_dir, segment_file_name,
};
pub use store::{MemoryStore, Side, Store, SyncHandle, SyncTicket};
pub use tail::{LedgerTail, TailRead};
pub use tile_path::{
    MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, TileErrorKind, TileKind, TilePath, parse_tile_path,
};
pub use tiles::{TileCache, read_tile};
pub use time_index::{INDEX_BLOCK, INDEX_RECORD_LEN, IndexRecord, payload_timestamp};
pub use time_order::{BackwardStep, TIME_DISORDER_EXTENSION, TimeOrder, stated_time_disorder};
pub use verify::{
    CrashResidue, Damage, VerifyOutcome, VerifyReport, verify_store, verify_store_with_progress,
};
pub use window::{WindowBoundary, WindowEvidence, verify_and_prove_window};
