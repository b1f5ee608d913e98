//! The one error type of `whyline-monitor`.

use std::path::PathBuf;

use crate::alert::Alert;

/// Result alias of `whyline-monitor`.
pub type Result<T, E = MonitorError> = std::result::Result<T, E>;

/// Everything that can go wrong while monitoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// The model rejected the input (wrong shape, a non-finite value, ...).
    #[error("model rejected row {row}")]
    Model {
        /// Row of the batch (0-based).
        row: usize,
        /// What the model said.
        #[source]
        source: whyline_core::CoreError,
    },
    /// The collector failed to record a trace; the trace may be lost, so this is an error.
    #[error("collector failed to record decision {sequence}")]
    Collector {
        /// Sequence number of the decision.
        sequence: u64,
        /// What the collector said.
        #[source]
        source: whyline_core::CoreError,
    },
    /// A red alert stopped the line and the monitor is configured to halt on red.
    #[error("line stopped by a red alert on decision {}: {}", alert.sequence, alert.kind)]
    LineStopped {
        /// The alert that stopped the line.
        alert: Box<Alert>,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field, dotted (`andon.red_confidence`).
        field: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// A configuration file could not be read.
    #[error("reading configuration {}", path.display())]
    ConfigIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file could not be parsed: unknown key, wrong type, bad syntax.
    #[error("{}:{line}:{column}: {message}", path.display())]
    ConfigParse {
        /// The file.
        path: PathBuf,
        /// Line (1-based) of the problem.
        line: usize,
        /// Column (1-based) of the problem.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The training statistics do not match the model's feature count.
    #[error("training statistics cover {found} features, the model has {expected}")]
    StatisticsShape {
        /// Features of the model.
        expected: usize,
        /// Features covered by the statistics.
        found: usize,
    },
}
