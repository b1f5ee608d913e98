//! Importers: the whyline JSON format, XGBoost JSON, LightGBM text and aprender's `.apr`,
//! chosen by looking at the file's content ([`detect`]).

pub(crate) mod aprender;
mod aprender_models;
mod aprender_payload;
pub(crate) mod aprender_safetensors;
pub(crate) mod aprender_signature;
mod aprender_tree;
pub(crate) mod detect;
pub(crate) mod lightgbm;
mod lightgbm_tree;
pub(crate) mod whyline_json;
mod whyline_preprocessing;
mod whyline_tree;
pub(crate) mod xgboost;
mod xgboost_tree;

use std::path::Path;

use serde_json::Value;

use crate::error::{ModelError, Result};

/// A JSON object field, or a [`ModelError::Malformed`] naming it.
pub(crate) fn field<'a>(
    value: &'a Value,
    name: &str,
    path: &str,
    file: &Path,
) -> Result<&'a Value> {
    value
        .get(name)
        .ok_or_else(|| ModelError::malformed(file, join(path, name), "missing field"))
}

/// `path.name`, or `name` at the root.
pub(crate) fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A string field.
pub(crate) fn str_field<'a>(
    value: &'a Value,
    name: &str,
    path: &str,
    file: &Path,
) -> Result<&'a str> {
    field(value, name, path, file)?
        .as_str()
        .ok_or_else(|| ModelError::malformed(file, join(path, name), "expected a string"))
}

/// An array field.
pub(crate) fn array_field<'a>(
    value: &'a Value,
    name: &str,
    path: &str,
    file: &Path,
) -> Result<&'a Vec<Value>> {
    field(value, name, path, file)?
        .as_array()
        .ok_or_else(|| ModelError::malformed(file, join(path, name), "expected an array"))
}

/// A field holding an unsigned integer, either as a JSON number or as a decimal string
/// (XGBoost writes its parameters as strings).
pub(crate) fn usize_field(value: &Value, name: &str, path: &str, file: &Path) -> Result<usize> {
    let v = field(value, name, path, file)?;
    let parsed = match v {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.trim().parse::<usize>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ModelError::malformed(
            file,
            join(path, name),
            format!("expected an unsigned integer, found {v}"),
        )
    })
}

/// An array of numbers as f64.
pub(crate) fn f64_array(value: &Value, name: &str, path: &str, file: &Path) -> Result<Vec<f64>> {
    let items = array_field(value, name, path, file)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_f64().ok_or_else(|| {
                ModelError::malformed(
                    file,
                    format!("{}[{i}]", join(path, name)),
                    "expected a number",
                )
            })
        })
        .collect()
}

/// An array of integers as i64.
pub(crate) fn i64_array(value: &Value, name: &str, path: &str, file: &Path) -> Result<Vec<i64>> {
    let items = array_field(value, name, path, file)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_i64().ok_or_else(|| {
                ModelError::malformed(
                    file,
                    format!("{}[{i}]", join(path, name)),
                    "expected an integer",
                )
            })
        })
        .collect()
}

/// Fails unless `items` has `expected` entries.
pub(crate) fn check_len<T>(items: &[T], expected: usize, field: &str, file: &Path) -> Result<()> {
    if items.len() == expected {
        Ok(())
    } else {
        Err(ModelError::malformed(
            file,
            field,
            format!("{} entries, expected {expected}", items.len()),
        ))
    }
}

/// A child index from a file: in range, after its parent.
pub(crate) fn child_index(
    raw: i64,
    parent: usize,
    n_nodes: usize,
    field: impl FnOnce() -> String,
    file: &Path,
) -> Result<u32> {
    match usize::try_from(raw).ok().map(u32::try_from) {
        Some(Ok(child)) if child as usize > parent && (child as usize) < n_nodes => Ok(child),
        _ => Err(ModelError::out_of_range(
            file,
            field(),
            raw,
            format!("a node after {parent} and below {n_nodes}"),
        )),
    }
}

/// A feature index from a file: below `n_features`.
///
/// `field` names the entry in an error; it is formatted only then (a model has thousands of
/// splits, and their names cost more than their checks).
pub(crate) fn feature_index(
    raw: i64,
    n_features: usize,
    field: impl FnOnce() -> String,
    file: &Path,
) -> Result<u32> {
    match usize::try_from(raw).ok().map(u32::try_from) {
        Some(Ok(feature)) if (feature as usize) < n_features => Ok(feature),
        _ => Err(ModelError::out_of_range(
            file,
            field(),
            raw,
            format!("a feature index below the model's {n_features}"),
        )),
    }
}

/// `a × b` for an expected array length, or an error naming the field when it overflows.
pub(crate) fn product(a: usize, b: usize, field: &str, file: &Path) -> Result<usize> {
    a.checked_mul(b)
        .ok_or_else(|| ModelError::malformed(file, field, format!("{a} × {b} entries overflow")))
}
