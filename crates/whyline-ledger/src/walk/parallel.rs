//! Parallel re-hashing for [`verify_store`](crate::verify_store) on large logs.
//!
//! Hashing dominates verification (per entry: the chain hash, the leaf hash and about one
//! interior node), and every entry can be checked on its own: its chain link needs only the
//! previous frame's stored chain hash. So the log is cut into chunks of [`CHUNK`] entries,
//! aligned on the Merkle tree (each full chunk is one perfect subtree), and hashed by one
//! worker per core, a kind of hash at a time through a multi-buffer SHA-256 (see
//! `hash_chunk`). The calling thread walks frame headers to cut the next chunks while the
//! workers hash, and joins the subtree roots in order with [`CompactRange::concat`].
//!
//! Any problem at all sends the caller back to the sequential walk, which classifies it: the
//! fast path only ever says "all intact".

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use crate::chain::{FormatVersion, GENESIS_CHAIN_HASH};
use crate::frame::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FRAME_OVERHEAD, MAX_PAYLOAD, header_version,
};
use crate::merkle::{CompactRange, Hash, leaf_hashes};
use crate::store::Store;
use crate::time_index::{IndexBuilder, IndexRecord, payload_timestamp};
use crate::time_order::TimeOrder;

/// Entries per chunk: a perfect subtree of 2^12 leaves.
pub(crate) const CHUNK: u64 = 4096;
const READ_SLAB: usize = 8 << 20;

/// What an intact log hashes to.
pub(crate) struct Rehash {
    pub(crate) version: FormatVersion,
    pub(crate) entries: u64,
    pub(crate) end_offset: u64,
    pub(crate) last_chain: Hash,
    pub(crate) range: CompactRange,
    pub(crate) roots: BTreeMap<u64, Hash>,
    pub(crate) disorders: BTreeMap<u64, u64>,
    pub(crate) time_index: Vec<IndexRecord>,
    pub(crate) index_builder: IndexBuilder,
    /// Every leaf hash, when asked for.
    pub(crate) leaves: Option<Vec<Hash>>,
}

struct Chunk {
    version: FormatVersion,
    first_index: u64,
    offset: u64,
    previous_chain: Hash,
    /// The slab the chunk's frames were read into, shared with the chunks cut from it: the
    /// bytes are read from the store once and never copied again.
    slab: Arc<Vec<u8>>,
    /// Where the chunk's frames sit in the slab.
    range: Range<usize>,
}

struct Hashed {
    range: CompactRange,
    leaves: Option<Vec<Hash>>,
    snapshots: Vec<(u64, CompactRange, TimeOrder)>,
    time_index: Vec<IndexRecord>,
    index_builder: IndexBuilder,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// One frame of a chunk, read and CRC-checked, waiting for its hashes.
struct Frame<'a> {
    /// Offset of the frame in the chunk.
    at: usize,
    payload: &'a [u8],
    /// The chain hash stored after the payload.
    stored: Hash,
}

/// Checks every frame of a chunk; `None` at the first problem of any kind.
///
/// The chunk's hashes are independent of each other once the frames are read (a chain
/// link needs only the previous frame's *stored* chain hash, and the Merkle nodes of one
/// level only the level below), so they are computed a whole chunk at a time by a
/// multi-buffer SHA-256 ([`tape_sha256`]), which keeps four messages in flight through the
/// SHA-NI units where one message at a time leaves them waiting on each round's result:
/// the leaves, then the chain links, then each level of the chunk's subtree.
fn hash_chunk(chunk: &Chunk, sizes: &[u64], keep_leaves: bool) -> Option<Hashed> {
    let bytes = chunk.slab.get(chunk.range.clone())?;
    let frames = read_frames(bytes, chunk.first_index)?;
    let payloads: Vec<&[u8]> = frames.iter().map(|frame| frame.payload).collect();
    let mut leaves = Vec::new();
    leaf_hashes(&payloads, &mut leaves);
    check_chain(chunk, &frames, &leaves)?;
    let levels = subtree_levels(leaves);

    let mut snapshots = Vec::new();
    let mut time_index = Vec::new();
    let mut index_builder = IndexBuilder::default();
    let mut wanted = sizes
        .iter()
        .copied()
        .filter(|&s| s > chunk.first_index)
        .peekable();
    let mut index = chunk.first_index;
    for frame in &frames {
        let timestamp = payload_timestamp(frame.payload);
        if let Some(record) = index_builder.push(index, chunk.offset + frame.at as u64, timestamp) {
            time_index.push(record);
        }
        index += 1;
        if wanted.peek() == Some(&index) {
            let range = compact_range(&levels, index - chunk.first_index)?;
            snapshots.push((index, range, index_builder.order()));
            wanted.next();
        }
    }
    let range = compact_range(&levels, frames.len() as u64)?;
    let leaves = if keep_leaves {
        levels.into_iter().next()
    } else {
        None
    };
    Some(Hashed {
        range,
        leaves,
        snapshots,
        time_index,
        index_builder,
    })
}

/// Reads the chunk's frames, checking each one's index and both CRCs.
fn read_frames(bytes: &[u8], first_index: u64) -> Option<Vec<Frame<'_>>> {
    let mut frames = Vec::with_capacity(CHUNK as usize);
    let mut at = 0usize;
    let mut index = first_index;
    while at < bytes.len() {
        let header = bytes.get(at..at + FRAME_HEADER_LEN)?;
        let length = u32_at(header, 0)? as usize;
        if u64_at(header, 4)? != index || crc32c::crc32c(header.get(..12)?) != u32_at(header, 12)? {
            return None;
        }
        let body_start = at + FRAME_HEADER_LEN;
        let crc_at = body_start + length + 32;
        let body = bytes.get(body_start..crc_at)?;
        if crc32c::crc32c(body) != u32_at(bytes, crc_at)? {
            return None;
        }
        let (payload, stored) = body.split_at(length);
        frames.push(Frame {
            at,
            payload,
            stored: stored.try_into().ok()?,
        });
        index += 1;
        at = crc_at + 4;
    }
    Some(frames)
}

/// Checks every frame's stored chain hash against its link to the previous stored one.
fn check_chain(chunk: &Chunk, frames: &[Frame<'_>], leaves: &[Hash]) -> Option<()> {
    let previous = std::iter::once(&chunk.previous_chain).chain(frames.iter().map(|f| &f.stored));
    let indices = chunk.first_index..;
    match chunk.version {
        FormatVersion::V2 => {
            // `index ‖ previous ‖ leaf`, as `chain::chain_hash` lays it out.
            let messages: Vec<[u8; 72]> = indices
                .zip(previous)
                .zip(leaves)
                .map(|((index, previous), leaf)| {
                    let mut message = [0u8; 72];
                    message[..8].copy_from_slice(&index.to_le_bytes());
                    message[8..40].copy_from_slice(previous);
                    message[40..].copy_from_slice(leaf);
                    message
                })
                .collect();
            let slices: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
            let mut links = vec![[0u8; 32]; frames.len()];
            tape_sha256::hash_many(&slices, &mut links);
            frames
                .iter()
                .zip(&links)
                .all(|(frame, link)| frame.stored == *link)
                .then_some(())
        }
        FormatVersion::V1 => indices
            .zip(previous)
            .zip(frames.iter().zip(leaves))
            .all(|((index, previous), (frame, leaf))| {
                chunk
                    .version
                    .chain_hash(index, previous, frame.payload, leaf)
                    == frame.stored
            })
            .then_some(()),
    }
}

/// The chunk's perfect subtrees level by level: `levels[0]` the leaves, `levels[l][i]`
/// the root of leaves `i·2^l .. (i+1)·2^l` (only the complete ones), each level hashed in
/// one multi-buffer call.
fn subtree_levels(leaves: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut levels = vec![leaves];
    while let Some(below) = levels.last().filter(|level| level.len() >= 2) {
        let left: Vec<&[u8]> = below.iter().step_by(2).map(|h| h.as_slice()).collect();
        let right: Vec<&[u8]> = below
            .iter()
            .skip(1)
            .step_by(2)
            .map(|h| h.as_slice())
            .collect();
        let mut nodes = vec![[0u8; 32]; right.len()];
        tape_sha256::hash_pairs(&[1], &left[..right.len()], &right, &mut nodes);
        levels.push(nodes);
    }
    levels
}

/// The compact range of the chunk's first `size` leaves, from the subtrees of `levels`: one
/// perfect subtree per set bit of `size`, largest first (no hashing).
fn compact_range(levels: &[Vec<Hash>], size: u64) -> Option<CompactRange> {
    let mut range = CompactRange::new();
    for level in (0..64u32).rev().filter(|&l| size >> l & 1 == 1) {
        let position = usize::try_from(range.size() >> level).ok()?;
        let root = *levels.get(level as usize)?.get(position)?;
        range.append_subtree(level, root)?;
    }
    Some(range)
}

/// Makes the slab hold bytes up to `need_end` (when the log has them): a new slab that
/// starts at `keep_from` (only the chunk being cut is copied over) and reads on from the
/// store. Chunks already cut keep the old slab alive until they are hashed.
fn ensure<S: Store + ?Sized>(
    store: &S,
    slab: &mut Arc<Vec<u8>>,
    slab_start: &mut u64,
    keep_from: u64,
    need_end: u64,
    end: u64,
) -> Option<()> {
    let have = *slab_start + slab.len() as u64;
    if need_end <= have || have >= end {
        return Some(());
    }
    let keep = usize::try_from(keep_from.checked_sub(*slab_start)?).ok()?;
    let want = usize::try_from((end - have).min((need_end - have).max(READ_SLAB as u64))).ok()?;
    let kept = slab.get(keep..)?;
    let mut next = Vec::with_capacity(kept.len() + want);
    next.extend_from_slice(kept);
    next.resize(kept.len() + want, 0);
    store.read_at(have, next.get_mut(kept.len()..)?).ok()?;
    *slab = Arc::new(next);
    *slab_start = keep_from;
    Some(())
}

/// Re-hashes the whole entry log on all cores. `None` when anything is wrong (or the log is
/// too small to be worth it): the caller then runs the sequential walk, which names the
/// problem.
pub(crate) fn rehash<S: Store + ?Sized>(
    store: &S,
    sizes: &[u64],
    keep_leaves: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Option<Rehash> {
    let end = store.len();
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    if workers < 2 || end < 4 * CHUNK * 64 {
        return None;
    }
    let mut header = [0u8; FILE_HEADER_LEN];
    store.read_at(0, &mut header).ok()?;
    let version = header_version(&header)?;
    let mut slab: Arc<Vec<u8>> = Arc::default();
    let mut slab_start = FILE_HEADER_LEN as u64;
    let mut position = slab_start;
    let mut index = 0u64;
    let mut previous = GENESIS_CHAIN_HASH;
    let mut range = CompactRange::new();
    let mut roots = BTreeMap::new();
    let mut disorders = BTreeMap::new();
    let mut time_index = Vec::new();
    let mut index_builder = IndexBuilder::default();
    let mut leaves: Option<Vec<Hash>> = keep_leaves.then(Vec::new);
    if sizes.first() == Some(&0) {
        roots.insert(0, range.root());
        disorders.insert(0, 0);
    }
    // Workers hash chunks while this thread cuts the next ones; results are merged in order.
    let outcome = std::thread::scope(|scope| {
        let (work, jobs) = crossbeam_channel::bounded::<(u64, Chunk)>(workers);
        let (report, results) = crossbeam_channel::unbounded::<(u64, u64, Option<Hashed>)>();
        for _ in 0..workers {
            let jobs = jobs.clone();
            let report = report.clone();
            scope.spawn(move || {
                for (number, chunk) in jobs {
                    let end_offset = chunk.offset + chunk.range.len() as u64;
                    if report
                        .send((number, end_offset, hash_chunk(&chunk, sizes, keep_leaves)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(report);
        let mut pending: BTreeMap<u64, (u64, Hashed)> = BTreeMap::new();
        let mut next_merge = 0u64;
        // Joins the chunks' results in log order as they arrive; `None` when one failed.
        let mut merge = |number: u64, end_offset: u64, hashed: Option<Hashed>| -> Option<()> {
            pending.insert(number, (end_offset, hashed?));
            while let Some((end_offset, hashed)) = pending.remove(&next_merge) {
                for (size, local, order) in &hashed.snapshots {
                    roots.insert(*size, range.concat(local)?.root());
                    let joined = index_builder.order().followed_by(*order);
                    disorders.insert(*size, joined.disorder_ns());
                }
                range = range.concat(&hashed.range)?;
                if let (Some(all), Some(chunk)) = (leaves.as_mut(), hashed.leaves) {
                    all.extend(chunk);
                }
                time_index.extend(hashed.time_index);
                index_builder = hashed.index_builder.after(&index_builder);
                next_merge += 1;
                progress(end_offset, end);
            }
            Some(())
        };
        let mut chunks = 0u64;
        loop {
            // Cut the next chunk: walk up to CHUNK frame headers.
            let chunk_start = position;
            let mut count = 0u64;
            let mut last_chain = previous;
            while count < CHUNK && position < end {
                ensure(
                    store,
                    &mut slab,
                    &mut slab_start,
                    chunk_start,
                    position + 16,
                    end,
                )?;
                let from = usize::try_from(position - slab_start).ok()?;
                let length = u32_at(&slab, from)? as usize;
                if length == 0 || length > MAX_PAYLOAD {
                    return None;
                }
                let total = FRAME_OVERHEAD + length;
                ensure(
                    store,
                    &mut slab,
                    &mut slab_start,
                    chunk_start,
                    position + total as u64,
                    end,
                )?;
                let from = usize::try_from(position - slab_start).ok()?;
                let chain_at = from + total - 36;
                last_chain = slab.get(chain_at..chain_at + 32)?.try_into().ok()?;
                position += total as u64;
                if position > end {
                    return None;
                }
                count += 1;
            }
            if count > 0 {
                let from = usize::try_from(chunk_start - slab_start).ok()?;
                let to = usize::try_from(position - slab_start).ok()?;
                let chunk = Chunk {
                    version,
                    first_index: index,
                    offset: chunk_start,
                    previous_chain: previous,
                    slab: Arc::clone(&slab),
                    range: from..to,
                };
                work.send((chunks, chunk)).ok()?;
                chunks += 1;
                index += count;
                previous = last_chain;
            }
            // Merge what is ready without waiting.
            while let Ok((number, end_offset, hashed)) = results.try_recv() {
                merge(number, end_offset, hashed)?;
            }
            if position >= end {
                break;
            }
        }
        drop(work);
        for (number, end_offset, hashed) in results {
            merge(number, end_offset, hashed)?;
        }
        (next_merge == chunks).then_some(())
    });
    outcome?;
    Some(Rehash {
        version,
        entries: index,
        end_offset: position,
        last_chain: previous,
        range,
        roots,
        disorders,
        time_index,
        index_builder,
        leaves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{MerkleTree, leaf_hash};
    use crate::store::MemoryStore;
    use crate::store_conformance::{options, payload};
    use crate::{Ledger, chain};

    /// A log large enough for the parallel walk: three full chunks and part of a fourth.
    fn large_log() -> (MemoryStore, Vec<Vec<u8>>) {
        let n = 3 * CHUNK + 1_234;
        let (mut ledger, _) =
            Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
        let payloads: Vec<Vec<u8>> = (0..n).map(payload).collect();
        for payload in &payloads {
            ledger.append(payload).unwrap();
        }
        let store = ledger.into_store().unwrap();
        assert!(store.len() >= 4 * CHUNK * 64, "{} bytes", store.len());
        (store, payloads)
    }

    #[test]
    fn the_multi_buffer_walk_finds_the_hashes_one_at_a_time_hashing_finds() {
        let (store, payloads) = large_log();
        let n = payloads.len() as u64;
        let sizes = [0, 1, 5, CHUNK, CHUNK + 1, 2 * CHUNK + 777, n];
        let rehash = rehash(&store, &sizes, true, &mut |_, _| {}).unwrap();
        // The oracle: leaf, chain and tree hashes one message at a time.
        let leaves: Vec<Hash> = payloads.iter().map(|p| leaf_hash(p)).collect();
        let mut previous = GENESIS_CHAIN_HASH;
        for (index, leaf) in leaves.iter().enumerate() {
            previous = chain::chain_hash(index as u64, &previous, leaf);
        }
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        assert_eq!(rehash.entries, n);
        assert_eq!(rehash.last_chain, previous);
        assert_eq!(rehash.range.root(), tree.root());
        assert_eq!(rehash.leaves.as_deref(), Some(leaves.as_slice()));
        for size in sizes {
            assert_eq!(
                rehash.roots.get(&size),
                Some(&tree.root_at(size).unwrap()),
                "{size}"
            );
        }
    }

    #[test]
    fn a_payload_changed_under_a_valid_crc_sends_the_walk_back() {
        let (mut store, payloads) = large_log();
        // Entry 2·CHUNK + 9: change a payload byte and write the body's CRC again, so only
        // the hashes can tell.
        let mut at = FILE_HEADER_LEN;
        for payload in payloads.iter().take(2 * CHUNK as usize + 9) {
            at += FRAME_OVERHEAD + payload.len();
        }
        let length = payloads[2 * CHUNK as usize + 9].len();
        let bytes = store.entry_bytes_mut();
        bytes[at + FRAME_HEADER_LEN + 3] ^= 0x40;
        let body = at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + length + 32;
        let crc = crc32c::crc32c(&bytes[body.clone()]);
        bytes[body.end..body.end + 4].copy_from_slice(&crc.to_le_bytes());
        // Every frame still reads with good CRCs: the hashes are what refuse it.
        let frames = read_frames(&store.entry_bytes()[FILE_HEADER_LEN..], 0).unwrap();
        assert_eq!(frames.len(), payloads.len());
        assert!(rehash(&store, &[], false, &mut |_, _| {}).is_none());
    }

    #[test]
    fn a_compact_range_from_the_levels_is_the_range_of_appending_the_leaves() {
        for count in 0..70u8 {
            let leaves: Vec<Hash> = (0..count).map(|i| leaf_hash(&[i, count])).collect();
            let levels = subtree_levels(leaves.clone());
            let mut appended = CompactRange::new();
            for size in 0..=u64::from(count) {
                assert_eq!(
                    compact_range(&levels, size),
                    Some(appended.clone()),
                    "{size}"
                );
                if let Some(leaf) = leaves.get(size as usize) {
                    appended.append(*leaf);
                }
            }
        }
    }
}
