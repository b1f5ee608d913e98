//! The one frame walker: re-hashes the entry log from its first frame and stops at the first
//! problem, naming it. Recovery (on open), verification and proofs all walk the log through it.
//!
//! Each frame's checksums are checked by the [`Cursor`], then that indices run 0, 1, 2, ...,
//! that each chain hash follows from the previous one and the payload by the rule of the
//! log's format version ([`FormatVersion`]), and each payload's leaf hash (computed once,
//! for the chain and the tree) is fed to a [`CompactRange`] so the Merkle root at every checkpoint's size can be
//! compared. When a frame is wrong the walk looks at the next frame to tell the kinds apart
//! (the table is in [`verify`](crate::verify_store)'s module). Large intact logs are
//! re-hashed on all cores ([`parallel`]); anything wrong sends the walk back to the
//! sequential path, which names it.

mod parallel;

use std::collections::BTreeMap;

use crate::chain::{FormatVersion, GENESIS_CHAIN_HASH};
use crate::error::{CorruptionKind, Result};
use crate::frame::{Cursor, Frame, Next};
use crate::merkle::{CompactRange, Hash, leaf_hash};
use crate::store::Store;
use crate::time_index::{IndexBuilder, IndexRecord, payload_timestamp};

/// Where a walk stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// At the end of the log, on a frame boundary.
    Clean,
    /// At a torn tail starting at `offset` (see [`Next::Torn`] for `whole_frame`).
    Torn {
        offset: u64,
        bytes: u64,
        whole_frame: bool,
    },
    /// At a bad entry.
    Bad {
        offset: u64,
        index: u64,
        kind: CorruptionKind,
    },
}

/// What a walk learnt from the good prefix of the log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Walk {
    /// The log's format version, which fixes its chain rule.
    pub(crate) version: FormatVersion,
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
    /// The time disorder (`time_order.rs`) at the sizes asked for.
    pub(crate) disorders: BTreeMap<u64, u64>,
    /// Closed index blocks.
    pub(crate) time_index: Vec<IndexRecord>,
    /// The index block still open.
    pub(crate) index_builder: IndexBuilder,
    /// Leaf hashes, when asked for.
    pub(crate) leaves: Option<Vec<Hash>>,
}

/// Walks the entry log; `sizes` are tree sizes whose roots to record, in ascending order
/// (as [`crate::verify::checkpoint_sizes`] gives them).
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
    debug_assert!(sizes.is_sorted(), "tree sizes out of order: {sizes:?}");
    let total = store.len();
    let mut cursor = Cursor::new(store)?;
    let version = cursor.version();
    let mut state = Walk {
        version,
        last_chain: GENESIS_CHAIN_HASH,
        end_offset: cursor.position(),
        leaves: keep_leaves.then(Vec::new),
        ..Walk::default()
    };
    let mut wanted = sizes.iter().copied().peekable();
    while wanted.peek() == Some(&0) {
        state.roots.insert(0, state.range.root());
        state.disorders.insert(0, 0);
        wanted.next();
    }
    loop {
        let frame = match cursor.next()? {
            Next::End => return Ok((state, Stop::Clean)),
            Next::Torn {
                offset,
                bytes,
                whole_frame,
            } => {
                return Ok((
                    state,
                    Stop::Torn {
                        offset,
                        bytes,
                        whole_frame,
                    },
                ));
            }
            Next::Damaged { offset, kind, .. } => {
                let index = state.entries;
                return Ok((
                    state,
                    Stop::Bad {
                        offset,
                        index,
                        kind,
                    },
                ));
            }
            Next::Frame(frame) => frame,
        };
        let expected = state.entries;
        if frame.index != expected {
            let kind = classify_index(&mut cursor, &frame, expected, &state.last_chain)?;
            return Ok((
                state,
                Stop::Bad {
                    offset: frame.offset,
                    index: expected,
                    kind,
                },
            ));
        }
        let payload = cursor.payload(&frame);
        let leaf = leaf_hash(payload);
        let computed = version.chain_hash(expected, &state.last_chain, payload, &leaf);
        if computed != frame.chain {
            let kind = classify_link(&mut cursor, version, expected, &computed)?;
            return Ok((
                state,
                Stop::Bad {
                    offset: frame.offset,
                    index: expected,
                    kind,
                },
            ));
        }
        let timestamp = payload_timestamp(payload);
        state.range.append(leaf);
        if let Some(leaves) = state.leaves.as_mut() {
            leaves.push(leaf);
        }
        if let Some(record) = state.index_builder.push(expected, frame.offset, timestamp) {
            state.time_index.push(record);
        }
        state.last_chain = frame.chain;
        state.entries += 1;
        state.end_offset = frame.offset + frame.len;
        if state.entries.is_multiple_of(PROGRESS_EVERY) {
            progress(state.end_offset, total);
        }
        while wanted.peek() == Some(&state.entries) {
            state.roots.insert(state.entries, state.range.root());
            state
                .disorders
                .insert(state.entries, state.index_builder.order().disorder_ns());
            wanted.next();
        }
    }
}

/// [`walk`] for an intact log, re-hashed on all cores when it is large (see
/// [`parallel`]); the sequential walk whenever anything is wrong, to name it.
pub(crate) fn walk_fast<S: Store + ?Sized>(
    store: &S,
    sizes: &[u64],
    keep_leaves: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(Walk, Stop)> {
    match parallel::rehash(store, sizes, keep_leaves, progress) {
        Some(fast) => Ok((
            Walk {
                version: fast.version,
                entries: fast.entries,
                last_chain: fast.last_chain,
                range: fast.range,
                end_offset: fast.end_offset,
                roots: fast.roots,
                disorders: fast.disorders,
                time_index: fast.time_index,
                index_builder: fast.index_builder,
                leaves: fast.leaves,
            },
            Stop::Clean,
        )),
        None => walk_reporting(store, sizes, keep_leaves, progress),
    }
}

/// A frame whose index is not the expected one.
fn classify_index<S: Store + ?Sized>(
    cursor: &mut Cursor<'_, S>,
    frame: &Frame,
    expected: u64,
    previous_chain: &Hash,
) -> Result<CorruptionKind> {
    if frame.index.checked_add(1) == Some(expected) && &frame.chain == previous_chain {
        return Ok(CorruptionKind::Duplicated);
    }
    if frame.index > expected {
        if let Next::Frame(next) = cursor.next()?
            && next.index == expected
        {
            return Ok(CorruptionKind::EntriesReordered { found: frame.index });
        }
        return Ok(CorruptionKind::EntryMissing { found: frame.index });
    }
    Ok(CorruptionKind::EntriesReordered { found: frame.index })
}

/// A frame with the right index whose chain hash does not follow.
fn classify_link<S: Store + ?Sized>(
    cursor: &mut Cursor<'_, S>,
    version: FormatVersion,
    expected: u64,
    computed: &Hash,
) -> Result<CorruptionKind> {
    let Next::Frame(next) = cursor.next()? else {
        return Ok(CorruptionKind::ContentChanged);
    };
    if next.index == expected {
        return Ok(CorruptionKind::Inserted);
    }
    if next.index != expected + 1 {
        return Ok(CorruptionKind::ContentChanged);
    }
    let payload = cursor.payload(&next);
    if version.chain_hash(expected + 1, computed, payload, &leaf_hash(payload)) == next.chain {
        // The next entry links to what this entry's hash should be: the payload is intact
        // and its stored chain hash was rewritten.
        return Ok(CorruptionKind::LinkBroken);
    }
    Ok(CorruptionKind::ContentChanged)
}
