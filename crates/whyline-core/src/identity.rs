//! Model identity: which exact model made a decision.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which exact model made a decision: the SHA-256 of the model file's bytes, plus the type
/// and version the file declares. Carried into audit records and logs so every decision can be
/// tied to the bytes that made it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// SHA-256 of the model file's bytes, lowercase hex (64 characters).
    pub sha256: String,
    /// The model type (`logistic_regression`, `xgboost:binary:logistic`, ...).
    pub model_type: String,
    /// The version the file declares (format or library version), or `""` when none.
    pub version: String,
}

impl ModelIdentity {
    /// An identity computed from the model file's bytes.
    ///
    /// ```
    /// use whyline_core::ModelIdentity;
    /// let id = ModelIdentity::from_bytes(b"abc", "linear_regression", "1");
    /// // SHA-256("abc"), FIPS 180-2 appendix B.1.
    /// assert_eq!(id.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /// ```
    pub fn from_bytes(bytes: &[u8], model_type: &str, version: &str) -> ModelIdentity {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes);
        ModelIdentity {
            sha256: hex::encode(digest),
            model_type: model_type.to_owned(),
            version: version.to_owned(),
        }
    }
}

impl fmt::Display for ModelIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.sha256.get(..12).unwrap_or(&self.sha256);
        write!(f, "{} {} (sha256 {short}…)", self.model_type, self.version)
    }
}
