//! [`JetStreamSink`]: the stream collector's batches published to JetStream, one message
//! per batch, each acknowledged by JetStream before the next is sent.
//!
//! The sink runs on the stream collector's writer thread (never the caller's): `record`
//! costs what it costs on any stream collector. Each batch is published with its message
//! id (`PRODUCER:BATCH`) and the sink waits for JetStream's acknowledgement (the stream
//! holds it). While JetStream cannot be reached it retries the same batch, same id, with a
//! backoff (10 ms doubling to 500 ms): a resend that JetStream had in fact stored is dropped
//! by its duplicate window, and batches stay in order, so the sequencer never sees a gap.
//! Meanwhile the collector's queue fills and its [`Backpressure`] policy decides for the
//! callers: `Drop` counts, `Block` waits, `Fallback` writes locally. After
//! [`max_outage`](JetStreamSinkBuilder::max_outage) without success the batch fails and the
//! writer stops (the records are counted lost), so a dead broker cannot hang a producer for
//! ever.
//!
//! [`Backpressure`]: whyline_ledger::collector::Backpressure

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::PublishAckFuture, message::PublishMessage};
use bytes::Bytes;
use whyline_ledger::collector::BatchSink;

use crate::error::{NatsError, Result};
use crate::topology::{ProducerId, Topology};
use crate::wire::batch_headers;

/// Counters of a [`JetStreamSink`], readable while it runs ([`JetStreamSink::counters`]).
#[derive(Debug, Default)]
pub struct SinkCounters {
    batches: AtomicU64,
    records: AtomicU64,
    duplicates: AtomicU64,
    retries: AtomicU64,
}

impl SinkCounters {
    /// Batches JetStream acknowledged.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Records in those batches.
    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    /// Acknowledgements that said "duplicate": a resend JetStream had already stored.
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// Publish attempts that failed and were retried.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// Settings of a [`JetStreamSink`].
#[derive(Clone, Debug)]
pub struct JetStreamSinkBuilder {
    url: String,
    topology: Topology,
    producer: ProducerId,
    ack_timeout: Duration,
    max_outage: Duration,
    first_batch: u64,
}

impl JetStreamSinkBuilder {
    /// A sink for `producer` publishing to the log `topology` names on the server at `url`;
    /// a 2 s acknowledgement timeout and a 5 minute outage limit.
    pub fn new(url: &str, topology: Topology, producer: ProducerId) -> JetStreamSinkBuilder {
        JetStreamSinkBuilder {
            url: url.to_owned(),
            topology,
            producer,
            ack_timeout: Duration::from_secs(2),
            max_outage: Duration::from_secs(300),
            first_batch: 0,
        }
    }

    /// How long to wait for JetStream's acknowledgement of one publish before sending it
    /// again.
    pub fn ack_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.ack_timeout = timeout;
        self
    }

    /// How long one batch may keep failing before the sink gives up (the stream
    /// collector's writer then stops and counts the records lost).
    pub fn max_outage(&mut self, outage: Duration) -> &mut Self {
        self.max_outage = outage;
        self
    }

    /// The number of the first batch (default 0). Tests use it to resend a batch; a
    /// producer run starts at 0 with a fresh id.
    pub fn first_batch(&mut self, batch: u64) -> &mut Self {
        self.first_batch = batch;
        self
    }

    /// Starts the client (a one-thread runtime of its own) and connects. The server need
    /// not be up yet: the client keeps trying, and publishing waits as for an outage.
    pub fn build(&self) -> Result<JetStreamSink> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("whyline-nats")
            .enable_all()
            .build()
            .map_err(NatsError::Runtime)?;
        let client = runtime.block_on(
            async_nats::ConnectOptions::new()
                .retry_on_initial_connect()
                .connect(self.url.as_str()),
        );
        let client = client.map_err(|e| NatsError::Connect {
            url: self.url.clone(),
            message: e.to_string(),
        })?;
        // The context starts a task of its own: build it inside the runtime.
        let js = {
            let _inside = runtime.enter();
            jetstream::ContextBuilder::new()
                .timeout(self.ack_timeout)
                .build(client)
        };
        Ok(JetStreamSink {
            runtime,
            js,
            subject: self.topology.subject(),
            topology: self.topology.clone(),
            producer: self.producer.clone(),
            next_batch: self.first_batch,
            max_outage: self.max_outage,
            streams_ready: false,
            counters: Arc::new(SinkCounters::default()),
        })
    }
}

/// A [`BatchSink`] publishing each stream-collector batch to JetStream as one message
/// (format in [`crate::wire`]). Build a collector on it with
/// [`StreamCollectorBuilder::build_batches`](whyline_ledger::collector::StreamCollectorBuilder::build_batches).
pub struct JetStreamSink {
    runtime: tokio::runtime::Runtime,
    js: jetstream::Context,
    topology: Topology,
    subject: String,
    producer: ProducerId,
    next_batch: u64,
    max_outage: Duration,
    streams_ready: bool,
    counters: Arc<SinkCounters>,
}

impl std::fmt::Debug for JetStreamSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamSink")
            .field("subject", &self.subject)
            .field("producer", &self.producer)
            .field("next_batch", &self.next_batch)
            .finish_non_exhaustive()
    }
}

/// The first delay between attempts, doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

impl JetStreamSink {
    /// The sink's counters, shared: keep this before the collector takes the sink.
    pub fn counters(&self) -> Arc<SinkCounters> {
        Arc::clone(&self.counters)
    }

    /// The producer id.
    pub fn producer(&self) -> &ProducerId {
        &self.producer
    }

    /// One attempt: publish and wait for the acknowledgement; `Ok(true)` for "duplicate".
    async fn attempt(
        js: &jetstream::Context,
        subject: &str,
        message: PublishMessage,
    ) -> Result<bool, String> {
        let ack: PublishAckFuture = js
            .send_publish(subject.to_owned(), message)
            .await
            .map_err(|e| e.to_string())?;
        let ack = ack.await.map_err(|e| e.to_string())?;
        Ok(ack.duplicate)
    }

    fn publish(&mut self, bytes: &[u8], records: usize) -> io::Result<()> {
        let batch = self.next_batch;
        let payload = Bytes::copy_from_slice(bytes);
        let headers = batch_headers(&self.producer, batch, records);
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            if !self.streams_ready {
                let ready = self
                    .runtime
                    .block_on(self.topology.ensure_streams(&self.js));
                self.streams_ready = ready.is_ok();
            }
            let message = PublishMessage::build()
                .payload(payload.clone())
                .headers(headers.clone());
            let outcome = self
                .runtime
                .block_on(Self::attempt(&self.js, &self.subject, message));
            match outcome {
                Ok(duplicate) => {
                    let counters = &self.counters;
                    counters.batches.fetch_add(1, Ordering::Relaxed);
                    counters
                        .records
                        .fetch_add(records as u64, Ordering::Relaxed);
                    if duplicate {
                        counters.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    self.next_batch += 1;
                    return Ok(());
                }
                Err(error) => {
                    let retries = self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    if started.elapsed() >= self.max_outage {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "JetStream did not take batch {batch} of producer {} for {:?}: {error}",
                                self.producer, self.max_outage
                            ),
                        ));
                    }
                    if retries.is_multiple_of(64) {
                        tracing::warn!(producer = %self.producer, batch, %error, "publish failed, retrying");
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

impl BatchSink for JetStreamSink {
    /// Publishes the batch as message `PRODUCER:BATCH` and returns once JetStream
    /// acknowledged it, retrying the same message through an outage (see the module docs).
    fn write_batch(&mut self, bytes: &[u8], records: usize) -> io::Result<()> {
        self.publish(bytes, records)
    }

    /// Nothing is left to do: `write_batch` returns only once JetStream holds the batch.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
