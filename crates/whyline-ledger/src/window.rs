//! Complete windows: proof that the entries of a time window `[from, to]` are **all** the
//! entries stamped in it, not just genuine ones.
//!
//! The argument (`time_order.rs`): each checkpoint signs `D`, the largest step backwards of
//! the times it covers (0 for a log written in order), so every entry's time lies within `D`
//! below the log's time `M(i)`, which never decreases. Hence for an entry `b` stamped before
//! `from - D`, every earlier entry is stamped before `from`; for an entry `a` stamped after
//! `to + D`, every later one is stamped after `to`. The proof names such a `b` (the last
//! one) and such an `a` (the first one) with their bytes and inclusion proofs against one
//! signed checkpoint: every entry stamped in the window has an index strictly between
//! them, and the range `(b, a)` holds it. With `D = 0` the range is exactly the window's
//! entries; otherwise it may hold a few entries stamped within `D` of its ends. Where no
//! entry is early enough the range starts at the log's start (index 0); where none is late
//! enough within the checkpoint, it ends at the checkpoint's size: entries appended after the
//! checkpoint are not covered.
//!
//! The proof (JSON, `"type":"window"`) is checked with only itself and the log's public key
//! ([`WindowEvidence::verify`]): the checkpoint's signature, origin and stated `D`, each
//! boundary's time (read from its bytes, so it cannot be rewritten without changing its
//! leaf) against the window, its inclusion proof, and the range against the boundaries.
//!
//! ```
//! use whyline_ledger::{Ledger, LedgerOptions, MemoryStore, NoteSigner, WindowEvidence};
//! # use whyline_core::{DecisionTrace, LinearPath, to_aprt};
//! # fn decision(time: u64) -> Vec<u8> {
//! #     to_aprt(&DecisionTrace { timestamp_ns: time, sequence: time, input_hash: 0, output: 1.0,
//! #         latency_ns: 1, path: LinearPath::default() })
//! # }
//! let signer = NoteSigner::generate_ed25519("example.com/log")?;
//! let verifier = signer.verifier();
//! let (mut ledger, _) = Ledger::open(MemoryStore::new(), LedgerOptions::signed("example.com/log", signer))?;
//! for time in [10, 20, 30, 40, 50] {
//!     ledger.append(&decision(time))?; // an APRT record stamped `time` ns
//! }
//! ledger.checkpoint()?;
//! let proof: WindowEvidence = ledger.prove_window(25, 45)?;
//! assert_eq!((proof.first_index, proof.end_index), (2, 4)); // the entries at 30 and 40
//! proof.verify(&verifier, "example.com/log")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::checkpoint_file::StoredCheckpoint;
use crate::error::{LedgerError, Result, WindowErrorKind};
use crate::evidence::checked_checkpoint;
use crate::frame::{Cursor, Next};
use crate::hex_serde;
use crate::ledger::Ledger;
use crate::merkle::{Hash, HashReader, MerkleTree, leaf_hash};
use crate::proof::{inclusion_proof, verify_inclusion};
use crate::reader::LedgerReader;
use crate::store::Store;
use crate::time_index::{INDEX_BLOCK, IndexRecord, payload_timestamp};
use crate::time_order::stated_time_disorder;
use crate::verify::{VerifyOutcome, verify_walk};

/// Proof that `[first_index, end_index)` holds every entry of the log stamped in
/// `[from_ns, to_ns]`, against a signed checkpoint. JSON: `{"type":"window","from_ns",
/// "to_ns","first_index","end_index","tree_size","root","checkpoint","time_disorder_ns",
/// "before","after"}` (`docs/ledger-format.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "window")]
pub struct WindowEvidence {
    /// Start of the window, Unix nanoseconds (inclusive).
    pub from_ns: u64,
    /// End of the window, Unix nanoseconds (inclusive).
    pub to_ns: u64,
    /// Index of the first entry of the range.
    pub first_index: u64,
    /// Index just past the range's last entry (`first_index` when the window is empty).
    pub end_index: u64,
    /// The size of the checkpoint's tree.
    pub tree_size: u64,
    /// The checkpoint's root.
    #[serde(
        serialize_with = "hex_serde::hash",
        deserialize_with = "hex_serde::read_hash"
    )]
    pub root: Hash,
    /// The signed checkpoint (C2SP signed note) both inclusion proofs reach.
    pub checkpoint: String,
    /// The time disorder `D` the checkpoint states, nanoseconds (informational: the
    /// verifier reads it from the signed note).
    pub time_disorder_ns: u64,
    /// The last stamped entry before the window; `None` when the range starts at the log's
    /// start.
    pub before: Option<WindowBoundary>,
    /// The first stamped entry after the window; `None` when the range runs to the
    /// checkpoint's end (entries appended after the checkpoint are not covered).
    pub after: Option<WindowBoundary>,
}

/// One boundary entry of a window proof: the entry itself (so its time is read from the
/// bytes its leaf hashes) and its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowBoundary {
    /// The entry's index.
    pub index: u64,
    /// The entry's time (bytes 8..16 of the entry), Unix nanoseconds.
    pub timestamp_ns: u64,
    /// The entry's bytes (an APRT decision, an alert or a clock-step record), hex.
    #[serde(
        serialize_with = "hex_serde::bytes",
        deserialize_with = "hex_serde::read_bytes"
    )]
    pub entry: Vec<u8>,
    /// The audit path from the entry's leaf to the checkpoint's root.
    #[serde(
        serialize_with = "hex_serde::hashes",
        deserialize_with = "hex_serde::read_hashes"
    )]
    pub proof: Vec<Hash>,
}

impl WindowEvidence {
    /// The origin (log name) of the proof's checkpoint, read without checking its signature.
    pub fn origin(&self) -> Result<String> {
        let body_end = self.checkpoint.rfind("\n\n").map_or(0, |at| at + 1);
        let body = self.checkpoint.get(..body_end).unwrap_or_default();
        Ok(Checkpoint::from_body(body)?.origin)
    }

    /// The number of entries in the window's range.
    pub fn entries(&self) -> u64 {
        self.end_index.saturating_sub(self.first_index)
    }

    /// Checks the proof offline with the log's public key: the checkpoint's signature and
    /// `origin`; each boundary's time against the window and its inclusion in the
    /// checkpoint's tree; the range against the boundaries. Returns the checkpoint.
    pub fn verify(&self, verifier: &NoteVerifier, origin: &str) -> Result<Checkpoint> {
        let (checkpoint, disorder) = checked_checkpoint(
            &self.checkpoint,
            verifier,
            origin,
            self.tree_size,
            &self.root,
        )?;
        let disorder = disorder.ok_or(LedgerError::NoTimeBound {
            checkpoint_size: checkpoint.size,
        })?;
        let invalid = |kind| LedgerError::InvalidWindow {
            from_ns: self.from_ns,
            to_ns: self.to_ns,
            kind,
        };
        if self.from_ns > self.to_ns {
            return Err(invalid(WindowErrorKind::Inverted));
        }
        if disorder != self.time_disorder_ns {
            return Err(invalid(WindowErrorKind::DisorderMismatch {
                stated_ns: self.time_disorder_ns,
                signed_ns: disorder,
            }));
        }
        if let Some(before) = &self.before {
            let time = before.checked_time().map_err(invalid)?;
            if time.checked_add(disorder).is_none_or(|t| t >= self.from_ns) {
                return Err(invalid(WindowErrorKind::NotBefore {
                    index: before.index,
                    timestamp_ns: time,
                }));
            }
            before.verify_inclusion(self.tree_size, &self.root)?;
        }
        if let Some(after) = &self.after {
            let time = after.checked_time().map_err(invalid)?;
            if time.checked_sub(disorder).is_none_or(|t| t <= self.to_ns) {
                return Err(invalid(WindowErrorKind::NotAfter {
                    index: after.index,
                    timestamp_ns: time,
                }));
            }
            after.verify_inclusion(self.tree_size, &self.root)?;
        }
        let expected_first = self
            .before
            .as_ref()
            .map_or(0, |b| b.index.saturating_add(1));
        let expected_end = self.after.as_ref().map_or(self.tree_size, |a| a.index);
        if (self.first_index, self.end_index) != (expected_first, expected_end) {
            return Err(invalid(WindowErrorKind::RangeNotBounded {
                first: self.first_index,
                end: self.end_index,
                expected_first,
                expected_end,
            }));
        }
        Ok(checkpoint)
    }
}

impl WindowBoundary {
    fn new<R: HashReader + ?Sized>(
        tree: &R,
        entry: (u64, u64, Vec<u8>),
        size: u64,
    ) -> Result<Self> {
        let (index, timestamp_ns, entry) = entry;
        Ok(WindowBoundary {
            index,
            timestamp_ns,
            proof: inclusion_proof(tree, index, size)?,
            entry,
        })
    }

    /// The entry's own time, which the stated one must equal.
    fn checked_time(&self) -> std::result::Result<u64, WindowErrorKind> {
        let time = payload_timestamp(&self.entry)
            .ok_or(WindowErrorKind::Unstamped { index: self.index })?;
        if time != self.timestamp_ns {
            return Err(WindowErrorKind::TimeMismatch {
                index: self.index,
                stated_ns: self.timestamp_ns,
                entry_ns: time,
            });
        }
        Ok(time)
    }

    fn verify_inclusion(&self, size: u64, root: &Hash) -> Result<()> {
        verify_inclusion(&leaf_hash(&self.entry), self.index, size, &self.proof, root)
    }
}

impl<S: Store> Ledger<S> {
    /// Proves that the entries stamped in `[from_ns, to_ns]` are all in one index range,
    /// against the latest checkpoint. Reads every leaf hash to build the tree (O(size));
    /// [`Ledger::prove_window_with`] takes a tree already built.
    ///
    /// Fails with [`LedgerError::NoCheckpoint`] without a checkpoint and
    /// [`LedgerError::NoTimeBound`] when the latest checkpoint states no time disorder (one
    /// signed before window proofs existed).
    pub fn prove_window(&self, from_ns: u64, to_ns: u64) -> Result<WindowEvidence> {
        self.prove_window_with(&self.merkle_tree()?, from_ns, to_ns)
    }

    /// [`Ledger::prove_window`] with the hashes of the log's tree from `tree` (which must
    /// hold at least the latest checkpoint's leaves). The boundaries are found through the
    /// time index: one pass over its records, then at most two blocks of 1024 entries read.
    pub fn prove_window_with<R: HashReader + ?Sized>(
        &self,
        tree: &R,
        from_ns: u64,
        to_ns: u64,
    ) -> Result<WindowEvidence> {
        let latest = self.latest_checkpoint().ok_or(LedgerError::NoCheckpoint)?;
        let blocks: Vec<IndexRecord> = self.all_index_blocks().collect();
        prove(self.store(), &blocks, tree, latest, (from_ns, to_ns))
    }
}

impl<S: Store + ?Sized> LedgerReader<'_, S> {
    /// [`Ledger::prove_window`] on a stored log, without changing it: the log is verified
    /// ([`verify_and_prove_window`]) and the proof made against its largest checkpoint.
    pub fn prove_window(&self, from_ns: u64, to_ns: u64) -> Result<WindowEvidence> {
        match verify_and_prove_window(self.store(), None, from_ns, to_ns)? {
            (_, Some(proof)) => proof,
            (VerifyOutcome::Broken(damage), None) => Err(damage.into_error()),
            (VerifyOutcome::Intact(_), None) => Err(LedgerError::NoCheckpoint),
        }
    }
}

/// Verifies `store` ([`verify_store`](crate::verify_store)) and, when it is intact, proves
/// the window `[from_ns, to_ns]` from the same walk (every leaf hash kept, 32 bytes an
/// entry, and a tree of 64 bytes an entry built once): an investigation that verifies the
/// log and states its window complete reads the log once. The proof is `None` when the log
/// is broken, and an error when it cannot be made (no checkpoint, no time bound).
pub fn verify_and_prove_window<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
    from_ns: u64,
    to_ns: u64,
) -> Result<(VerifyOutcome, Option<Result<WindowEvidence>>)> {
    let (outcome, walked) = verify_walk(store, verifier, true, &mut |_, _| {})?;
    let Some((walk, checkpoints)) = walked else {
        return Ok((outcome, None));
    };
    let proof = (|| {
        let latest = checkpoints
            .iter()
            .max_by_key(|c| c.checkpoint.size)
            .ok_or(LedgerError::NoCheckpoint)?;
        let tree = MerkleTree::from_leaf_hashes(walk.leaves.unwrap_or_default());
        let blocks: Vec<IndexRecord> = walk
            .time_index
            .iter()
            .copied()
            .chain(walk.index_builder.open_block())
            .collect();
        prove(store, &blocks, &tree, latest, (from_ns, to_ns))
    })();
    Ok((outcome, Some(proof)))
}

/// The window proof over `store`, whose time-index blocks (the open one included) are
/// `blocks`, against `checkpoint`.
fn prove<S: Store + ?Sized, R: HashReader + ?Sized>(
    store: &S,
    blocks: &[IndexRecord],
    tree: &R,
    checkpoint: &StoredCheckpoint,
    (from_ns, to_ns): (u64, u64),
) -> Result<WindowEvidence> {
    let size = checkpoint.checkpoint.size;
    let disorder = checkpoint
        .note
        .rfind("\n\n")
        .and_then(|end| stated_time_disorder(checkpoint.note.get(..=end)?))
        .ok_or(LedgerError::NoTimeBound {
            checkpoint_size: size,
        })?;
    if from_ns > to_ns {
        return Err(LedgerError::InvalidWindow {
            from_ns,
            to_ns,
            kind: WindowErrorKind::Inverted,
        });
    }
    let covered = |b: &&IndexRecord| b.first_index < size && b.is_stamped();
    // The last entry stamped before `from - D` is in the last block whose smallest time is
    // before it; the first stamped after `to + D` in the first block whose largest time is
    // after it. No entry is early (late) enough when the bound falls off the clock.
    let before = match from_ns.checked_sub(disorder) {
        Some(early) => match blocks
            .iter()
            .filter(covered)
            .rfind(|b| b.min_timestamp_ns < early)
        {
            Some(block) => find_in_block(store, block, size, |t| t < early, true)?,
            None => None,
        },
        None => None,
    };
    let after = match to_ns.checked_add(disorder) {
        Some(late) => match blocks
            .iter()
            .filter(covered)
            .find(|b| b.max_timestamp_ns > late)
        {
            Some(block) => find_in_block(store, block, size, |t| t > late, false)?,
            None => None,
        },
        None => None,
    };
    let first_index = before.as_ref().map_or(0, |b| b.0 + 1);
    let end_index = after.as_ref().map_or(size, |a| a.0);
    Ok(WindowEvidence {
        from_ns,
        to_ns,
        first_index,
        end_index,
        tree_size: size,
        root: checkpoint.checkpoint.root,
        checkpoint: checkpoint.note.clone(),
        time_disorder_ns: disorder,
        before: before
            .map(|entry| WindowBoundary::new(tree, entry, size))
            .transpose()?,
        after: after
            .map(|entry| WindowBoundary::new(tree, entry, size))
            .transpose()?,
    })
}

/// The first (or, with `last`, the last) stamped entry of `block` below index `size` whose
/// time passes `keep`, as (index, time, bytes).
fn find_in_block<S: Store + ?Sized>(
    store: &S,
    block: &IndexRecord,
    size: u64,
    keep: impl Fn(u64) -> bool,
    last: bool,
) -> Result<Option<(u64, u64, Vec<u8>)>> {
    let mut cursor = Cursor::new(store)?;
    cursor.seek(block.offset);
    let mut found: Option<(u64, u64, Vec<u8>)> = None;
    for _ in 0..INDEX_BLOCK {
        let Next::Frame(frame) = cursor.next()? else {
            break;
        };
        if frame.index >= size {
            break;
        }
        let payload = cursor.payload(&frame);
        let Some(time) = payload_timestamp(payload).filter(|&t| keep(t)) else {
            continue;
        };
        match found.as_mut() {
            Some(slot) => {
                slot.0 = frame.index;
                slot.1 = time;
                slot.2.clear();
                slot.2.extend_from_slice(payload);
            }
            None => found = Some((frame.index, time, payload.to_vec())),
        }
        if !last {
            break;
        }
    }
    Ok(found)
}
