//! The ledger: one writer that frames entries, chains them, grows the Merkle tree, commits
//! them per the durability policy and signs checkpoints, over any [`Store`].
//!
//! Opening recovers: the whole entry log is walked (every hash recomputed), a torn tail is
//! cut and reported in the [`RecoveryReport`], damage in the middle fails with its position
//! unless [`LedgerOptions::salvage`] was asked for, and checkpoints are checked against the
//! recomputed roots.

use std::time::{Duration, Instant};

use crate::chain::chain_hash;
use crate::checkpoint::{Checkpoint, NoteSigner};
use crate::error::{CorruptionKind, LedgerError, Result};
use crate::frame::{Cursor, MAX_PAYLOAD, Next, encode_frame, file_header};
use crate::merkle::{CompactRange, Hash, MerkleTree, leaf_hash};
use crate::store::{Side, Store};
use crate::time_index::{INDEX_BLOCK, IndexBuilder, IndexRecord, payload_timestamp};
use crate::verify::{
    Stop, StoredCheckpoint, check_checkpoints, encode_checkpoint_record, read_checkpoints, walk,
    walk_fast,
};

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

/// Proof that an entry was appended: its sequence number and leaf hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// Sequence number (leaf index).
    pub sequence: u64,
    /// `SHA-256(0x00 ‖ payload)`.
    pub leaf_hash: Hash,
    /// The entry's chain hash.
    pub chain_hash: Hash,
}

/// What opening a ledger found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Entries in the log after recovery.
    pub entries: u64,
    /// Bytes of a torn tail cut off (0 when the log ended cleanly).
    pub torn_bytes: u64,
    /// Entries in that torn tail (partial frames: 0 or 1).
    pub torn_entries: u64,
    /// When salvaging: the damage that was cut off, with everything after it.
    pub salvaged: Option<SalvageReport>,
    /// Bytes of a torn checkpoint record cut off.
    pub torn_checkpoint_bytes: u64,
    /// When salvaging: tree sizes of the checkpoints cut from the checkpoints file because
    /// they covered entries the salvage dropped.
    pub dropped_checkpoints: Vec<u64>,
    /// Whether the time index was rebuilt from the entry log.
    pub index_rebuilt: bool,
}

/// Damage cut off by [`LedgerOptions::salvage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SalvageReport {
    /// Byte offset of the first bad frame.
    pub offset: u64,
    /// Sequence number it should have had.
    pub sequence: u64,
    /// What was wrong.
    pub kind: CorruptionKind,
    /// Bytes dropped.
    pub bytes: u64,
}

/// One entry read back from the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Sequence number.
    pub sequence: u64,
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
    next_sequence: u64,
    last_chain: Hash,
    range: CompactRange,
    frame: Vec<u8>,
    durable_entries: u64,
    pending_since: Option<Instant>,
    last_checkpoint_size: u64,
    last_checkpoint_at: Instant,
    index_builder: IndexBuilder,
    index: Vec<IndexRecord>,
    checkpoints: Vec<StoredCheckpoint>,
    /// Bytes in the checkpoints side log.
    checkpoints_len: u64,
}

impl<S: Store> Ledger<S> {
    /// Opens the ledger in `store`, recovering it (see the module docs).
    pub fn open(mut store: S, options: LedgerOptions) -> Result<(Self, RecoveryReport)> {
        validate(&options)?;
        let _span =
            tracing::info_span!("ledger_open", path = %store.location().display()).entered();
        let mut report = RecoveryReport::default();
        let header = file_header();
        let held = usize::try_from(store.len()).unwrap_or(usize::MAX);
        if held > 0 && held < header.len() {
            // A crash while the header was being written: a torn header, nothing else.
            let mut bytes = vec![0u8; held];
            store.read_at(0, &mut bytes)?;
            if header.get(..held) == Some(&bytes[..]) {
                store.truncate(0)?;
                report.torn_bytes = held as u64;
            }
        }
        if store.is_empty() {
            store.append(&header)?;
            store.sync()?;
        }
        let checkpoints_path = store.location().with_file_name(crate::CHECKPOINTS_FILE);
        let side = store.read_side(Side::Checkpoints)?;
        let (checkpoints, good) = read_checkpoints(&side, &checkpoints_path)?;
        if good < side.len() {
            store.truncate_side(Side::Checkpoints, good as u64)?;
            report.torn_checkpoint_bytes = (side.len() - good) as u64;
        }
        let mut sizes: Vec<u64> = checkpoints.iter().map(|c| c.checkpoint.size).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let (walk, stop) = walk_fast(&store, &sizes, &mut |_, _| {})?;
        match stop {
            Stop::Clean => {}
            Stop::Torn { offset, bytes } => {
                tracing::warn!(offset, bytes, "torn tail truncated");
                store.truncate(offset)?;
                report.torn_bytes = bytes;
                report.torn_entries = 1;
            }
            Stop::Bad {
                offset,
                sequence,
                kind,
            } => {
                if !options.salvage {
                    return Err(LedgerError::Corrupt {
                        path: store.location().to_path_buf(),
                        offset,
                        sequence,
                        kind,
                    });
                }
                let bytes = store.len() - offset;
                tracing::warn!(offset, sequence, %kind, bytes, "salvage: damaged log cut");
                store.truncate(offset)?;
                report.salvaged = Some(SalvageReport {
                    offset,
                    sequence,
                    kind,
                    bytes,
                });
            }
        }
        let mut checkpoints = checkpoints;
        let mut checkpoints_len = good as u64;
        if report.salvaged.is_some()
            && let Some(first_beyond) = checkpoints
                .iter()
                .position(|c| c.checkpoint.size > walk.entries)
        {
            // Salvage cut entries that later checkpoints cover: those checkpoints can never
            // verify again. Cut them from the checkpoints file (they stay in the report).
            let cut_at = checkpoints
                .get(first_beyond)
                .map_or(checkpoints_len, |c| c.offset);
            store.truncate_side(Side::Checkpoints, cut_at)?;
            let dropped = checkpoints.split_off(first_beyond);
            report.dropped_checkpoints = dropped.iter().map(|c| c.checkpoint.size).collect();
            tracing::warn!(
                count = dropped.len(),
                "salvage: checkpoints beyond the cut dropped"
            );
            checkpoints_len = cut_at;
        }
        let verifier = options.signer.as_ref().map(NoteSigner::verifier);
        check_checkpoints(&checkpoints, &walk, verifier.as_ref(), &checkpoints_path)?;
        // The time index is derived: rewrite it when it disagrees with the entry log.
        let expected: Vec<u8> = walk.index.iter().flat_map(|r| r.to_bytes()).collect();
        if store.read_side(Side::TimeIndex)? != expected {
            store.truncate_side(Side::TimeIndex, 0)?;
            store.append_side(Side::TimeIndex, &expected, false)?;
            report.index_rebuilt = true;
        }
        report.entries = walk.entries;
        let last_checkpoint_size = checkpoints
            .iter()
            .map(|c| c.checkpoint.size)
            .max()
            .unwrap_or(0);
        let ledger = Ledger {
            next_sequence: walk.entries,
            last_chain: walk.last_chain,
            range: walk.range,
            frame: Vec::with_capacity(256),
            durable_entries: walk.entries,
            pending_since: None,
            last_checkpoint_size,
            last_checkpoint_at: Instant::now(),
            index_builder: walk.index_builder,
            index: walk.index,
            checkpoints,
            checkpoints_len,
            store,
            options,
        };
        Ok((ledger, report))
    }

    /// Appends one entry (an APRT record) and commits it per the durability policy.
    ///
    /// With [`Durability::Sync`] the entry is durable when this returns `Ok`; otherwise
    /// compare the receipt's sequence with [`Ledger::durable_size`]. An `Err` from a failed
    /// write or sync stops the writer (see [`Store`]).
    pub fn append(&mut self, payload: &[u8]) -> Result<Receipt> {
        self.append_with(payload, true)
    }

    /// [`Ledger::append`], leaving a `Sync` commit to the caller when `sync_now` is false:
    /// the collector's group commit makes several threads' entries durable with one sync.
    pub(crate) fn append_with(&mut self, payload: &[u8], sync_now: bool) -> Result<Receipt> {
        let sequence = self.next_sequence;
        if payload.is_empty() || payload.len() > MAX_PAYLOAD {
            return Err(LedgerError::PayloadSize {
                sequence,
                found: payload.len(),
                limit: MAX_PAYLOAD,
            });
        }
        let chain = chain_hash(sequence, &self.last_chain, payload);
        let leaf = leaf_hash(payload);
        self.frame.clear();
        encode_frame(&mut self.frame, sequence, payload, &chain);
        let offset = self.store.append(&self.frame)?;
        self.range.append(leaf);
        self.last_chain = chain;
        self.next_sequence += 1;
        let timestamp = payload_timestamp(payload).unwrap_or(0);
        if let Some(record) = self.index_builder.push(sequence, offset, timestamp) {
            self.store
                .append_side(Side::TimeIndex, &record.to_bytes(), false)?;
            self.index.push(record);
        }
        match self.options.durability {
            Durability::Sync if sync_now => self.commit()?,
            Durability::Sync => {}
            Durability::Interval { entries, max_delay } => {
                let since = *self.pending_since.get_or_insert_with(Instant::now);
                let pending = self.next_sequence - self.durable_entries;
                if pending >= u64::from(entries) || since.elapsed() >= max_delay {
                    self.commit()?;
                }
            }
            Durability::None => {}
        }
        self.maybe_checkpoint()?;
        Ok(Receipt {
            sequence,
            leaf_hash: leaf,
            chain_hash: chain,
        })
    }

    /// Makes every appended entry durable (a group commit).
    pub fn commit(&mut self) -> Result<()> {
        if self.durable_entries == self.next_sequence {
            return Ok(());
        }
        self.store.sync()?;
        self.durable_entries = self.next_sequence;
        self.pending_since = None;
        Ok(())
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
        self.maybe_checkpoint()
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

    fn maybe_checkpoint(&mut self) -> Result<()> {
        if self.options.signer.is_none() || self.next_sequence == self.last_checkpoint_size {
            return Ok(());
        }
        let by_count = self.options.checkpoint_every > 0
            && self.next_sequence - self.last_checkpoint_size >= self.options.checkpoint_every;
        let by_time = self
            .options
            .checkpoint_interval
            .is_some_and(|interval| self.last_checkpoint_at.elapsed() >= interval);
        if by_count || by_time {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Commits, then signs and stores a checkpoint of the whole log; returns the signed
    /// note. `None` when the ledger has no signer.
    pub fn checkpoint(&mut self) -> Result<Option<String>> {
        if self.options.signer.is_none() {
            return Ok(None);
        }
        let _span = tracing::debug_span!("checkpoint", size = self.next_sequence).entered();
        self.commit()?;
        let Some(signer) = self.options.signer.as_ref() else {
            return Ok(None);
        };
        let checkpoint = Checkpoint {
            origin: self.options.origin.clone(),
            size: self.next_sequence,
            root: self.range.root(),
        };
        let note = checkpoint.sign(signer);
        let offset = self.checkpoints_len;
        let record = encode_checkpoint_record(&note);
        self.store.append_side(Side::Checkpoints, &record, true)?;
        self.checkpoints_len += record.len() as u64;
        self.checkpoints.push(StoredCheckpoint {
            offset,
            note: note.clone(),
            checkpoint,
        });
        self.last_checkpoint_size = self.next_sequence;
        self.last_checkpoint_at = Instant::now();
        Ok(Some(note))
    }

    /// Entries appended.
    pub fn size(&self) -> u64 {
        self.next_sequence
    }

    /// Entries known durable: receipts with a smaller sequence are on stable storage.
    pub fn durable_size(&self) -> u64 {
        self.durable_entries
    }

    /// The Merkle root of all entries.
    pub fn root(&self) -> Hash {
        self.range.root()
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
                .take(usize::try_from(self.next_sequence).unwrap_or(usize::MAX)),
        ))
    }

    /// The time-index blocks that may hold entries stamped in `[from_ns, to_ns]`, including
    /// the block still open.
    pub fn index_blocks(&self, from_ns: u64, to_ns: u64) -> Vec<IndexRecord> {
        self.index
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
                        sequence: frame.sequence,
                        offset: frame.offset,
                        payload: payload.to_vec(),
                        chain_hash: frame.chain,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The entry with this sequence number.
    pub fn read_entry(&self, sequence: u64) -> Result<StoredEntry> {
        let missing = || LedgerError::OutOfRange {
            what: "entry",
            index: sequence,
            size: self.next_sequence,
            available: self.next_sequence,
        };
        if sequence >= self.next_sequence {
            return Err(missing());
        }
        let block = usize::try_from(sequence / INDEX_BLOCK).unwrap_or(usize::MAX);
        let start = match self.index.get(block) {
            Some(record) => record.offset,
            None => self
                .index_builder
                .open_block()
                .map_or(crate::frame::FILE_HEADER_LEN as u64, |r| r.offset),
        };
        let mut cursor = Cursor::new(&self.store)?;
        cursor.seek(start);
        loop {
            let Next::Frame(frame) = cursor.next()? else {
                return Err(missing());
            };
            if frame.sequence == sequence {
                return Ok(StoredEntry {
                    sequence,
                    offset: frame.offset,
                    payload: cursor.payload(&frame).to_vec(),
                    chain_hash: frame.chain,
                });
            }
        }
    }
}

fn validate(options: &LedgerOptions) -> Result<()> {
    if options.origin.is_empty() || options.origin.contains('\n') {
        return Err(LedgerError::InvalidConfig {
            field: "origin",
            detail: "must be one non-empty line".into(),
        });
    }
    if let Durability::Interval { entries: 0, .. } = options.durability {
        return Err(LedgerError::InvalidConfig {
            field: "durability.entries",
            detail: "group commit needs at least 1 entry".into(),
        });
    }
    Ok(())
}
