//! [`NatsError`]: what can go wrong between a producer, JetStream and the sequencer.

use std::path::PathBuf;

/// An error of the JetStream sink, the sequencer or the receipt reader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// A name that cannot be a JetStream stream name or a subject token.
    #[error("{what} {value:?} is not a valid name: use 1 to 64 of A-Z a-z 0-9 _ -")]
    InvalidName {
        /// Which name (`stream`, `producer id`).
        what: &'static str,
        /// The name given.
        value: String,
    },
    /// Connecting to the NATS server failed.
    #[error("connecting to NATS at {url}: {message}")]
    Connect {
        /// The server URL.
        url: String,
        /// What the client said.
        message: String,
    },
    /// A JetStream request (creating a stream or a consumer, reading messages, publishing a
    /// receipt, acknowledging) failed.
    #[error("JetStream: {operation}: {message}")]
    JetStream {
        /// What was being done.
        operation: &'static str,
        /// What the client or the server said.
        message: String,
    },
    /// The ledger refused an append or a read.
    #[error(transparent)]
    Ledger(#[from] whyline_ledger::LedgerError),
    /// Another sequencer holds the ledger directory.
    #[error(
        "{path}: another sequencer holds this ledger directory (lock file {lock}); one \
         sequencer per log"
    )]
    Locked {
        /// The ledger directory.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// An I/O error on a local file (the lock file).
    #[error("{path}: {operation}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        operation: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A ledger entry that looks like a sequencer mark but does not parse.
    #[error("ledger entry {index}: malformed sequencer mark: {reason}")]
    BadMark {
        /// The entry's index.
        index: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A receipt message that does not parse.
    #[error("malformed receipt message: {reason}")]
    BadReceipt {
        /// What is wrong.
        reason: String,
    },
    /// Starting the client's runtime failed.
    #[error("starting the NATS client runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

impl NatsError {
    /// A JetStream error with the client's message.
    pub(crate) fn jetstream(operation: &'static str, error: impl std::fmt::Display) -> Self {
        NatsError::JetStream {
            operation,
            message: error.to_string(),
        }
    }
}

/// `Result` with [`NatsError`].
pub type Result<T, E = NatsError> = std::result::Result<T, E>;
