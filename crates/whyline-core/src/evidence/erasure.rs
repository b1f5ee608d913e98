//! The erasure record: a subject's key was destroyed (crypto-shredding), so every input sealed
//! under it is unreadable from now on. The record names the subject only by its keyed digest.
//!
//! ```text
//! offset size field
//!  0      4   magic "WLER"
//!  4      1   version, 0x01
//!  5      3   reserved, zero
//!  8      8   timestamp_ns, u64 LE: when the key was destroyed
//! 16      n   JSON: {"subject_digest":"<64 hex>","by":"dpo@example.com","erased_ns":N}
//! ```

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::evidence::stamped;

/// The magic that opens an erasure record.
pub const ERASURE_RECORD_MAGIC: [u8; 4] = *b"WLER";
const VERSION: u8 = 1;

/// A subject's inputs were erased.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRecord {
    /// The subject's keyed digest, as sealed input records carry it.
    #[serde(with = "hex_digest")]
    pub subject_digest: [u8; 32],
    /// Who asked for the erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When the key was destroyed, Unix epoch nanoseconds.
    pub erased_ns: u64,
}

impl ErasureRecord {
    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        stamped::write(ERASURE_RECORD_MAGIC, VERSION, self.erased_ns, self)
    }

    /// Whether `bytes` start like an erasure record.
    pub fn is_erasure_record(bytes: &[u8]) -> bool {
        bytes.get(..4) == Some(&ERASURE_RECORD_MAGIC[..])
    }

    /// Reads a record.
    ///
    /// ```
    /// use whyline_core::ErasureRecord;
    /// let record = ErasureRecord { subject_digest: [3; 32], by: None, erased_ns: 9 };
    /// assert_eq!(ErasureRecord::from_bytes(&record.to_bytes())?, record);
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<ErasureRecord> {
        let record: ErasureRecord =
            stamped::read(bytes, ERASURE_RECORD_MAGIC, VERSION, "erasure record")?;
        stamped::check_time(bytes, record.erased_ns, "erasure record")?;
        Ok(record)
    }
}

mod hex_digest {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(digest: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(digest))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(serde::de::Error::custom("the digest is not lowercase hex"));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// Parses a subject digest written as 64 hex digits.
pub fn parse_subject_digest(text: &str) -> Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|e| CoreError::BadRecord {
        record: "subject digest",
        offset: 0,
        detail: format!("{text:?} is not 64 hex digits: {e}"),
    })?;
    Ok(out)
}
