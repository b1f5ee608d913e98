//! Verification: re-hash every stored byte and name the first bad entry.
//!
//! One walk over the entry log serves both recovery (on open) and verification: it checks
//! each frame's checksums, that sequence numbers run 0, 1, 2, ..., that each chain hash
//! follows from the previous one and the payload, and feeds each payload's leaf hash to a
//! [`CompactRange`] so the Merkle root at every checkpoint's size can be compared. When a
//! frame is wrong the walk looks at the next frame to tell the kinds apart:
//!
//! | found at position `i` | kind |
//! |---|---|
//! | checksum fails, frame is last | [`CorruptionKind::TornTail`] |
//! | checksum fails, frames follow | [`CorruptionKind::ContentChanged`] (or `BadFrame` for a header) |
//! | sequence `i+1`…, next frame is `i` | [`CorruptionKind::EntriesReordered`] |
//! | sequence `j > i`, otherwise | [`CorruptionKind::EntryMissing`] |
//! | sequence `i-1` with the previous chain hash | [`CorruptionKind::Duplicated`] |
//! | sequence `i`, chain wrong, next frame also `i` | [`CorruptionKind::Inserted`] |
//! | sequence `i`, chain wrong, next links to the recomputed hash | [`CorruptionKind::LinkBroken`] |
//! | sequence `i`, chain wrong, otherwise | [`CorruptionKind::ContentChanged`] |
//!
//! Checkpoints are then checked in order: signature (with the verifier's key), size within
//! the log, root equal to the recomputed root at that size.

use std::collections::BTreeMap;
use std::path::Path;

use crate::chain::{GENESIS_CHAIN_HASH, chain_hash};
use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::error::{CorruptionKind, LedgerError, Result};
use crate::frame::{Cursor, Frame, Next};
use crate::merkle::{CompactRange, Hash, leaf_hash};
use crate::store::{Side, Store};
use crate::time_index::{IndexBuilder, IndexRecord, payload_timestamp};

/// Where a walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the end of the log, on a frame boundary.
    Clean,
    /// At a torn tail starting at `offset`.
    Torn { offset: u64, bytes: u64 },
    /// At a bad entry.
    Bad {
        offset: u64,
        sequence: u64,
        kind: CorruptionKind,
    },
}

/// What a walk learnt from the good prefix of the log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Walk {
    /// Entries in the good prefix.
    pub(crate) entries: u64,
    /// Chain hash of the last good entry.
    pub(crate) last_chain: Hash,
    /// The Merkle frontier of the good prefix.
    pub(crate) range: CompactRange,
    /// Byte offset just after the last good frame.
    pub(crate) end_offset: u64,
    /// Roots at the sizes asked for.
    pub(crate) roots: BTreeMap<u64, Hash>,
    /// Closed index blocks.
    pub(crate) index: Vec<IndexRecord>,
    /// The index block still open.
    pub(crate) index_builder: IndexBuilder,
    /// Leaf hashes, when asked for.
    pub(crate) leaves: Option<Vec<Hash>>,
}

/// Walks the entry log; `sizes` are tree sizes whose roots to record.
pub(crate) fn walk<S: Store + ?Sized>(
    store: &S,
    sizes: &[u64],
    keep_leaves: bool,
) -> Result<(Walk, Stop)> {
    walk_reporting(store, sizes, keep_leaves, &mut |_, _| {})
}

/// Entries between two progress reports of the sequential walk.
const PROGRESS_EVERY: u64 = 1 << 16;

/// [`walk`], calling `progress(bytes done, bytes total)` every [`PROGRESS_EVERY`] entries.
pub(crate) fn walk_reporting<S: Store + ?Sized>(
    store: &S,
    sizes: &[u64],
    keep_leaves: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Walk, Stop)> {
    let total = store.len();
    let mut cursor = Cursor::new(store)?;
    let mut state = Walk {
        last_chain: GENESIS_CHAIN_HASH,
        end_offset: cursor.position(),
        leaves: keep_leaves.then(Vec::new),
        ..Walk::default()
    };
    let mut wanted = sizes.iter().copied().peekable();
    while wanted.peek() == Some(&0) {
        state.roots.insert(0, state.range.root());
        wanted.next();
    }
    loop {
        let frame = match cursor.next()? {
            Next::End => return Ok((state, Stop::Clean)),
            Next::Torn { offset, bytes } => return Ok((state, Stop::Torn { offset, bytes })),
            Next::Damaged { offset, kind, .. } => {
                let sequence = state.entries;
                return Ok((
                    state,
                    Stop::Bad {
                        offset,
                        sequence,
                        kind,
                    },
                ));
            }
            Next::Frame(frame) => frame,
        };
        let expected = state.entries;
        if frame.sequence != expected {
            let kind = classify_sequence(&mut cursor, &frame, expected, &state.last_chain)?;
            return Ok((
                state,
                Stop::Bad {
                    offset: frame.offset,
                    sequence: expected,
                    kind,
                },
            ));
        }
        let payload = cursor.payload(&frame);
        let computed = chain_hash(expected, &state.last_chain, payload);
        if computed != frame.chain {
            let kind = classify_link(&mut cursor, expected, &computed)?;
            return Ok((
                state,
                Stop::Bad {
                    offset: frame.offset,
                    sequence: expected,
                    kind,
                },
            ));
        }
        let leaf = leaf_hash(payload);
        let timestamp = payload_timestamp(payload).unwrap_or(0);
        state.range.append(leaf);
        if let Some(leaves) = state.leaves.as_mut() {
            leaves.push(leaf);
        }
        if let Some(record) = state.index_builder.push(expected, frame.offset, timestamp) {
            state.index.push(record);
        }
        state.last_chain = frame.chain;
        state.entries += 1;
        state.end_offset = frame.offset + frame.len;
        if state.entries.is_multiple_of(PROGRESS_EVERY) {
            progress(state.end_offset, total);
        }
        while wanted.peek() == Some(&state.entries) {
            state.roots.insert(state.entries, state.range.root());
            wanted.next();
        }
        while wanted.peek().is_some_and(|&s| s < state.entries) {
            wanted.next();
        }
    }
}

/// [`walk`] for an intact log, re-hashed on all cores when it is large (see
/// `verify_parallel`); the sequential walk whenever anything is wrong, to name it.
pub(crate) fn walk_fast<S: Store + ?Sized>(
    store: &S,
    sizes: &[u64],
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Walk, Stop)> {
    match crate::verify_parallel::rehash(store, sizes, progress) {
        Some(fast) => Ok((
            Walk {
                entries: fast.entries,
                last_chain: fast.last_chain,
                range: fast.range,
                end_offset: fast.end_offset,
                roots: fast.roots,
                index: fast.index,
                index_builder: fast.index_builder,
                leaves: None,
            },
            Stop::Clean,
        )),
        None => walk_reporting(store, sizes, false, progress),
    }
}

/// A frame whose sequence number is not the expected one.
fn classify_sequence<S: Store + ?Sized>(
    cursor: &mut Cursor<'_, S>,
    frame: &Frame,
    expected: u64,
    previous_chain: &Hash,
) -> Result<CorruptionKind> {
    if frame.sequence.checked_add(1) == Some(expected) && &frame.chain == previous_chain {
        return Ok(CorruptionKind::Duplicated);
    }
    if frame.sequence > expected {
        if let Next::Frame(next) = cursor.next()?
            && next.sequence == expected
        {
            return Ok(CorruptionKind::EntriesReordered {
                found: frame.sequence,
            });
        }
        return Ok(CorruptionKind::EntryMissing {
            found: frame.sequence,
        });
    }
    Ok(CorruptionKind::EntriesReordered {
        found: frame.sequence,
    })
}

/// A frame with the right sequence number whose chain hash does not follow.
fn classify_link<S: Store + ?Sized>(
    cursor: &mut Cursor<'_, S>,
    expected: u64,
    computed: &Hash,
) -> Result<CorruptionKind> {
    let Next::Frame(next) = cursor.next()? else {
        return Ok(CorruptionKind::ContentChanged);
    };
    if next.sequence == expected {
        return Ok(CorruptionKind::Inserted);
    }
    if next.sequence != expected + 1 {
        return Ok(CorruptionKind::ContentChanged);
    }
    let payload = cursor.payload(&next);
    if chain_hash(expected + 1, computed, payload) == next.chain {
        // The next entry links to what this entry's hash should be: the payload is intact
        // and its stored chain hash was rewritten.
        return Ok(CorruptionKind::LinkBroken);
    }
    Ok(CorruptionKind::ContentChanged)
}

/// One stored checkpoint with its place in the checkpoints file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Byte offset of its record in the checkpoints file.
    pub offset: u64,
    /// The signed note.
    pub note: String,
    /// The checkpoint it holds (read without checking the signature).
    pub checkpoint: Checkpoint,
}

/// Checkpoint records: `u32 LE length ‖ u32 LE CRC32C(note) ‖ note`.
pub(crate) fn encode_checkpoint_record(note: &str) -> Vec<u8> {
    let bytes = note.as_bytes();
    let mut out = Vec::with_capacity(8 + bytes.len());
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(bytes).to_le_bytes());
    out.extend_from_slice(bytes);
    out
}

/// Reads the checkpoints side log. Returns the checkpoints and the length of the good
/// prefix; a damaged record at the very end is a torn tail (the caller may cut it), one in
/// the middle is an error.
pub(crate) fn read_checkpoints(
    bytes: &[u8],
    path: &Path,
) -> Result<(Vec<StoredCheckpoint>, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let header = bytes.get(at..at + 8).and_then(|h| {
            let len = u32::from_le_bytes(h.get(..4)?.try_into().ok()?) as usize;
            let crc = u32::from_le_bytes(h.get(4..8)?.try_into().ok()?);
            Some((len, crc))
        });
        let record = header.and_then(|(len, crc)| {
            let note = bytes.get(at + 8..at + 8 + len)?;
            (crc32c::crc32c(note) == crc).then_some((len, note))
        });
        let Some((len, note)) = record else {
            let torn = header.is_none_or(|(len, _)| at + 8 + len >= bytes.len());
            if torn {
                return Ok((out, at));
            }
            return Err(LedgerError::Corrupt {
                path: path.to_path_buf(),
                offset: at as u64,
                sequence: out.len() as u64,
                kind: CorruptionKind::BadFrame,
            });
        };
        let bad = || LedgerError::Corrupt {
            path: path.to_path_buf(),
            offset: at as u64,
            sequence: out.len() as u64,
            kind: CorruptionKind::BadFrame,
        };
        let note = std::str::from_utf8(note).map_err(|_| bad())?.to_owned();
        let body_end = note.rfind("\n\n").ok_or_else(bad)?;
        let checkpoint = Checkpoint::from_body(note.get(..=body_end).ok_or_else(bad)?)?;
        out.push(StoredCheckpoint {
            offset: at as u64,
            note,
            checkpoint,
        });
        at += 8 + len;
    }
    Ok((out, at))
}

/// What a successful verification covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Bytes of the entry log checked.
    pub bytes: u64,
    /// Merkle root of all entries.
    pub root: Hash,
    /// Checkpoints whose root (and signature, when a key was given) were checked.
    pub checkpoints: u64,
    /// The largest checkpoint, if any.
    pub latest_checkpoint: Option<Checkpoint>,
}

/// Verifies everything in `store`: frame checksums, sequence, chain links, the Merkle root
/// at each checkpoint, and, when `verifier` is given, each checkpoint's signature.
///
/// Returns the first problem as [`LedgerError::Corrupt`]: entry problems first (in log
/// order), then checkpoint problems (in file order). A torn tail is a problem here; opening
/// the ledger for writing repairs it.
pub fn verify_store<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
) -> Result<VerifyReport> {
    verify_store_with_progress(store, verifier, &mut |_, _| {})
}

/// [`verify_store`], calling `progress(bytes verified, bytes total)` now and then (every
/// 64 Ki entries, or every few chunks on the parallel path) and once at the end, so a
/// command can draw a progress bar on long logs.
pub fn verify_store_with_progress<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    let _span = tracing::info_span!("verify", path = %store.location().display()).entered();
    let checkpoints_path = store.location().with_file_name(crate::CHECKPOINTS_FILE);
    let side = store.read_side(Side::Checkpoints)?;
    let (checkpoints, good) = read_checkpoints(&side, &checkpoints_path)?;
    let mut sizes: Vec<u64> = checkpoints.iter().map(|c| c.checkpoint.size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let (walk, stop) = walk_fast(store, &sizes, progress)?;
    progress(walk.end_offset, store.len());
    let path = store.location().to_path_buf();
    match stop {
        Stop::Clean => {}
        Stop::Torn { offset, bytes } => {
            return Err(LedgerError::Corrupt {
                path,
                offset,
                sequence: walk.entries,
                kind: CorruptionKind::TornTail { bytes },
            });
        }
        Stop::Bad {
            offset,
            sequence,
            kind,
        } => {
            return Err(LedgerError::Corrupt {
                path,
                offset,
                sequence,
                kind,
            });
        }
    }
    if good != side.len() {
        return Err(LedgerError::Corrupt {
            path: checkpoints_path,
            offset: good as u64,
            sequence: checkpoints.len() as u64,
            kind: CorruptionKind::TornTail {
                bytes: (side.len() - good) as u64,
            },
        });
    }
    check_checkpoints(&checkpoints, &walk, verifier, &checkpoints_path)?;
    let latest_checkpoint = checkpoints
        .iter()
        .map(|c| &c.checkpoint)
        .max_by_key(|c| c.size)
        .cloned();
    Ok(VerifyReport {
        entries: walk.entries,
        bytes: walk.end_offset,
        root: walk.range.root(),
        checkpoints: checkpoints.len() as u64,
        latest_checkpoint,
    })
}

/// Checks each checkpoint against the walk: signature, size, root.
pub(crate) fn check_checkpoints(
    checkpoints: &[StoredCheckpoint],
    walk: &Walk,
    verifier: Option<&NoteVerifier>,
    path: &Path,
) -> Result<()> {
    for stored in checkpoints {
        let corrupt = |kind| LedgerError::Corrupt {
            path: path.to_path_buf(),
            offset: stored.offset,
            sequence: stored.checkpoint.size,
            kind,
        };
        if let Some(verifier) = verifier
            && Checkpoint::verify(&stored.note, verifier).is_err()
        {
            return Err(corrupt(CorruptionKind::SignatureInvalid));
        }
        if stored.checkpoint.size > walk.entries {
            return Err(corrupt(CorruptionKind::CheckpointBeyondLog {
                checkpoint_size: stored.checkpoint.size,
            }));
        }
        if walk.roots.get(&stored.checkpoint.size) != Some(&stored.checkpoint.root) {
            return Err(corrupt(CorruptionKind::RootMismatch));
        }
    }
    Ok(())
}
