//! Errors of the ring and stream collectors.
//!
//! [`TraceCollector`](whyline_core::TraceCollector) methods return `whyline_core::Result`,
//! so a [`CollectorError`] reaches their callers wrapped in
//! [`CoreError::Collector`](whyline_core::CoreError::Collector); downcast the source to match
//! it. The collectors' own methods (`close`, `for_each_recent`) return it directly.

use std::io;

/// What went wrong in a ring or stream collector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectorError {
    /// A thread panicked while holding the collector's lock.
    #[error("{collector} collector: lock poisoned by a panic in another thread")]
    Poisoned {
        /// Which collector (`"ring"`, `"stream"`).
        collector: &'static str,
    },
    /// The stream's writer thread failed to write a record to the sink. The writer stops at
    /// the first error: this record and every later one are not written, and are counted
    /// in [`StreamStats::lost`](super::StreamStats::lost).
    #[error("stream writer: writing record {record} ({format}) to the sink failed")]
    Write {
        /// Index (0-based, in queue order) of the record that failed.
        record: u64,
        /// The sink's format.
        format: super::StreamFormat,
        /// The sink's error.
        #[source]
        source: io::Error,
    },
    /// The stream's writer thread failed to flush the sink.
    #[error("stream writer: flushing the sink after {written} records failed")]
    Flush {
        /// Records written into the sink's buffer before the flush.
        written: u64,
        /// The sink's error.
        #[source]
        source: io::Error,
    },
    /// Writing or flushing the fallback sink failed (in the caller's thread).
    #[error("stream fallback: writing record {sequence} to the fallback sink failed")]
    Fallback {
        /// Sequence number of the trace being written, or of the last one for a flush.
        sequence: u64,
        /// The sink's error.
        #[source]
        source: io::Error,
    },
    /// A record could not be rendered as a JSON line.
    #[error("stream: encoding record {record} as JSON failed")]
    Encode {
        /// Index (0-based, in queue order) of the record in the writer; the trace's sequence
        /// number in the fallback sink.
        record: u64,
        /// The codec's error.
        #[source]
        source: whyline_core::CoreError,
    },
    /// The writer failed earlier (its error was returned then) and has stopped: nothing
    /// more is written.
    #[error("stream writer stopped after an earlier error; {lost} records were not written")]
    WriterStopped {
        /// Records accepted but not written so far.
        lost: u64,
    },
    /// Flushing the fallback sink failed (in the caller's thread).
    #[error("stream fallback: flushing the fallback sink failed")]
    FallbackFlush {
        /// The sink's error.
        #[source]
        source: io::Error,
    },
    /// The writer thread is no longer running (it panicked, see
    /// [`WriterPanicked`](CollectorError::WriterPanicked) from `close`).
    #[error("stream writer thread ended unexpectedly")]
    WriterGone,
    /// The writer thread panicked (found when joining it).
    #[error("stream writer thread panicked")]
    WriterPanicked,
    /// [`Backpressure::Fallback`](super::Backpressure::Fallback) was chosen without a
    /// fallback sink.
    #[error(
        "stream collector: backpressure Fallback needs a fallback sink (builder.fallback(sink))"
    )]
    MissingFallback,
    /// The writer thread could not be started.
    #[error("stream writer: starting the writer thread failed")]
    Spawn(#[source] io::Error),
    /// A builder setting is out of range.
    #[error("stream collector: {setting} must be {expected}, got {found}")]
    InvalidSetting {
        /// The builder method.
        setting: &'static str,
        /// What is accepted.
        expected: &'static str,
        /// What was given.
        found: usize,
    },
}

impl From<CollectorError> for whyline_core::CoreError {
    fn from(error: CollectorError) -> Self {
        whyline_core::CoreError::Collector(Box::new(error))
    }
}
