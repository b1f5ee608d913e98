//! The error of the facade: what building a recorder can meet, and the errors of the crates
//! it calls, kept whole so callers can still match them.

use std::path::PathBuf;

/// Result alias of `whyline`.
pub type Result<T, E = WhylineError> = std::result::Result<T, E>;

/// Everything that can go wrong while building or running a [`Recorder`](crate::Recorder).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WhylineError {
    /// A file or directory operation failed.
    #[error("{operation} {}", path.display())]
    Io {
        /// What was being done (`"creating"`, `"reading"`, ...).
        operation: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file holds a key of another kind than the profile's `signing` asks for.
    #[error("key file {}: holds an {found} key, the profile signs with {expected}", path.display())]
    WrongKeyKind {
        /// The key file.
        path: PathBuf,
        /// The kind the profile asks for (`"Ed25519"`, `"HMAC"`).
        expected: &'static str,
        /// The kind found.
        found: &'static str,
    },
    /// A key file could not be read as a key.
    #[error("key file {}: not a whyline key", path.display())]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The operating system's random source failed while making a key.
    #[error("no random bytes for {what}: {detail}")]
    Random {
        /// The key being made.
        what: &'static str,
        /// What the random source said.
        detail: String,
    },
    /// An operation that needs the ledger collector (decision ingest, proofs, checkpoints)
    /// was asked of a recorder whose profile chose another collector.
    #[error("{operation} needs the ledger collector; the profile chose the {found:?} collector")]
    NeedsLedger {
        /// What was asked (`"decision ingest"`).
        operation: &'static str,
        /// The collector the profile chose.
        found: whyline_monitor::CollectorChoice,
    },
    /// A `postgres://` location was given to a build without the PostgreSQL store.
    #[error(
        "a postgres:// log needs whyline built with its PostgreSQL store (cargo feature `postgres`)"
    )]
    NoPostgres,
    /// A ledger outside a directory (a PostgreSQL log) was asked to keep a key: private
    /// keys never go into the database, so they need a local key directory.
    #[error(
        "the log {} keeps no keys: the profile's `{setting}` needs a key directory (private keys never go into the database)",
        log.display()
    )]
    NeedsKeyDir {
        /// The log, as messages name it (no password).
        log: PathBuf,
        /// The profile setting that needs a key (`signing`, `record_inputs`, `digest_key_file`).
        setting: &'static str,
    },
    /// A profile setting that names a place inside a ledger directory was given with a
    /// ledger elsewhere (a PostgreSQL log): refused rather than ignored.
    #[error("the log {} is not a directory: the profile's {setting} cannot apply to it", log.display())]
    NotADirectory {
        /// The log, as messages name it.
        log: PathBuf,
        /// The setting (`storage_path`, or `collector` for a stream's file).
        setting: &'static str,
    },
    /// The monitor, a profile or a detector refused something.
    #[error(transparent)]
    Monitor(#[from] whyline_monitor::MonitorError),
    /// The ledger, or a ring or stream collector, refused something or failed.
    #[error(transparent)]
    Ledger(#[from] whyline_ledger::LedgerError),
    /// A model could not be loaded.
    #[error(transparent)]
    Model(#[from] whyline_models::ModelError),
    /// A trace, path or collector call failed.
    #[error(transparent)]
    Core(#[from] whyline_core::CoreError),
    /// A provenance node or edge was refused (an unknown node, an edge against log order).
    #[error(transparent)]
    Provenance(#[from] whyline_core::provenance::ProvenanceError),
}

impl WhylineError {
    /// An [`Io`](WhylineError::Io) error maker for `map_err`.
    pub(crate) fn io(
        operation: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> WhylineError {
        let path = path.into();
        move |source| WhylineError::Io {
            operation,
            path,
            source,
        }
    }
}
