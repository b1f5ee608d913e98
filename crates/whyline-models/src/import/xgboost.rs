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

use serde_json::Value;
use whyline_core::Names;

use super::xgboost_tree::tree;
use super::{array_field, check_len, field, i64_array, str_field, usize_field};
use crate::boosting::{Accumulation, GradientBoosting, Link};
use crate::decision_tree::Task;
use crate::error::{ModelError, Result};
use crate::info::ModelInfo;
use crate::model::{Loaded, ModelKind};

/// Reads a parsed XGBoost JSON document: the version, the learner's parameters and
/// objective, the gbtree booster, its trees ([`xgboost_tree`](super::xgboost_tree)) and
/// their groups, and the feature names.
pub(crate) fn load(doc: &Value, file: &Path) -> Result<Loaded> {
    let version = version(doc, file)?;
    let learner = field(doc, "learner", "", file)?;
    let params = field(learner, "learner_model_param", "learner", file)?;
    let n_features = usize_field(params, "num_feature", PARAMS, file)?;
    let num_class = usize_field(params, "num_class", PARAMS, file)?;
    if let Some(targets) = params.get("num_target")
        && usize_field(params, "num_target", PARAMS, file)? != 1
    {
        return Err(ModelError::unsupported(
            file,
            "learner.learner_model_param.num_target",
            targets.to_string(),
            "1 target",
        ));
    }
    let objective = objective(learner, num_class, file)?;
    let base_score = base_score(params, objective.n_groups, objective.logistic_base, file)?;
    let model = gbtree_model(learner, file)?;
    let tree_docs = array_field(model, "trees", MODEL, file)?;
    let tree_groups = tree_groups(model, tree_docs.len(), objective.n_groups, file)?;
    let trees = tree_docs
        .iter()
        .enumerate()
        .map(|(t, doc)| tree(doc, &format!("{MODEL}.trees[{t}]"), n_features, file))
        .collect::<Result<Vec<_>>>()?;
    Ok(Loaded {
        kind: ModelKind::GradientBoosting(GradientBoosting {
            trees,
            tree_groups,
            base_score,
            link: objective.link,
            accumulation: Accumulation::F32,
            task: objective.task,
            n_features,
            allows_missing: true,
            info: info(learner, n_features),
        }),
        format_version: version.clone(),
        model_type: objective.name,
        producer: format!("xgboost {version}"),
    })
}

/// Where the learner's parameters are in the document.
const PARAMS: &str = "learner.learner_model_param";
/// Where the booster's model is in the document.
const MODEL: &str = "learner.gradient_booster.model";

/// The `version` array as `major.minor.patch`; major versions before 1 are refused.
fn version(doc: &Value, file: &Path) -> Result<String> {
    let Some(parts) = doc.get("version").and_then(Value::as_array) else {
        return Err(ModelError::malformed(
            file,
            "version",
            "missing XGBoost version array",
        ));
    };
    let version = parts
        .iter()
        .map(|p| {
            p.as_u64()
                .map(|n| n.to_string())
                .unwrap_or_else(|| "?".into())
        })
        .collect::<Vec<_>>()
        .join(".");
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
    Ok(version)
}

/// What the objective makes of the margins.
struct Objective {
    /// The objective's name (`binary:logistic`), the model type.
    name: String,
    link: Link,
    task: Task,
    /// Whether `base_score` is a probability (logistic objectives).
    logistic_base: bool,
    /// Margins per row (classes for `multi:*`, else 1).
    n_groups: usize,
}

/// `learner.objective.name`: one of the five objectives this build reads.
fn objective(learner: &Value, num_class: usize, file: &Path) -> Result<Objective> {
    let name = str_field(
        field(learner, "objective", "learner", file)?,
        "name",
        "learner.objective",
        file,
    )?
    .to_owned();
    let (link, task, logistic_base) = match name.as_str() {
        "reg:squarederror" => (Link::Identity, Task::Regression, false),
        "reg:logistic" => (Link::Logistic { scale: 1.0 }, Task::Regression, true),
        "binary:logistic" => (
            Link::Logistic { scale: 1.0 },
            Task::Classification { n_classes: 2 },
            true,
        ),
        "multi:softprob" | "multi:softmax" => {
            if num_class < 2 {
                return Err(ModelError::out_of_range(
                    file,
                    "learner.learner_model_param.num_class",
                    num_class,
                    format!("at least 2 classes for {name}"),
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
    Ok(Objective {
        name,
        link,
        task,
        logistic_base,
        n_groups,
    })
}

/// The booster's model: a `gbtree` that does not re-code categories (`cats.enc`).
fn gbtree_model<'a>(learner: &'a Value, file: &Path) -> Result<&'a Value> {
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
    Ok(model)
}

/// `tree_info`: the group (class) each of the `n_trees` trees adds to, each below `n_groups`.
fn tree_groups(model: &Value, n_trees: usize, n_groups: usize, file: &Path) -> Result<Vec<u32>> {
    let tree_info = i64_array(model, "tree_info", MODEL, file)?;
    check_len(&tree_info, n_trees, &format!("{MODEL}.tree_info"), file)?;
    tree_info
        .iter()
        .enumerate()
        .map(|(t, &group)| {
            usize::try_from(group)
                .ok()
                .filter(|&g| g < n_groups)
                .map(|g| g as u32)
                .ok_or_else(|| {
                    ModelError::out_of_range(
                        file,
                        format!("{MODEL}.tree_info[{t}]"),
                        group,
                        format!("a group below {n_groups}"),
                    )
                })
        })
        .collect()
}

/// Feature names (`learner.feature_names`, when it names every feature).
fn info(learner: &Value, n_features: usize) -> ModelInfo {
    let features = match learner.get("feature_names").and_then(Value::as_array) {
        Some(names) if names.len() == n_features => names
            .iter()
            .map(|n| n.as_str().unwrap_or("").to_owned())
            .collect(),
        _ => Vec::new(),
    };
    ModelInfo {
        names: Names {
            features,
            classes: Vec::new(),
        },
        class_values: Vec::new(),
        feature_stats: None,
    }
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
