//! The one error type of `whyline-core`.
//!
//! Decoding errors carry the byte offset where the problem was found, measured from the
//! start of the buffer handed to the decoder, so `whyline trace decode` can point at the
//! first bad record in a file. Input errors name the row and the feature.

use crate::path::PathType;

/// Result alias used across `whyline-core`.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in `whyline-core`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The record does not start with the APRT magic.
    #[error("APRT record at byte {offset}: bad magic {found:#010x} (expected 0x41505254 \"APRT\")")]
    BadMagic {
        /// Byte offset of the record.
        offset: u64,
        /// The four bytes found, read as a big-endian integer so they print like the magic.
        found: u32,
    },
    /// The record has a version this build cannot read.
    #[error("APRT record at byte {offset}: unknown version {found} (this build reads version 1)")]
    UnknownVersion {
        /// Byte offset of the version field.
        offset: u64,
        /// The version byte found.
        found: u8,
    },
    /// The path type byte is not one of the defined path types.
    #[error(
        "APRT record at byte {offset}: unknown path type {found} (defined: 0 Linear .. 4 Neural)"
    )]
    UnknownPathType {
        /// Byte offset of the path type field.
        offset: u64,
        /// The path type byte found.
        found: u8,
    },
    /// The bytes end before a field or record does.
    #[error(
        "APRT record at byte {offset}: truncated, {field} needs {needed} bytes but {available} are left"
    )]
    Truncated {
        /// Byte offset where the field starts.
        offset: u64,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length or count inside a record disagrees with the bytes around it.
    #[error("APRT record at byte {offset}: inconsistent length: {detail}")]
    InconsistentLength {
        /// Byte offset of the offending length or count.
        offset: u64,
        /// What disagreed with what.
        detail: String,
    },
    /// A field holds a value outside its domain (a flag byte that is neither 0 nor 1, say).
    #[error("APRT record at byte {offset}: invalid {field}: {detail}")]
    InvalidField {
        /// Byte offset of the field.
        offset: u64,
        /// The field.
        field: &'static str,
        /// Why the value is invalid.
        detail: String,
    },
    /// A decoder for one path type was handed another.
    #[error("path type mismatch: expected {expected}, found {found}")]
    PathTypeMismatch {
        /// The path type the caller asked for.
        expected: PathType,
        /// The path type the record holds.
        found: PathType,
    },
    /// The JSON view of a trace could not be read.
    #[error("JSON trace at line {line}, column {column}: {message}")]
    Json {
        /// Line (1-based) inside the JSON text.
        line: usize,
        /// Column (1-based) inside the JSON text.
        column: usize,
        /// What serde_json reported.
        message: String,
    },
    /// The JSON document has a version this build cannot read.
    #[error("JSON trace: unknown version {found:?} (this build reads \"1.0\")")]
    UnknownJsonVersion {
        /// The version string found.
        found: String,
    },
    /// A batch's length is not a multiple of the model's feature count.
    #[error("input has {found} values, which is not a whole number of rows of {expected} features")]
    InputShape {
        /// Features per row the model expects.
        expected: usize,
        /// Values found in the batch.
        found: usize,
    },
    /// Traces aggregated together carry different numbers of contributions.
    #[error(
        "trace {sequence} carries {found} contributions, the traces before it {expected}: aggregate the traces of one model"
    )]
    MixedWidths {
        /// Sequence number of the first trace that differs.
        sequence: u64,
        /// Contributions the traces before it carry.
        expected: usize,
        /// Contributions it carries.
        found: usize,
    },
    /// A row has the wrong number of features.
    #[error("input row has {found} features, the model expects {expected}")]
    FeatureCount {
        /// Features the model expects.
        expected: usize,
        /// Features found in the row.
        found: usize,
    },
    /// A value is NaN or infinite and the model has no rule for missing values.
    #[error(
        "{}feature {feature_index}{}: value {value} is not finite and the model has no missing-value rule",
        row.map(|r| format!("row {r}, ")).unwrap_or_default(),
        feature_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
    )]
    NonFiniteInput {
        /// Row (0-based) inside a batch; `None` for a single row, whose caller knows which
        /// it is (so the position is printed once).
        row: Option<usize>,
        /// Feature (0-based) inside the row.
        feature_index: usize,
        /// Feature name when the model knows it.
        feature_name: Option<String>,
        /// The offending value.
        value: f32,
    },
    /// A categorical input holds a value that is not one of its category indices (or an
    /// unknown or missing category where the model's encoder refuses one).
    #[error(
        "feature {feature_index}{}: value {value} is not a known category (expected a category index below {n_categories}; this column refuses unknown and missing categories)",
        feature_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
    )]
    InvalidCategory {
        /// Input column (0-based) inside the row.
        feature_index: usize,
        /// Column name when the model knows it.
        feature_name: Option<String>,
        /// The offending value (`-1` an unknown category, NaN a missing one).
        value: f64,
        /// The column's category count.
        n_categories: usize,
    },
    /// An evidence record (sealed input, outcome, erasure) or a sealed input's plaintext is
    /// malformed.
    #[error("{record} at byte {offset}: {detail}")]
    BadRecord {
        /// The kind of record (`"sealed input"`, `"outcome record"`, ...).
        record: &'static str,
        /// Byte offset of the problem inside the record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// A collector failed to record or flush: which collector, which decision, and (in the
    /// source) why.
    #[error(
        "{collector} collector failed{}",
        sequence.map(|s| format!(" on decision {s}")).unwrap_or_default()
    )]
    Collector {
        /// The collector (`"ring"`, `"stream"`, `"ledger"`, or a custom collector's name).
        collector: &'static str,
        /// Sequence number of the decision being recorded; `None` for a flush, a model
        /// record or an alert.
        sequence: Option<u64>,
        /// The collector's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CoreError {
    /// A [`CoreError::Collector`]: `collector` failed on decision `sequence` (`None` when
    /// not recording a decision) because of `source`.
    pub fn collector(
        collector: &'static str,
        sequence: Option<u64>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        CoreError::Collector {
            collector,
            sequence,
            source: source.into(),
        }
    }
}
