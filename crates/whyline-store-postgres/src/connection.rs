//! The one PostgreSQL session of a store, shared with its commit tickets.
//!
//! # The life of an appended frame
//!
//! 1. [`Store::append`](whyline_ledger::Store::append) puts the frame in the store's
//!    pending [`Batch`] (memory only; readable at once).
//! 2. `sync` or `begin_sync` hands the pending batch to the session's queue, in order.
//! 3. A commit (the store's `sync`, a ticket's `sync` outside the writer's lock, or a durable
//!    side record) writes every queued batch in ONE transaction (a binary `COPY ... FROM
//!    STDIN` per table, prepared once per session: the rows stream in one go, whatever the
//!    batch size, and the server inserts them in bulk) and commits it: this is the group
//!    commit. The frame is durable once `COMMIT` returns, as durable as the server's
//!    `synchronous_commit` makes a commit.
//! 4. A failed commit rolls the whole transaction back (none of its rows exist) and marks the
//!    session failed: no later commit runs, so no later row can land after a hole. When the
//!    failure leaves it unknown whether `COMMIT` happened (the connection dropped during
//!    it), reopening reads what is there; the primary key (log, byte offset) refuses a
//!    second row at any offset.

use std::path::PathBuf;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, Statement};
use whyline_ledger::{Result, Side};

use crate::error::{pg_error, store_error};

/// Rows appended and not yet committed: entry frames and side records, each at its offset.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) offsets: Vec<i64>,
    pub(crate) frames: Vec<Vec<u8>>,
    pub(crate) sides: Vec<(Side, i64, Vec<u8>)>,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.offsets.is_empty() && self.sides.is_empty()
    }
}

/// The name a side log has in `whyline_side_records.side`.
pub(crate) fn side_name(side: Side) -> &'static str {
    match side {
        Side::Checkpoints => "checkpoints",
        Side::TimeIndex => "time_index",
    }
}

pub(crate) fn side_slot(side: Side) -> usize {
    match side {
        Side::Checkpoints => 0,
        Side::TimeIndex => 1,
    }
}

/// The session and what it has committed.
pub(crate) struct Connection {
    pub(crate) client: Client,
    pub(crate) log_id: i32,
    pub(crate) location: PathBuf,
    /// Bytes of the entry log committed (or, read-only, present when opened).
    pub(crate) committed: u64,
    /// Bytes of each side log committed.
    pub(crate) side_committed: [u64; 2],
    /// Batches handed over and not yet committed, oldest first.
    pub(crate) queue: Vec<Batch>,
    /// Whether a commit failed: nothing more is committed by this session.
    pub(crate) failed: bool,
    /// The `COPY` statements of a commit, prepared once per session.
    pub(crate) copy: Option<CopyStatements>,
}

/// The prepared `COPY ... FROM STDIN (FORMAT binary)` of each table a commit writes.
#[derive(Clone)]
pub(crate) struct CopyStatements {
    frames: Statement,
    sides: Statement,
}

impl Connection {
    /// Commits every queued batch in one transaction (nothing to do when the queue is empty).
    pub(crate) fn commit(&mut self) -> Result<()> {
        if self.failed {
            return Err(store_error(
                &self.location,
                "commit",
                std::io::ErrorKind::BrokenPipe,
                "an earlier commit of this writer failed; reopen to recover".into(),
            ));
        }
        if self.queue.iter().all(Batch::is_empty) {
            self.queue.clear();
            return Ok(());
        }
        match self.commit_queue() {
            Ok((entry_end, side_end)) => {
                self.committed = self.committed.max(entry_end);
                for (slot, end) in side_end.into_iter().enumerate() {
                    if let Some(committed) = self.side_committed.get_mut(slot) {
                        *committed = (*committed).max(end);
                    }
                }
                self.queue.clear();
                Ok(())
            }
            Err(error) => {
                tracing::error!(location = %self.location.display(), %error, "commit failed; writer stopped");
                self.failed = true;
                self.queue.clear();
                Err(pg_error(&self.location, "commit", error))
            }
        }
    }

    fn commit_queue(&mut self) -> std::result::Result<(u64, [u64; 2]), postgres::Error> {
        let statements = self.copy_statements()?;
        let mut rows: Vec<(i64, Vec<u8>)> = Vec::new();
        let mut side_names: Vec<&str> = Vec::new();
        let mut side_offsets: Vec<i64> = Vec::new();
        let mut side_bytes: Vec<&[u8]> = Vec::new();
        let mut entry_end = self.committed;
        let mut side_end = self.side_committed;
        for batch in &self.queue {
            for (offset, frame) in batch.offsets.iter().zip(&batch.frames) {
                pack(&mut rows, *offset, frame);
                entry_end = entry_end.max(end_of(*offset, frame.len()));
            }
            for (side, offset, bytes) in &batch.sides {
                side_names.push(side_name(*side));
                side_offsets.push(*offset);
                side_bytes.push(bytes);
                if let Some(end) = side_end.get_mut(side_slot(*side)) {
                    *end = (*end).max(end_of(*offset, bytes.len()));
                }
            }
        }
        let mut transaction = self.client.transaction()?;
        if !rows.is_empty() {
            let mut copy = BinaryCopyInWriter::new(
                transaction.copy_in(&statements.frames)?,
                &[Type::INT4, Type::INT8, Type::BYTEA],
            );
            for (offset, bytes) in &rows {
                copy.write(&[&self.log_id, offset, bytes])?;
            }
            copy.finish()?;
        }
        if !side_offsets.is_empty() {
            let mut copy = BinaryCopyInWriter::new(
                transaction.copy_in(&statements.sides)?,
                &[Type::INT4, Type::TEXT, Type::INT8, Type::BYTEA],
            );
            for ((name, offset), bytes) in side_names.iter().zip(&side_offsets).zip(&side_bytes) {
                copy.write(&[&self.log_id, name, offset, bytes])?;
            }
            copy.finish()?;
        }
        transaction.commit()?;
        Ok((entry_end, side_end))
    }

    /// The session's prepared `COPY` statements, prepared on the first commit and reused.
    fn copy_statements(&mut self) -> std::result::Result<CopyStatements, postgres::Error> {
        if let Some(statements) = &self.copy {
            return Ok(statements.clone());
        }
        let statements = CopyStatements {
            frames: self.client.prepare(
                "COPY whyline_frames (log_id, start_offset, bytes) FROM STDIN (FORMAT binary)",
            )?,
            sides: self.client.prepare(
                "COPY whyline_side_records (log_id, side, start_offset, bytes) \
                 FROM STDIN (FORMAT binary)",
            )?,
        };
        self.copy = Some(statements.clone());
        Ok(statements)
    }

    /// The committed rows of the entry log that overlap `[from, to)`, in order.
    pub(crate) fn frame_rows(&mut self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let rows = self
            .client
            .query(
                "SELECT start_offset, bytes FROM whyline_frames \
                 WHERE log_id = $1 AND start_offset < $3 AND start_offset >= coalesce( \
                     (SELECT max(start_offset) FROM whyline_frames \
                      WHERE log_id = $1 AND start_offset <= $2), 0) \
                 ORDER BY start_offset",
                &[&self.log_id, &to_i64(from), &to_i64(to)],
            )
            .map_err(|e| pg_error(&self.location, "read", e))?;
        Ok(rows
            .iter()
            .map(|row| (from_i64(row.get(0)), row.get::<_, Vec<u8>>(1)))
            .collect())
    }

    /// The committed rows of a side log below `limit`, in order.
    pub(crate) fn side_rows(&mut self, side: Side, limit: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let rows = self
            .client
            .query(
                "SELECT start_offset, bytes FROM whyline_side_records \
                 WHERE log_id = $1 AND side = $2 AND start_offset < $3 ORDER BY start_offset",
                &[&self.log_id, &side_name(side), &to_i64(limit)],
            )
            .map_err(|e| pg_error(&self.location, "read side log", e))?;
        Ok(rows
            .iter()
            .map(|row| (from_i64(row.get(0)), row.get::<_, Vec<u8>>(1)))
            .collect())
    }
}

/// The most bytes a commit packs into one row of `whyline_frames`: consecutive frames share
/// a row up to this size, so a commit of ~100-byte decisions writes a tenth of the heap
/// tuples and primary-key entries it would with a row per frame. Kept under PostgreSQL's
/// TOAST threshold (~2 KB a tuple), so a row is stored inline, uncompressed, in one tuple.
/// A frame larger than this has a row of its own.
pub(crate) const ROW_BYTES: usize = 1900;

/// Adds the frame at `offset` to the last row when it continues it and fits in
/// [`ROW_BYTES`], else starts a new row.
fn pack(rows: &mut Vec<(i64, Vec<u8>)>, offset: i64, frame: &[u8]) {
    if let Some((start, bytes)) = rows.last_mut() {
        let continues = end_of(*start, bytes.len()) == from_i64(offset);
        if continues && bytes.len() + frame.len() <= ROW_BYTES {
            bytes.extend_from_slice(frame);
            return;
        }
    }
    let mut bytes = Vec::with_capacity(ROW_BYTES.max(frame.len()));
    bytes.extend_from_slice(frame);
    rows.push((offset, bytes));
}

/// Where a row starting at `offset` with `len` bytes ends.
pub(crate) fn end_of(offset: i64, len: usize) -> u64 {
    from_i64(offset).saturating_add(len as u64)
}

/// A byte offset as PostgreSQL's `bigint` (offsets stay far below 2^63).
pub(crate) fn to_i64(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// A stored `bigint` offset (never negative: a CHECK constraint) as a byte offset.
pub(crate) fn from_i64(offset: i64) -> u64 {
    u64::try_from(offset).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_frames_share_rows_up_to_the_row_size() {
        let mut rows = Vec::new();
        let mut offset = 0i64;
        // A 16-byte header, then 40 frames of 100 bytes, a large one and 3 more.
        let frames: Vec<Vec<u8>> = std::iter::once(vec![1u8; 16])
            .chain((0..40).map(|i| vec![i as u8; 100]))
            .chain(std::iter::once(vec![9u8; 5000]))
            .chain((0..3).map(|i| vec![i as u8; 100]))
            .collect();
        for frame in &frames {
            pack(&mut rows, offset, frame);
            offset += frame.len() as i64;
        }
        // 16 + 18 * 100 = 1816 fit in the first row; 19 per row after it.
        let sizes: Vec<(i64, usize)> = rows.iter().map(|(o, b)| (*o, b.len())).collect();
        assert_eq!(
            sizes,
            vec![
                (0, 1816),
                (1816, 1900),
                (3716, 300),
                (4016, 5000),
                (9016, 300)
            ]
        );
        // The rows hold exactly the frames' bytes, in order, each row where it starts.
        let joined: Vec<u8> = rows.iter().flat_map(|(_, b)| b.iter().copied()).collect();
        assert_eq!(joined, frames.concat());
    }

    #[test]
    fn a_frame_that_does_not_continue_the_last_row_starts_a_new_one() {
        let mut rows = Vec::new();
        pack(&mut rows, 100, &[1; 10]);
        pack(&mut rows, 200, &[2; 10]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 200);
    }
}
