//! The one error type of the load generator.

use std::path::PathBuf;

/// What can stop a load run before or while it runs.
///
/// Failed requests during a run are not errors: they are counted in the
/// [`RunReport`](crate::RunReport). These are the causes that make a run impossible.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The `--url` is not an `http://host:port` address this client can use.
    #[error("url {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The URL's host did not resolve to any address.
    #[error("url {url:?}: resolving {host}: {source}")]
    Resolve {
        /// The URL as given.
        url: String,
        /// The host part.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The model file could not be loaded.
    #[error("loading model {path}: {source}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// The library's error.
        source: whyline::models::ModelError,
    },
    /// The rows file could not be read for the model.
    #[error("reading rows {path}: {source}")]
    Rows {
        /// The rows file.
        path: PathBuf,
        /// The library's error.
        source: whyline::models::RowsError,
    },
    /// The model refused a row while traces were generated.
    #[error("row {row} of {path}: {source}")]
    Explain {
        /// The rows file.
        path: PathBuf,
        /// The row's position (0-based) in the file's rows.
        row: usize,
        /// The model's error.
        source: whyline::core::CoreError,
    },
    /// A generated trace could not be encoded.
    #[error("encoding trace {sequence}: {source}")]
    Encode {
        /// The trace's sequence number.
        sequence: u64,
        /// The codec's error.
        source: whyline::core::CoreError,
    },
    /// A setting is out of range (zero connections, an empty batch, ...).
    #[error("{setting}: {reason}")]
    Setting {
        /// The flag or field.
        setting: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// No connection to the server could be opened at the start of the run.
    #[error("connecting to {address}: {source}")]
    Connect {
        /// The address tried.
        address: std::net::SocketAddr,
        /// The transport error.
        source: std::io::Error,
    },
    /// The async runtime could not be started.
    #[error("starting the runtime: {0}")]
    Runtime(std::io::Error),
}

/// The load generator's result type.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;
