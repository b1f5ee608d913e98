//! The stream collector: traces go through a bounded queue to a background writer.
//!
//! The caller's thread does the least it can: it encodes the trace's canonical APRT record
//! into a thread-local buffer (no allocation once warm), copies it into a queue item (inline
//! up to 176 bytes, so an 8-feature linear trace travels without touching the heap) and
//! sends it. The writer thread writes APRT records as they are, or renders JSON lines from
//! them, through a [`BufWriter`]. Sending the encoded record rather than a clone of the trace
//! keeps allocation and JSON rendering (hundreds of nanoseconds) out of the caller's thread.
//! A JSON line is rendered from the decoded APRT record with the trace's latency carried
//! beside it at full precision, so it is byte for byte the caller's `encode_json` (APRT is
//! lossless for everything else a trace holds).
//!
//! When the queue is full the [`Backpressure`] policy decides: drop and count, block until
//! there is room, or write synchronously to a fallback sink in the caller's thread.
//!
//! # Durability
//!
//! [`flush`](TraceCollector::flush) sends a flush request through the queue and waits for the
//! writer's answer, so it returns once every record queued before it (by any thread) is
//! written and the sink flushed; it then flushes the fallback sink. Dropping the collector
//! (or [`close`](StreamCollector::close)) writes out the queue, flushes and joins the writer,
//! so a short-lived process loses nothing. "Flushed" means handed to the sink's `flush`: for a
//! file, the OS has it; it is not fsync'd.
//!
//! # Errors
//!
//! The first write or flush error stops the writer (see the `writer` module): it is
//! returned by the next `record` or `flush` and counted in [`StreamStats::write_errors`];
//! records queued after it are counted in [`StreamStats::lost`] and every later call fails
//! with [`CollectorError::WriterStopped`], so nothing is lost silently.

use std::cell::RefCell;
use std::fmt;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, Sender, TrySendError};
use whyline_core::{
    CollectorStats, DecisionPath, DecisionTrace, RecordOutcome, TraceCollector, encode_aprt,
    encode_json,
};

use super::error::CollectorError;
use super::writer::{Message, Shared, Writer};

/// What a stream writes: APRT records back to back, or one JSON document per line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamFormat {
    /// Concatenated APRT v1 records (read them back with [`whyline_core::AprtRecords`]).
    Aprt,
    /// The JSON view of each trace ([`whyline_core::encode_json`]) followed by `\n`.
    JsonLines,
}

impl fmt::Display for StreamFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StreamFormat::Aprt => "APRT",
            StreamFormat::JsonLines => "JSON lines",
        })
    }
}

/// What `record` does when the queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backpressure {
    /// Drop the trace and count it ([`RecordOutcome::Dropped`], `stats().dropped`). The
    /// caller never waits.
    Drop,
    /// Wait for room. Nothing is lost; the caller runs at the writer's pace. A caller that
    /// finds the queue full sleeps until the writer has drained it to half, so a writer that
    /// is the bottleneck wakes it once per half queue, not once per record.
    #[default]
    Block,
    /// Write the trace synchronously, in the caller's thread, to the fallback sink given to
    /// [`StreamCollectorBuilder::fallback`] ([`RecordOutcome::Fallback`],
    /// `stats().fallback`). Nothing is lost; records in the two sinks are not interleaved in
    /// record order.
    Fallback,
}

/// Counters of a [`StreamCollector`]; a superset of [`CollectorStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Traces queued or written to the fallback sink.
    pub recorded: u64,
    /// Traces dropped because the queue was full (policy [`Backpressure::Drop`]).
    pub dropped: u64,
    /// Traces written to the fallback sink.
    pub fallback: u64,
    /// Records the writer has written into its buffer (flushed to the sink by `flush`).
    pub written: u64,
    /// Records queued but never written because the writer had stopped on an error.
    pub lost: u64,
    /// Write, flush and fallback errors seen (the writer stops at the first of its own).
    pub write_errors: u64,
}

/// Settings of a [`StreamCollector`]; see [`StreamCollectorBuilder`].
pub struct StreamCollectorBuilder {
    format: StreamFormat,
    capacity: usize,
    buffer_bytes: usize,
    backpressure: Backpressure,
    fallback: Option<Box<dyn Write + Send>>,
    thread_name: String,
}

impl fmt::Debug for StreamCollectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamCollectorBuilder")
            .field("format", &self.format)
            .field("capacity", &self.capacity)
            .field("buffer_bytes", &self.buffer_bytes)
            .field("backpressure", &self.backpressure)
            .field("has_fallback", &self.fallback.is_some())
            .field("thread_name", &self.thread_name)
            .finish()
    }
}

impl StreamCollectorBuilder {
    /// Default queue capacity, in records.
    pub const DEFAULT_CAPACITY: usize = 8192;
    /// Default size of the writer's buffer, in bytes.
    pub const DEFAULT_BUFFER_BYTES: usize = 64 * 1024;

    /// A builder for a stream writing `format`, with a queue of
    /// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) records, a
    /// [`DEFAULT_BUFFER_BYTES`](Self::DEFAULT_BUFFER_BYTES) buffer and [`Backpressure::Block`].
    pub fn new(format: StreamFormat) -> Self {
        StreamCollectorBuilder {
            format,
            capacity: Self::DEFAULT_CAPACITY,
            buffer_bytes: Self::DEFAULT_BUFFER_BYTES,
            backpressure: Backpressure::Block,
            fallback: None,
            thread_name: "whyline-stream".to_owned(),
        }
    }

    /// Queue capacity in records (at least 1). Each slot holds about 200 bytes.
    pub fn capacity(&mut self, records: usize) -> &mut Self {
        self.capacity = records;
        self
    }

    /// Size of the writer's buffer in bytes; 0 writes every record straight to the sink.
    pub fn buffer_bytes(&mut self, bytes: usize) -> &mut Self {
        self.buffer_bytes = bytes;
        self
    }

    /// What `record` does when the queue is full. [`Backpressure::Fallback`] needs a sink:
    /// prefer [`fallback`](Self::fallback), which sets both.
    pub fn backpressure(&mut self, policy: Backpressure) -> &mut Self {
        self.backpressure = policy;
        self
    }

    /// Uses [`Backpressure::Fallback`], writing overflow synchronously to `sink` (through a
    /// buffer flushed by `flush` and on drop). The sink moves into the next collector built.
    pub fn fallback(&mut self, sink: impl Write + Send + 'static) -> &mut Self {
        self.backpressure = Backpressure::Fallback;
        self.fallback = Some(Box::new(sink));
        self
    }

    /// Name of the writer thread (default `whyline-stream`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.thread_name = name.into();
        self
    }

    /// Starts the writer thread on `sink` and returns the collector.
    ///
    /// Fails on a zero capacity, on [`Backpressure::Fallback`] without a fallback sink (the
    /// fallback sink is taken from the builder: build again only after setting a new one),
    /// or if the thread cannot be started.
    pub fn build<P: DecisionPath>(
        &mut self,
        sink: impl Write + Send + 'static,
    ) -> Result<StreamCollector<P>, CollectorError> {
        if self.capacity == 0 {
            return Err(CollectorError::InvalidSetting {
                setting: "capacity",
                expected: "at least 1",
                found: 0,
            });
        }
        let fallback = match self.backpressure {
            Backpressure::Fallback => match self.fallback.take() {
                Some(sink) => Some(Mutex::new(FallbackSink {
                    out: BufWriter::with_capacity(self.buffer_bytes, sink),
                    scratch: Vec::new(),
                })),
                None => return Err(CollectorError::MissingFallback),
            },
            Backpressure::Drop | Backpressure::Block => None,
        };
        let (sender, queue) = crossbeam_channel::bounded(self.capacity);
        let shared = Arc::new(Shared::default());
        let sink: Box<dyn Write + Send> = Box::new(sink);
        let writer = Writer::<P> {
            queue,
            sink: BufWriter::with_capacity(self.buffer_bytes, sink),
            format: self.format,
            shared: Arc::clone(&shared),
            line: Vec::new(),
            index: 0,
            written: 0,
            low_water: self.capacity / 2,
            path: PhantomData,
        };
        let handle = std::thread::Builder::new()
            .name(self.thread_name.clone())
            .spawn(move || writer.run())
            .map_err(CollectorError::Spawn)?;
        Ok(StreamCollector {
            sender,
            format: self.format,
            backpressure: self.backpressure,
            counters: Counters::default(),
            shared,
            fallback,
            handle: Some(handle),
            path: PhantomData,
        })
    }
}

/// Caller-side counters, apart from the writer's (`Shared`) so the two threads do not write
/// the same cache line on every record.
#[derive(Default)]
#[repr(align(64))]
struct Counters {
    recorded: AtomicU64,
    dropped: AtomicU64,
    fallback: AtomicU64,
}

struct FallbackSink {
    out: BufWriter<Box<dyn Write + Send>>,
    /// Reused buffer for a JSON line.
    scratch: Vec<u8>,
}

/// Writes decision traces as APRT records or JSON lines to any [`Write`], through a bounded
/// queue drained by a background thread (see the [module docs](self)).
///
/// ```
/// use std::io::Read;
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
    sender: Sender<Message>,
    format: StreamFormat,
    backpressure: Backpressure,
    counters: Counters,
    shared: Arc<Shared>,
    fallback: Option<Mutex<FallbackSink>>,
    handle: Option<JoinHandle<()>>,
    path: PhantomData<fn(P)>,
}

/// How often a waiting `flush` checks that the writer thread is still alive.
const WRITER_LIVENESS_CHECK: Duration = Duration::from_millis(50);

thread_local! {
    /// Where the caller's thread encodes records; keeps its capacity between records.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with an empty reusable buffer: the thread's scratch buffer, or a fresh one when
/// it is in use (a path's encoder recording into a collector) or being torn down.
#[inline]
fn with_scratch<R>(mut f: impl FnMut(&mut Vec<u8>) -> R) -> R {
    let reused = SCRATCH.try_with(|cell| {
        cell.try_borrow_mut().ok().map(|mut buffer| {
            buffer.clear();
            f(&mut buffer)
        })
    });
    match reused {
        Ok(Some(result)) => result,
        Ok(None) | Err(_) => f(&mut Vec::new()),
    }
}

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
        StreamStats {
            recorded: self.counters.recorded.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            fallback: self.counters.fallback.load(Ordering::Relaxed),
            written: self.shared.written.load(Ordering::Relaxed),
            lost: self.shared.lost.load(Ordering::Relaxed),
            write_errors: self.shared.write_errors.load(Ordering::Relaxed),
        }
    }

    /// Writes out the queue, flushes both sinks, joins the writer and returns the final
    /// counters, or the first error not yet returned. Dropping the collector does the same
    /// but can only log an error (through `tracing`).
    pub fn close(mut self) -> Result<StreamStats, CollectorError> {
        self.shutdown()?;
        Ok(self.stream_stats())
    }

    fn shutdown(&mut self) -> Result<(), CollectorError> {
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        // A blocking send: shutting down must not be dropped, whatever the policy.
        let sent = self.sender.send(Message::Shutdown);
        let joined = handle.join();
        let fallback = self.flush_fallback();
        if joined.is_err() {
            return Err(CollectorError::WriterPanicked);
        }
        if sent.is_err() {
            return Err(CollectorError::WriterGone);
        }
        self.check_writer()?;
        fallback
    }

    /// Whether the writer thread has ended. Only `close` and `drop` end it normally, and
    /// neither can run while `&self` is borrowed, so `true` here means it died.
    fn writer_finished(&self) -> bool {
        self.handle.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The writer's stored error, if it has failed.
    #[inline]
    fn check_writer(&self) -> Result<(), CollectorError> {
        if self.shared.failed.load(Ordering::Acquire) {
            Err(self.shared.take_error())
        } else {
            Ok(())
        }
    }

    fn flush_fallback(&self) -> Result<(), CollectorError> {
        let Some(fallback) = &self.fallback else {
            return Ok(());
        };
        let mut fallback = fallback.lock().map_err(|_| CollectorError::Poisoned {
            collector: "stream fallback",
        })?;
        fallback.out.flush().map_err(|source| {
            self.shared.write_errors.fetch_add(1, Ordering::Relaxed);
            CollectorError::FallbackFlush { source }
        })
    }

    /// Writes `trace` to the fallback sink; `record` is its APRT encoding.
    #[cold]
    fn write_fallback(
        &self,
        trace: &DecisionTrace<P>,
        record: &[u8],
    ) -> Result<RecordOutcome, CollectorError> {
        let Some(fallback) = &self.fallback else {
            return Err(CollectorError::MissingFallback);
        };
        let mut fallback = fallback.lock().map_err(|_| CollectorError::Poisoned {
            collector: "stream fallback",
        })?;
        let FallbackSink { out, scratch } = &mut *fallback;
        let written = match self.format {
            StreamFormat::Aprt => out.write_all(record),
            StreamFormat::JsonLines => {
                scratch.clear();
                encode_json(trace, scratch).map_err(|source| CollectorError::Encode {
                    record: trace.sequence,
                    source,
                })?;
                scratch.push(b'\n');
                out.write_all(scratch)
            }
        };
        written.map_err(|source| {
            self.shared.write_errors.fetch_add(1, Ordering::Relaxed);
            CollectorError::Fallback {
                sequence: trace.sequence,
                source,
            }
        })?;
        self.counters.fallback.fetch_add(1, Ordering::Relaxed);
        self.counters.recorded.fetch_add(1, Ordering::Relaxed);
        Ok(RecordOutcome::Fallback)
    }

    /// `Block` on a full queue: waits until the writer has drained the queue to half, then
    /// sends. Waiting on the writer's signal rather than in a blocking `send` matters when
    /// the writer is the bottleneck (JSON lines): a blocking `send` would park and be woken
    /// once per record, a futex round trip each; this wakes once per half queue.
    #[cold]
    fn send_when_room(&self, mut message: Message) -> Result<(), CollectorError> {
        loop {
            self.wait_for_room();
            match self.sender.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(returned)) => message = returned,
                Err(TrySendError::Disconnected(_)) => return Err(CollectorError::WriterGone),
            }
        }
    }

    fn wait_for_room(&self) {
        let shared = &self.shared;
        // Registered before looking at the queue, and the writer looks at the queue before
        // looking for waiters (both SeqCst), so one of the two sees the other. The timeout
        // only bounds the wait should the writer die.
        shared.room_waiters.fetch_add(1, Ordering::SeqCst);
        let guard = shared
            .room
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.sender.is_full() && !self.writer_finished() {
            let _ = shared
                .room_signal
                .wait_timeout(guard, WRITER_LIVENESS_CHECK);
        }
        shared.room_waiters.fetch_sub(1, Ordering::SeqCst);
    }

    #[inline]
    fn record_encoded(
        &self,
        trace: &DecisionTrace<P>,
        record: &[u8],
    ) -> Result<RecordOutcome, CollectorError> {
        let message = Message::record(record, trace.latency_ns);
        match self.backpressure {
            Backpressure::Block => match self.sender.try_send(message) {
                Ok(()) => {}
                Err(TrySendError::Full(message)) => self.send_when_room(message)?,
                Err(TrySendError::Disconnected(_)) => return Err(CollectorError::WriterGone),
            },
            Backpressure::Drop => match self.sender.try_send(message) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    return Ok(RecordOutcome::Dropped);
                }
                Err(TrySendError::Disconnected(_)) => return Err(CollectorError::WriterGone),
            },
            Backpressure::Fallback => match self.sender.try_send(message) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => return self.write_fallback(trace, record),
                Err(TrySendError::Disconnected(_)) => return Err(CollectorError::WriterGone),
            },
        }
        self.counters.recorded.fetch_add(1, Ordering::Relaxed);
        Ok(RecordOutcome::Queued)
    }
}

impl<P: DecisionPath> TraceCollector<P> for StreamCollector<P> {
    /// Encodes the trace and queues it ([`RecordOutcome::Queued`]); when the queue is full,
    /// the [`Backpressure`] policy decides. Fails if the writer has failed (returning its
    /// error once, then [`CollectorError::WriterStopped`]) or is gone; nothing is queued then.
    #[inline]
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        self.check_writer()?;
        Ok(with_scratch(|buffer| {
            encode_aprt(trace, buffer);
            self.record_encoded(trace, buffer)
        })?)
    }

    /// Returns once every record queued before the call is written and the sink flushed,
    /// then flushes the fallback sink. Fails with the writer's error if it has failed.
    fn flush(&self) -> whyline_core::Result<()> {
        self.check_writer()?;
        let (answer, healthy) = crossbeam_channel::bounded(1);
        self.sender
            .send(Message::Flush(answer))
            .map_err(|_| CollectorError::WriterGone)?;
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
                    return Err(CollectorError::WriterGone.into());
                }
            }
        }
        self.flush_fallback()?;
        Ok(())
    }

    /// Records written so far: by the writer (into its buffer; all of them are in the sink
    /// after `flush`) and to the fallback sink.
    fn len(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed) + self.counters.fallback.load(Ordering::Relaxed)
    }

    fn stats(&self) -> CollectorStats {
        CollectorStats {
            recorded: self.counters.recorded.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            fallback: self.counters.fallback.load(Ordering::Relaxed),
        }
    }
}

impl<P> Drop for StreamCollector<P> {
    /// Writes out the queue, flushes, joins the writer; an error is logged with `tracing`
    /// (use [`StreamCollector::close`] to get it).
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        let sent = self.sender.send(Message::Shutdown);
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
        } else if self.shared.failed.load(Ordering::Acquire) {
            let error = self.shared.take_error();
            tracing::error!(error = %error, lost = self.shared.lost.load(Ordering::Relaxed),
                "stream collector dropped after a write error");
        }
    }
}

impl<P> fmt::Debug for StreamCollector<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamCollector")
            .field("format", &self.format)
            .field("backpressure", &self.backpressure)
            .field("queued", &self.sender.len())
            .field("written", &self.shared.written.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
