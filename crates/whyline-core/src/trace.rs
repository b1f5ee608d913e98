//! The decision trace: one decision, when it was made, on what input, with what result.

use crate::path::DecisionPath;

/// One recorded decision of a model.
///
/// The trace holds no raw input: `input_hash` is a digest of the feature bytes (see
/// [`digest`](crate::digest)), keyed when the deployment sets a key.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTrace<P> {
    /// Wall-clock time of the decision, nanoseconds since the Unix epoch (UTC), so an incident
    /// time can be looked up in a log.
    pub timestamp_ns: u64,
    /// Position of the decision in its log or session, assigned by one authority.
    pub sequence: u64,
    /// Digest of the input features ([`digest::fnv1a_features`](crate::digest::fnv1a_features)
    /// or its keyed variant).
    pub input_hash: u64,
    /// The model's output for this decision.
    pub output: f32,
    /// Time the model took for this decision, in nanoseconds. APRT stores whole microseconds.
    pub latency_ns: u64,
    /// How the model reached the output.
    pub path: P,
}

impl<P: DecisionPath> DecisionTrace<P> {
    /// The trace with its path converted, e.g. into [`AnyPath`](crate::AnyPath).
    pub fn map_path<Q>(self, f: impl FnOnce(P) -> Q) -> DecisionTrace<Q> {
        DecisionTrace {
            timestamp_ns: self.timestamp_ns,
            sequence: self.sequence,
            input_hash: self.input_hash,
            output: self.output,
            latency_ns: self.latency_ns,
            path: f(self.path),
        }
    }
}

/// Wall-clock nanoseconds since the Unix epoch, the clock of [`DecisionTrace::timestamp_ns`].
///
/// A clock before 1970 reads as 0; a clock after the year 2554 saturates.
pub fn now_ns() -> u64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(elapsed) => u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        Err(_) => 0,
    }
}
