//! [`StreamCollectorBuilder`]: the settings of a stream collector, and starting its writer.

use std::fmt;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;

use whyline_core::DecisionPath;

use super::batch::BatchLimits;
use super::batch_sink::{BatchSink, Sink};
use super::json_chunk::JsonChunk;
use super::stream::{Backpressure, FallbackSink, StreamCollector, StreamFormat};
use super::writer::{Shared, Writer};
use crate::error::LedgerError;
use crate::sync::atomic::AtomicU64;
use crate::sync::{Arc, Mutex, channel, thread};

/// Settings of a [`StreamCollector`].
pub struct StreamCollectorBuilder {
    format: StreamFormat,
    capacity: usize,
    batch_records: Option<usize>,
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
            .field("batch_records", &self.batch_records)
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
    /// A batch is sent once it holds this many bytes (or its record limit), whichever
    /// comes first.
    pub const BATCH_BYTES: usize = 64 * 1024;
    /// Largest default batch, in records.
    pub const MAX_DEFAULT_BATCH_RECORDS: usize = 1024;

    /// A builder for a stream writing `format`, with a queue of
    /// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) records, a
    /// [`DEFAULT_BUFFER_BYTES`](Self::DEFAULT_BUFFER_BYTES) buffer and [`Backpressure::Block`].
    pub fn new(format: StreamFormat) -> Self {
        StreamCollectorBuilder {
            format,
            capacity: Self::DEFAULT_CAPACITY,
            batch_records: None,
            buffer_bytes: Self::DEFAULT_BUFFER_BYTES,
            backpressure: Backpressure::Block,
            fallback: None,
            thread_name: "whyline-stream".to_owned(),
        }
    }

    /// How many records may wait for the writer (at least 1), counting the partial batch
    /// and the batches queued. Records travel in batches (see
    /// [`batch_records`](Self::batch_records)); the queue holds
    /// `max(1, capacity / batch_records - 1)` batches, so a full queue and a full partial
    /// batch hold about `capacity` records.
    pub fn capacity(&mut self, records: usize) -> &mut Self {
        self.capacity = records;
        self
    }

    /// Records per batch (at least 1; at most the capacity). By default `capacity / 16`, at
    /// least 1 and at most [`MAX_DEFAULT_BATCH_RECORDS`](Self::MAX_DEFAULT_BATCH_RECORDS).
    /// A batch is also sent once it holds [`BATCH_BYTES`](Self::BATCH_BYTES). Larger
    /// batches cost the caller less per record; a batch of 1 sends every record on its own.
    pub fn batch_records(&mut self, records: usize) -> &mut Self {
        self.batch_records = Some(records);
        self
    }

    /// Size of the writer's buffer in bytes; 0 writes straight to the sink: APRT one record
    /// per write, JSON lines a chunk of many lines per write.
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

    /// The batch limits and the number of batches the queue holds.
    fn batching(&self) -> Result<(BatchLimits, usize), LedgerError> {
        if self.capacity == 0 {
            return Err(LedgerError::InvalidSetting {
                setting: "capacity",
                expected: "at least 1",
                value: "0".into(),
            });
        }
        let records = match self.batch_records {
            Some(0) => {
                return Err(LedgerError::InvalidSetting {
                    setting: "batch_records",
                    expected: "at least 1",
                    value: "0".into(),
                });
            }
            Some(records) => records.min(self.capacity),
            None => (self.capacity / 16).clamp(1, Self::MAX_DEFAULT_BATCH_RECORDS),
        };
        let slots = (self.capacity / records).saturating_sub(1).max(1);
        let limits = BatchLimits {
            records,
            bytes: Self::BATCH_BYTES,
        };
        Ok((limits, slots))
    }

    /// Starts the writer thread on `sink` and returns the collector.
    ///
    /// Fails on a zero capacity or batch size, on [`Backpressure::Fallback`] without a
    /// fallback sink (the fallback sink is taken from the builder: build again only after
    /// setting a new one), or if the thread cannot be started.
    pub fn build<P: DecisionPath>(
        &mut self,
        sink: impl Write + Send + 'static,
    ) -> Result<StreamCollector<P>, LedgerError> {
        let sink: Box<dyn Write + Send> = Box::new(sink);
        self.start(Sink::Bytes(BufWriter::with_capacity(
            self.buffer_bytes,
            sink,
        )))
    }

    /// Starts the writer thread on a [`BatchSink`], which receives each batch whole (one
    /// message per batch for a broker), and returns the collector. The format must be
    /// [`StreamFormat::Aprt`]; the buffer size is unused. Fails as [`build`](Self::build)
    /// does, and on [`StreamFormat::JsonLines`].
    pub fn build_batches<P: DecisionPath>(
        &mut self,
        sink: impl BatchSink,
    ) -> Result<StreamCollector<P>, LedgerError> {
        match self.format {
            StreamFormat::Aprt => self.start(Sink::Batches(Box::new(sink))),
            StreamFormat::JsonLines => Err(LedgerError::InvalidSetting {
                setting: "format",
                expected: "aprt for a batch sink",
                value: "json lines".into(),
            }),
        }
    }

    fn start<P: DecisionPath>(&mut self, sink: Sink) -> Result<StreamCollector<P>, LedgerError> {
        let (limits, slots) = self.batching()?;
        let fallback = match self.backpressure {
            Backpressure::Fallback => match self.fallback.take() {
                Some(sink) => Some(Mutex::new(FallbackSink {
                    out: BufWriter::with_capacity(self.buffer_bytes, sink),
                    scratch: Vec::new(),
                })),
                None => return Err(LedgerError::MissingFallback),
            },
            Backpressure::Drop | Backpressure::Block => None,
        };
        let (sender, queue) = channel::bounded(slots);
        // Every batch in existence fits: the queue's, the partial one, the writer's two.
        let (recycle, recycled) = channel::bounded(slots + 2);
        let shared = Arc::new(Shared::default());
        let writer = Writer::<P> {
            queue,
            recycle,
            sink,
            format: self.format,
            shared: Arc::clone(&shared),
            spare: None,
            lines: JsonChunk::default(),
            index: 0,
            written: 0,
            path: PhantomData,
        };
        let handle = thread::Builder::new()
            .name(self.thread_name.clone())
            .spawn(move || writer.run())
            .map_err(LedgerError::Spawn)?;
        Ok(StreamCollector {
            sender,
            recycled,
            limits,
            format: self.format,
            backpressure: self.backpressure,
            fallback_count: AtomicU64::new(0),
            shared,
            fallback,
            handle: Some(handle),
            path: PhantomData,
        })
    }
}
