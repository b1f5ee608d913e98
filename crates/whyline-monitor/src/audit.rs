//! Per-request audit records in the shape of realizar's audit trail: who asked, which model
//! answered, on what input (as a digest), what it said, how sure it was, how long each stage
//! took, which quality checks passed, and what went wrong.

use serde::Serialize;
use whyline_core::ModelIdentity;

/// Time spent in each stage of one request, nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LatencyBreakdown {
    /// Before the model runs: the client-id digest.
    pub preprocessing_ns: u64,
    /// The model, path included.
    pub inference_ns: u64,
    /// After the model: input digest, recording the trace, the Andon rules.
    pub postprocessing_ns: u64,
}

/// Quality gates applied to the output (realizar's Jidoka checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QualityChecks {
    /// The output is finite (no NaN, no infinity).
    pub output_finite: bool,
    /// The confidence reached the yellow threshold, or no threshold is set.
    pub confidence_ok: bool,
}

/// The audit record of one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRecord {
    /// The caller's request id.
    pub request_id: String,
    /// Sequence number of the decision in the log.
    pub sequence: u64,
    /// Wall-clock time of the decision, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// Digest of the client id (keyed when a digest key is set), when the caller gave one.
    #[serde(serialize_with = "hex_option")]
    pub client_id_hash: Option<u64>,
    /// The model that answered, when it knows its identity.
    pub model: Option<ModelIdentity>,
    /// Shape of the input: `[rows, features]`.
    pub input_dims: [usize; 2],
    /// Digest of the input features.
    #[serde(serialize_with = "hex")]
    pub input_hash: u64,
    /// The output.
    pub prediction: f32,
    /// The path's confidence.
    pub confidence: Option<f32>,
    /// Time per stage.
    pub latency: LatencyBreakdown,
    /// Quality gates.
    pub quality: QualityChecks,
    /// Alerts raised and failed checks, as sentences.
    pub warnings: Vec<String>,
}

fn hex<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{value:#018x}"))
}

fn hex_option<S: serde::Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => hex(v, serializer),
        None => serializer.serialize_none(),
    }
}
