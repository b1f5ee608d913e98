//! whyline over NATS JetStream: many producers, one verifiable log.
//!
//! # Overview
//!
//! - [`JetStreamSink`] ([`JetStreamSinkBuilder`]): a
//!   [`BatchSink`](whyline_ledger::collector::BatchSink) for the stream collector. Each batch
//!   of APRT records becomes one JetStream message with id `PRODUCER:BATCH`, so JetStream's
//!   duplicate window drops a resend; while JetStream is unreachable the sink retries and
//!   the collector's `Drop` / `Block` / `Fallback` policy decides for the callers.
//! - [`Sequencer`]: the one process that orders the log. A durable pull consumer with
//!   explicit acks; each round appends its batches' decisions (each batch after a [`Mark`]
//!   entry naming producer and batch), makes them durable with one sync, publishes the
//!   receipts, then acknowledges. The marks are the producers' high-water marks, read back
//!   from the log on start ([`SequencerState`]), so a batch delivered again after a crash is
//!   never appended twice and a batch cut by a crash is finished, not repeated.
//! - [`ReceiptReader`]: a producer's receipts ([`BatchReceipt`]: ledger index and leaf hash
//!   of each decision) from the receipts stream.
//! - [`Topology`]: the stream, subject and consumer names of one log; [`wire`] the message
//!   and mark layouts (also in `docs/distributed.md`); [`DirectoryLock`]: one sequencer per
//!   ledger directory.
//! - [`produce()`] and [`audit_log`]: the synthetic producer and the exactly-once audit of the
//!   end-to-end test.
//!
//! # Example
//!
//! ```no_run
//! use whyline_core::{LinearPath, TraceCollector};
//! use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};
//! use whyline_nats::{JetStreamSinkBuilder, ProducerId, Topology};
//!
//! let names = Topology::new("FLEET")?;
//! let producer = ProducerId::new("replica-7-20261206")?;
//! let sink = JetStreamSinkBuilder::new("nats://127.0.0.1:4222", names, producer).build()?;
//! let collector = StreamCollectorBuilder::new(StreamFormat::Aprt)
//!     .backpressure(Backpressure::Block)
//!     .build_batches::<LinearPath>(sink)?;
//! # let trace = whyline_nats::synthetic_trace(&ProducerId::new("x")?, 0);
//! collector.record(&trace)?;
//! collector.close()?; // every batch acknowledged by JetStream
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod error;
mod lock;
mod produce;
mod receipts;
mod sequencer;
mod sink;
mod state;
mod topology;
pub mod wire;

pub use error::{NatsError, Result};
pub use lock::{DirectoryLock, LOCK_FILE};
pub use produce::{ProduceReport, ProducerAudit, audit_log, produce, synthetic_trace};
pub use receipts::ReceiptReader;
pub use sequencer::{Action, Delivered, Round, Sequencer, SequencerOptions, SequencerStats};
pub use sink::{JetStreamSink, JetStreamSinkBuilder, SinkCounters};
pub use state::{
    Piece, ProducerState, REMEMBERED_BATCHES, REMEMBERED_LEAVES, SequencerState, Verdict,
};
pub use topology::{DUPLICATE_WINDOW, ProducerId, RECEIPTS_MAX_AGE, SEQUENCER_CONSUMER, Topology};
pub use wire::{BatchHeader, BatchReceipt, Mark};
