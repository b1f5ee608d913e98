//! The model record: which model wrote a log, recorded once per log as an ordinary entry, so
//! the model's identity and its feature and class names are covered by the same hash chain
//! and Merkle tree as the decisions.
//!
//! ```text
//! offset size field
//!  0      4   magic "WLMD"
//!  4      1   version, 0x01
//!  5      n   JSON: {"identity":{...},"feature_names":[...],"class_names":[...],"recorded_ns":N}
//! ```
//!
//! Readers of decision entries tell a model record from an APRT record by its magic.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::identity::ModelIdentity;
use crate::path::Names;
use crate::tagged;

/// The magic that opens a model record.
pub const MODEL_RECORD_MAGIC: [u8; 4] = *b"WLMD";
const MODEL_RECORD_VERSION: u8 = 1;

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

    /// Reads a record.
    ///
    /// ```
    /// use whyline_core::{ModelIdentity, ModelRecord};
    /// let record = ModelRecord {
    ///     identity: ModelIdentity::from_bytes(b"model", "random_forest", "1"),
    ///     feature_names: vec!["distance_m".into()],
    ///     class_names: vec!["BRAKE".into()],
    ///     recorded_ns: 5,
    /// };
    /// assert_eq!(ModelRecord::from_bytes(&record.to_bytes())?, record);
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<ModelRecord> {
        tagged::read(
            bytes,
            MODEL_RECORD_MAGIC,
            MODEL_RECORD_VERSION,
            0,
            "model record",
        )
    }
}
