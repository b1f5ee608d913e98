//! The drift detectors' error type.
//!
//! `DriftError` lives here until the crate-level `MonitorError` wraps it; it keeps the detector
//! and field names so a configuration error can point at the key to fix.

/// What can go wrong when building or feeding a drift detector.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// A configuration field is out of its allowed range.
    #[error("{detector} config: `{field}` = {value} is out of range (expected {expected})")]
    InvalidParameter {
        /// The detector (`"ADWIN"`, ...).
        detector: &'static str,
        /// The configuration field, as spelled in the config struct.
        field: &'static str,
        /// The value found (integers are shown as floats).
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
    /// An observation was NaN or infinite; the detector did not take it and is unchanged.
    #[error("{detector}: observation {value} is not finite; rejected, detector state unchanged")]
    NonFiniteInput {
        /// The detector (`"ADWIN"`, ...).
        detector: &'static str,
        /// The value rejected.
        value: f64,
    },
}
