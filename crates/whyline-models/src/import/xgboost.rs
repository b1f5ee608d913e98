//! XGBoost's JSON model (`Booster.save_model("model.json")`), gbtree booster.
//!
//! Semantics reproduced:
//!
//! - numeric splits: `x < split_condition` goes left; NaN takes `default_left`;
//! - categorical splits: the listed categories go right, every other value (negative,
//!   unseen, fractional values truncated) goes left, NaN takes `default_left`;
//! - leaf values are the leaves' `split_conditions` (f32, eta folded in); margins are summed
//!   in f32 in tree order, starting from the base score;
//! - `base_score` is in probability space for logistic objectives and becomes a margin with
//!   `-ln(1/p - 1)` in f32; the sigmoid and softmax run in f32, as XGBoost's do.
//!
//! Objectives: `reg:squarederror`, `reg:logistic`, `binary:logistic`, `multi:softprob`,
//! `multi:softmax`. Multi-target trees and models that re-code categories (`cats.enc`,
//! written for DataFrame inputs) are refused with [`ModelError::Unsupported`].

use std::path::Path;

use std::collections::HashMap;

use serde_json::Value;
use whyline_core::{Names, SplitTest};

use super::{
    array_field, check_len, child_index, f64_array, feature_index, field, i64_array, str_field,
    usize_field,
};
use crate::boosting::{Accumulation, GradientBoosting, Link};
use crate::decision_tree::Task;
use crate::error::{ModelError, Result};
use crate::info::ModelInfo;
use crate::model::{Loaded, ModelKind};
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree};

/// Reads a parsed XGBoost JSON document.
pub(crate) fn load(doc: &Value, file: &Path) -> Result<Loaded> {
    let version = match doc.get("version").and_then(Value::as_array) {
        Some(parts) => parts
            .iter()
            .map(|p| {
                p.as_u64()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into())
            })
            .collect::<Vec<_>>()
            .join("."),
        None => {
            return Err(ModelError::malformed(
                file,
                "version",
                "missing XGBoost version array",
            ));
        }
    };
    let major = version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if major < 1 {
        return Err(ModelError::UnsupportedVersion {
            path: file.to_path_buf(),
            format: "XGBoost JSON",
            found: version,
            supported: "1.x to 3.x",
        });
    }
    let learner = field(doc, "learner", "", file)?;
    let params = field(learner, "learner_model_param", "learner", file)?;
    let n_features = usize_field(params, "num_feature", "learner.learner_model_param", file)?;
    let num_class = usize_field(params, "num_class", "learner.learner_model_param", file)?;
    if let Some(targets) = params.get("num_target")
        && usize_field(params, "num_target", "learner.learner_model_param", file)? != 1
    {
        {
            return Err(ModelError::unsupported(
                file,
                "learner.learner_model_param.num_target",
                targets.to_string(),
                "1 target",
            ));
        }
    }
    let objective = str_field(
        field(learner, "objective", "learner", file)?,
        "name",
        "learner.objective",
        file,
    )?
    .to_owned();
    let (link, task, logistic_base) = match objective.as_str() {
        "reg:squarederror" => (Link::Identity, Task::Regression, false),
        "reg:logistic" => (Link::Logistic { scale: 1.0 }, Task::Regression, true),
        "binary:logistic" => (
            Link::Logistic { scale: 1.0 },
            Task::Classification { n_classes: 2 },
            true,
        ),
        "multi:softprob" | "multi:softmax" => {
            if num_class < 2 {
                return Err(ModelError::malformed(
                    file,
                    "learner.learner_model_param.num_class",
                    format!("{num_class} classes for {objective}"),
                ));
            }
            (
                Link::Softmax,
                Task::Classification {
                    n_classes: num_class,
                },
                false,
            )
        }
        other => {
            return Err(ModelError::unsupported(
                file,
                "learner.objective.name",
                other,
                "reg:squarederror, reg:logistic, binary:logistic, multi:softprob, multi:softmax",
            ));
        }
    };
    let n_groups = match link {
        Link::Softmax => num_class,
        Link::Identity | Link::Logistic { .. } => 1,
    };
    let base_score = base_score(params, n_groups, logistic_base, file)?;

    let booster = field(learner, "gradient_booster", "learner", file)?;
    let booster_name = str_field(booster, "name", "learner.gradient_booster", file)?;
    if booster_name != "gbtree" {
        return Err(ModelError::unsupported(
            file,
            "learner.gradient_booster.name",
            booster_name,
            "gbtree",
        ));
    }
    let model = field(booster, "model", "learner.gradient_booster", file)?;
    if let Some(encoded) = model
        .get("cats")
        .and_then(|cats| cats.get("enc"))
        .and_then(Value::as_array)
        .filter(|enc| !enc.is_empty())
    {
        return Err(ModelError::unsupported(
            file,
            "learner.gradient_booster.model.cats.enc",
            format!("{} re-coded features", encoded.len()),
            "models trained on numeric category codes (no re-coding)",
        ));
    }
    let tree_docs = array_field(model, "trees", "learner.gradient_booster.model", file)?;
    let tree_info = i64_array(model, "tree_info", "learner.gradient_booster.model", file)?;
    check_len(
        &tree_info,
        tree_docs.len(),
        "learner.gradient_booster.model.tree_info",
        file,
    )?;
    let mut tree_groups = Vec::with_capacity(tree_info.len());
    for (t, &group) in tree_info.iter().enumerate() {
        match usize::try_from(group) {
            Ok(g) if g < n_groups => tree_groups.push(g as u32),
            _ => {
                return Err(ModelError::out_of_range(
                    file,
                    format!("learner.gradient_booster.model.tree_info[{t}]"),
                    group,
                    format!("a group below {n_groups}"),
                ));
            }
        }
    }
    let trees = tree_docs
        .iter()
        .enumerate()
        .map(|(t, doc)| {
            tree(
                doc,
                &format!("learner.gradient_booster.model.trees[{t}]"),
                n_features,
                file,
            )
        })
        .collect::<Result<Vec<_>>>()?;

    let features = match learner.get("feature_names").and_then(Value::as_array) {
        Some(names) if names.len() == n_features => names
            .iter()
            .map(|n| n.as_str().unwrap_or("").to_owned())
            .collect(),
        _ => Vec::new(),
    };
    let info = ModelInfo {
        names: Names {
            features,
            classes: Vec::new(),
        },
        class_values: Vec::new(),
        feature_stats: None,
    };
    Ok(Loaded {
        kind: ModelKind::GradientBoosting(GradientBoosting {
            trees,
            tree_groups,
            base_score,
            link,
            accumulation: Accumulation::F32,
            task,
            n_features,
            allows_missing: true,
            info,
        }),
        format_version: version.clone(),
        model_type: objective,
        producer: format!("xgboost {version}"),
    })
}

/// The base margin of each group. XGBoost writes `base_score` as a string holding a number
/// or, from 3.1 on, a bracketed list (one per group).
fn base_score(params: &Value, n_groups: usize, logistic: bool, file: &Path) -> Result<Vec<f64>> {
    const FIELD: &str = "learner.learner_model_param.base_score";
    let text = str_field(params, "base_score", "learner.learner_model_param", file)?;
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    let values = inner
        .split(',')
        .map(|part| part.trim().parse::<f32>())
        .collect::<Result<Vec<f32>, _>>()
        .map_err(|_| {
            ModelError::malformed(
                file,
                FIELD,
                format!("{text:?} is not a number or list of numbers"),
            )
        })?;
    let values = match values.len() {
        1 => vec![values.first().copied().unwrap_or(0.0); n_groups],
        n if n == n_groups => values,
        n => {
            return Err(ModelError::malformed(
                file,
                FIELD,
                format!("{n} values for {n_groups} groups"),
            ));
        }
    };
    values
        .into_iter()
        .map(|p| {
            if logistic {
                if !(p > 0.0 && p < 1.0) {
                    return Err(ModelError::out_of_range(
                        file,
                        FIELD,
                        p,
                        "a probability in (0, 1)",
                    ));
                }
                Ok(f64::from(-(1.0f32 / p - 1.0f32).ln()))
            } else {
                Ok(f64::from(p))
            }
        })
        .collect()
}

/// The sorted categories of each categorical split node: `categories_nodes[j]` owns
/// `categories[categories_segments[j] .. + categories_sizes[j]]`.
fn categories(
    doc: &Value,
    path: &str,
    n_nodes: usize,
    file: &Path,
) -> Result<HashMap<usize, Vec<u32>>> {
    let mut out = HashMap::new();
    let Some(Value::Array(node_ids)) = doc.get("categories_nodes") else {
        return Ok(out);
    };
    if node_ids.is_empty() {
        return Ok(out);
    }
    let values = i64_array(doc, "categories", path, file)?;
    let segments = i64_array(doc, "categories_segments", path, file)?;
    let sizes = i64_array(doc, "categories_sizes", path, file)?;
    let nodes = i64_array(doc, "categories_nodes", path, file)?;
    check_len(
        &segments,
        nodes.len(),
        &format!("{path}.categories_segments"),
        file,
    )?;
    check_len(
        &sizes,
        nodes.len(),
        &format!("{path}.categories_sizes"),
        file,
    )?;
    for (j, &node) in nodes.iter().enumerate() {
        let at = |name: &str| format!("{path}.{name}[{j}]");
        let node = usize::try_from(node)
            .ok()
            .filter(|&n| n < n_nodes)
            .ok_or_else(|| ModelError::malformed(file, at("categories_nodes"), "not a node"))?;
        let start = segments.get(j).and_then(|&s| usize::try_from(s).ok());
        let size = sizes.get(j).and_then(|&s| usize::try_from(s).ok());
        let set = start
            .zip(size)
            .and_then(|(start, size)| values.get(start..start.checked_add(size)?))
            .ok_or_else(|| {
                ModelError::malformed(file, at("categories_segments"), "range outside categories")
            })?;
        let mut set = set
            .iter()
            .map(|&c| u32::try_from(c))
            .collect::<Result<Vec<u32>, _>>()
            .map_err(|_| ModelError::malformed(file, at("categories"), "negative category"))?;
        set.sort_unstable();
        out.insert(node, set);
    }
    Ok(out)
}

fn tree(doc: &Value, path: &str, n_features: usize, file: &Path) -> Result<Tree> {
    let param = field(doc, "tree_param", path, file)?;
    let tree_param_path = format!("{path}.tree_param");
    let n_nodes = usize_field(param, "num_nodes", &tree_param_path, file)?;
    if n_nodes == 0 {
        return Err(ModelError::malformed(
            file,
            format!("{tree_param_path}.num_nodes"),
            "a tree needs at least one node",
        ));
    }
    if param.get("size_leaf_vector").is_some() {
        let size = usize_field(param, "size_leaf_vector", &tree_param_path, file)?;
        if size > 1 {
            return Err(ModelError::unsupported(
                file,
                format!("{tree_param_path}.size_leaf_vector"),
                size.to_string(),
                "scalar leaves (multi-target trees are not supported)",
            ));
        }
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
    let left = ints("left_children")?;
    let right = ints("right_children")?;
    let feature = ints("split_indices")?;
    let conditions = floats("split_conditions")?;
    let default_left = ints("default_left")?;
    let hessian = floats("sum_hessian")?;
    let loss = floats("loss_changes")?;
    let split_type = match doc.get("split_type") {
        Some(_) => ints("split_type")?,
        None => vec![0; n_nodes],
    };
    let node_categories = categories(doc, path, n_nodes, file)?;
    let mut nodes = Vec::with_capacity(n_nodes);
    let mut values = vec![0.0f64; n_nodes];
    for i in 0..n_nodes {
        let at = |name: &str| format!("{path}.{name}[{i}]");
        let l = left.get(i).copied().unwrap_or(-1);
        let condition = conditions.get(i).copied().unwrap_or(f64::NAN);
        if condition.is_nan() {
            return Err(ModelError::malformed(file, at("split_conditions"), "NaN"));
        }
        let split = if l == -1 {
            if let Some(v) = values.get_mut(i) {
                *v = f64::from(condition as f32);
            }
            None
        } else {
            let (test, threshold, categories) = match split_type.get(i).copied().unwrap_or(0) {
                0 => (SplitTest::Less, condition as f32, Vec::new()),
                // The listed categories go right; everything else (and invalid values) left.
                1 => match node_categories.get(&i) {
                    Some(set) => (SplitTest::NotInCategories, 0.0, set.clone()),
                    None => {
                        return Err(ModelError::malformed(
                            file,
                            at("split_type"),
                            "categorical split without an entry in categories_nodes",
                        ));
                    }
                },
                other => {
                    return Err(ModelError::unsupported(
                        file,
                        at("split_type"),
                        other.to_string(),
                        "0 (numerical) or 1 (categorical)",
                    ));
                }
            };
            Some(Split {
                feature: feature_index(
                    feature.get(i).copied().unwrap_or(-1),
                    n_features,
                    &at("split_indices"),
                    file,
                )?,
                threshold,
                threshold_f64: f64::from(threshold),
                test,
                categories,
                missing: MissingRule::NanDefault,
                default_left: default_left.get(i).copied().unwrap_or(0) != 0,
                left: child_index(l, i, n_nodes, &at("left_children"), file)?,
                right: child_index(
                    right.get(i).copied().unwrap_or(-1),
                    i,
                    n_nodes,
                    &at("right_children"),
                    file,
                )?,
            })
        };
        let cover = hessian.get(i).copied().unwrap_or(0.0);
        nodes.push(Node {
            id: i as u32,
            gain: if split.is_some() {
                loss.get(i).copied().unwrap_or(0.0)
            } else {
                0.0
            },
            split,
            n_samples: if cover.is_finite() && cover > 0.0 {
                cover.round() as u64
            } else {
                0
            },
            cover,
            impurity: None,
        });
    }
    // Internal nodes hold the cover-weighted mean of their children (XGBoost's
    // FillNodeMeanValues), what TreeSHAP expects; children come after parents, so one
    // backward pass fills them.
    for i in (0..n_nodes).rev() {
        let Some(Node {
            split: Some(split), ..
        }) = nodes.get(i)
        else {
            continue;
        };
        let (l, r) = (split.left as usize, split.right as usize);
        let cover = |c: usize| nodes.get(c).map_or(0.0, |n| n.cover);
        let value = |c: usize| values.get(c).copied().unwrap_or(0.0);
        let total = cover(l) + cover(r);
        let mean = if total > 0.0 {
            (value(l) * cover(l) + value(r) * cover(r)) / total
        } else {
            0.0
        };
        if let Some(v) = values.get_mut(i) {
            *v = mean;
        }
    }
    let tree = Tree {
        // XGBoost's DMatrix holds float32.
        input: InputPrecision::F32,
        nodes,
        n_values: 1,
        values,
    };
    tree.validate(n_features).map_err(|(field, detail)| {
        ModelError::malformed(file, format!("{path}.{field}"), detail)
    })?;
    Ok(tree)
}
