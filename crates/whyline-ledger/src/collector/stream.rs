//! The stream collector: traces go in batches through a bounded queue to a background writer.
//!
//! # Design
//!
//! The caller's thread does the least it can. It locks the collector's *partial batch*
//! (uncontended in the common case: one atomic swap in, one out), encodes the trace's
//! canonical APRT record straight into it (no allocation once warm) with the trace's latency
//! beside it, and lets go. Only when the batch is full (a number of records derived from the
//! capacity, or 64 KiB) does the caller send it, as one message, on a bounded channel to the
//! writer thread, and take an emptied batch back from a return channel, so a warm stream
//! allocates nothing. A per-record channel send would cost a contended cache line and,
//! often, a wake-up per record; a batch pays them once per few hundred records, on both
//! sides.
//!
//! The writer writes each record of a batch as it is (APRT) or renders its JSON line from
//! the decoded record with the latency carried beside it at full precision, so the line is
//! byte for byte the caller's `encode_json` (APRT is lossless for everything else a trace
//! holds), through a [`BufWriter`].
//!
//! **A waiting caller helps.** Rendering JSON lines is most of the writer's work, so a stream
//! of JSON lines under [`Backpressure::Block`] is bound by the writer's one core. A caller
//! whose full batch finds the queue full renders the batch's lines itself before it waits
//! for room, and the writer then only writes them: time the caller would have spent blocked
//! goes into the work that blocks it, and with several callers the rendering spreads over
//! their cores. A caller that finds room pays nothing for this, so the caller's cost per
//! record stays that of APRT encoding while the writer keeps up.
//!
//! **Latency.** A record must not wait in a partial batch forever when traffic is light:
//! when no batch has reached the writer for a couple of milliseconds, the writer takes the
//! partial batch itself (if no caller holds the lock at that moment) and flushes the sink.
//! When there is nothing pending it sleeps without a timeout and the next caller to start a
//! batch wakes it, so a trickle of records reaches the sink within milliseconds and an idle
//! stream costs nothing.
//!
//! **Order.** Batches are sent under the lock, so they enter the queue in the order their
//! records were appended, and the writer takes the partial batch only when the queue is
//! empty. Records of one thread are written in the order recorded; records of different
//! threads in the order they took the lock.
//!
//! **Backpressure** is decided per record, only when the batch is full and the queue has no
//! room for it: the [`Backpressure`] policy drops and counts that record, waits for room, or
//! writes that record synchronously to a fallback sink in the caller's thread. The queued and
//! dropped counts are written under the same lock as the batch, so they are exact, and read
//! without it, so `stats` never waits behind a caller blocked on a full queue.
//!
//! # Durability
//!
//! [`flush`](TraceCollector::flush) sends the partial batch, then a flush request, through
//! the queue and waits for the writer's answer, so it returns once every record recorded
//! before it (by any thread) is written and the sink flushed; it then flushes the fallback
//! sink. Dropping the collector (or [`close`](StreamCollector::close)) sends the partial
//! batch, writes out the queue, flushes and joins the writer, so a short-lived process loses
//! nothing. "Flushed" means handed to the sink's `flush`: for a file, the OS has it; it is not
//! fsync'd.
//!
//! # Errors
//!
//! The first write or flush error stops the writer (see the `writer` module): it is
//! returned by the next `record` or `flush` and counted in [`StreamStats::write_errors`];
//! records accepted after it are counted in [`StreamStats::lost`] (exactly, once `flush` or
//! `close` has pushed the partial batch) and every later call fails with
//! [`LedgerError::WriterStopped`], so nothing is lost silently.

use std::fmt;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::time::Duration;

use whyline_core::{
    CollectorStats, DecisionPath, DecisionTrace, RecordOutcome, TraceCollector, encode_aprt,
    encode_json,
};

use super::batch::{Batch, BatchLimits, Pending, count_locked};
use super::writer::{Message, Shared};
use crate::error::LedgerError;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::channel::{self, Receiver, RecvTimeoutError, Sender, TrySendError};
use crate::sync::thread::JoinHandle;
use crate::sync::{Arc, Mutex, MutexGuard};

/// What a stream writes: the one definition lives in `whyline-core`, where the monitor's
/// safety profiles read it too.
pub use whyline_core::StreamFormat;

/// What `record` does when the queue is full: the one definition lives in `whyline-core`,
/// where the monitor's safety profiles read it too.
pub use whyline_core::Backpressure;

/// Counters of a [`StreamCollector`]; a superset of [`CollectorStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Traces accepted: queued for the writer or written to the fallback sink.
    pub recorded: u64,
    /// Traces dropped because the queue was full (policy [`Backpressure::Drop`]).
    pub dropped: u64,
    /// Traces written to the fallback sink.
    pub fallback: u64,
    /// Records the writer has written into its buffer (flushed to the sink by `flush`).
    pub written: u64,
    /// Records accepted but never written because the writer had stopped on an error.
    pub lost: u64,
    /// Write, flush and fallback errors seen (the writer stops at the first of its own).
    pub write_errors: u64,
    /// Records whose JSON lines a caller rendered itself, because it found the writer's
    /// queue full under [`Backpressure::Block`] (the writer then only writes them): a
    /// measure of how far the writer fell behind. Always 0 for APRT.
    pub rendered_by_callers: u64,
}

use super::builder::StreamCollectorBuilder;

pub(super) struct FallbackSink {
    pub(super) out: BufWriter<Box<dyn Write + Send>>,
    /// Reused buffer for the record or line.
    pub(super) scratch: Vec<u8>,
}

/// Writes decision traces as APRT records or JSON lines to any [`Write`], in batches through
/// a bounded queue drained by a background thread.
///
/// `record` encodes the trace's APRT record into a shared partial batch under an
/// (uncontended) lock; a full batch goes to the writer as one message, so the caller pays
/// for the queue once per batch rather than once per record. When the batch is full and
/// the queue has no room, the [`Backpressure`] policy decides for that record. A record
/// never waits long in a partial batch: the writer takes it after about 2 ms without a full
/// batch and flushes the sink. [`flush`](TraceCollector::flush) sends the partial batch and
/// returns once everything recorded before it is written and the sink flushed; dropping the
/// collector or [`close`](StreamCollector::close) writes everything and joins the writer.
/// Records of one thread are written in the order recorded.
///
/// ```
/// use whyline_core::{AprtRecords, DecisionTrace, LinearPath, RecordOutcome, TraceCollector};
/// use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("traces.aprt");
/// let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
///     .backpressure(Backpressure::Block)
///     .build::<LinearPath>(std::fs::File::create(&path)?)?;
/// let mut trace = DecisionTrace {
///     timestamp_ns: 1,
///     sequence: 0,
///     input_hash: 7,
///     output: 0.5,
///     latency_ns: 2_000,
///     path: LinearPath { contributions: vec![0.25, 0.25], ..LinearPath::default() },
/// };
/// for sequence in 0..100 {
///     trace.sequence = sequence;
///     assert_eq!(stream.record(&trace)?, RecordOutcome::Queued);
/// }
/// stream.flush()?; // every record above is in the file now
/// assert_eq!(stream.len(), 100);
///
/// let bytes = std::fs::read(&path)?;
/// let back: Vec<_> = AprtRecords::<LinearPath>::new(&bytes).collect::<Result<_, _>>()?;
/// assert_eq!(back.len(), 100);
/// assert_eq!(back[99].1.sequence, 99);
/// stream.close()?; // or drop it: both write out the queue and join the writer
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StreamCollector<P> {
    pub(super) sender: Sender<Message>,
    /// Emptied batches coming back from the writer.
    pub(super) recycled: Receiver<Batch>,
    pub(super) limits: BatchLimits,
    pub(super) format: StreamFormat,
    pub(super) backpressure: Backpressure,
    /// Traces written to the fallback sink (the other counts live under the batch lock).
    pub(super) fallback_count: AtomicU64,
    pub(super) shared: Arc<Shared>,
    pub(super) fallback: Option<Mutex<FallbackSink>>,
    pub(super) handle: Option<JoinHandle<()>>,
    pub(super) path: PhantomData<fn(P)>,
}

/// How often a waiting `flush` checks that the writer thread is still alive.
const WRITER_LIVENESS_CHECK: Duration = Duration::from_millis(50);

impl<P: DecisionPath> StreamCollector<P> {
    /// A builder; shorthand for [`StreamCollectorBuilder::new`].
    pub fn builder(format: StreamFormat) -> StreamCollectorBuilder {
        StreamCollectorBuilder::new(format)
    }

    /// The format this stream writes.
    pub fn format(&self) -> StreamFormat {
        self.format
    }

    /// The backpressure policy.
    pub fn backpressure(&self) -> Backpressure {
        self.backpressure
    }

    /// Every counter of the stream.
    pub fn stream_stats(&self) -> StreamStats {
        let counts = &self.shared.pending;
        let (queued, dropped) = (
            counts.queued.load(Ordering::Relaxed),
            counts.dropped.load(Ordering::Relaxed),
        );
        let fallback = self.fallback_count.load(Ordering::Relaxed);
        let status = &self.shared.status;
        StreamStats {
            recorded: queued + fallback,
            dropped,
            fallback,
            written: status.written.load(Ordering::Acquire),
            lost: status.lost.load(Ordering::Relaxed),
            write_errors: status.write_errors.load(Ordering::Relaxed),
            rendered_by_callers: counts.rendered.load(Ordering::Relaxed),
        }
    }

    /// Writes out the partial batch and the queue, flushes both sinks, joins the writer and
    /// returns the final counters, or the first error not yet returned. Dropping the
    /// collector does the same but can only log an error (through `tracing`).
    pub fn close(mut self) -> Result<StreamStats, LedgerError> {
        self.shutdown()?;
        Ok(self.stream_stats())
    }

    fn shutdown(&mut self) -> Result<(), LedgerError> {
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        // Blocking sends: shutting down must not drop anything, whatever the policy.
        let partial = std::mem::take(&mut self.shared.pending.lock().batch);
        let sent = self.send_partial(partial).and_then(|()| {
            self.sender
                .send(Message::Shutdown)
                .map_err(|_| LedgerError::WriterGone)
        });
        let joined = handle.join();
        let fallback = self.flush_fallback();
        if joined.is_err() {
            return Err(LedgerError::WriterPanicked);
        }
        sent?;
        self.check_writer()?;
        fallback
    }

    /// Sends a partial batch (if it holds anything), waiting for room whatever the policy.
    fn send_partial(&self, batch: Batch) -> Result<(), LedgerError> {
        if batch.is_empty() {
            return Ok(());
        }
        let records = batch.len() as u64;
        self.sender.send(Message::Batch(batch)).map_err(|_| {
            self.shared
                .status
                .lost
                .fetch_add(records, Ordering::Relaxed);
            LedgerError::WriterGone
        })
    }

    /// Whether the writer thread has ended. Only `close` and `drop` end it normally, and
    /// neither can run while `&self` is borrowed, so `true` here means it died.
    fn writer_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The writer's stored error, if it has failed.
    #[inline]
    fn check_writer(&self) -> Result<(), LedgerError> {
        if self.shared.status.failed.load(Ordering::Acquire) {
            Err(self.shared.take_error())
        } else {
            Ok(())
        }
    }

    fn flush_fallback(&self) -> Result<(), LedgerError> {
        let Some(fallback) = &self.fallback else {
            return Ok(());
        };
        let mut fallback = fallback.lock().map_err(|_| LedgerError::Poisoned {
            collector: "stream fallback",
        })?;
        fallback.out.flush().map_err(|source| {
            self.shared
                .status
                .write_errors
                .fetch_add(1, Ordering::Relaxed);
            LedgerError::FallbackFlush { source }
        })
    }

    /// Writes `trace` to the fallback sink, in the caller's thread.
    #[cold]
    fn write_fallback(&self, trace: &DecisionTrace<P>) -> Result<RecordOutcome, LedgerError> {
        let Some(fallback) = &self.fallback else {
            return Err(LedgerError::MissingFallback);
        };
        let mut fallback = fallback.lock().map_err(|_| LedgerError::Poisoned {
            collector: "stream fallback",
        })?;
        let FallbackSink { out, scratch } = &mut *fallback;
        scratch.clear();
        match self.format {
            StreamFormat::Aprt => {
                encode_aprt(trace, scratch);
            }
            StreamFormat::JsonLines => {
                encode_json(trace, scratch).map_err(|source| LedgerError::Encode {
                    record: trace.sequence,
                    source,
                })?;
                scratch.push(b'\n');
            }
        }
        out.write_all(scratch).map_err(|source| {
            self.shared
                .status
                .write_errors
                .fetch_add(1, Ordering::Relaxed);
            LedgerError::Fallback {
                sequence: trace.sequence,
                source,
            }
        })?;
        self.fallback_count.fetch_add(1, Ordering::Relaxed);
        Ok(RecordOutcome::Fallback)
    }

    /// An emptied batch from the writer, or a new one.
    fn fresh_batch(&self) -> Batch {
        self.recycled
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity(self.limits))
    }

    /// The batch is full: sends it and puts an empty one in its place. Returns `false` when
    /// the queue is full and the policy does not wait (the full batch stays in place).
    #[cold]
    #[inline(never)]
    fn make_room(&self, pending: &mut Pending) -> Result<bool, LedgerError> {
        let full = Message::Batch(std::mem::take(&mut pending.batch));
        let refused = match self.backpressure {
            // Waits for room, still holding the lock: other callers queue behind this one,
            // and batches stay in record order.
            Backpressure::Block => match self.sender.try_send(full) {
                Ok(()) => None,
                Err(TrySendError::Disconnected(full)) => Some((full, true)),
                Err(TrySendError::Full(mut full)) => {
                    // The writer is behind: render the lines it would render, in the time
                    // this caller would otherwise spend waiting for room.
                    if let (StreamFormat::JsonLines, Message::Batch(batch)) =
                        (self.format, &mut full)
                        && batch.render_json::<P>()
                    {
                        let rendered = &self.shared.pending.rendered;
                        rendered.store(
                            rendered.load(Ordering::Relaxed) + batch.len() as u64,
                            Ordering::Relaxed,
                        );
                    }
                    self.sender.send(full).err().map(|e| (e.into_inner(), true))
                }
            },
            Backpressure::Drop | Backpressure::Fallback => match self.sender.try_send(full) {
                Ok(()) => None,
                Err(TrySendError::Full(full)) => Some((full, false)),
                Err(TrySendError::Disconnected(full)) => Some((full, true)),
            },
        };
        let Some((message, disconnected)) = refused else {
            pending.batch = self.fresh_batch();
            return Ok(true);
        };
        if let Message::Batch(batch) = message {
            pending.batch = batch;
        }
        if disconnected {
            return Err(LedgerError::WriterGone);
        }
        Ok(false)
    }

    #[inline]
    fn record_batched(&self, trace: &DecisionTrace<P>) -> Result<RecordOutcome, LedgerError> {
        let mut pending: MutexGuard<'_, Pending> = self.shared.pending.lock();
        if pending.batch.is_full(self.limits) && !self.make_room(&mut pending)? {
            match self.backpressure {
                Backpressure::Drop => {
                    count_locked(&pending, &self.shared.pending.dropped);
                    return Ok(RecordOutcome::Dropped);
                }
                Backpressure::Fallback | Backpressure::Block => {
                    drop(pending);
                    return self.write_fallback(trace);
                }
            }
        }
        if pending.batch.is_empty() && pending.writer_asleep {
            self.wake_writer(&mut pending);
        }
        pending.batch.push(trace);
        count_locked(&pending, &self.shared.pending.queued);
        Ok(RecordOutcome::Queued)
    }

    /// The writer sleeps until a message; this record starts a batch, so wake it to take
    /// the batch after its idle period. A full queue needs no wake-up (the writer is busy
    /// with it); a gone writer is found by the next send.
    #[cold]
    fn wake_writer(&self, pending: &mut Pending) {
        pending.writer_asleep = false;
        let _ = self.sender.try_send(Message::Wake);
    }
}

impl<P: DecisionPath> TraceCollector<P> for StreamCollector<P> {
    /// Encodes the trace into the current batch ([`RecordOutcome::Queued`]); when the batch
    /// is full and the queue has no room for it, the [`Backpressure`] policy decides. Fails
    /// if the writer has failed (returning its error once, then
    /// [`LedgerError::WriterStopped`]) or is gone; nothing is queued then.
    #[inline]
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        self.check_writer()
            .and_then(|()| self.record_batched(trace))
            .map_err(|e| e.in_collector("stream", Some(trace.sequence)))
    }

    /// Sends the partial batch and returns once every record recorded before the call (by
    /// any thread) is written and the sink flushed, then flushes the fallback sink. Fails
    /// with the writer's error if it has failed; the records it lost are counted by then.
    fn flush(&self) -> whyline_core::Result<()> {
        self.flush_all().map_err(|e| e.in_collector("stream", None))
    }

    /// Records written so far: by the writer (into its buffer; all of them are in the sink
    /// after `flush`) and to the fallback sink.
    fn len(&self) -> u64 {
        self.shared.status.written.load(Ordering::Acquire)
            + self.fallback_count.load(Ordering::Relaxed)
    }

    fn stats(&self) -> CollectorStats {
        self.collector_stats()
    }
}

impl<P: DecisionPath> StreamCollector<P> {
    /// The body of [`TraceCollector::flush`], with the ledger crate's error.
    fn flush_all(&self) -> Result<(), LedgerError> {
        let (answer, healthy) = channel::bounded(1);
        {
            let mut pending = self.shared.pending.lock();
            if !pending.batch.is_empty() {
                let fresh = self.fresh_batch();
                let partial = std::mem::replace(&mut pending.batch, fresh);
                self.send_partial(partial)?;
            }
            self.sender
                .send(Message::Flush(answer))
                .map_err(|_| LedgerError::WriterGone)?;
        }
        // The answer normally arrives as soon as the writer reaches the request. The timeout
        // only matters if the writer thread died (a panicking sink): the request then sits in
        // the queue forever, so the wait also watches the thread.
        loop {
            match healthy.recv_timeout(WRITER_LIVENESS_CHECK) {
                Ok(true) => break,
                Ok(false) => {
                    self.check_writer()?;
                    break;
                }
                Err(RecvTimeoutError::Timeout) if !self.writer_finished() => {}
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    return Err(LedgerError::WriterGone);
                }
            }
        }
        self.flush_fallback()
    }

    fn collector_stats(&self) -> CollectorStats {
        let stats = self.stream_stats();
        CollectorStats {
            recorded: stats.recorded,
            dropped: stats.dropped,
            fallback: stats.fallback,
        }
    }
}

impl<P> Drop for StreamCollector<P> {
    /// Writes out the partial batch and the queue, flushes, joins the writer; an error is
    /// logged with `tracing` (use [`StreamCollector::close`] to get it).
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        let partial = std::mem::take(&mut self.shared.pending.lock().batch);
        let sent = if partial.is_empty() {
            Ok(())
        } else {
            self.sender.send(Message::Batch(partial)).map_err(drop)
        }
        .and_then(|()| self.sender.send(Message::Shutdown).map_err(drop));
        let joined = handle.join();
        if let Some(fallback) = &self.fallback {
            match fallback.lock() {
                Ok(mut fallback) => {
                    if let Err(error) = fallback.out.flush() {
                        tracing::error!(%error, "stream collector dropped: flushing the fallback sink failed");
                    }
                }
                Err(_) => tracing::error!("stream collector dropped: fallback lock poisoned"),
            }
        }
        if joined.is_err() {
            tracing::error!("stream collector dropped: the writer thread had panicked");
        } else if sent.is_err() {
            tracing::error!("stream collector dropped: the writer thread had ended");
        } else if self.shared.status.failed.load(Ordering::Acquire) {
            let error = self.shared.take_error();
            tracing::error!(error = %error, lost = self.shared.status.lost.load(Ordering::Relaxed),
                "stream collector dropped after a write error");
        }
    }
}

impl<P> fmt::Debug for StreamCollector<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamCollector")
            .field("format", &self.format)
            .field("backpressure", &self.backpressure)
            .field("batches_queued", &self.sender.len())
            .field("limits", &self.limits)
            .field(
                "written",
                &self.shared.status.written.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}
