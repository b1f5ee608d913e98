//! Read-only access to a stored ledger, for investigators.
//!
//! Opening a [`Ledger`](crate::Ledger) recovers it: a torn tail is truncated and the time index
//! rebuilt. An investigation must not change the evidence, so [`LedgerReader`] only reads. It
//! finds a time window through the sparse time index, checks that each index record points at
//! the frame it claims (the index is derived data, and may be stale after a crash or edited
//! by an attacker), falls back to scanning the log when it does not, and scans the entries
//! after the last indexed block. It stops at a damaged or torn frame and says where, so the
//! caller can report the decisions it could read and the place the log broke.

use crate::error::{CorruptionKind, Result};
use crate::frame::{Cursor, Next};
use crate::ledger::StoredEntry;
use crate::store::{Side, Store};
use crate::time_index::{INDEX_BLOCK, INDEX_RECORD_LEN, IndexRecord, payload_timestamp};

/// Where a read stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadStop {
    /// Byte offset of the frame that could not be read.
    pub offset: u64,
    /// Why: a torn tail, a bad frame, changed content.
    pub kind: CorruptionKind,
}

/// Entries of a window, and where reading stopped if the log is damaged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowRead {
    /// The entries stamped inside the window, in log order.
    pub entries: Vec<StoredEntry>,
    /// Set when a damaged or torn frame ended the read.
    pub stopped: Option<ReadStop>,
    /// Whether the time index was used (false: it was missing or disagreed, and the log was
    /// scanned from the start).
    pub used_index: bool,
}

/// An entry lent by [`LedgerReader::for_each_entry`]: valid until the next one is read.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    /// Position in the log, from 0.
    pub index: u64,
    /// Byte offset of its frame.
    pub offset: u64,
    /// The payload.
    pub payload: &'a [u8],
    /// The stored chain hash.
    pub chain_hash: &'a crate::Hash,
}

/// The time range a log covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeSpan {
    /// Smallest and largest timestamp of the decisions read, or `None` when there were none.
    pub range: Option<(u64, u64)>,
    /// Set when a damaged or torn frame ended the scan.
    pub stopped: Option<ReadStop>,
}

/// Reads a stored ledger without changing it.
pub struct LedgerReader<'s, S: Store + ?Sized> {
    store: &'s S,
    time_index: Vec<IndexRecord>,
}

impl<'s, S: Store + ?Sized> LedgerReader<'s, S> {
    /// A reader over `store`; reads the time index (a partial trailing record is ignored).
    pub fn new(store: &'s S) -> Result<Self> {
        let side = store.read_side(Side::TimeIndex)?;
        let time_index = side
            .chunks_exact(INDEX_RECORD_LEN)
            .map(|c| {
                let word = |at: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&c[at..at + 8]);
                    u64::from_le_bytes(b)
                };
                IndexRecord {
                    first_index: word(0),
                    offset: word(8),
                    min_timestamp_ns: word(16),
                    max_timestamp_ns: word(24),
                }
            })
            .collect();
        Ok(Self { store, time_index })
    }

    /// The store read.
    pub(crate) fn store(&self) -> &'s S {
        self.store
    }

    /// The entries stamped in `[from_ns, to_ns]`.
    pub fn entries_between(&self, from_ns: u64, to_ns: u64) -> Result<WindowRead> {
        if self.time_index.is_empty() || !self.index_is_plausible()? {
            return self.scan(None, from_ns, to_ns);
        }
        let mut read = WindowRead {
            used_index: true,
            ..WindowRead::default()
        };
        for record in self
            .time_index
            .iter()
            .filter(|r| r.overlaps(from_ns, to_ns))
        {
            // Each block read is checked where it starts; a lying record means a stale
            // index, and the whole log is scanned instead.
            if !self.block_starts_where_indexed(record)? {
                return self.scan(None, from_ns, to_ns);
            }
            let block = self.scan(Some((record.offset, INDEX_BLOCK)), from_ns, to_ns)?;
            read.entries.extend(block.entries);
            if block.stopped.is_some() {
                read.stopped = block.stopped;
                return Ok(read);
            }
        }
        // Entries after the last closed block are not indexed yet.
        let tail_start = self.time_index.last().map(|r| r.offset);
        let tail = self.scan_after_last_block(tail_start, from_ns, to_ns)?;
        read.entries.extend(tail.entries);
        read.stopped = tail.stopped;
        Ok(read)
    }

    /// Every entry of the log in order, whatever its payload (model records included), up to
    /// the first damaged or torn frame.
    pub fn all_entries(&self) -> Result<WindowRead> {
        let mut cursor = Cursor::new(self.store)?;
        let mut read = WindowRead::default();
        loop {
            match cursor.next()? {
                Next::End => return Ok(read),
                Next::Frame(frame) => read.entries.push(StoredEntry {
                    index: frame.index,
                    offset: frame.offset,
                    payload: cursor.payload(&frame).to_vec(),
                    chain_hash: frame.chain,
                }),
                Next::Torn { offset, bytes, .. } => {
                    read.stopped = Some(ReadStop {
                        offset,
                        kind: CorruptionKind::TornTail { bytes },
                    });
                    return Ok(read);
                }
                Next::Damaged { offset, kind } => {
                    read.stopped = Some(ReadStop { offset, kind });
                    return Ok(read);
                }
            }
        }
    }

    /// Calls `visit` with every entry of the log in order, whatever its payload, up to the
    /// first damaged or torn frame, which it returns. Unlike [`all_entries`](Self::all_entries)
    /// nothing is kept: entries are read through a buffer of about 1 MiB (more only for a
    /// larger entry) and lent to `visit`, so memory does not grow with the log. An error from
    /// `visit` stops the read and is returned.
    pub fn for_each_entry<E: From<crate::LedgerError>>(
        &self,
        visit: impl FnMut(EntryRef<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Option<ReadStop>, E> {
        self.visit_entries(Cursor::new(self.store)?, visit)
    }

    /// [`for_each_entry`](Self::for_each_entry) for a log that
    /// [`verify_store`](crate::verify_store) has just found intact: each frame's header CRC
    /// is checked (it finds the frames), its body CRC is not, since verification checked
    /// every one of them and hashed the same bytes into the chain. A body changed since then
    /// is not seen here as damage; a caller that cannot vouch for the verification reads with
    /// `for_each_entry`. For `whyline replay --chain-verified`, where the body CRCs were a
    /// twentieth of the CPU.
    pub fn for_each_entry_of_verified_log<E: From<crate::LedgerError>>(
        &self,
        visit: impl FnMut(EntryRef<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Option<ReadStop>, E> {
        self.visit_entries(Cursor::new(self.store)?.without_body_crcs(), visit)
    }

    fn visit_entries<E: From<crate::LedgerError>>(
        &self,
        mut cursor: Cursor<'s, S>,
        mut visit: impl FnMut(EntryRef<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<Option<ReadStop>, E> {
        loop {
            match cursor.next()? {
                Next::End => return Ok(None),
                Next::Frame(frame) => visit(EntryRef {
                    index: frame.index,
                    offset: frame.offset,
                    payload: cursor.payload(&frame),
                    chain_hash: &frame.chain,
                })?,
                Next::Torn { offset, bytes, .. } => {
                    return Ok(Some(ReadStop {
                        offset,
                        kind: CorruptionKind::TornTail { bytes },
                    }));
                }
                Next::Damaged { offset, kind } => return Ok(Some(ReadStop { offset, kind })),
            }
        }
    }

    /// The log's first entry, whatever its payload (a model record, say), or `None` when the
    /// log is empty or its first frame is damaged.
    pub fn first_entry(&self) -> Result<Option<StoredEntry>> {
        let mut cursor = Cursor::new(self.store)?;
        match cursor.next()? {
            Next::Frame(frame) => Ok(Some(StoredEntry {
                index: frame.index,
                offset: frame.offset,
                payload: cursor.payload(&frame).to_vec(),
                chain_hash: frame.chain,
            })),
            Next::End | Next::Torn { .. } | Next::Damaged { .. } => Ok(None),
        }
    }

    /// The last entry before index `end` whose payload `matches` (the model record in force
    /// when a window starts, say), reading the log from its start; `None` when there is none
    /// or a damaged frame comes first.
    pub fn last_before(
        &self,
        end: u64,
        matches: impl Fn(&[u8]) -> bool,
    ) -> Result<Option<StoredEntry>> {
        let mut cursor = Cursor::new(self.store)?;
        let mut last = None;
        while let Next::Frame(frame) = cursor.next()? {
            if frame.index >= end {
                break;
            }
            let payload = cursor.payload(&frame);
            if matches(payload) {
                last = Some(StoredEntry {
                    index: frame.index,
                    offset: frame.offset,
                    payload: payload.to_vec(),
                    chain_hash: frame.chain,
                });
            }
        }
        Ok(last)
    }

    /// The smallest and largest timestamps in the log (a full scan), or `None` when empty.
    pub fn time_span(&self) -> Result<TimeSpan> {
        if self.time_index.is_empty() || !self.index_is_plausible()? {
            return self.scan_span(None);
        }
        // Closed blocks carry their own min and max; only the entries after them are read.
        let mut span = self.scan_span(self.time_index.last().map(|r| (r.offset, true)))?;
        // A block of unstamped entries only (min > max) adds nothing.
        for record in self
            .time_index
            .iter()
            .filter(|r| r.min_timestamp_ns <= r.max_timestamp_ns)
        {
            let (lo, hi) = (record.min_timestamp_ns, record.max_timestamp_ns);
            span.range = Some(span.range.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        Ok(span)
    }

    /// Scans for timestamps from `start` (skipping one closed block when asked) or from the
    /// first entry.
    fn scan_span(&self, start: Option<(u64, bool)>) -> Result<TimeSpan> {
        let mut cursor = Cursor::new(self.store)?;
        let mut skip = 0;
        if let Some((offset, skip_block)) = start {
            cursor.seek(offset);
            if skip_block {
                skip = INDEX_BLOCK;
            }
        }
        let mut span = TimeSpan::default();
        loop {
            match cursor.next()? {
                Next::End => return Ok(span),
                Next::Frame(frame) => {
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    if let Some(t) = payload_timestamp(cursor.payload(&frame)) {
                        span.range =
                            Some(span.range.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
                    }
                }
                Next::Torn { offset, bytes, .. } => {
                    span.stopped = Some(ReadStop {
                        offset,
                        kind: CorruptionKind::TornTail { bytes },
                    });
                    return Ok(span);
                }
                Next::Damaged { offset, kind } => {
                    span.stopped = Some(ReadStop { offset, kind });
                    return Ok(span);
                }
            }
        }
    }

    /// Whether the index can describe this log: its records number the blocks in order,
    /// lie inside the log, and the last one points at a frame carrying its first index
    /// (so the index is not from a longer or another log). Reading a frame per record would
    /// make every window read O(log size); the blocks a read uses are checked as it reads
    /// them ([`block_starts_where_indexed`](Self::block_starts_where_indexed)).
    fn index_is_plausible(&self) -> Result<bool> {
        let end = self.store.len();
        let numbered =
            self.time_index.iter().enumerate().all(|(i, record)| {
                record.first_index == i as u64 * INDEX_BLOCK && record.offset < end
            });
        if !numbered {
            return Ok(false);
        }
        match self.time_index.last() {
            Some(last) => self.block_starts_where_indexed(last),
            None => Ok(true),
        }
    }

    /// Whether `record` points at a frame carrying its first index.
    fn block_starts_where_indexed(&self, record: &IndexRecord) -> Result<bool> {
        let mut cursor = Cursor::new(self.store)?;
        cursor.seek(record.offset);
        Ok(matches!(cursor.next()?, Next::Frame(frame) if frame.index == record.first_index))
    }

    /// The entries after the last closed block, `last_block` being where that block starts
    /// (its frames are skipped), or of the whole log when no block is closed. Only the
    /// entries and where the read stopped are used: [`entries_between`](Self::entries_between)
    /// says whether the index was used.
    fn scan_after_last_block(
        &self,
        last_block: Option<u64>,
        from_ns: u64,
        to_ns: u64,
    ) -> Result<WindowRead> {
        match last_block {
            None => self.scan(None, from_ns, to_ns),
            Some(offset) => {
                // Skip the last closed block's frames, then read to the end.
                let mut cursor = Cursor::new(self.store)?;
                cursor.seek(offset);
                for _ in 0..INDEX_BLOCK {
                    match cursor.next()? {
                        Next::Frame(_) => {}
                        Next::End => return Ok(WindowRead::default()),
                        Next::Torn { offset, bytes, .. } => {
                            return Ok(WindowRead {
                                stopped: Some(ReadStop {
                                    offset,
                                    kind: CorruptionKind::TornTail { bytes },
                                }),
                                ..WindowRead::default()
                            });
                        }
                        Next::Damaged { offset, kind } => {
                            return Ok(WindowRead {
                                stopped: Some(ReadStop { offset, kind }),
                                ..WindowRead::default()
                            });
                        }
                    }
                }
                self.scan(Some((cursor.position(), u64::MAX)), from_ns, to_ns)
            }
        }
    }

    /// Reads up to `limit` frames from `start` (or the whole log), keeping those in the window
    /// (`used_index` left false: [`entries_between`](Self::entries_between) sets it).
    fn scan(&self, start: Option<(u64, u64)>, from_ns: u64, to_ns: u64) -> Result<WindowRead> {
        let mut cursor = Cursor::new(self.store)?;
        let limit = match start {
            Some((offset, limit)) => {
                cursor.seek(offset);
                limit
            }
            None => u64::MAX,
        };
        let mut read = WindowRead::default();
        for _ in 0..limit {
            match cursor.next()? {
                Next::End => break,
                Next::Frame(frame) => {
                    let payload = cursor.payload(&frame);
                    if payload_timestamp(payload).is_some_and(|t| (from_ns..=to_ns).contains(&t)) {
                        read.entries.push(StoredEntry {
                            index: frame.index,
                            offset: frame.offset,
                            payload: payload.to_vec(),
                            chain_hash: frame.chain,
                        });
                    }
                }
                Next::Torn { offset, bytes, .. } => {
                    read.stopped = Some(ReadStop {
                        offset,
                        kind: CorruptionKind::TornTail { bytes },
                    });
                    break;
                }
                Next::Damaged { offset, kind } => {
                    read.stopped = Some(ReadStop { offset, kind });
                    break;
                }
            }
        }
        Ok(read)
    }
}
