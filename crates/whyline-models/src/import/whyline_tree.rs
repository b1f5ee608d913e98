//! scikit-learn trees in the whyline JSON format: the `tree_` arrays of one tree, turned
//! into a validated [`Tree`] (shared by decision trees, random forests and gradient
//! boosting).

use std::path::Path;

use serde_json::Value;
use whyline_core::SplitTest;

use super::{
    array_field, check_len, child_index, f64_array, feature_index, i64_array, product, usize_field,
};
use crate::decision_tree::Task;
use crate::error::{ModelError, Result};
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree, f32_at_or_below};

/// Whether a tree document says where missing values go (`missing_go_to_left`, written by
/// scikit-learn ≥ 1.3 for trees and forests, which accept NaN at prediction).
pub(super) fn has_missing_rule(doc: &Value) -> bool {
    doc.get("missing_go_to_left").is_some_and(Value::is_array)
}

/// Thresholds: numbers, or the strings `"inf"` and `"-inf"`.
fn thresholds(doc: &Value, path: &str, n_nodes: usize, file: &Path) -> Result<Vec<f64>> {
    let items = array_field(doc, "threshold", path, file)?;
    check_len(items, n_nodes, &format!("{path}.threshold"), file)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) if s == "inf" => Ok(f64::INFINITY),
            Value::String(s) if s == "-inf" => Ok(f64::NEG_INFINITY),
            other => other.as_f64().ok_or_else(|| {
                ModelError::malformed(
                    file,
                    format!("{path}.threshold[{i}]"),
                    "expected a number, \"inf\" or \"-inf\"",
                )
            }),
        })
        .collect()
}

/// Reads one scikit-learn tree; `scale` multiplies every value (a boosting learning rate);
/// with `read_missing`, `missing_go_to_left` (when present) gives each split a NaN rule.
pub(super) fn tree(
    doc: &Value,
    path: &str,
    n_features: usize,
    scale: f64,
    read_missing: bool,
    file: &Path,
) -> Result<Tree> {
    let n_nodes = usize_field(doc, "n_nodes", path, file)?;
    if n_nodes == 0 {
        return Err(ModelError::malformed(
            file,
            format!("{path}.n_nodes"),
            "a tree needs at least one node",
        ));
    }
    let ints = |name: &str| -> Result<Vec<i64>> {
        let v = i64_array(doc, name, path, file)?;
        check_len(&v, n_nodes, &format!("{path}.{name}"), file)?;
        Ok(v)
    };
    let floats = |name: &str| -> Result<Vec<f64>> {
        let v = f64_array(doc, name, path, file)?;
        check_len(&v, n_nodes, &format!("{path}.{name}"), file)?;
        Ok(v)
    };
    let left = ints("children_left")?;
    let right = ints("children_right")?;
    let feature = ints("feature")?;
    let threshold = thresholds(doc, path, n_nodes, file)?;
    let missing_left: Option<Vec<bool>> = match doc.get("missing_go_to_left") {
        Some(Value::Array(items)) if read_missing => {
            check_len(items, n_nodes, &format!("{path}.missing_go_to_left"), file)?;
            Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::Bool(b) => Ok(*b),
                        _ => Err(ModelError::malformed(
                            file,
                            format!("{path}.missing_go_to_left[{i}]"),
                            "expected a boolean",
                        )),
                    })
                    .collect::<Result<_>>()?,
            )
        }
        _ => None,
    };
    let impurity = floats("impurity")?;
    let samples = ints("n_node_samples")?;
    let weighted = floats("weighted_n_node_samples")?;
    let n_values = usize_field(doc, "n_values", path, file)?;
    let mut values = f64_array(doc, "value", path, file)?;
    check_len(
        &values,
        product(n_nodes, n_values, &format!("{path}.value"), file)?,
        &format!("{path}.value"),
        file,
    )?;
    if n_values == 0 {
        return Err(ModelError::out_of_range(
            file,
            format!("{path}.n_values"),
            n_values,
            "at least 1",
        ));
    }
    for v in &mut values {
        *v *= scale;
    }
    let total_weight = weighted.first().copied().unwrap_or(1.0);
    let mut nodes = Vec::with_capacity(n_nodes);
    for i in 0..n_nodes {
        let at = |name: &str| format!("{path}.{name}[{i}]");
        let (l, r) = (
            left.get(i).copied().unwrap_or(-1),
            right.get(i).copied().unwrap_or(-1),
        );
        let imp = impurity.get(i).copied().unwrap_or(0.0);
        let w = weighted.get(i).copied().unwrap_or(0.0);
        let split = if l == -1 && r == -1 {
            None
        } else {
            let l = child_index(l, i, n_nodes, &at("children_left"), file)?;
            let r = child_index(r, i, n_nodes, &at("children_right"), file)?;
            let f = feature_index(
                feature.get(i).copied().unwrap_or(-1),
                n_features,
                &at("feature"),
                file,
            )?;
            let t = threshold.get(i).copied().unwrap_or(f64::NAN);
            if t.is_nan() {
                return Err(ModelError::malformed(
                    file,
                    at("threshold"),
                    "threshold is NaN",
                ));
            }
            Some(Split {
                feature: f,
                threshold: f32_at_or_below(t),
                threshold_f64: t,
                test: SplitTest::LessOrEqual,
                categories: Vec::new(),
                missing: if missing_left.is_some() {
                    MissingRule::NanDefault
                } else {
                    MissingRule::Reject
                },
                default_left: missing_left
                    .as_ref()
                    .and_then(|m| m.get(i).copied())
                    .unwrap_or(false),
                left: l,
                right: r,
            })
        };
        let gain = match &split {
            None => 0.0,
            Some(s) => {
                let child = |c: u32| {
                    let c = c as usize;
                    weighted.get(c).copied().unwrap_or(0.0)
                        * impurity.get(c).copied().unwrap_or(0.0)
                };
                (w * imp - child(s.left) - child(s.right))
                    / if total_weight == 0.0 {
                        1.0
                    } else {
                        total_weight
                    }
            }
        };
        let n_samples = u64::try_from(samples.get(i).copied().unwrap_or(0))
            .map_err(|_| ModelError::malformed(file, at("n_node_samples"), "negative count"))?;
        nodes.push(Node {
            id: i as u32,
            split,
            n_samples,
            cover: w,
            impurity: Some(imp),
            gain,
        });
    }
    let tree = Tree {
        // scikit-learn's trees cast X to float32 before comparing.
        input: InputPrecision::F32,
        nodes,
        n_values,
        values,
    };
    tree.validate(n_features).map_err(|(field, detail)| {
        ModelError::malformed(file, format!("{path}.{field}"), detail)
    })?;
    Ok(tree)
}

pub(super) fn trees(
    body: &Value,
    n_features: usize,
    scale: f64,
    read_missing: bool,
    file: &Path,
) -> Result<Vec<Tree>> {
    let docs = array_field(body, "trees", "model", file)?;
    if docs.is_empty() {
        return Err(ModelError::malformed(
            file,
            "model.trees",
            "an ensemble needs at least one tree",
        ));
    }
    docs.iter()
        .enumerate()
        .map(|(t, doc)| {
            tree(
                doc,
                &format!("model.trees[{t}]"),
                n_features,
                scale,
                read_missing,
                file,
            )
        })
        .collect()
}

/// A classifier tree has one value per class, a regressor tree one value.
pub(super) fn check_values(tree: &Tree, task: Task, path: &str, file: &Path) -> Result<()> {
    let expected = match task {
        Task::Classification { n_classes } => n_classes,
        Task::Regression => 1,
    };
    if tree.n_values == expected {
        Ok(())
    } else {
        Err(ModelError::malformed(
            file,
            format!("{path}.n_values"),
            format!("{}, expected {expected}", tree.n_values),
        ))
    }
}
