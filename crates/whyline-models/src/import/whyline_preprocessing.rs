//! The `preprocessing` object of the whyline JSON format (version 2): input columns and the
//! transforms of each estimator feature, validated into a [`Preprocessing`]. Every error
//! names the field (`preprocessing.features[3].ops[1].scale`).

use std::path::Path;

use serde_json::Value;
use whyline_core::Names;

use super::{array_field, field, str_field, usize_field};
use crate::error::{ModelError, Result};
use crate::info::ModelInfo;
use crate::preprocessing::{
    Category, DerivedFeature, InputColumn, InputKind, Preprocessing, Transform,
};

/// Reads `preprocessing` for an estimator of `n_features` features whose own names and
/// classes are `estimator`; returns the stage and the model's input-column view.
pub(super) fn read(
    doc: &Value,
    n_features: usize,
    estimator: &ModelInfo,
    file: &Path,
) -> Result<(Preprocessing, ModelInfo)> {
    let path = "preprocessing";
    let inputs = array_field(doc, "inputs", path, file)?
        .iter()
        .enumerate()
        .map(|(i, item)| input(item, &format!("{path}.inputs[{i}]"), file))
        .collect::<Result<Vec<_>>>()?;
    if inputs.is_empty() {
        return Err(ModelError::malformed(
            file,
            "preprocessing.inputs",
            "a model needs at least one input column",
        ));
    }
    let docs = array_field(doc, "features", path, file)?;
    if docs.len() != n_features {
        return Err(ModelError::malformed(
            file,
            "preprocessing.features",
            format!(
                "{} features, the estimator reads {n_features} (`n_features`)",
                docs.len()
            ),
        ));
    }
    let mut lookups = Vec::new();
    let features = docs
        .iter()
        .enumerate()
        .map(|(j, item)| {
            feature(
                item,
                &format!("{path}.features[{j}]"),
                &inputs,
                &mut lookups,
                file,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let steps = match doc.get("steps") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let stage = Preprocessing {
        inputs,
        features,
        lookups,
        steps,
    };
    let info = ModelInfo {
        names: Names {
            features: stage.input_names(),
            classes: estimator.names.classes.clone(),
        },
        class_values: estimator.class_values.clone(),
        feature_stats: None,
    };
    Ok((stage, info))
}

fn input(item: &Value, path: &str, file: &Path) -> Result<InputColumn> {
    let name = str_field(item, "name", path, file)?.to_owned();
    let kind = match str_field(item, "kind", path, file)? {
        "numeric" => InputKind::Numeric,
        "ignored" => InputKind::Ignored,
        "categorical" => {
            let categories = array_field(item, "categories", path, file)?
                .iter()
                .enumerate()
                .map(|(c, v)| match v {
                    Value::String(s) => Ok(Category::Text(s.clone())),
                    Value::Number(n) => n.as_f64().map(Category::Number).ok_or_else(|| {
                        ModelError::malformed(
                            file,
                            format!("{path}.categories[{c}]"),
                            "expected a string or a number",
                        )
                    }),
                    _ => Err(ModelError::malformed(
                        file,
                        format!("{path}.categories[{c}]"),
                        "expected a string or a number",
                    )),
                })
                .collect::<Result<Vec<_>>>()?;
            if categories.is_empty() {
                return Err(ModelError::malformed(
                    file,
                    format!("{path}.categories"),
                    "a categorical column needs at least one category",
                ));
            }
            let accepts_unknown = match str_field(item, "unknown", path, file)? {
                "error" => false,
                "ignore" => true,
                other => {
                    return Err(ModelError::unsupported(
                        file,
                        format!("{path}.unknown"),
                        other,
                        "error or ignore",
                    ));
                }
            };
            let missing_is_category = match item.get("missing").and_then(Value::as_str) {
                None | Some("unknown") => false,
                Some("category") => true,
                Some(other) => {
                    return Err(ModelError::unsupported(
                        file,
                        format!("{path}.missing"),
                        other,
                        "category or unknown",
                    ));
                }
            };
            InputKind::Categorical {
                categories,
                accepts_unknown,
                missing_is_category,
            }
        }
        other => {
            return Err(ModelError::unsupported(
                file,
                format!("{path}.kind"),
                other,
                "numeric, categorical or ignored",
            ));
        }
    };
    Ok(InputColumn { name, kind })
}

/// A number field; `"nan"` where `nan_allowed`.
fn number(item: &Value, name: &str, path: &str, nan_allowed: bool, file: &Path) -> Result<f64> {
    match field(item, name, path, file)? {
        Value::String(s) if nan_allowed && s == "nan" => Ok(f64::NAN),
        v => v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
            ModelError::malformed(
                file,
                format!("{path}.{name}"),
                if nan_allowed {
                    "expected a finite number or \"nan\""
                } else {
                    "expected a finite number"
                },
            )
        }),
    }
}

fn feature(
    item: &Value,
    path: &str,
    inputs: &[InputColumn],
    lookups: &mut Vec<Vec<f64>>,
    file: &Path,
) -> Result<DerivedFeature> {
    let input = usize_field(item, "input", path, file)?;
    let Some(column) = inputs.get(input) else {
        return Err(ModelError::out_of_range(
            file,
            format!("{path}.input"),
            input,
            format!("an input column below {}", inputs.len()),
        ));
    };
    // The index space the value is in: a category count, or None for a number.
    let mut categories = match &column.kind {
        InputKind::Categorical { categories, .. } => Some(categories.len()),
        InputKind::Numeric => None,
        InputKind::Ignored => {
            return Err(ModelError::malformed(
                file,
                format!("{path}.input"),
                format!("input column {input} is ignored, yet a feature reads it"),
            ));
        }
    };
    let ops = array_field(item, "ops", path, file)?;
    let mut transforms = Vec::with_capacity(ops.len());
    for (k, op) in ops.iter().enumerate() {
        let at = format!("{path}.ops[{k}]");
        let transform = match str_field(op, "op", &at, file)? {
            "impute" => Transform::Impute {
                value: number(op, "value", &at, false, file)?,
            },
            "standardize" => {
                let scale = number(op, "scale", &at, false, file)?;
                if scale == 0.0 {
                    return Err(ModelError::malformed(
                        file,
                        format!("{at}.scale"),
                        "a scale of 0",
                    ));
                }
                categories = None;
                Transform::Standardize {
                    center: number(op, "center", &at, false, file)?,
                    scale,
                }
            }
            "affine" => {
                categories = None;
                Transform::Affine {
                    scale: number(op, "scale", &at, false, file)?,
                    offset: number(op, "offset", &at, false, file)?,
                }
            }
            "clip" => {
                let (min, max) = (
                    number(op, "min", &at, false, file)?,
                    number(op, "max", &at, false, file)?,
                );
                if min > max {
                    return Err(ModelError::malformed(
                        file,
                        format!("{at}.min"),
                        format!("{min} is above max {max}"),
                    ));
                }
                categories = None;
                Transform::Clip { min, max }
            }
            "lookup" => {
                let values = array_field(op, "values", &at, file)?
                    .iter()
                    .enumerate()
                    .map(|(v, x)| {
                        x.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                            ModelError::malformed(
                                file,
                                format!("{at}.values[{v}]"),
                                "expected a finite number",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                categories = Some(values.len());
                lookups.push(values);
                Transform::Lookup {
                    table: lookups.len() - 1,
                }
            }
            "unknown" => {
                categories = None;
                Transform::Unknown {
                    value: number(op, "value", &at, true, file)?,
                }
            }
            "one_hot" => {
                let category = usize_field(op, "category", &at, file)?;
                let Some(n) = categories else {
                    return Err(ModelError::malformed(
                        file,
                        format!("{at}.op"),
                        "one_hot of a number (a categorical column or a lookup comes first)",
                    ));
                };
                if category >= n {
                    return Err(ModelError::out_of_range(
                        file,
                        format!("{at}.category"),
                        category,
                        format!("a category index below {n}"),
                    ));
                }
                categories = None;
                Transform::OneHot {
                    category: u32::try_from(category).unwrap_or(u32::MAX),
                }
            }
            "one_hot_missing" => {
                categories = None;
                Transform::OneHotMissing
            }
            other => {
                return Err(ModelError::unsupported(
                    file,
                    format!("{at}.op"),
                    other,
                    "impute, standardize, affine, clip, lookup, unknown, one_hot or one_hot_missing",
                ));
            }
        };
        transforms.push(transform);
    }
    Ok(DerivedFeature { input, transforms })
}
