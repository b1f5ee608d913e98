//! An HTTP load generator for `whyline serve` and for the services it is compared with.
//!
//! # Overview
//!
//! - [`Target`] is the server: an `http://host:port` URL resolved once.
//! - A workload is a list of [`RequestTemplate`]s built before the run: [`infer_requests`]
//!   (one KServe V2 infer request per row of a CSV file) or [`ingest_requests`] (batches of
//!   real decision traces, a model's explanations of a rows file, encoded as JSON lines or
//!   APRT by whyline-core's codecs).
//! - [`run`] drives a closed loop over `connections` keep-alive HTTP/1.1 connections (hyper
//!   1), each sending its next request as soon as the answer is read, for a warm-up and a
//!   measured window, and returns a [`RunReport`]: requests and items per second, latency
//!   percentiles from an HDR histogram ([`LatencyRecorder`]), errors by status, transport
//!   errors, answers that failed their [`ResponseCheck`], and the generator's own CPU use.
//!
//! The `whyline-load` binary wraps these as `whyline-load infer ...` and
//! `whyline-load ingest ...`; `scripts/bench-serve.sh` runs both against `whyline serve` and
//! against the Python peer in `python/peer/`.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use whyline_load::LatencyRecorder;
//!
//! let mut latencies = LatencyRecorder::new();
//! for us in [90, 100, 110, 4_000] {
//!     latencies.record(Duration::from_micros(us));
//! }
//! let summary = latencies.summary();
//! assert_eq!(summary.count, 4);
//! assert!((summary.p50_us - 100.0).abs() < 0.1);
//! assert!((summary.max_us - 4_000.0).abs() < 4.0);
//! ```
//!
//! # Guarantees
//!
//! - Nothing is generated inside the loop: bodies are built before the run and cloned by
//!   reference count, so the generator's cost per request is the HTTP exchange.
//! - Every answer inside the measured window is counted, as a success, an error by status,
//!   or a bad answer; a failed connection is counted and reopened. Only the at most one
//!   request per connection still in flight at the end is left out.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod cpu;
mod error;
mod infer;
mod ingest;
mod latency;
mod run;
mod target;

pub use error::{LoadError, Result};
pub use infer::{TensorType, check_infer_response, infer_body, infer_requests, read_rows};
pub use ingest::{IngestFormat, check_receipts, encode_body, generate_traces, ingest_requests};
pub use latency::{LatencyRecorder, LatencySummary};
pub use run::{ResponseCheck, RunOptions, RunReport, run};
pub use target::{RequestTemplate, Target};
