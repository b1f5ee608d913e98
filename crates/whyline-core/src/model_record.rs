//! The model record: which model wrote a log, recorded once per log as an ordinary entry, so
//! the model's identity and its feature and class names are covered by the same hash chain
//! and Merkle tree as the decisions.
//!
//! ```text
//! offset size field
//!  0      4   magic "WLMD"
//!  4      1   version, 0x02 (0x01 is still read)
//!  5      n   JSON: {"identity":{...},"feature_names":[...],"class_names":[...],"recorded_ns":N,
//!                    "input_digest":"xxh3-64"}
//! ```
//!
//! Version 2 adds `input_digest`, the algorithm of the log's input digests
//! ([`DigestAlgorithm`]: `fnv1a-64`, `xxh3-64` or `hmac-sha256-64`). A version-1 record
//! names none and decodes as `fnv1a-64`, the only unkeyed digest there was when it was
//! written, so old logs keep meaning what they meant.
//!
//! Readers of decision entries tell a model record from an APRT record by its magic.

use serde::{Deserialize, Serialize};

use crate::digest::DigestAlgorithm;
use crate::error::{CoreError, Result};
use crate::identity::ModelIdentity;
use crate::path::Names;
use crate::tagged;

/// The magic that opens a model record.
pub const MODEL_RECORD_MAGIC: [u8; 4] = *b"WLMD";
/// The version this crate writes.
const MODEL_RECORD_VERSION: u8 = 2;
/// The first version, without `input_digest`.
const MODEL_RECORD_VERSION_1: u8 = 1;

/// Which model wrote a log, with the names its explanations use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The model's identity.
    pub identity: ModelIdentity,
    /// Feature names by index.
    #[serde(default)]
    pub feature_names: Vec<String>,
    /// Class names by index.
    #[serde(default)]
    pub class_names: Vec<String>,
    /// When the record was written, Unix epoch nanoseconds.
    pub recorded_ns: u64,
    /// The algorithm of the log's input digests; FNV-1a in a version-1 record.
    #[serde(default)]
    pub input_digest: DigestAlgorithm,
}

impl ModelRecord {
    /// The names, as explanations take them.
    pub fn names(&self) -> Names {
        Names {
            features: self.feature_names.clone(),
            classes: self.class_names.clone(),
        }
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        tagged::write(MODEL_RECORD_MAGIC, MODEL_RECORD_VERSION, &[], self)
    }

    /// Whether `bytes` start like a model record.
    pub fn is_model_record(bytes: &[u8]) -> bool {
        bytes.get(..4) == Some(&MODEL_RECORD_MAGIC[..])
    }

    /// Reads a record of version 2 or 1 (whose digests are FNV-1a).
    ///
    /// ```
    /// use whyline_core::{DigestAlgorithm, ModelIdentity, ModelRecord};
    /// let record = ModelRecord {
    ///     identity: ModelIdentity::from_bytes(b"model", "random_forest", "1"),
    ///     feature_names: vec!["distance_m".into()],
    ///     class_names: vec!["BRAKE".into()],
    ///     recorded_ns: 5,
    ///     input_digest: DigestAlgorithm::Xxh3_64,
    /// };
    /// assert_eq!(ModelRecord::from_bytes(&record.to_bytes())?, record);
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<ModelRecord> {
        let version = match bytes.get(4) {
            Some(&MODEL_RECORD_VERSION_1) if Self::is_model_record(bytes) => MODEL_RECORD_VERSION_1,
            _ => MODEL_RECORD_VERSION,
        };
        let record: ModelRecord =
            tagged::read(bytes, MODEL_RECORD_MAGIC, version, 0, "model record")?;
        if version == MODEL_RECORD_VERSION_1 && record.input_digest != DigestAlgorithm::Fnv1a64 {
            return Err(CoreError::InvalidField {
                offset: 5,
                field: "model record",
                detail: format!(
                    "a version-1 record names input digest {}, which version 1 does not have",
                    record.input_digest
                ),
            });
        }
        Ok(record)
    }
}
