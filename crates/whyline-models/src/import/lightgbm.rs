//! LightGBM's text model (`Booster.save_model("model.txt")`).
//!
//! Semantics reproduced: `x <= threshold` goes left (thresholds are doubles, stored as the
//! largest f32 not above them); `decision_type` bit 0 marks a categorical split (the
//! categories sending a row left are the bits of `cat_threshold` between two
//! `cat_boundaries`; NaN and negative values go right), bit 1 `default_left`, bits 2–3 the
//! missing type (0 None: NaN reads as 0; 1 Zero: NaN and zero take the default; 2 NaN: NaN
//! takes the default). Leaf values are doubles with the shrinkage already folded in,
//! summed in f64 in tree order; tree `i` adds to class `i % num_tree_per_iteration`.
//! Objectives: `regression` (and the other identity-link regression objectives),
//! `binary` (sigmoid with its `sigmoid:` scale) and `multiclass` (softmax).

use std::path::Path;

use std::collections::HashMap;

use whyline_core::{Names, SplitTest};

use crate::boosting::{Accumulation, GradientBoosting, Link};
use crate::decision_tree::Task;
use crate::error::{ModelError, Result};
use crate::info::ModelInfo;
use crate::model::{Loaded, ModelKind};
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree, f32_at_or_below};

/// The first line of a LightGBM model file.
pub(crate) const MAGIC_LINE: &str = "tree";

/// Reads LightGBM model text.
pub(crate) fn load(text: &str, file: &Path) -> Result<Loaded> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(MAGIC_LINE) {
        return Err(ModelError::malformed(
            file,
            "line 1",
            "a LightGBM model starts with the line `tree`",
        ));
    }
    let mut header: HashMap<&str, &str> = HashMap::new();
    let mut trees: Vec<HashMap<&str, &str>> = Vec::new();
    let mut ended = false;
    for line in lines {
        let line = line.trim_end_matches('\r');
        if line == "end of trees" {
            ended = true;
            break;
        }
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if key == "Tree" {
            trees.push(HashMap::new());
            continue;
        }
        match trees.last_mut() {
            Some(tree) => tree.insert(key, value),
            None => header.insert(key, value),
        };
    }
    if !ended {
        return Err(ModelError::malformed(
            file,
            "end of trees",
            "missing: the file is truncated",
        ));
    }
    let get = |key: &str| {
        header
            .get(key)
            .copied()
            .ok_or_else(|| ModelError::malformed(file, key, "missing header line"))
    };
    let version = get("version")?.to_owned();
    if version != "v3" && version != "v4" {
        return Err(ModelError::UnsupportedVersion {
            path: file.to_path_buf(),
            format: "LightGBM text",
            found: version,
            supported: "v3, v4",
        });
    }
    if header.contains_key("average_output") {
        return Err(ModelError::unsupported(
            file,
            "average_output",
            "present",
            "boosted models (random-forest mode is not supported)",
        ));
    }
    let parse_usize = |key: &str| -> Result<usize> {
        get(key)?
            .trim()
            .parse()
            .map_err(|_| ModelError::malformed(file, key, "expected an unsigned integer"))
    };
    let num_class = parse_usize("num_class")?;
    let per_iteration = parse_usize("num_tree_per_iteration")?;
    let n_features = parse_usize("max_feature_idx")? + 1;
    let objective = get("objective")?.trim().to_owned();
    let mut words = objective.split_whitespace();
    let objective_name = words.next().unwrap_or("").to_owned();
    let option = |name: &str| {
        objective
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix(':')))
    };
    if words.any(|w| w == "sqrt") {
        return Err(ModelError::unsupported(
            file,
            "objective",
            objective.clone(),
            "objectives without the sqrt transform (reg_sqrt)",
        ));
    }
    let (link, task, n_groups) = match objective_name.as_str() {
        "regression" | "regression_l2" | "regression_l1" | "huber" | "fair" | "quantile"
        | "mape" => (Link::Identity, Task::Regression, 1),
        "binary" => {
            let scale = match option("sigmoid") {
                Some(v) => v.parse::<f64>().map_err(|_| {
                    ModelError::malformed(file, "objective", format!("sigmoid:{v} is not a number"))
                })?,
                None => 1.0,
            };
            (
                Link::Logistic { scale },
                Task::Classification { n_classes: 2 },
                1,
            )
        }
        "multiclass" => (
            Link::Softmax,
            Task::Classification {
                n_classes: num_class,
            },
            num_class,
        ),
        other => {
            return Err(ModelError::unsupported(
                file,
                "objective",
                other,
                "regression, binary or multiclass",
            ));
        }
    };
    if per_iteration != n_groups || n_groups == 0 {
        return Err(ModelError::malformed(
            file,
            "num_tree_per_iteration",
            format!("{per_iteration}, expected {n_groups} for {objective_name}"),
        ));
    }
    if trees.is_empty() {
        return Err(ModelError::malformed(
            file,
            "Tree=0",
            "the model has no trees",
        ));
    }
    let parsed = trees
        .iter()
        .enumerate()
        .map(|(t, block)| tree(block, t, n_features, file))
        .collect::<Result<Vec<_>>>()?;
    let tree_groups = (0..parsed.len())
        .map(|t| (t % per_iteration) as u32)
        .collect();
    let features: Vec<String> = header
        .get("feature_names")
        .map(|names| names.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let features = if features.len() == n_features {
        features
    } else {
        Vec::new()
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
            trees: parsed,
            tree_groups,
            base_score: vec![0.0; n_groups],
            link,
            accumulation: Accumulation::F64,
            task,
            n_features,
            allows_missing: true,
            info,
        }),
        format_version: version,
        model_type: objective_name,
        producer: "lightgbm".to_owned(),
    })
}

fn numbers<T: std::str::FromStr>(
    block: &HashMap<&str, &str>,
    key: &str,
    expected: usize,
    t: usize,
    file: &Path,
) -> Result<Vec<T>> {
    let field = format!("Tree={t}.{key}");
    let text = block
        .get(key)
        .ok_or_else(|| ModelError::malformed(file, &field, "missing"))?;
    let values = text
        .split_whitespace()
        .enumerate()
        .map(|(i, v)| {
            v.parse::<T>().map_err(|_| {
                ModelError::malformed(
                    file,
                    format!("{field}[{i}]"),
                    format!("{v:?} is not a number"),
                )
            })
        })
        .collect::<Result<Vec<T>>>()?;
    if values.len() != expected {
        return Err(ModelError::malformed(
            file,
            field,
            format!("{} entries, expected {expected}", values.len()),
        ));
    }
    Ok(values)
}

fn tree(block: &HashMap<&str, &str>, t: usize, n_features: usize, file: &Path) -> Result<Tree> {
    let field = |key: &str| format!("Tree={t}.{key}");
    let n_leaves: usize = block
        .get("num_leaves")
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n >= 1)
        .ok_or_else(|| {
            ModelError::malformed(
                file,
                field("num_leaves"),
                "missing or not a positive integer",
            )
        })?;
    if block.get("is_linear").is_some_and(|v| v.trim() != "0") {
        return Err(ModelError::unsupported(
            file,
            field("is_linear"),
            "1",
            "constant leaves (linear trees are not supported)",
        ));
    }
    let n_internal = n_leaves - 1;
    let n_nodes = n_internal
        .checked_add(n_leaves)
        .ok_or_else(|| ModelError::malformed(file, field("num_leaves"), "too large"))?;
    let leaf_value: Vec<f64> = numbers(block, "leaf_value", n_leaves, t, file)?;
    if let Some(i) = leaf_value.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::malformed(
            file,
            format!("{}[{i}]", field("leaf_value")),
            "not finite",
        ));
    }
    let optional_f64 = |key: &str, n: usize| -> Result<Vec<f64>> {
        if block.contains_key(key) {
            numbers(block, key, n, t, file)
        } else {
            Ok(vec![0.0; n])
        }
    };
    let optional_u64 = |key: &str, n: usize| -> Result<Vec<u64>> {
        if block.contains_key(key) {
            numbers(block, key, n, t, file)
        } else {
            Ok(vec![0; n])
        }
    };
    let leaf_weight = optional_f64("leaf_weight", n_leaves)?;
    let leaf_count = optional_u64("leaf_count", n_leaves)?;
    let mut nodes = Vec::with_capacity(n_nodes);
    let mut values = Vec::with_capacity(n_nodes);
    if n_internal > 0 {
        let split_feature: Vec<i64> = numbers(block, "split_feature", n_internal, t, file)?;
        let split_gain = optional_f64("split_gain", n_internal)?;
        let threshold: Vec<f64> = numbers(block, "threshold", n_internal, t, file)?;
        let decision_type: Vec<u8> = numbers(block, "decision_type", n_internal, t, file)?;
        let left_child: Vec<i64> = numbers(block, "left_child", n_internal, t, file)?;
        let right_child: Vec<i64> = numbers(block, "right_child", n_internal, t, file)?;
        let internal_value = optional_f64("internal_value", n_internal)?;
        let internal_weight = optional_f64("internal_weight", n_internal)?;
        let internal_count = optional_u64("internal_count", n_internal)?;
        let num_cat: usize = block
            .get("num_cat")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let (cat_boundaries, cat_threshold): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
            let boundaries: Vec<usize> = numbers(block, "cat_boundaries", num_cat + 1, t, file)?;
            let words = boundaries.last().copied().unwrap_or(0);
            (boundaries, numbers(block, "cat_threshold", words, t, file)?)
        } else {
            (Vec::new(), Vec::new())
        };
        let child = |raw: i64, parent: usize, name: &str| -> Result<u32> {
            let index = if raw >= 0 {
                usize::try_from(raw).ok()
            } else {
                usize::try_from(-(raw + 1))
                    .ok()
                    .map(|leaf| n_internal + leaf)
            };
            match index {
                Some(c) if c > parent && c < n_nodes && (raw >= 0 || c - n_internal < n_leaves) => {
                    Ok(c as u32)
                }
                _ => Err(ModelError::out_of_range(
                    file,
                    format!("{}[{parent}]", field(name)),
                    raw,
                    format!(
                        "a split after {parent} below {n_internal}, or a leaf -1 to -{n_leaves}"
                    ),
                )),
            }
        };
        for i in 0..n_internal {
            let at = |name: &str| format!("{}[{i}]", field(name));
            let feature = split_feature.get(i).copied().unwrap_or(-1);
            let feature = match usize::try_from(feature) {
                Ok(f) if f < n_features => f as u32,
                _ => {
                    return Err(ModelError::out_of_range(
                        file,
                        at("split_feature"),
                        feature,
                        format!("a feature index below the model's {n_features}"),
                    ));
                }
            };
            let decision = decision_type.get(i).copied().unwrap_or(0);
            let raw_threshold = threshold.get(i).copied().unwrap_or(f64::NAN);
            let missing = match (decision >> 2) & 3 {
                0 => MissingRule::NanAsZero,
                1 => MissingRule::ZeroDefault,
                2 => MissingRule::NanDefault,
                other => {
                    return Err(ModelError::malformed(
                        file,
                        at("decision_type"),
                        format!("missing type {other}"),
                    ));
                }
            };
            let (test, threshold64, categories) = if decision & 1 == 1 {
                let cat_index = raw_threshold as i64;
                let range = usize::try_from(cat_index)
                    .ok()
                    .and_then(|c| Some((*cat_boundaries.get(c)?, *cat_boundaries.get(c + 1)?)));
                let words = range
                    .and_then(|(start, end)| cat_threshold.get(start..end))
                    .ok_or_else(|| {
                        ModelError::malformed(
                            file,
                            at("threshold"),
                            format!("categorical split {cat_index} has no cat_boundaries range"),
                        )
                    })?;
                let mut categories = Vec::new();
                for (w, word) in words.iter().enumerate() {
                    for bit in 0..32u32 {
                        if word >> bit & 1 == 1 {
                            categories.push(w as u32 * 32 + bit);
                        }
                    }
                }
                (SplitTest::InCategories, 0.0, categories)
            } else {
                if raw_threshold.is_nan() {
                    return Err(ModelError::malformed(file, at("threshold"), "NaN"));
                }
                (SplitTest::LessOrEqual, raw_threshold, Vec::new())
            };
            // LightGBM's categorical decision ignores the missing type: NaN goes right.
            let missing = if test == SplitTest::InCategories {
                MissingRule::NanIsNoCategory
            } else {
                missing
            };
            nodes.push(Node {
                id: i as u32,
                split: Some(Split {
                    feature,
                    threshold: f32_at_or_below(threshold64),
                    threshold_f64: threshold64,
                    test,
                    categories,
                    missing,
                    default_left: decision & 2 == 2,
                    left: child(left_child.get(i).copied().unwrap_or(0), i, "left_child")?,
                    right: child(right_child.get(i).copied().unwrap_or(0), i, "right_child")?,
                }),
                n_samples: internal_count.get(i).copied().unwrap_or(0),
                cover: internal_weight.get(i).copied().unwrap_or(0.0),
                impurity: None,
                gain: split_gain.get(i).copied().unwrap_or(0.0),
            });
            values.push(internal_value.get(i).copied().unwrap_or(0.0));
        }
    }
    for leaf in 0..n_leaves {
        nodes.push(Node {
            id: leaf as u32,
            split: None,
            n_samples: leaf_count.get(leaf).copied().unwrap_or(0),
            cover: leaf_weight.get(leaf).copied().unwrap_or(0.0),
            impurity: None,
            gain: 0.0,
        });
        values.push(leaf_value.get(leaf).copied().unwrap_or(0.0));
    }
    let tree = Tree {
        // LightGBM compares doubles with its double thresholds.
        input: InputPrecision::F64,
        nodes,
        n_values: 1,
        values,
    };
    tree.validate(n_features)
        .map_err(|(f, detail)| ModelError::malformed(file, format!("Tree={t}.{f}"), detail))?;
    Ok(tree)
}
