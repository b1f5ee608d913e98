//! The ledger: one writer that frames entries, chains them, grows the Merkle tree, commits
//! them per the durability policy and signs checkpoints, over any [`Store`].
//!
//! Opening recovers (see `recovery.rs`): the whole entry log is walked (every hash
//! recomputed), a torn tail is cut and reported in the [`RecoveryReport`], damage in the
//! middle fails with its position unless [`LedgerOptions::salvage`] was asked for, and
//! checkpoints are checked against the recomputed roots.

use std::time::{Duration, Instant};

use crate::batched_range::{BLOCK, BatchedRange, BlockRoot};
use crate::chain::FormatVersion;
use crate::checkpoint::NoteSigner;
use crate::checkpoint_file::StoredCheckpoint;
use crate::error::{LedgerError, Result};
use crate::frame::{Cursor, MAX_PAYLOAD, Next, encode_frame};
use crate::merkle::{Hash, MerkleTree, leaf_hash};
use crate::recovery::{Recovered, RecoveryReport, recover};
use crate::segment::SegmentStore;
use crate::store::{Side, Store, SyncTicket};
use crate::time_index::{INDEX_BLOCK, IndexBuilder, IndexRecord, payload_timestamp};
use crate::time_order::TimeOrder;
use crate::walk::walk;

mod checkpointing;
use checkpointing::DueCheckpoint;
#[cfg(test)]
mod tests;

/// When an appended entry becomes durable: the one definition lives in `whyline-core`, where
/// the monitor's safety profiles read it too. `None` syncs only before a checkpoint and on
/// [`Ledger::commit`]; `Interval` is checked at each append and by [`Ledger::tick`], which a
/// [`LedgerCollector`](crate::LedgerCollector) runs on a timer thread.
pub use whyline_core::Durability;

/// How a ledger is opened and run.
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    origin: String,
    signer: Option<NoteSigner>,
    durability: Durability,
    checkpoint_every: u64,
    checkpoint_interval: Option<Duration>,
    salvage: bool,
}

impl LedgerOptions {
    /// A ledger named `origin` whose checkpoints are signed by `signer`.
    pub fn signed(origin: &str, signer: NoteSigner) -> Self {
        Self::base(origin, Some(signer))
    }

    /// A ledger that writes no checkpoints (chain and Merkle root only): chosen explicitly,
    /// since such a log cannot prove its size to a third party.
    pub fn without_checkpoints(origin: &str) -> Self {
        Self::base(origin, None)
    }

    fn base(origin: &str, signer: Option<NoteSigner>) -> Self {
        Self {
            origin: origin.to_owned(),
            signer,
            durability: Durability::Interval {
                entries: 256,
                max_delay: Duration::from_millis(10),
            },
            checkpoint_every: 4096,
            checkpoint_interval: None,
            salvage: false,
        }
    }

    /// Sets the durability policy (default: interval, 256 entries or 10 ms).
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Writes a checkpoint every `entries` entries (default 4096; 0 turns it off).
    pub fn checkpoint_every(mut self, entries: u64) -> Self {
        self.checkpoint_every = entries;
        self
    }

    /// Also writes a checkpoint when this much time passed since the last one (checked on
    /// append).
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.checkpoint_interval = Some(interval);
        self
    }

    /// On open, keeps the good prefix of a log damaged in the middle (dropping everything
    /// after the damage) instead of failing. Loses entries: use only to rescue a log.
    pub fn salvage(mut self) -> Self {
        self.salvage = true;
        self
    }

    /// The durability policy.
    pub fn durability_policy(&self) -> Durability {
        self.durability
    }

    /// Entries between checkpoints (0: none by count).
    pub fn checkpoint_entries(&self) -> u64 {
        self.checkpoint_every
    }

    /// The key that signs checkpoints, if any.
    pub fn signer(&self) -> Option<&NoteSigner> {
        self.signer.as_ref()
    }

    /// The origin line of checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// Proof that an entry was appended: its index and leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Position in the log, from 0 (also the Merkle leaf index).
    pub index: u64,
    /// `SHA-256(0x00 ‖ payload)`.
    pub leaf_hash: Hash,
    /// The entry's chain hash.
    pub chain_hash: Hash,
}

impl Receipt {
    /// Appends the receipt as ingest and `whyline append` print it, one JSON object without a
    /// newline: `{"index":N,"leaf":"<64 hex digits>"}`.
    ///
    /// ```
    /// # use whyline_ledger::Receipt;
    /// let receipt = Receipt { index: 3, leaf_hash: [0xab; 32], chain_hash: [0; 32] };
    /// let mut out = Vec::new();
    /// receipt.write_json(&mut out);
    /// assert_eq!(out, format!("{{\"index\":3,\"leaf\":\"{}\"}}", "ab".repeat(32)).into_bytes());
    /// ```
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // An ingest answer is a thousand of these: written without `core::fmt`, which had
        // cost the server as much CPU as the batch's CRCs.
        let mut hex = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _fits = hex::encode_to_slice(self.leaf_hash, &mut hex);
        out.extend_from_slice(b"{\"index\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.index).as_bytes());
        out.extend_from_slice(b",\"leaf\":\"");
        out.extend_from_slice(&hex);
        out.extend_from_slice(b"\"}");
    }
}

/// Whether an append commits inline (the ledger used alone) or leaves the commit to the
/// caller (the collector's two-buffer group commit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CommitMode {
    /// Commit per the durability policy before returning.
    Inline,
    /// Append only; the caller commits (see [`Ledger::begin_commit`]).
    Deferred,
}

/// A commit begun by [`Ledger::begin_commit`]: the entries it covers and the store's ticket.
#[derive(Debug)]
pub(crate) struct CommitTicket {
    entries: u64,
    store: SyncTicket,
}

impl CommitTicket {
    /// Runs the sync; call it without holding the ledger.
    pub(crate) fn sync(&self) -> Result<()> {
        self.store.sync()
    }
}

/// One entry read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Position in the log, from 0.
    pub index: u64,
    /// Byte offset of its frame.
    pub offset: u64,
    /// The payload (an APRT record).
    pub payload: Vec<u8>,
    /// The stored chain hash.
    pub chain_hash: Hash,
}

/// The ledger writer over a [`Store`]. See the module docs.
#[derive(Debug)]
pub struct Ledger<S: Store> {
    store: S,
    options: LedgerOptions,
    /// The log's format version: a version-1 log is continued with the version-1 chain rule.
    version: FormatVersion,
    next_index: u64,
    last_chain: Hash,
    /// The Merkle frontier, interior nodes hashed a block of leaves at a time.
    range: BatchedRange,
    frame: Vec<u8>,
    durable_entries: u64,
    /// Entries covered by the last commit begun ([`Ledger::begin_commit`]): at least
    /// `durable_entries`, more while a two-buffer commit is in flight.
    commit_started: u64,
    pending_since: Option<Instant>,
    last_checkpoint_size: u64,
    last_checkpoint_at: Instant,
    index_builder: IndexBuilder,
    time_index: Vec<IndexRecord>,
    checkpoints: Vec<StoredCheckpoint>,
    /// Checkpoints due while the collector commits, waiting for their entries to be
    /// durable (see `checkpointing.rs`), oldest first.
    due_checkpoints: Vec<DueCheckpoint>,
    /// Bytes in the checkpoints side log.
    checkpoints_len: u64,
}

impl Ledger<SegmentStore> {
    /// Opens the existing ledger in directory `dir` and recovers it, like [`Ledger::open`],
    /// but never creates one: [`LedgerError::NotALedger`] when `dir` holds no ledger.
    pub fn open_existing(
        dir: impl AsRef<std::path::Path>,
        options: LedgerOptions,
    ) -> Result<(Self, RecoveryReport)> {
        Ledger::open(SegmentStore::open_existing(dir)?, options)
    }
}

impl<S: Store> Ledger<S> {
    /// Opens the ledger in `store`, recovering it (see the module docs).
    pub fn open(mut store: S, options: LedgerOptions) -> Result<(Self, RecoveryReport)> {
        validate(&options)?;
        let verifier = options.signer.as_ref().map(NoteSigner::verifier);
        let (recovered, report) = recover(&mut store, options.salvage, verifier.as_ref())?;
        let Recovered {
            walk,
            checkpoints,
            checkpoints_len,
        } = recovered;
        let last_checkpoint_size = checkpoints
            .iter()
            .map(|c| c.checkpoint.size)
            .max()
            .unwrap_or(0);
        let ledger = Ledger {
            version: walk.version,
            next_index: walk.entries,
            last_chain: walk.last_chain,
            range: BatchedRange::new(walk.range),
            frame: Vec::with_capacity(256),
            durable_entries: walk.entries,
            commit_started: walk.entries,
            pending_since: None,
            last_checkpoint_size,
            last_checkpoint_at: Instant::now(),
            index_builder: walk.index_builder,
            time_index: walk.time_index,
            checkpoints,
            due_checkpoints: Vec::new(),
            checkpoints_len,
            store,
            options,
        };
        Ok((ledger, report))
    }

    /// Appends one entry (an APRT record) and commits it per the durability policy.
    ///
    /// With [`Durability::Sync`] the entry is durable when this returns `Ok`; otherwise
    /// compare the receipt's index with [`Ledger::durable_size`]. An `Err` from a failed
    /// write or sync stops the writer (see [`Store`]).
    pub fn append(&mut self, payload: &[u8]) -> Result<Receipt> {
        self.append_with(payload, CommitMode::Inline)
    }

    /// [`Ledger::append`], committing inline or leaving the commit to the caller
    /// ([`CommitMode::Deferred`]): the collector's two-buffer group commit syncs one batch
    /// while the next fills.
    pub(crate) fn append_with(&mut self, payload: &[u8], mode: CommitMode) -> Result<Receipt> {
        let index = self.next_index;
        if payload.is_empty() || payload.len() > MAX_PAYLOAD {
            return Err(LedgerError::PayloadSize {
                index,
                found: payload.len(),
                limit: MAX_PAYLOAD,
            });
        }
        let receipt = self.push_entry(
            payload,
            &leaf_hash(payload),
            payload_timestamp(payload),
            true,
        )?;
        match (self.options.durability, mode) {
            (Durability::Sync, CommitMode::Inline) => self.commit()?,
            (Durability::Interval { entries, max_delay }, CommitMode::Inline) => {
                let since = *self.pending_since.get_or_insert_with(Instant::now);
                let pending = self.next_index - self.durable_entries;
                if pending >= u64::from(entries) || since.elapsed() >= max_delay {
                    self.commit()?;
                }
            }
            (Durability::Interval { .. }, CommitMode::Deferred) => {
                self.pending_since.get_or_insert_with(Instant::now);
            }
            (Durability::Sync | Durability::None, CommitMode::Deferred)
            | (Durability::None, CommitMode::Inline) => {}
        }
        self.maybe_checkpoint(mode)?;
        Ok(receipt)
    }

    /// Appends every payload of a batch without committing (the collector commits), each
    /// with its Merkle leaf hash (`leaf_hash(payload)`, computed by the caller before it
    /// takes the ledger's lock: the one hash of an entry that depends on nothing before
    /// it): sizes are checked first, so a payload the ledger refuses appends nothing; a
    /// checkpoint due by count is signed once, after the batch. Receipts are pushed to
    /// `receipts`.
    ///
    /// `blocks` are the roots of whole Merkle blocks of the batch, in order, if its maker
    /// computed them. A block goes into the Merkle frontier by its root, once all its entries
    /// are stored, when it starts on a block boundary of the tree, lies whole in the batch and
    /// does not overlap the block before it; its leaves are hashed here as usual otherwise
    /// (the batch did not start where its maker expected). The root of a block depends only on
    /// its leaves, so where the maker expected the batch does not matter, only where the block
    /// lands.
    pub(crate) fn append_batch_deferred<'p>(
        &mut self,
        payloads: impl Iterator<Item = &'p [u8]> + Clone,
        leaves: &[Hash],
        blocks: &[BlockRoot],
        receipts: &mut Vec<Receipt>,
    ) -> Result<()> {
        for (n, payload) in (0u64..).zip(payloads.clone()) {
            if payload.is_empty() || payload.len() > MAX_PAYLOAD {
                return Err(LedgerError::PayloadSize {
                    index: self.next_index + n,
                    found: payload.len(),
                    limit: MAX_PAYLOAD,
                });
            }
        }
        let before = receipts.len();
        let mut roots = blocks.iter().peekable();
        // The block being stored without its leaves in the frontier: its end and root.
        let mut block: Option<(usize, Hash)> = None;
        for (n, (payload, leaf)) in payloads.zip(leaves).enumerate() {
            if let Some(&&(offset, root)) = roots.peek()
                && offset == n
            {
                roots.next();
                let end = n + BLOCK as usize;
                if block.is_none() && end <= leaves.len() && self.range.at_block_boundary() {
                    block = Some((end, root));
                }
            }
            let merkle = block.is_none();
            receipts.push(self.push_entry(payload, leaf, payload_timestamp(payload), merkle)?);
            if let Some((end, root)) = block
                && n + 1 == end
            {
                // Every entry of the block is stored: its root joins the frontier.
                if self.range.append_block(root).is_none() {
                    let first = receipts.len() - BLOCK as usize;
                    for receipt in receipts.get(first..).unwrap_or(&[]) {
                        self.range.append(receipt.leaf_hash);
                    }
                }
                block = None;
            }
        }
        if receipts.len() > before {
            if let Durability::Interval { .. } = self.options.durability {
                self.pending_since.get_or_insert_with(Instant::now);
            }
            self.maybe_checkpoint(CommitMode::Deferred)?;
        }
        Ok(())
    }

    /// Frames, chains and stores one entry whose Merkle leaf hash is `leaf` and whose time
    /// (if any) is `timestamp`, in order.
    #[inline]
    fn push_entry(
        &mut self,
        payload: &[u8],
        leaf: &Hash,
        timestamp: Option<u64>,
        merkle: bool,
    ) -> Result<Receipt> {
        let index = self.next_index;
        let leaf = *leaf;
        let chain = self
            .version
            .chain_hash(index, &self.last_chain, payload, &leaf);
        self.frame.clear();
        encode_frame(&mut self.frame, index, payload, &chain);
        let offset = self.store.append(&self.frame)?;
        if merkle {
            self.range.append(leaf);
        }
        self.last_chain = chain;
        self.next_index += 1;
        if let Some(record) = self.index_builder.push(index, offset, timestamp) {
            self.store
                .append_side(Side::TimeIndex, &record.to_bytes(), false)?;
            self.time_index.push(record);
        }
        Ok(Receipt {
            index,
            leaf_hash: leaf,
            chain_hash: chain,
        })
    }

    /// Makes every appended entry durable (a group commit).
    pub fn commit(&mut self) -> Result<()> {
        if self.durable_entries != self.next_index {
            self.store.sync()?;
            self.durable_entries = self.next_index;
            self.commit_started = self.next_index;
            self.pending_since = None;
        }
        self.publish_durable_checkpoints()
    }

    /// Begins a commit of every entry appended so far whose sync runs without the ledger
    /// (the two-buffer group commit): `None` when nothing is left to commit. Run the
    /// ticket's [`SyncTicket::sync`] without holding the ledger, then hand it to
    /// [`Ledger::finish_commit`]. One commit at a time: the caller serialises them.
    pub(crate) fn begin_commit(&mut self) -> Result<Option<CommitTicket>> {
        if self.commit_started == self.next_index {
            return Ok(None);
        }
        let store = self.store.begin_sync()?;
        self.commit_started = self.next_index;
        self.pending_since = None;
        Ok(Some(CommitTicket {
            entries: self.next_index,
            store,
        }))
    }

    /// Records the outcome of a commit begun with [`Ledger::begin_commit`]: its entries are
    /// durable, or the writer stopped and the error is returned.
    pub(crate) fn finish_commit(&mut self, ticket: CommitTicket, synced: Result<()>) -> Result<()> {
        let CommitTicket { entries, store } = ticket;
        if let Err(error) = self.store.finish_sync(store, synced) {
            // Not durable: the next commit begins again from what is, and meets the
            // stopped writer.
            self.commit_started = self.durable_entries;
            return Err(error);
        }
        self.durable_entries = self.durable_entries.max(entries);
        self.publish_durable_checkpoints()
    }

    /// Entries appended and not yet covered by a commit begun.
    pub(crate) fn uncommitted(&self) -> u64 {
        self.next_index - self.commit_started
    }

    /// Whether the interval policy wants a commit now: `entries` uncommitted, or the oldest
    /// of them older than `max_delay`.
    pub(crate) fn commit_due(&self) -> bool {
        self.commit_due_by_count() || self.commit_overdue()
    }

    /// Whether `entries` (of an interval policy) are uncommitted.
    pub(crate) fn commit_due_by_count(&self) -> bool {
        match self.options.durability {
            Durability::Interval { entries, .. } => self.uncommitted() >= u64::from(entries),
            Durability::None | Durability::Sync => false,
        }
    }

    /// Whether the oldest uncommitted entry waited longer than the interval's `max_delay`.
    pub(crate) fn commit_overdue(&self) -> bool {
        match (self.options.durability, self.pending_since) {
            (Durability::Interval { max_delay, .. }, Some(since)) => since.elapsed() >= max_delay,
            _ => false,
        }
    }

    /// Does what time alone makes due: the group commit of entries pending longer than the
    /// interval's `max_delay`, and a checkpoint when `checkpoint_interval` has passed. A
    /// [`LedgerCollector`](crate::LedgerCollector) calls this from a timer thread.
    pub fn tick(&mut self) -> Result<()> {
        if let (Durability::Interval { max_delay, .. }, Some(since)) =
            (self.options.durability, self.pending_since)
            && since.elapsed() >= max_delay
        {
            self.commit()?;
        }
        self.maybe_checkpoint(CommitMode::Inline)
    }

    /// How often [`Ledger::tick`] has something to do: the smaller of the interval's
    /// `max_delay` and the checkpoint interval; `None` when neither is set.
    pub fn tick_period(&self) -> Option<Duration> {
        let commit = match self.options.durability {
            Durability::Interval { max_delay, .. } => Some(max_delay),
            Durability::None | Durability::Sync => None,
        };
        let checkpoint = self
            .options
            .checkpoint_interval
            .filter(|_| self.options.signer.is_some());
        match (commit, checkpoint) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|period| period.max(Duration::from_millis(1)))
    }

    /// Entries appended.
    pub fn size(&self) -> u64 {
        self.next_index
    }

    /// Entries known durable: receipts with a smaller index are on stable storage.
    pub fn durable_size(&self) -> u64 {
        self.durable_entries
    }

    /// The Merkle root of all entries.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The format version of the log (new logs: [`FormatVersion::CURRENT`]; a log created by
    /// an older build keeps its version and chain rule).
    pub fn format_version(&self) -> FormatVersion {
        self.version
    }

    /// The chain hash of the last entry (32 zero bytes when empty).
    pub fn last_chain_hash(&self) -> Hash {
        self.last_chain
    }

    /// The checkpoints stored so far, oldest first.
    pub fn checkpoints(&self) -> &[StoredCheckpoint] {
        &self.checkpoints
    }

    /// The options the ledger runs with.
    pub fn options(&self) -> &LedgerOptions {
        &self.options
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Commits and returns the store.
    pub fn into_store(mut self) -> Result<S> {
        self.commit()?;
        Ok(self.store)
    }

    /// Every leaf hash, read back from the store, as a tree to prove from.
    pub fn merkle_tree(&self) -> Result<MerkleTree> {
        let (walk, _) = walk(&self.store, &[], true)?;
        Ok(MerkleTree::from_leaf_hashes(
            walk.leaves
                .unwrap_or_default()
                .into_iter()
                .take(usize::try_from(self.next_index).unwrap_or(usize::MAX)),
        ))
    }

    /// The order of the log's stored times: the log's time, the time disorder each
    /// checkpoint states, and the first backward step (see `time_order.rs`).
    pub fn time_order(&self) -> TimeOrder {
        self.index_builder.order()
    }

    /// Every time-index block, the one still open included, oldest first.
    pub(crate) fn all_index_blocks(&self) -> impl Iterator<Item = IndexRecord> + '_ {
        self.time_index
            .iter()
            .copied()
            .chain(self.index_builder.open_block())
    }

    /// The time-index blocks that may hold entries stamped in `[from_ns, to_ns]`, including
    /// the block still open.
    pub fn index_blocks(&self, from_ns: u64, to_ns: u64) -> Vec<IndexRecord> {
        self.time_index
            .iter()
            .copied()
            .chain(self.index_builder.open_block())
            .filter(|r| r.overlaps(from_ns, to_ns))
            .collect()
    }

    /// The entries stamped in `[from_ns, to_ns]`, found through the time index (only the
    /// overlapping blocks are read).
    pub fn entries_between(&self, from_ns: u64, to_ns: u64) -> Result<Vec<StoredEntry>> {
        let mut out = Vec::new();
        for block in self.index_blocks(from_ns, to_ns) {
            let mut cursor = Cursor::new(&self.store)?;
            cursor.seek(block.offset);
            for _ in 0..INDEX_BLOCK {
                let Next::Frame(frame) = cursor.next()? else {
                    break;
                };
                let payload = cursor.payload(&frame);
                let stamp = payload_timestamp(payload).unwrap_or(0);
                if (from_ns..=to_ns).contains(&stamp) {
                    out.push(StoredEntry {
                        index: frame.index,
                        offset: frame.offset,
                        payload: payload.to_vec(),
                        chain_hash: frame.chain,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The entry with this index: [`LedgerError::OutOfRange`] past the end,
    /// [`LedgerError::Corrupt`] (naming the first bad entry) when a frame on the way to it,
    /// or its own, is damaged.
    pub fn read_entry(&self, index: u64) -> Result<StoredEntry> {
        let missing = || LedgerError::OutOfRange {
            what: "entry",
            index,
            size: self.next_index,
            available: self.next_index,
        };
        if index >= self.next_index {
            return Err(missing());
        }
        let block = usize::try_from(index / INDEX_BLOCK).unwrap_or(usize::MAX);
        // Where the walk starts, and the index of the frame found there.
        let (start, mut next) = match self.time_index.get(block) {
            Some(record) => (record.offset, record.first_index),
            None => self
                .index_builder
                .open_block()
                .map_or((crate::frame::FILE_HEADER_LEN as u64, 0), |r| {
                    (r.offset, r.first_index)
                }),
        };
        let mut cursor = Cursor::new(&self.store)?;
        cursor.seek(start);
        loop {
            match cursor.next()? {
                Next::Frame(frame) if frame.index == index => {
                    return Ok(StoredEntry {
                        index,
                        offset: frame.offset,
                        payload: cursor.payload(&frame).to_vec(),
                        chain_hash: frame.chain,
                    });
                }
                Next::Frame(frame) => next = frame.index.saturating_add(1),
                // An entry of the log that cannot be read is damage, not one out of range.
                Next::Damaged { offset, kind } => {
                    return Err(LedgerError::Corrupt {
                        path: self.store.location().to_path_buf(),
                        offset,
                        index: next,
                        kind,
                    });
                }
                Next::End | Next::Torn { .. } => return Err(missing()),
            }
        }
    }
}

fn validate(options: &LedgerOptions) -> Result<()> {
    if options.origin.is_empty() || options.origin.contains('\n') {
        return Err(LedgerError::InvalidSetting {
            setting: "origin",
            value: format!("{:?}", options.origin),
            expected: "one non-empty line",
        });
    }
    if let Durability::Interval { entries: 0, .. } = options.durability {
        return Err(LedgerError::InvalidSetting {
            setting: "durability.entries",
            value: "0".into(),
            expected: "at least 1 entry per group commit",
        });
    }
    Ok(())
}
