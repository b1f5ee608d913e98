//! Parallel re-hashing for [`verify_store`](crate::verify_store) on large logs.
//!
//! Hashing dominates verification (per entry: the chain hash, the leaf hash and about one
//! interior node), and every entry can be checked on its own: its chain link needs only the
//! previous frame's stored chain hash. So the log is cut into chunks of [`CHUNK`] entries,
//! aligned on the Merkle tree (each full chunk is one perfect subtree), and each chunk is
//! hashed a kind of hash at a time through a multi-buffer SHA-256 (`chunk::hash_chunk`).
//!
//! One thread per core, the calling thread among them, so there are never more busy
//! threads than cores; the others are helper threads started with the first large log and
//! kept for the next (`pool`: threads spawned per call were placed afresh by the scheduler,
//! often on the caller's own core, and lost milliseconds of a ~20 ms walk). The calling
//! thread is the only one that reads the store (a [`Store`] need not be shared between
//! threads): it walks frame headers and reads each chunk into a buffer of its own
//! (`cut::Cutter`) while fewer than a few chunks wait, and otherwise hashes a waiting chunk
//! itself; the helpers hash whatever waits. Hashed chunks hand their buffers back to be read
//! into again, and a walk leaves them to the next one, so nothing is zero-filled or copied
//! but the store's bytes. The calling thread joins the subtree roots in order with
//! [`CompactRange::concat`] as results arrive.
//!
//! Any problem at all sends the caller back to the sequential walk, which classifies it: the
//! fast path only ever says "all intact".

mod chunk;
mod cut;
mod pool;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::chain::{FormatVersion, GENESIS_CHAIN_HASH};
use crate::frame::{FILE_HEADER_LEN, header_version};
use crate::merkle::{CompactRange, Hash};
use crate::store::Store;
use crate::time_index::{IndexBuilder, IndexRecord};

use chunk::{Chunk, Hashed, hash_chunk};
use cut::{Cut, Cutter};

/// Entries per chunk: a perfect subtree of 2^12 leaves.
pub(crate) const CHUNK: u64 = 4096;

/// Logs this large or larger are re-hashed in parallel; below it (four chunks of 64-byte
/// frames: 1 MiB), starting the helpers costs more than they save.
pub(crate) const PARALLEL_FROM_BYTES: u64 = 4 * CHUNK * 64;

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

/// The chunks' results joined in log order, whatever order they arrive in.
struct Merge<'p> {
    range: CompactRange,
    roots: BTreeMap<u64, Hash>,
    disorders: BTreeMap<u64, u64>,
    time_index: Vec<IndexRecord>,
    index_builder: IndexBuilder,
    leaves: Option<Vec<Hash>>,
    /// Results that arrived before an earlier chunk's, with the chunk's end offset.
    pending: BTreeMap<u64, (u64, Hashed)>,
    /// The number of the next chunk to join.
    next: u64,
    end: u64,
    progress: &'p mut dyn FnMut(u64, u64),
}

impl Merge<'_> {
    /// Joins chunk `number`'s result, and every waiting one that now follows in order.
    fn join(&mut self, number: u64, end_offset: u64, hashed: Hashed) -> Option<()> {
        self.pending.insert(number, (end_offset, hashed));
        while let Some((end_offset, hashed)) = self.pending.remove(&self.next) {
            for (size, local, order) in &hashed.snapshots {
                self.roots.insert(*size, self.range.concat(local)?.root());
                let joined = self.index_builder.order().followed_by(*order);
                self.disorders.insert(*size, joined.disorder_ns());
            }
            self.range = self.range.concat(&hashed.range)?;
            if let (Some(all), Some(chunk)) = (self.leaves.as_mut(), hashed.leaves) {
                all.extend(chunk);
            }
            self.time_index.extend(hashed.time_index);
            self.index_builder = hashed.index_builder.after(&self.index_builder);
            self.next += 1;
            (self.progress)(end_offset, self.end);
        }
        Some(())
    }
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
    if end < PARALLEL_FROM_BYTES {
        return None;
    }
    let mut header = [0u8; FILE_HEADER_LEN];
    store.read_at(0, &mut header).ok()?;
    let version = header_version(&header)?;
    let mut cutter = Cutter::new(store, version, FILE_HEADER_LEN as u64, GENESIS_CHAIN_HASH);
    let mut merge = Merge {
        range: CompactRange::new(),
        roots: BTreeMap::new(),
        disorders: BTreeMap::new(),
        time_index: Vec::new(),
        index_builder: IndexBuilder::default(),
        leaves: keep_leaves.then(Vec::new),
        pending: BTreeMap::new(),
        next: 0,
        end,
        progress,
    };
    if sizes.first() == Some(&0) {
        merge.roots.insert(0, merge.range.root());
        merge.disorders.insert(0, 0);
    }
    let threads = 1 + pool::helpers();
    // Chunks cut ahead: enough that a thread finishing a chunk finds the next one waiting.
    let ahead = threads + 1;
    let (work, jobs) = crossbeam_channel::bounded::<Chunk>(ahead);
    let (report, results) = crossbeam_channel::unbounded::<(u64, u64, Option<Hashed>)>();
    let (give_back, buffers) = crossbeam_channel::unbounded::<Vec<u8>>();
    let shared_sizes: Arc<[u64]> = sizes.into();
    for _ in 1..threads {
        let (jobs, report, give_back) = (jobs.clone(), report.clone(), give_back.clone());
        let sizes = Arc::clone(&shared_sizes);
        // Hashes this walk's chunks until the walk stops sending them (or stops listening).
        pool::run(Box::new(move || {
            for chunk in jobs {
                let hashed = hash_chunk(&chunk, &sizes, keep_leaves);
                let failed = hashed.is_none();
                let (number, end_offset) = (chunk.number, chunk.end_offset());
                // Handed back first: a walk keeps the buffers back when it ends.
                let _ = give_back.send(chunk.buffer);
                if failed || report.send((number, end_offset, hashed)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(report);
    // This thread cuts (the store is only read from here) and hashes too: it cuts while
    // fewer than `ahead` chunks wait, and otherwise takes one of them itself.
    loop {
        while let Ok((number, end_offset, hashed)) = results.try_recv() {
            merge.join(number, end_offset, hashed?)?;
        }
        if work.len() < ahead {
            match cutter.cut(buffers.try_recv().unwrap_or_else(|_| pool::spare_buffer())) {
                Cut::Chunk(chunk) => work.send(chunk).ok()?,
                Cut::End => break,
                Cut::Refused => return None,
            }
            continue;
        }
        if let Ok(chunk) = jobs.try_recv() {
            let hashed = hash_chunk(&chunk, sizes, keep_leaves)?;
            merge.join(chunk.number, chunk.end_offset(), hashed)?;
            let _ = give_back.send(chunk.buffer);
        }
    }
    // The helpers end once the chunks still waiting are taken.
    drop(work);
    while let Ok(chunk) = jobs.try_recv() {
        let hashed = hash_chunk(&chunk, sizes, keep_leaves)?;
        merge.join(chunk.number, chunk.end_offset(), hashed)?;
        let _ = give_back.send(chunk.buffer);
    }
    while merge.next < cutter.chunks {
        let (number, end_offset, hashed) = results.recv().ok()?;
        merge.join(number, end_offset, hashed?)?;
    }
    pool::keep_buffers(buffers.try_iter());
    if merge.next != cutter.chunks {
        return None;
    }
    Some(Rehash {
        version,
        entries: cutter.index,
        end_offset: cutter.position,
        last_chain: cutter.previous,
        range: merge.range,
        roots: merge.roots,
        disorders: merge.disorders,
        time_index: merge.time_index,
        index_builder: merge.index_builder,
        leaves: merge.leaves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{FRAME_HEADER_LEN, FRAME_OVERHEAD};
    use crate::merkle::{MerkleTree, leaf_hash};
    use crate::store::MemoryStore;
    use crate::store_conformance::{options, payload};
    use crate::{Ledger, chain};

    /// A log of `payloads`.
    fn log_of(payloads: &[Vec<u8>]) -> MemoryStore {
        let (mut ledger, _) =
            Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
        for payload in payloads {
            ledger.append(payload).unwrap();
        }
        let store = ledger.into_store().unwrap();
        assert!(store.len() >= PARALLEL_FROM_BYTES, "{} bytes", store.len());
        store
    }

    /// A log large enough for the parallel walk: three full chunks and part of a fourth.
    fn large_log() -> (MemoryStore, Vec<Vec<u8>>) {
        let payloads: Vec<Vec<u8>> = (0..3 * CHUNK + 1_234).map(payload).collect();
        (log_of(&payloads), payloads)
    }

    /// A log whose frames' lengths vary a hundredfold: every 97th payload is 20 kB, so a
    /// chunk's reads, sized by the mean frame so far, fall short and overshoot.
    fn uneven_log() -> (MemoryStore, Vec<Vec<u8>>) {
        let payloads: Vec<Vec<u8>> = (0..2 * CHUNK + 55)
            .map(|i| {
                let mut payload = payload(i);
                if i % 97 == 0 {
                    payload.resize(20_000, i as u8);
                }
                payload
            })
            .collect();
        (log_of(&payloads), payloads)
    }

    /// Checks the parallel walk of `store` against hashing `payloads` one message at a time.
    fn assert_walk_matches_oracle(store: &MemoryStore, payloads: &[Vec<u8>], sizes: &[u64]) {
        let n = payloads.len() as u64;
        let rehash = rehash(store, sizes, true, &mut |_, _| {}).unwrap();
        // The oracle: leaf, chain and tree hashes one message at a time.
        let leaves: Vec<Hash> = payloads.iter().map(|p| leaf_hash(p)).collect();
        let mut previous = GENESIS_CHAIN_HASH;
        for (index, leaf) in leaves.iter().enumerate() {
            previous = chain::chain_hash(index as u64, &previous, leaf);
        }
        let tree = MerkleTree::from_leaf_hashes(leaves.iter().copied());
        assert_eq!(rehash.entries, n);
        assert_eq!(rehash.end_offset, store.len());
        assert_eq!(rehash.last_chain, previous);
        assert_eq!(rehash.range.root(), tree.root());
        assert_eq!(rehash.leaves.as_deref(), Some(leaves.as_slice()));
        for &size in sizes {
            assert_eq!(
                rehash.roots.get(&size),
                Some(&tree.root_at(size).unwrap()),
                "{size}"
            );
        }
    }

    /// A log of exactly `bytes` bytes: 1,000-byte payloads, the last one sized to fit.
    fn log_of_exactly(bytes: u64) -> MemoryStore {
        let frame = |payload: u64| payload + FRAME_OVERHEAD as u64;
        let room = bytes - FILE_HEADER_LEN as u64;
        let full = (room - frame(1)) / frame(1_000);
        let last = room - full * frame(1_000) - FRAME_OVERHEAD as u64;
        let (mut ledger, _) =
            Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
        for i in 0..full {
            ledger.append(&vec![i as u8; 1_000]).unwrap();
        }
        ledger.append(&vec![7; last as usize]).unwrap();
        let store = ledger.into_store().unwrap();
        assert_eq!(store.len(), bytes);
        store
    }

    #[test]
    fn logs_below_a_mebibyte_are_left_to_the_sequential_walk() {
        assert_eq!(PARALLEL_FROM_BYTES, 1 << 20);
        let below = log_of_exactly(PARALLEL_FROM_BYTES - 1);
        assert!(rehash(&below, &[], false, &mut |_, _| {}).is_none());
        let at = log_of_exactly(PARALLEL_FROM_BYTES);
        let walked = rehash(&at, &[], false, &mut |_, _| {}).unwrap();
        assert_eq!(walked.end_offset, PARALLEL_FROM_BYTES);
    }

    #[test]
    fn the_multi_buffer_walk_finds_the_hashes_one_at_a_time_hashing_finds() {
        let (store, payloads) = large_log();
        let n = payloads.len() as u64;
        let sizes = [0, 1, 5, CHUNK, CHUNK + 1, 2 * CHUNK + 777, n];
        assert_walk_matches_oracle(&store, &payloads, &sizes);
    }

    #[test]
    fn frames_of_very_different_lengths_are_cut_on_their_boundaries() {
        let (store, payloads) = uneven_log();
        let n = payloads.len() as u64;
        assert_walk_matches_oracle(&store, &payloads, &[97, CHUNK, CHUNK + 97, n]);
    }

    #[test]
    fn buffers_kept_from_another_log_are_read_into_afresh() {
        // Each walk leaves its buffers, full of its log's bytes, to the next one.
        let (large, large_payloads) = large_log();
        let (uneven, uneven_payloads) = uneven_log();
        for _ in 0..2 {
            assert_walk_matches_oracle(&large, &large_payloads, &[CHUNK]);
            assert_walk_matches_oracle(&uneven, &uneven_payloads, &[CHUNK]);
        }
    }

    #[test]
    fn walks_at_the_same_time_share_the_helpers_and_each_finds_its_own_log() {
        let logs = [large_log(), uneven_log(), large_log()];
        std::thread::scope(|scope| {
            for (store, payloads) in &logs {
                scope.spawn(move || {
                    for _ in 0..3 {
                        assert_walk_matches_oracle(store, payloads, &[1, CHUNK + 1]);
                    }
                });
            }
        });
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
        let crc = crate::crc::crc32c(&bytes[body.clone()]);
        bytes[body.end..body.end + 4].copy_from_slice(&crc.to_le_bytes());
        // Every frame still reads with good CRCs: the hashes are what refuse it.
        let frames = chunk::read_frames(&store.entry_bytes()[FILE_HEADER_LEN..], 0).unwrap();
        assert_eq!(frames.len(), payloads.len());
        assert!(rehash(&store, &[], false, &mut |_, _| {}).is_none());
    }
}
