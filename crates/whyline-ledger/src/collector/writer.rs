//! The stream collector's background writer: the one thread that touches the sink.
//!
//! It drains the queue of batches in order. APRT records go through a buffer one write per
//! record (so an unbuffered sink sees one write per record). JSON lines are rendered into a
//! [`JsonChunk`] and written a chunk of about [`JSON_CHUNK_BYTES`] at a time, a few hundred
//! lines per write; a batch whose lines a waiting caller already rendered is written as it
//! is. The chunk remembers where each line ends, so a failed write still names the first
//! record that did not reach the sink; either way errors name the record that failed.
//!
//! When no batch has arrived for
//! [`IDLE`], it takes the callers' partial batch itself (if no caller holds its lock) and
//! flushes the sink, so a trickle of records reaches the sink within a few milliseconds
//! without waiting for a batch to fill. When it finds the partial batch empty it sleeps
//! without a timeout, marking itself asleep; the caller that starts the next batch wakes it
//! ([`Message::Wake`]), so an idle stream costs no CPU.
//!
//! It answers flush requests once everything before them is written and the sink flushed.
//! The first write or flush error stops it for good (a half-written sink is not retried
//! blindly): the error is stored for the next caller of `record` or `flush`, and every
//! record still queued is counted as lost. Should the thread panic (a sink's bug), a guard
//! marks it gone so that callers get [`LedgerError::WriterGone`] rather than queueing
//! into a batch nobody will take.

use std::io::Write;
use std::marker::PhantomData;
use std::time::Duration;

use whyline_core::DecisionPath;

use super::batch::{Batch, PendingLock};
use super::batch_sink::Sink;
use super::json_chunk::JsonChunk;
use super::stream::StreamFormat;
use crate::error::LedgerError;
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::channel::{Receiver, RecvTimeoutError, Sender};
use crate::sync::{Arc, Mutex, PoisonError};

/// How long the writer waits for a batch before taking the callers' partial batch.
pub(super) const IDLE: Duration = Duration::from_millis(2);

/// One item of the writer's queue.
pub(super) enum Message {
    /// Records to write, in order.
    Batch(Batch),
    /// A caller started a batch while the writer slept: poll the partial batch again.
    Wake,
    /// Write out everything before this message, flush the sink, then answer `true` if the
    /// writer is healthy.
    Flush(Sender<bool>),
    /// Flush and exit.
    Shutdown,
}

/// The writer's counters and error, on a cache line apart from the callers' lock.
#[derive(Default)]
#[repr(align(64))]
pub(super) struct Status {
    /// Set once the writer has failed or died; checked by every `record`.
    pub(super) failed: AtomicBool,
    /// Set (with `failed`) when the writer thread panicked.
    pub(super) gone: AtomicBool,
    /// The writer's error, waiting for the next `record` or `flush` to return it.
    pub(super) error: Mutex<Option<LedgerError>>,
    /// Records written into the sink's buffer by the writer.
    pub(super) written: AtomicU64,
    /// Records accepted but not written because the writer had failed.
    pub(super) lost: AtomicU64,
    /// Write, flush and fallback errors.
    pub(super) write_errors: AtomicU64,
}

/// State shared by the collector and its writer.
#[derive(Default)]
pub(super) struct Shared {
    /// The callers' partial batch and their counts.
    pub(super) pending: PendingLock,
    /// The writer's side.
    pub(super) status: Status,
}

impl Shared {
    /// Records the writer's failure. The first error is kept; later ones are only counted.
    pub(super) fn fail(&self, error: LedgerError) {
        let status = &self.status;
        status.write_errors.fetch_add(1, Ordering::Relaxed);
        let mut slot = status.error.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() && !status.failed.load(Ordering::Relaxed) {
            *slot = Some(error);
        }
        status.failed.store(true, Ordering::Release);
    }

    /// The error to return to a caller once the writer has failed: [`WriterGone`] if it
    /// died, else the writer's own error the first time, then [`WriterStopped`].
    ///
    /// [`WriterGone`]: LedgerError::WriterGone
    /// [`WriterStopped`]: LedgerError::WriterStopped
    pub(super) fn take_error(&self) -> LedgerError {
        let status = &self.status;
        if status.gone.load(Ordering::Acquire) {
            return LedgerError::WriterGone;
        }
        let stored = status
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        stored.unwrap_or_else(|| LedgerError::WriterStopped {
            lost: status.lost.load(Ordering::Relaxed),
        })
    }
}

/// Marks the writer gone if its thread unwinds.
struct PanicGuard(Arc<Shared>);

impl Drop for PanicGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.status.gone.store(true, Ordering::Release);
            self.0.status.failed.store(true, Ordering::Release);
        }
    }
}

/// What the writer found when it went for the partial batch.
enum Partial {
    /// The batch, now the writer's.
    Taken(Batch),
    /// Nothing pending: the writer may sleep until woken.
    Empty,
    /// A caller holds the lock or a batch is queued: look again later.
    Busy,
}

/// The writer thread's state.
pub(super) struct Writer<P> {
    pub(super) queue: Receiver<Message>,
    /// Where emptied batches go back to the callers.
    pub(super) recycle: Sender<Batch>,
    pub(super) sink: Sink,
    pub(super) format: StreamFormat,
    pub(super) shared: Arc<Shared>,
    /// An empty batch to put in place of the partial batch the writer takes.
    pub(super) spare: Option<Batch>,
    /// Reused buffer for the JSON lines of a batch.
    pub(super) lines: JsonChunk,
    /// Records taken from the queue so far (written or lost).
    pub(super) index: u64,
    /// Records written (published to `status.written`, which only this thread writes).
    pub(super) written: u64,
    pub(super) path: PhantomData<fn() -> P>,
}

impl<P: DecisionPath> Writer<P> {
    /// Runs until [`Message::Shutdown`] or until every sender is gone.
    pub(super) fn run(mut self) {
        let _guard = PanicGuard(Arc::clone(&self.shared));
        let mut polling = true;
        loop {
            let message = if polling {
                match self.queue.recv_timeout(IDLE) {
                    Ok(message) => message,
                    Err(RecvTimeoutError::Timeout) => {
                        polling = self.on_idle();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match self.queue.recv() {
                    Ok(message) => message,
                    Err(_) => break,
                }
            };
            polling = true;
            match message {
                Message::Batch(batch) => self.write_batch(batch),
                Message::Wake => {}
                Message::Flush(answer) => {
                    let healthy = self.flush_sink();
                    // The caller may have given up waiting; nothing to do then.
                    let _ = answer.send(healthy);
                }
                Message::Shutdown => break,
            }
        }
        self.flush_sink();
        if self.failed() {
            // Drop the unwritten buffer instead of letting `BufWriter`'s drop retry it.
            self.sink.discard();
        }
    }

    /// No batch for [`IDLE`]: takes and writes the partial batch, flushes the sink. Returns
    /// whether to keep polling (`false`: nothing pending, sleep until a message).
    fn on_idle(&mut self) -> bool {
        let keep_polling = match self.take_partial() {
            Partial::Taken(batch) => {
                self.write_batch(batch);
                true
            }
            Partial::Busy => true,
            Partial::Empty => false,
        };
        self.flush_sink();
        keep_polling
    }

    fn take_partial(&mut self) -> Partial {
        let Some(mut pending) = self.shared.pending.try_lock() else {
            return Partial::Busy;
        };
        // Callers send batches under the lock, so while it is held nothing can be queued
        // behind what is there: a queued batch is older than the partial one.
        if !self.queue.is_empty() {
            return Partial::Busy;
        }
        if pending.batch.is_empty() {
            pending.writer_asleep = true;
            return Partial::Empty;
        }
        let spare = self.spare.take().unwrap_or_default();
        Partial::Taken(std::mem::replace(&mut pending.batch, spare))
    }

    fn failed(&self) -> bool {
        self.shared.status.failed.load(Ordering::Acquire)
    }

    /// Flushes the buffer and the sink; `false` if the writer has failed.
    fn flush_sink(&mut self) -> bool {
        if self.failed() {
            return false;
        }
        match self.sink.flush() {
            Ok(()) => true,
            Err(source) => {
                self.shared.fail(LedgerError::StreamFlush {
                    written: self.written,
                    source,
                });
                false
            }
        }
    }

    /// Writes every record of `batch`, then hands the emptied batch back for reuse.
    fn write_batch(&mut self, mut batch: Batch) {
        match (&self.sink, self.format) {
            (Sink::Batches(_), _) => self.write_whole_batch(&batch),
            (Sink::Bytes(_), StreamFormat::Aprt) => self.write_aprt_batch(&batch),
            (Sink::Bytes(_), StreamFormat::JsonLines) => self.write_json_batch(&batch),
        }
        self.shared
            .status
            .written
            .store(self.written, Ordering::Release);
        batch.clear();
        if self.spare.is_none() {
            self.spare = Some(batch);
        } else {
            // Full: the callers have enough spare batches; let this one go.
            let _ = self.recycle.try_send(batch);
        }
    }

    /// Hands the whole batch to a batch sink (one call per batch, in queue order); on an
    /// error the batch counts as lost and the writer stops.
    fn write_whole_batch(&mut self, batch: &Batch) {
        let records = batch.len();
        let first = self.index;
        self.index += records as u64;
        if self.failed() || records == 0 {
            self.count_lost(records);
            return;
        }
        let result = match &mut self.sink {
            Sink::Batches(sink) => sink.write_batch(batch.as_bytes(), records),
            Sink::Bytes(out) => out.write_all(batch.as_bytes()),
        };
        match result {
            Ok(()) => self.written += records as u64,
            Err(source) => {
                self.count_lost(records);
                self.shared.fail(LedgerError::StreamWrite {
                    record: first,
                    format: self.format,
                    source,
                });
            }
        }
    }

    fn write_aprt_batch(&mut self, batch: &Batch) {
        let mut records = batch.iter();
        for (record, _) in records.by_ref() {
            if !self.write_aprt_record(record) {
                break;
            }
        }
        self.skip(records.count());
    }

    /// Writes the batch's JSON lines: the ones a waiting caller already rendered into the
    /// batch, or else renders them into the writer's chunk and writes the chunk whenever it
    /// reaches [`JSON_CHUNK_BYTES`], and at the end of the batch.
    fn write_json_batch(&mut self, batch: &Batch) {
        if let Some(rendered) = batch.rendered_lines() {
            if self.failed() {
                self.skip(batch.len());
            } else {
                self.index += rendered.lines() as u64;
                self.write_chunk(rendered);
            }
            return;
        }
        let mut records = batch.iter();
        let mut healthy = !self.failed();
        if healthy {
            for (record, latency_ns) in records.by_ref() {
                if let Err(error) = self.lines.render::<P>(self.index, record, latency_ns) {
                    // The lines before it are good: write them, then stop on this record.
                    if self.write_lines() {
                        self.shared.fail(error);
                    }
                    self.skip(1);
                    healthy = false;
                    break;
                }
                self.index += 1;
                if self.lines.bytes.len() >= JSON_CHUNK_BYTES && !self.write_lines() {
                    healthy = false;
                    break;
                }
            }
        }
        if healthy {
            self.write_lines();
        }
        self.skip(records.count());
    }

    /// Writes the writer's own chunk and empties it (see [`write_chunk`](Self::write_chunk)).
    fn write_lines(&mut self) -> bool {
        let lines = std::mem::take(&mut self.lines);
        let healthy = self.write_chunk(&lines);
        self.lines = lines;
        self.lines.clear();
        healthy
    }

    /// Writes rendered lines, the last of which is the record before `self.index`, to the
    /// sink. On an error, the lines the sink took count as written, the rest as lost, and
    /// the error names the first line it did not take; returns `false` then.
    fn write_chunk(&mut self, chunk: &JsonChunk) -> bool {
        let lines = chunk.lines();
        if lines == 0 {
            return true;
        }
        let result = write_counting(&mut self.sink, &chunk.bytes);
        let taken = match &result {
            Ok(()) => lines,
            Err((taken_bytes, _)) => chunk.lines_within(*taken_bytes),
        };
        self.written += taken as u64;
        match result {
            Ok(()) => true,
            Err((_, source)) => {
                self.count_lost(lines - taken);
                let first_pending = self.index - lines as u64;
                self.shared.fail(LedgerError::StreamWrite {
                    record: first_pending + taken as u64,
                    format: self.format,
                    source,
                });
                false
            }
        }
    }

    /// Takes records from a batch without writing them: they are lost.
    fn skip(&mut self, records: usize) {
        self.index += records as u64;
        self.count_lost(records);
    }

    /// Counts records taken but never written.
    fn count_lost(&self, records: usize) {
        if records > 0 {
            self.shared
                .status
                .lost
                .fetch_add(records as u64, Ordering::Relaxed);
        }
    }

    /// Writes one APRT record; `false` once the writer has failed (this record is then
    /// counted as lost).
    fn write_aprt_record(&mut self, record: &[u8]) -> bool {
        let index = self.index;
        self.index += 1;
        if self.failed() {
            self.count_lost(1);
            return false;
        }
        match self.sink.write_all(record) {
            Ok(()) => {
                self.written += 1;
                true
            }
            Err(source) => {
                self.count_lost(1);
                self.shared.fail(LedgerError::StreamWrite {
                    record: index,
                    format: self.format,
                    source,
                });
                false
            }
        }
    }
}

/// A JSON chunk is written once it holds this many bytes (and at the end of every batch):
/// large enough that the sink sees a few hundred lines per write, small enough to stay in
/// cache. At [`DEFAULT_BUFFER_BYTES`](super::StreamCollectorBuilder::DEFAULT_BUFFER_BYTES)
/// or more, `BufWriter` hands it to the sink without copying it.
pub(super) const JSON_CHUNK_BYTES: usize = 64 * 1024;

/// `write_all` that says how many bytes the sink took before an error.
fn write_counting(sink: &mut impl Write, bytes: &[u8]) -> Result<(), (usize, std::io::Error)> {
    let mut taken = 0;
    while let Some(rest) = bytes.get(taken..).filter(|rest| !rest.is_empty()) {
        match sink.write(rest) {
            Ok(0) => return Err((taken, std::io::ErrorKind::WriteZero.into())),
            Ok(n) => taken += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err((taken, error)),
        }
    }
    Ok(())
}
