//! Integration tests of the ring and stream collectors: the shared conformance suite run
//! against each, and the stream's backpressure, flush, drop and error behaviour.
//!
//! The allocation test lives in its own binary (`ring_no_alloc.rs`): a global allocator is
//! per binary.

// Helpers outside `#[test]` functions are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conformance;
mod ring;
mod stream;
mod stream_batches;
mod stream_builder;
mod stream_fallback;
mod stream_json;
mod stream_poison;
mod stream_sink_errors;
mod stream_writer_death;
mod support;
