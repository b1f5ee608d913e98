//! Driver errors as [`LedgerError`]s: the store's location and the operation first, the
//! PostgreSQL error (with its SQLSTATE and server message) as the source.
//!
//! The ledger's error enum has no variant per backend; a PostgreSQL failure is an
//! [`LedgerError::Io`] (the storage seam's failure) whose source is the driver's error, so
//! `{:#}` prints "postgres://...?log=NAME: commit failed: ... db error: ...".

use std::path::Path;

use whyline_ledger::LedgerError;

/// A failed PostgreSQL operation on the log at `location`.
pub(crate) fn pg_error(
    location: &Path,
    operation: &'static str,
    error: postgres::Error,
) -> LedgerError {
    LedgerError::Io {
        path: location.to_path_buf(),
        operation,
        source: std::io::Error::other(error),
    }
}

/// A failure with a message of our own (a missing row, a read-only store).
pub(crate) fn store_error(
    location: &Path,
    operation: &'static str,
    kind: std::io::ErrorKind,
    message: String,
) -> LedgerError {
    LedgerError::Io {
        path: location.to_path_buf(),
        operation,
        source: std::io::Error::new(kind, message),
    }
}

/// The writer stopped after a failed commit: nothing more is appended until the log is
/// reopened (and recovered), as with files.
pub(crate) fn writer_failed(location: &Path, operation: &'static str, offset: u64) -> LedgerError {
    LedgerError::WriterFailed {
        path: location.to_path_buf(),
        operation,
        offset,
    }
}
