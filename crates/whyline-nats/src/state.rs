//! The sequencer's memory of what is in the log, read back from the log itself.
//!
//! Every batch the sequencer appends is preceded by a [`Mark`] entry naming the producer,
//! the batch and which of its records follow. Reading the log from the start rebuilds, per
//! producer, the next batch wanted and, if a crash cut the last append, how many records of
//! that batch made it: the entries between a mark and the next mark (or the end of the log)
//! are its records, so a crash anywhere (before, inside or after a batch's entries) leaves a
//! state that says exactly what is there. There is no side file that could disagree with
//! the log.

use std::collections::{BTreeMap, HashMap, VecDeque};

use whyline_core::EntryKind;
use whyline_ledger::{Hash, LedgerReader, Store, leaf_hash};

use crate::error::{NatsError, Result};
use crate::topology::ProducerId;
use crate::wire::Mark;

/// How many recent batches per producer the sequencer remembers the ledger position of
/// (to re-publish a receipt when a batch it already appended is delivered again).
pub const REMEMBERED_BATCHES: usize = 4096;

/// How many leaf hashes of the most recent pieces the sequencer keeps (8 MiB): enough to
/// re-publish the receipts of every batch a crash left appended but unacknowledged.
pub const REMEMBERED_LEAVES: usize = 1 << 18;

/// A piece of a batch: producer, batch number, first record.
type PieceKey = (ProducerId, u64, u32);

/// Where part of a batch is in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The first record of the batch in this piece.
    pub first_record: u32,
    /// The ledger index of that record.
    pub first_index: u64,
    /// Records in the piece (as found in the log).
    pub records: u32,
}

/// One producer's high-water mark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerState {
    /// The next batch wanted (the batch in progress when `done < total`).
    pub next_batch: u64,
    /// Records of `next_batch` already in the log (0 unless a crash cut its append).
    pub done: u32,
    /// Records in `next_batch` when `done > 0`.
    pub total: u32,
    /// Where recent batches are, for re-publishing their receipts.
    pub recent: BTreeMap<u64, Vec<Piece>>,
}

/// What to do with a delivered batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Append its records from `from_record` on (0, or where a crash cut it).
    Append {
        /// The first record to append.
        from_record: u32,
    },
    /// Already in the log: acknowledge it (and re-publish its receipt).
    Duplicate,
    /// An earlier batch of this producer has not been appended yet: leave it for later.
    Gap {
        /// The batch wanted first.
        expected: u64,
    },
}

/// Every producer's high-water mark.
#[derive(Clone, Debug, Default)]
pub struct SequencerState {
    producers: HashMap<ProducerId, ProducerState>,
    /// Entries read from the log when the state was rebuilt.
    scanned: u64,
    /// Decisions found after marks when the state was rebuilt.
    decisions: u64,
    /// Leaf hashes of the most recent pieces, oldest first.
    leaves: HashMap<PieceKey, Vec<Hash>>,
    leaves_order: VecDeque<PieceKey>,
    leaves_held: usize,
}

impl SequencerState {
    /// Rebuilds the state from every mark in `store`.
    pub fn from_store<S: Store + ?Sized>(store: &S) -> Result<SequencerState> {
        let mut state = SequencerState::default();
        let reader = LedgerReader::new(store)?;
        let mut open: Option<(Mark, u64, Vec<Hash>)> = None;
        reader.for_each_entry::<NatsError>(|entry| {
            state.scanned = entry.index + 1;
            if Mark::is_mark(entry.payload) {
                if let Some((mark, first_index, hashes)) = open.take() {
                    state.close(&mark, first_index, hashes);
                }
                let mark = Mark::from_bytes(entry.payload, entry.index)?;
                open = Some((mark, entry.index + 1, Vec::new()));
            } else if EntryKind::of(entry.payload) == EntryKind::Decision
                && let Some((_, _, hashes)) = open.as_mut()
            {
                hashes.push(leaf_hash(entry.payload));
                state.decisions += 1;
            }
            Ok(())
        })?;
        if let Some((mark, first_index, hashes)) = open.take() {
            state.close(&mark, first_index, hashes);
        }
        Ok(state)
    }

    /// Entries read when the state was rebuilt.
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    /// Decisions found after marks when the state was rebuilt.
    pub fn decisions(&self) -> u64 {
        self.decisions
    }

    /// The state of `producer` (none: nothing of it in the log).
    pub fn producer(&self, producer: &ProducerId) -> Option<&ProducerState> {
        self.producers.get(producer)
    }

    /// Producers with something in the log.
    pub fn producers(&self) -> impl Iterator<Item = (&ProducerId, &ProducerState)> {
        self.producers.iter()
    }

    /// A mark read from the log, with the leaf hashes of the records found after it.
    fn close(&mut self, mark: &Mark, first_index: u64, mut hashes: Vec<Hash>) {
        hashes.truncate(mark.records as usize);
        let found = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
        self.remember_leaves(
            (mark.producer.clone(), mark.batch, mark.first_record),
            hashes,
        );
        self.record(
            &mark.producer,
            mark.batch,
            mark.batch_records,
            Piece {
                first_record: mark.first_record,
                first_index,
                records: found,
            },
        );
    }

    /// What to do with `producer`'s batch `batch` of `records` records.
    pub fn verdict(&self, producer: &ProducerId, batch: u64) -> Verdict {
        let state = self.producers.get(producer);
        let next = state.map_or(0, |s| s.next_batch);
        let done = state.map_or(0, |s| s.done);
        if batch < next {
            Verdict::Duplicate
        } else if batch == next {
            Verdict::Append { from_record: done }
        } else {
            Verdict::Gap { expected: next }
        }
    }

    /// Where `producer`'s batch `batch` is, if remembered.
    pub fn pieces(&self, producer: &ProducerId, batch: u64) -> Option<&[Piece]> {
        self.producers
            .get(producer)?
            .recent
            .get(&batch)
            .map(Vec::as_slice)
    }

    /// Keeps the leaf hashes of a piece, forgetting the oldest beyond
    /// [`REMEMBERED_LEAVES`].
    pub fn remember_leaves(&mut self, key: (ProducerId, u64, u32), hashes: Vec<Hash>) {
        self.leaves_held += hashes.len();
        if let Some(old) = self.leaves.insert(key.clone(), hashes) {
            self.leaves_held -= old.len();
        } else {
            self.leaves_order.push_back(key);
        }
        while self.leaves_held > REMEMBERED_LEAVES && self.leaves_order.len() > 1 {
            if let Some(oldest) = self.leaves_order.pop_front()
                && let Some(old) = self.leaves.remove(&oldest)
            {
                self.leaves_held -= old.len();
            }
        }
    }

    /// The leaf hashes of a recent piece (`None` once forgotten).
    pub fn leaves(&self, producer: &ProducerId, batch: u64, first_record: u32) -> Option<&[Hash]> {
        self.leaves
            .get(&(producer.clone(), batch, first_record))
            .map(Vec::as_slice)
    }

    /// Notes that `piece` of `producer`'s batch `batch` (of `total` records) is in the log.
    pub fn record(&mut self, producer: &ProducerId, batch: u64, total: u32, piece: Piece) {
        let state = self.producers.entry(producer.clone()).or_default();
        let done = piece.first_record.saturating_add(piece.records);
        if batch >= state.next_batch {
            if done >= total {
                state.next_batch = batch + 1;
                state.done = 0;
                state.total = 0;
            } else {
                state.next_batch = batch;
                state.done = done;
                state.total = total;
            }
        }
        state.recent.entry(batch).or_default().push(piece);
        while state.recent.len() > REMEMBERED_BATCHES {
            state.recent.pop_first();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(first_record: u32, first_index: u64, records: u32) -> Piece {
        Piece {
            first_record,
            first_index,
            records,
        }
    }

    #[test]
    fn a_batch_is_appended_once_in_order_and_a_cut_batch_is_finished_from_where_it_stopped() {
        let p = ProducerId::new("p").unwrap();
        let mut state = SequencerState::default();
        assert_eq!(state.verdict(&p, 0), Verdict::Append { from_record: 0 });
        assert_eq!(state.verdict(&p, 1), Verdict::Gap { expected: 0 });
        state.record(&p, 0, 10, piece(0, 1, 10));
        assert_eq!(state.verdict(&p, 0), Verdict::Duplicate);
        assert_eq!(state.verdict(&p, 1), Verdict::Append { from_record: 0 });
        // A crash after 4 records of batch 1.
        state.record(&p, 1, 10, piece(0, 12, 4));
        assert_eq!(state.verdict(&p, 1), Verdict::Append { from_record: 4 });
        state.record(&p, 1, 10, piece(4, 20, 6));
        assert_eq!(state.verdict(&p, 1), Verdict::Duplicate);
        assert_eq!(state.verdict(&p, 2), Verdict::Append { from_record: 0 });
        assert_eq!(
            state.pieces(&p, 1),
            Some(&[piece(0, 12, 4), piece(4, 20, 6)][..])
        );
    }
}
