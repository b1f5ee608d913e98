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
    /// A window's start is after its end.
    #[error("the window starts at {from}, after its end {to}: give --from before --to")]
    BadRange {
        /// The start given, RFC 3339.
        from: String,
        /// The end given, RFC 3339.
        to: String,
    },
    /// No decision falls in the window.
    #[error("no decision between {from} and {to}; the log's decisions run from {first} to {last}")]
    EmptyWindow {
        /// The window's start, RFC 3339.
        from: String,
        /// The window's end, RFC 3339.
        to: String,
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
    /// The model file given for attributions could not be read.
    #[error("cannot read model file {}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The model file given is not the model the log recorded.
    #[error("model file {} has SHA-256 {found}, the log's model record names {expected}", path.display())]
    ModelMismatch {
        /// The file.
        path: PathBuf,
        /// The SHA-256 in the model record.
        expected: String,
        /// The file's SHA-256.
        found: String,
    },
    /// A model file was given but the log holds no model record to check it against.
    #[error("the log holds no model record before the window to check model file {} against", path.display())]
    NoModelRecord {
        /// The file.
        path: PathBuf,
    },
    /// The model file could not be loaded.
    #[error("model file {}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// The importer's error.
        #[source]
        source: whyline_models::ModelError,
    },
    /// A decision's model is none of the models given for a replay.
    #[error(
        "decision entry {index} was made by model sha256 {sha256}, which no --model given matches \
         (give that model, or exactly one model to diff against)"
    )]
    NoModelFor {
        /// Entry index of the decision.
        index: u64,
        /// The model record's SHA-256.
        sha256: String,
    },
    /// The model refused a recorded input during a replay.
    #[error("replaying decision entry {index}: the model refused its input")]
    ReplayModel {
        /// Entry index of the decision.
        index: u64,
        /// The model's complaint.
        #[source]
        source: whyline_core::CoreError,
    },
    /// A replay worker thread panicked.
    #[error("a replay worker thread panicked")]
    ReplayWorkerPanicked,
    /// A provenance entry is malformed or breaks the graph's rules (an edge to an unknown
    /// or later node, an inference naming no decision).
    #[error("provenance entry {index}: {detail}")]
    BadProvenance {
        /// Index of the entry in the log.
        index: u64,
        /// What is wrong.
        detail: String,
    },
    /// The log holds no provenance nodes.
    #[error(
        "the log holds no provenance graph ({entries} entries, no provenance node among them): record one with whyline::ProvenanceRecorder"
    )]
    NoProvenance {
        /// Entries read.
        entries: u64,
    },
    /// `--node ID` names no provenance node.
    #[error(
        "no provenance node {id}: node ids are ledger indices of node entries; this log has {nodes} nodes, from {first} to {last}"
    )]
    UnknownNode {
        /// The id asked for.
        id: u64,
        /// Nodes in the log.
        nodes: usize,
        /// The first node id.
        first: u64,
        /// The last node id.
        last: u64,
    },
    /// `--decision INDEX` names a decision no inference node names.
    #[error(
        "no provenance node names decision {index}{}",
        if *is_decision { String::new() } else { format!("; entry {index} is not a decision of this log either") }
    )]
    NoNodeForDecision {
        /// The decision index asked for.
        index: u64,
        /// Whether the entry is a decision at all.
        is_decision: bool,
    },
    /// A reconstruction depth of 0 would show nothing but the incident.
    #[error("--depth must be at least 1 (edges to walk back from the incident)")]
    ZeroDepth,
    /// The report could not be serialized.
    #[error("serializing the report")]
    Json(#[from] serde_json::Error),
}
