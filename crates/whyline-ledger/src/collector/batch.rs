//! The stream collector's unit of work: a batch of APRT records, and the partial batch that
//! callers append to under a lock.

use whyline_core::{DecisionPath, DecisionTrace, encode_aprt};

use super::json_chunk::JsonChunk;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

/// Records in APRT encoding back to back, with each record's end offset and latency beside
/// them (APRT keeps whole microseconds; the JSON view carries nanoseconds), and, once a
/// caller has rendered them ([`render_json`](Batch::render_json)), their JSON lines.
#[derive(Debug, Default)]
pub(super) struct Batch {
    bytes: Vec<u8>,
    /// `(end of the record in bytes, latency_ns)` for each record.
    records: Vec<(usize, u64)>,
    /// The JSON line of every record, when `rendered`; its capacity is kept across reuse.
    lines: JsonChunk,
    rendered: bool,
}

/// When a batch is full: whichever limit is reached first.
#[derive(Clone, Copy, Debug)]
pub(super) struct BatchLimits {
    /// Records per batch (at least 1).
    pub(super) records: usize,
    /// Bytes per batch; the record that crosses it is the last one.
    pub(super) bytes: usize,
}

impl Batch {
    /// An empty batch with room for a full one (so a warm stream allocates nothing).
    pub(super) fn with_capacity(limits: BatchLimits) -> Batch {
        Batch {
            bytes: Vec::with_capacity(limits.bytes.min(limits.records.saturating_mul(256))),
            records: Vec::with_capacity(limits.records),
            lines: JsonChunk::default(),
            rendered: false,
        }
    }

    /// Records in the batch.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the batch holds no record.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Whether the batch must be sent before another record is added. An empty batch is
    /// never full, whatever the size of the record about to go in.
    #[inline]
    pub(super) fn is_full(&self, limits: BatchLimits) -> bool {
        self.records.len() >= limits.records || self.bytes.len() >= limits.bytes
    }

    /// Appends the APRT record of `trace`.
    #[inline]
    pub(super) fn push<P: DecisionPath>(&mut self, trace: &DecisionTrace<P>) {
        // Lines rendered before this record would leave it out.
        self.rendered = false;
        encode_aprt(trace, &mut self.bytes);
        self.records.push((self.bytes.len(), trace.latency_ns));
    }

    /// Each record's APRT bytes and latency in nanoseconds, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> + '_ {
        let mut start = 0;
        self.records.iter().map(move |&(end, latency_ns)| {
            let record = self.bytes.get(start..end).unwrap_or_default();
            start = end;
            (record, latency_ns)
        })
    }

    /// The records' APRT bytes, back to back.
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Renders every record's JSON line into the batch, so that the writer only has to
    /// write them. On a record that does not render, the batch is left unrendered: the
    /// writer renders it and reports the error with the record's place in the stream.
    /// Returns whether this call rendered the batch.
    pub(super) fn render_json<P: DecisionPath>(&mut self) -> bool {
        if self.rendered {
            return false;
        }
        self.lines.clear();
        let mut start = 0;
        for &(end, latency_ns) in &self.records {
            let record = self.bytes.get(start..end).unwrap_or_default();
            start = end;
            if self.lines.render::<P>(0, record, latency_ns).is_err() {
                self.lines.clear();
                return false;
            }
        }
        self.rendered = true;
        true
    }

    /// The records' JSON lines, if a caller rendered them.
    pub(super) fn rendered_lines(&self) -> Option<&JsonChunk> {
        self.rendered.then_some(&self.lines)
    }

    /// Empties the batch, keeping its capacity.
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
        self.lines.clear();
        self.rendered = false;
    }

    /// Drops the bytes of a record whose encoding was interrupted (a panic in a path's
    /// encoder while the lock was held), so the batch holds whole records only.
    fn repair(&mut self) {
        self.rendered = false;
        self.lines.clear();
        let end = self.records.last().map_or(0, |&(end, _)| end);
        self.bytes.truncate(end);
    }
}

/// What the callers share under the lock: the partial batch.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// The batch records are appended to; sent to the writer once full, on `flush` and on
    /// close, or taken by the writer when it has been idle for a moment.
    pub(super) batch: Batch,
    /// Set by the writer when it found the partial batch empty and went to sleep without a
    /// timeout; the caller that starts the next batch wakes it and clears this.
    pub(super) writer_asleep: bool,
}

/// The lock around [`Pending`] and the callers' counts, on a cache line of their own so that
/// the writer's counters do not share it.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(super) struct PendingLock {
    batch: Mutex<Pending>,
    /// Records accepted into batches (`recorded` minus the fallback sink's).
    pub(super) queued: AtomicU64,
    /// Records dropped under `Backpressure::Drop`.
    pub(super) dropped: AtomicU64,
    /// Records whose JSON lines callers rendered while waiting for room in the queue.
    pub(super) rendered: AtomicU64,
}

/// Adds one to a count that is only written under the [`PendingLock`]: a plain load and
/// store, no read-modify-write, while readers ([`stats`]) need not take the lock.
///
/// [`stats`]: whyline_core::TraceCollector::stats
#[inline]
pub(super) fn count_locked(_held: &MutexGuard<'_, Pending>, counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl PendingLock {
    /// Locks the partial batch. A lock poisoned by a panic is recovered: the batch is
    /// repaired to whole records, so no caller ever sees a half-written record.
    #[inline]
    pub(super) fn lock(&self) -> MutexGuard<'_, Pending> {
        self.batch
            .lock()
            .unwrap_or_else(|poisoned| self.recover(poisoned))
    }

    /// Locks the partial batch if no caller holds it (the writer never waits for callers:
    /// a caller may hold the lock while it waits for room in the writer's queue).
    pub(super) fn try_lock(&self) -> Option<MutexGuard<'_, Pending>> {
        match self.batch.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(self.recover(poisoned)),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    #[cold]
    fn recover<'a>(
        &'a self,
        poisoned: PoisonError<MutexGuard<'a, Pending>>,
    ) -> MutexGuard<'a, Pending> {
        let mut guard = poisoned.into_inner();
        guard.batch.repair();
        self.batch.clear_poison();
        guard
    }
}
