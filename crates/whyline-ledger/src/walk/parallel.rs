//! Parallel re-hashing for [`verify_store`](crate::verify_store) on large logs.
//!
//! Hashing dominates verification (per entry: the chain hash, the leaf hash and about one
//! interior node), and every entry can be checked on its own: its chain link needs only the
//! previous frame's stored chain hash. So the log is cut into chunks of [`CHUNK`] entries,
//! aligned on the Merkle tree (each full chunk is one perfect subtree), and hashed by one
//! worker per core; the calling thread walks frame headers to cut the next chunks while the
//! workers hash, and joins the subtree roots in order with [`CompactRange::concat`]. Any problem at all sends the caller back to the sequential walk,
//! which classifies it: the fast path only ever says "all intact".

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use crate::chain::{FormatVersion, GENESIS_CHAIN_HASH};
use crate::frame::{
    FILE_HEADER_LEN, FRAME_HEADER_LEN, FRAME_OVERHEAD, MAX_PAYLOAD, header_version,
};
use crate::merkle::{CompactRange, Hash, leaf_hash};
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

/// Checks every frame of a chunk; `None` at the first problem of any kind.
fn hash_chunk(chunk: &Chunk, sizes: &[u64], keep_leaves: bool) -> Option<Hashed> {
    let bytes = chunk.slab.get(chunk.range.clone())?;
    let mut at = 0usize;
    let mut index = chunk.first_index;
    let mut previous = chunk.previous_chain;
    let mut range = CompactRange::new();
    let mut snapshots = Vec::new();
    let mut time_index = Vec::new();
    let mut index_builder = IndexBuilder::default();
    let mut leaves = keep_leaves.then(|| Vec::with_capacity(CHUNK as usize));
    let mut wanted = sizes
        .iter()
        .copied()
        .filter(|&s| s > chunk.first_index)
        .peekable();
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
        let stored: Hash = stored.try_into().ok()?;
        let leaf = leaf_hash(payload);
        if chunk.version.chain_hash(index, &previous, payload, &leaf) != stored {
            return None;
        }
        range.append(leaf);
        if let Some(leaves) = leaves.as_mut() {
            leaves.push(leaf);
        }
        let timestamp = payload_timestamp(payload);
        if let Some(record) = index_builder.push(index, chunk.offset + at as u64, timestamp) {
            time_index.push(record);
        }
        previous = stored;
        index += 1;
        at = crc_at + 4;
        if wanted.peek() == Some(&index) {
            snapshots.push((index, range.clone(), index_builder.order()));
            wanted.next();
        }
    }
    Some(Hashed {
        range,
        leaves,
        snapshots,
        time_index,
        index_builder,
    })
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
