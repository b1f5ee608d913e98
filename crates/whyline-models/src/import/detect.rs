//! Format detection from a file's content, never from its name.
//!
//! | first bytes | format |
//! |---|---|
//! | the line `tree` | LightGBM text |
//! | a JSON object with `"format": "whyline-model"` | whyline JSON |
//! | a JSON object with a `learner` object | XGBoost JSON |
//! | `APRN` | aprender `.apr` v1 container |
//! | a little-endian u64 header length, then `{` | SafeTensors (aprender's `save_safetensors`) |

use std::path::Path;

use serde_json::Value;

use crate::error::{ModelError, Result};

/// What the content of a model file looks like, with the parsed JSON when it is JSON.
pub(crate) enum Detected<'a> {
    /// A whyline JSON document.
    Whyline(Value),
    /// An XGBoost JSON document.
    Xgboost(Value),
    /// LightGBM text.
    LightgbmText(&'a str),
    /// An aprender `.apr` container (starts with `APRN`).
    Aprender,
    /// A SafeTensors file (8-byte header length, then a JSON header).
    Safetensors,
}

/// Detects the format of `bytes`; `file` names the source in errors.
pub(crate) fn detect<'a>(bytes: &'a [u8], file: &Path) -> Result<Detected<'a>> {
    if bytes.starts_with(super::aprender::MAGIC) {
        return Ok(Detected::Aprender);
    }
    if super::aprender_safetensors::looks_like(bytes) {
        return Ok(Detected::Safetensors);
    }
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    match start.and_then(|i| bytes.get(i)) {
        Some(b'{') => {
            let value: Value =
                serde_json::from_slice(bytes).map_err(|e| ModelError::json(file, &e))?;
            if value.get("format").and_then(Value::as_str) == Some(super::whyline_json::FORMAT) {
                Ok(Detected::Whyline(value))
            } else if value.get("learner").is_some_and(Value::is_object) {
                Ok(Detected::Xgboost(value))
            } else {
                Err(ModelError::UnknownFormat {
                    path: file.to_path_buf(),
                    detail: "a JSON object with neither \"format\": \"whyline-model\" nor an XGBoost \"learner\"".into(),
                })
            }
        }
        Some(b't') => {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                ModelError::malformed(
                    file,
                    format!("byte {}", e.valid_up_to()),
                    "LightGBM text is not UTF-8",
                )
            })?;
            if text.lines().next().map(str::trim) == Some(super::lightgbm::MAGIC_LINE) {
                Ok(Detected::LightgbmText(text))
            } else {
                Err(ModelError::UnknownFormat {
                    path: file.to_path_buf(),
                    detail: "text that does not start with the LightGBM line `tree`".into(),
                })
            }
        }
        Some(&b) => Err(ModelError::UnknownFormat {
            path: file.to_path_buf(),
            detail: format!("first byte {b:#04x}"),
        }),
        None => Err(ModelError::UnknownFormat {
            path: file.to_path_buf(),
            detail: "the file is empty".into(),
        }),
    }
}
