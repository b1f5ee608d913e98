//! Model identity: which file a decision came from, as the SHA-256 of its bytes plus the
//! format, version and type the file declares.

use std::fmt;

use sha2::{Digest, Sha256};

/// The file formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelFormat {
    /// The whyline JSON model format (`docs/model-format.md`), written by
    /// `python/whyline_export.py` from scikit-learn models.
    WhylineJson,
    /// The JSON that XGBoost's `Booster.save_model("model.json")` writes.
    XgboostJson,
    /// The text that LightGBM's `Booster.save_model("model.txt")` writes.
    LightgbmText,
}

impl ModelFormat {
    /// A short stable name: `whyline-json`, `xgboost-json`, `lightgbm-text`.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::WhylineJson => "whyline-json",
            ModelFormat::XgboostJson => "xgboost-json",
            ModelFormat::LightgbmText => "lightgbm-text",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who a model is: the digest of its file and what the file says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelIdentity {
    /// SHA-256 of the model file's bytes, exactly as read.
    pub sha256: [u8; 32],
    /// The detected file format.
    pub format: ModelFormat,
    /// The version the file declares (format version, XGBoost `version`, LightGBM
    /// `version=`).
    pub format_version: String,
    /// The model type the file declares (`random_forest`, `binary:logistic`, `multiclass`).
    pub model_type: String,
    /// The library that trained the model and its version when the file says
    /// (`scikit-learn 1.9.1`, `xgboost 3.2.0`, `lightgbm`).
    pub producer: String,
}

impl ModelIdentity {
    /// The SHA-256 of `bytes`.
    pub fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The SHA-256 as 64 lowercase hex digits.
    pub fn sha256_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.sha256 {
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        out
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for ModelIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} v{} ({}) sha256:{}",
            self.format,
            self.model_type,
            self.format_version,
            self.producer,
            self.sha256_hex()
        )
    }
}
