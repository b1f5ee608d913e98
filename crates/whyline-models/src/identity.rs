//! The file formats a model can come from. The identity itself (SHA-256 of the file bytes,
//! declared type and version) is [`whyline_core::ModelIdentity`], which every loaded
//! [`Model`](crate::Model) carries.

use std::fmt;

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
    /// aprender's `.apr` v1 container (magic `APRN`), as `aprender::format::save` writes
    /// it (`docs/aprender-format.md`).
    AprenderApr,
    /// A SafeTensors file as aprender's `save_safetensors` writes it (trees, forests,
    /// k-means; `docs/aprender-format.md`).
    AprenderSafetensors,
}

impl ModelFormat {
    /// A short stable name: `whyline-json`, `xgboost-json`, `lightgbm-text`, `aprender-apr`,
    /// `aprender-safetensors`.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::WhylineJson => "whyline-json",
            ModelFormat::XgboostJson => "xgboost-json",
            ModelFormat::LightgbmText => "lightgbm-text",
            ModelFormat::AprenderApr => "aprender-apr",
            ModelFormat::AprenderSafetensors => "aprender-safetensors",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
