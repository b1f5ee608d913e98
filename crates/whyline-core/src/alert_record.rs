//! The alert record: an Andon alert written into the log beside the decision it concerns, so
//! an investigation sees what the monitor saw at the time (an out-of-distribution input, a
//! drift, a blown latency budget) under the same hash chain as the decisions.
//!
//! ```text
//! offset size field
//!  0      4   magic "WLAL"
//!  4      1   version, 0x01
//!  5      3   reserved, zero
//!  8      8   timestamp_ns, u64 LE (where an APRT record has its timestamp, so a ledger's
//!             time index and window reads find alerts as they find decisions)
//! 16      n   JSON: {"sequence":N,"timestamp_ns":N,"level":"red","kind":"...","message":"...","details":{...}}
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::tagged;

/// The magic that opens an alert record.
pub const ALERT_RECORD_MAGIC: [u8; 4] = *b"WLAL";
const ALERT_RECORD_VERSION: u8 = 1;
/// Reserved bytes and the timestamp, between the version and the JSON body.
const HEADER_LEN: usize = 11;

/// An alert raised about one decision, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    /// Sequence of the decision the alert is about.
    pub sequence: u64,
    /// Time of that decision, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// `yellow` or `red`.
    pub level: String,
    /// The rule that fired, in snake case (`out_of_distribution`, `drift`, ...).
    pub kind: String,
    /// What happened, for people.
    pub message: String,
    /// The rule's own fields (the feature and its z-score, the detector, ...).
    #[serde(default)]
    pub details: serde_json::Value,
}

impl AlertRecord {
    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut header = [0u8; HEADER_LEN];
        header[3..].copy_from_slice(&self.timestamp_ns.to_le_bytes());
        tagged::write(ALERT_RECORD_MAGIC, ALERT_RECORD_VERSION, &header, self)
    }

    /// Whether `bytes` start like an alert record.
    pub fn is_alert_record(bytes: &[u8]) -> bool {
        bytes.get(..4) == Some(&ALERT_RECORD_MAGIC[..])
    }

    /// Reads a record.
    ///
    /// ```
    /// use whyline_core::AlertRecord;
    /// let record = AlertRecord {
    ///     sequence: 42,
    ///     timestamp_ns: 1_700_000_000_000_000_000,
    ///     level: "red".into(),
    ///     kind: "out_of_distribution".into(),
    ///     message: "feature[2] = 9.5 out of distribution (z = 6.10)".into(),
    ///     details: serde_json::json!({"feature_index": 2, "z_score": 6.1}),
    /// };
    /// assert_eq!(AlertRecord::from_bytes(&record.to_bytes())?, record);
    /// assert!(AlertRecord::from_bytes(b"APRT\x01").is_err());
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<AlertRecord> {
        let record: AlertRecord = tagged::read(
            bytes,
            ALERT_RECORD_MAGIC,
            ALERT_RECORD_VERSION,
            HEADER_LEN,
            "alert record",
        )?;
        let stamped = bytes
            .get(8..16)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_le_bytes);
        if stamped != Some(record.timestamp_ns) {
            return Err(CoreError::InvalidField {
                offset: 8,
                field: "alert record timestamp",
                detail: format!(
                    "the header says {stamped:?}, the body {}",
                    record.timestamp_ns
                ),
            });
        }
        Ok(record)
    }
}
