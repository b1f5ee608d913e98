//! In-memory and streaming collectors of decision traces.
//!
//! # Overview
//!
//! - [`RingCollector`] keeps the last `N` traces in memory and allocates nothing once warm:
//!   for a live view of recent decisions at a few nanoseconds per trace. Its slots are filled
//!   through [`RingSlot`], a capacity-reusing copy implemented for every path type.
//!   [`DynamicRingCollector`] is the same ring with its capacity chosen at run time.
//! - [`StreamCollector`] appends each trace's APRT record to a batch and queues full batches
//!   to a background thread that writes APRT records or JSON lines to any `Write`; built by
//!   [`StreamCollectorBuilder`], with a [`Backpressure`] policy for a full queue and
//!   [`StreamStats`] counting everything. A [`BatchSink`] (a message broker) takes its
//!   batches whole instead of a `Write` taking bytes.
//! - [`LedgerCollector`] appends each trace to a [`Ledger`](crate::Ledger): hash chain,
//!   Merkle tree, signed checkpoints. [`PipelinedLedgerCollector`] writes the same log with
//!   the chain, the tree, the frames and the commits on a sequencer thread, the callers
//!   only encoding their records and hashing the leaves of the batches they fill.
//! - `conformance` (with the `conformance` cargo feature) holds the checks every
//!   [`TraceCollector`](whyline_core::TraceCollector) implementation must pass, written once
//!   and run against each collector.
//!
//! Errors are [`LedgerError`](crate::LedgerError); through the `TraceCollector` methods they
//! arrive wrapped in [`CoreError::Collector`](whyline_core::CoreError::Collector), which names
//! the collector and the decision.

mod batch;
mod batch_sink;
mod builder;
mod commit;
#[cfg(feature = "conformance")]
pub mod conformance;
mod json_chunk;
mod ledger;
mod pipelined;
mod ring;
mod slot;
mod stream;
mod writer;

pub use batch_sink::BatchSink;
pub use builder::StreamCollectorBuilder;
pub use ledger::LedgerCollector;
pub use pipelined::PipelinedLedgerCollector;
pub use ring::{DynamicRingCollector, RingCollector};
pub use slot::RingSlot;
pub use stream::{Backpressure, StreamCollector, StreamFormat, StreamStats};
