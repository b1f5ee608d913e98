//! The outcome record: what became of a decision once it was known (the loan defaulted, the
//! object was a cat) or a human override (who took control, and what they did), linked to the
//! decision by its ledger index.
//!
//! ```text
//! offset size field
//!  0      4   magic "WLOC"
//!  4      1   version, 0x01
//!  5      3   reserved, zero
//!  8      8   timestamp_ns, u64 LE: when the outcome was recorded (as in APRT and alerts)
//! 16      n   JSON: {"decision_index":N,"label":"cat","by":"investigator",
//!                    "override_action":"EMERGENCY_BRAKE","note":"...","recorded_ns":N}
//! ```

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::evidence::stamped;

/// The magic that opens an outcome record.
pub const OUTCOME_RECORD_MAGIC: [u8; 4] = *b"WLOC";
const VERSION: u8 = 1;

/// The outcome of a decision, or a human override of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// Ledger index of the decision's entry.
    pub decision_index: u64,
    /// The ground truth or the outcome (`cat`, `defaulted`).
    pub label: String,
    /// Who recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The action a human took instead of the model's, when the outcome is an override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_action: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When it was recorded, Unix epoch nanoseconds.
    pub recorded_ns: u64,
}

impl OutcomeRecord {
    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        stamped::write(OUTCOME_RECORD_MAGIC, VERSION, self.recorded_ns, self)
    }

    /// Whether `bytes` start like an outcome record.
    pub fn is_outcome_record(bytes: &[u8]) -> bool {
        bytes.get(..4) == Some(&OUTCOME_RECORD_MAGIC[..])
    }

    /// Reads a record.
    ///
    /// ```
    /// use whyline_core::OutcomeRecord;
    /// let record = OutcomeRecord {
    ///     decision_index: 12,
    ///     label: "cat".into(),
    ///     by: Some("investigator".into()),
    ///     override_action: None,
    ///     note: None,
    ///     recorded_ns: 1_700_000_000_000_000_000,
    /// };
    /// assert_eq!(OutcomeRecord::from_bytes(&record.to_bytes())?, record);
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<OutcomeRecord> {
        let record: OutcomeRecord =
            stamped::read(bytes, OUTCOME_RECORD_MAGIC, VERSION, "outcome record")?;
        stamped::check_time(bytes, record.recorded_ns, "outcome record")?;
        Ok(record)
    }
}
