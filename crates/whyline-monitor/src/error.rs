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
    /// A decision's input was to be recorded, but the collector keeps no inputs (not a
    /// ledger, or a ledger without a key store: `record_inputs = true` in the profile).
    #[error("decision {sequence}: the collector keeps no inputs, so its input was not recorded")]
    InputsNotKept {
        /// Sequence number of the decision (its trace was recorded).
        sequence: u64,
    },
    /// A red alert stopped the line and the monitor is configured to halt on red.
    #[error("line stopped by a red alert on decision {}: {}", alert.sequence, alert.kind)]
    LineStopped {
        /// The alert that stopped the line.
        alert: Box<Alert>,
    },
    /// A setting is out of range or inconsistent with another: the one shape of this error
    /// for the profile, the Andon rules, the training statistics and the drift detectors.
    #[error("{}invalid setting {setting} = {value}: expected {expected}", in_file(file.as_deref()))]
    InvalidSetting {
        /// The configuration file the setting was read from, when it came from one.
        file: Option<PathBuf>,
        /// The setting, dotted as in a configuration file (`andon.red_confidence`,
        /// `andon.drift[0].detector.delta`), or `DETECTOR.field` for a drift detector built
        /// in code (`ADWIN.delta`).
        setting: String,
        /// The value found, as written.
        value: String,
        /// What is accepted, in words.
        expected: String,
    },
    /// A drift detector was fed NaN or an infinity; it did not take the value and is
    /// unchanged.
    #[error("{detector}: observation {value} is not finite; rejected, detector state unchanged")]
    NonFiniteObservation {
        /// The detector (`"ADWIN"`, ...).
        detector: &'static str,
        /// The value rejected.
        value: f64,
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
    /// A provenance baseline was fitted before any normal edge was learned.
    #[error("provenance baseline: no normal graph was learned; feed edges to `learn` first")]
    EmptyBaseline,
    /// A provenance edge was observed before the baseline was fitted.
    #[error(
        "provenance edge of graph {graph}: no baseline yet; `learn` normal graphs and call `fit_baseline` first"
    )]
    BaselineNotFitted {
        /// The graph of the edge refused.
        graph: u64,
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

impl MonitorError {
    /// An [`InvalidSetting`](MonitorError::InvalidSetting) not tied to a file.
    pub(crate) fn invalid_setting(
        setting: impl Into<String>,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        MonitorError::InvalidSetting {
            file: None,
            setting: setting.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

/// `"FILE: "` before a setting read from a file.
fn in_file(file: Option<&std::path::Path>) -> String {
    file.map(|path| format!("{}: ", path.display()))
        .unwrap_or_default()
}
