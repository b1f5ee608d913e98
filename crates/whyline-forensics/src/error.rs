//! The one error type of `whyline-forensics`.

use std::path::PathBuf;

/// Result alias of `whyline-forensics`.
pub type Result<T, E = ForensicsError> = std::result::Result<T, E>;

/// Everything that can go wrong in an investigation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForensicsError {
    /// A time could not be read.
    #[error(
        "cannot read time {input:?}: expected RFC 3339 (2026-11-23T14:32:47.123Z) or Unix nanoseconds"
    )]
    BadTime {
        /// What was given.
        input: String,
    },
    /// A duration could not be read.
    #[error("cannot read duration {input:?}: expected a number with a unit, like 30s, 500ms, 2m")]
    BadDuration {
        /// What was given.
        input: String,
    },
    /// The incident time is outside the log.
    #[error("{time} is outside the log, which runs from {first} to {last}")]
    TimeOutsideLog {
        /// The incident time, RFC 3339.
        time: String,
        /// The first decision's time, RFC 3339.
        first: String,
        /// The last decision's time, RFC 3339.
        last: String,
    },
    /// The log holds no decision at all.
    #[error("the log at {} holds no decisions", path.display())]
    EmptyLog {
        /// The log.
        path: PathBuf,
    },
    /// The ledger could not be opened or read (it is not a ledger, a file is unreadable).
    #[error(transparent)]
    Ledger(#[from] whyline_ledger::LedgerError),
    /// An entry's payload is not an APRT trace.
    #[error("entry {index} is not a decision trace")]
    BadEntry {
        /// Index of the entry in the log.
        index: u64,
        /// The decoder's complaint.
        #[source]
        source: whyline_core::CoreError,
    },
    /// The report could not be serialized.
    #[error("serializing the report")]
    Json(#[from] serde_json::Error),
}
