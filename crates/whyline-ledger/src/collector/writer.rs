//! The stream collector's background writer: the one thread that touches the sink.
//!
//! It drains the queue in order, writes each record through a buffer, answers flush
//! requests once everything before them is written and the sink flushed, and flushes its
//! buffer whenever it catches up with the queue, so records reach the sink promptly under
//! light load and in large writes under heavy load. The first write or flush error stops it
//! for good (a half-written sink is not retried blindly): the error is stored for the next
//! caller of `record` or `flush`, and every record still queued is counted as lost.

use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use whyline_core::{DecisionPath, decode_aprt_prefix, encode_json};

use super::error::CollectorError;
use super::stream::StreamFormat;

/// Records up to this many APRT bytes travel inside the queue item itself, so the common
/// case allocates nothing; larger records travel in a `Vec`.
pub(super) const INLINE_BYTES: usize = 176;

/// One item of the writer's queue.
pub(super) enum Message {
    /// An APRT record small enough to travel inline.
    Inline {
        /// Bytes used in `bytes`.
        len: u8,
        /// The trace's latency at full precision (APRT keeps whole microseconds; the JSON
        /// view carries nanoseconds).
        latency_ns: u64,
        /// The record, zero-padded.
        bytes: [u8; INLINE_BYTES],
    },
    /// A larger APRT record.
    Heap {
        /// As for `Inline`.
        latency_ns: u64,
        /// The record.
        bytes: Vec<u8>,
    },
    /// Write out everything before this message, flush the sink, then answer `true` if the
    /// writer is healthy.
    Flush(Sender<bool>),
    /// Flush and exit.
    Shutdown,
}

impl Message {
    /// The queue item for an encoded APRT record.
    #[inline]
    pub(super) fn record(record: &[u8], latency_ns: u64) -> Message {
        match u8::try_from(record.len()) {
            Ok(len) if record.len() <= INLINE_BYTES => {
                let mut bytes = [0u8; INLINE_BYTES];
                bytes[..record.len()].copy_from_slice(record);
                Message::Inline {
                    len,
                    latency_ns,
                    bytes,
                }
            }
            _ => Message::Heap {
                latency_ns,
                bytes: record.to_vec(),
            },
        }
    }
}

/// State shared by the collector and its writer.
#[derive(Default)]
pub(super) struct Shared {
    /// Set once the writer has failed; checked by every `record`.
    pub(super) failed: AtomicBool,
    /// The writer's error, waiting for the next `record` or `flush` to return it.
    pub(super) error: Mutex<Option<CollectorError>>,
    /// Records written into the sink's buffer by the writer.
    pub(super) written: AtomicU64,
    /// Records accepted into the queue but not written because the writer had failed.
    pub(super) lost: AtomicU64,
    /// Write, flush and fallback errors.
    pub(super) write_errors: AtomicU64,
    /// Producers waiting for room under `Block` (see `StreamCollector::wait_for_room`).
    pub(super) room_waiters: AtomicUsize,
    /// Held while a producer decides to wait and while the writer signals room.
    pub(super) room: Mutex<()>,
    /// Signalled by the writer once the queue is down to its low-water mark.
    pub(super) room_signal: Condvar,
}

impl Shared {
    /// Records the writer's failure. The first error is kept; later ones are only counted.
    pub(super) fn fail(&self, error: CollectorError) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
        let mut slot = self.error.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() && !self.failed.load(Ordering::Relaxed) {
            *slot = Some(error);
        }
        self.failed.store(true, Ordering::Release);
    }

    /// The error to return to a caller once the writer has failed: the writer's own error
    /// the first time, then [`CollectorError::WriterStopped`].
    pub(super) fn take_error(&self) -> CollectorError {
        let stored = self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        stored.unwrap_or_else(|| CollectorError::WriterStopped {
            lost: self.lost.load(Ordering::Relaxed),
        })
    }
}

/// The writer thread's state.
pub(super) struct Writer<P> {
    pub(super) queue: Receiver<Message>,
    pub(super) sink: BufWriter<Box<dyn Write + Send>>,
    pub(super) format: StreamFormat,
    pub(super) shared: std::sync::Arc<Shared>,
    /// Reused buffer for JSON lines.
    pub(super) line: Vec<u8>,
    /// Records taken from the queue so far (written or lost).
    pub(super) index: u64,
    /// Records written (published to `shared.written`, which only this thread writes).
    pub(super) written: u64,
    /// Queue length at or below which waiting producers are woken.
    pub(super) low_water: usize,
    pub(super) path: PhantomData<fn() -> P>,
}

impl<P: DecisionPath> Writer<P> {
    /// Runs until [`Message::Shutdown`] or until every sender is gone.
    pub(super) fn run(mut self) {
        loop {
            let message = match self.queue.try_recv() {
                Ok(message) => message,
                Err(TryRecvError::Empty) => {
                    // Caught up: hand what is buffered to the sink, then wait.
                    self.flush_sink();
                    match self.queue.recv() {
                        Ok(message) => message,
                        Err(_) => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            };
            self.signal_room();
            match message {
                Message::Inline {
                    len,
                    latency_ns,
                    bytes,
                } => self.write_record(&bytes[..usize::from(len)], latency_ns),
                Message::Heap { latency_ns, bytes } => self.write_record(&bytes, latency_ns),
                Message::Flush(answer) => {
                    let healthy = self.flush_sink();
                    // The caller may have given up waiting; nothing to do then.
                    let _ = answer.send(healthy);
                }
                Message::Shutdown => break,
            }
        }
        self.flush_sink();
        // Producers waiting for room find the queue disconnected once this thread returns.
        self.room_waiters_wake();
        if self.failed() {
            // Drop the unwritten buffer instead of letting `BufWriter`'s drop retry it.
            let (_sink, _unwritten) = self.sink.into_parts();
        }
    }

    /// Wakes producers blocked on a full queue once it has drained to the low-water mark, so
    /// a producer sleeps through half a queue of records instead of waking for every one.
    #[inline]
    fn signal_room(&self) {
        if self.shared.room_waiters.load(Ordering::SeqCst) > 0 && self.queue.len() <= self.low_water
        {
            self.room_waiters_wake();
        }
    }

    fn room_waiters_wake(&self) {
        let _guard = self
            .shared
            .room
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared.room_signal.notify_all();
    }

    fn failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// Flushes the buffer and the sink; `false` if the writer has failed.
    fn flush_sink(&mut self) -> bool {
        if self.failed() {
            return false;
        }
        match self.sink.flush() {
            Ok(()) => true,
            Err(source) => {
                self.shared.fail(CollectorError::Flush {
                    written: self.shared.written.load(Ordering::Relaxed),
                    source,
                });
                false
            }
        }
    }

    fn write_record(&mut self, record: &[u8], latency_ns: u64) {
        let index = self.index;
        self.index += 1;
        if self.failed() {
            self.shared.lost.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let result = match self.format {
            StreamFormat::Aprt => {
                self.sink
                    .write_all(record)
                    .map_err(|source| CollectorError::Write {
                        record: index,
                        format: self.format,
                        source,
                    })
            }
            StreamFormat::JsonLines => self.write_json_line(index, record, latency_ns),
        };
        match result {
            Ok(()) => {
                self.written += 1;
                self.shared.written.store(self.written, Ordering::Relaxed);
            }
            Err(error) => {
                self.shared.lost.fetch_add(1, Ordering::Relaxed);
                self.shared.fail(error);
            }
        }
    }

    /// Renders the JSON view from the canonical record, with the latency at full precision,
    /// so the line says exactly what the APRT record and the caller's trace say.
    fn write_json_line(
        &mut self,
        index: u64,
        record: &[u8],
        latency_ns: u64,
    ) -> Result<(), CollectorError> {
        let encode = |source| CollectorError::Encode {
            record: index,
            source,
        };
        let (mut trace, _) = decode_aprt_prefix::<P>(record, 0).map_err(encode)?;
        trace.latency_ns = latency_ns;
        self.line.clear();
        encode_json(&trace, &mut self.line).map_err(encode)?;
        self.line.push(b'\n');
        self.sink
            .write_all(&self.line)
            .map_err(|source| CollectorError::Write {
                record: index,
                format: self.format,
                source,
            })
    }
}
