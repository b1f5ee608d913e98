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

/// Reads the trees of a `HistGradientBoosting` model: numeric splits compare the f64 value
/// with `num_threshold`; NaN follows `missing_go_to_left`; a categorical split
/// (`categories_left[i]` not null) sends its categories left, and a category unknown to
/// the feature (`known_categories[f]`), or a negative value, the missing way — as
/// scikit-learn's predictor does.
///
/// Both rules fit one set test: when missing values go left, the split is "not among the
/// known categories that go right"; otherwise "among the categories that go left".
pub(super) fn hist_trees(body: &Value, n_features: usize, file: &Path) -> Result<Vec<Tree>> {
    let settings = TreeSettings {
        n_features,
        scale: 1.0,
        read_missing: true,
        input: InputPrecision::F64,
    };
    let known = known_categories(body, n_features, file)?;
    let mut trees = trees(body, settings, file)?;
    let docs = array_field(body, "trees", "model", file)?;
    for (t, (tree, doc)) in trees.iter_mut().zip(docs).enumerate() {
        let path = format!("model.trees[{t}]");
        let Some(Value::Array(lists)) = doc.get("categories_left") else {
            continue;
        };
        check_len(
            lists,
            tree.nodes.len(),
            &format!("{path}.categories_left"),
            file,
        )?;
        for (i, (node, list)) in tree.nodes.iter_mut().zip(lists).enumerate() {
            let field = format!("{path}.categories_left[{i}]");
            let (Some(split), Value::Array(items)) = (node.split.as_mut(), list) else {
                continue;
            };
            let mut left = category_list(items, &field, file)?;
            let Some(Some(known)) = known.get(split.feature as usize) else {
                return Err(ModelError::malformed(
                    file,
                    field,
                    format!(
                        "a categorical split on feature {}, which has no known_categories",
                        split.feature
                    ),
                ));
            };
            left.retain(|c| known.binary_search(c).is_ok());
            split.test = SplitTest::InCategories;
            split.threshold = 0.0;
            split.threshold_f64 = 0.0;
            if split.default_left {
                split.test = SplitTest::NotInCategories;
                split.categories = known
                    .iter()
                    .copied()
                    .filter(|c| left.binary_search(c).is_err())
                    .collect();
            } else {
                split.categories = left;
            }
        }
    }
    Ok(trees)
}

/// `known_categories`: per feature, the sorted categories seen in training, or null for a
/// numeric feature.
fn known_categories(body: &Value, n_features: usize, file: &Path) -> Result<Vec<Option<Vec<u32>>>> {
    let Some(Value::Array(items)) = body.get("known_categories") else {
        return Ok(vec![None; n_features]);
    };
    check_len(items, n_features, "model.known_categories", file)?;
    items
        .iter()
        .enumerate()
        .map(|(f, item)| match item {
            Value::Null => Ok(None),
            Value::Array(list) => {
                category_list(list, &format!("model.known_categories[{f}]"), file).map(Some)
            }
            _ => Err(ModelError::malformed(
                file,
                format!("model.known_categories[{f}]"),
                "expected an array of categories or null",
            )),
        })
        .collect()
}

/// A sorted list of categories (0 to 255, as scikit-learn's bitsets hold them).
fn category_list(items: &[Value], field: &str, file: &Path) -> Result<Vec<u32>> {
    let mut list = items
        .iter()
        .enumerate()
        .map(|(k, v)| {
            v.as_u64()
                .filter(|&c| c < 256)
                .map(|c| c as u32)
                .ok_or_else(|| {
                    ModelError::malformed(
                        file,
                        format!("{field}[{k}]"),
                        "expected a category from 0 to 255",
                    )
                })
        })
        .collect::<Result<Vec<_>>>()?;
    list.sort_unstable();
    list.dedup();
    Ok(list)
}

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

/// How the trees of one model are read.
#[derive(Clone, Copy)]
pub(super) struct TreeSettings {
    /// The model's feature count, which every split's feature must be below.
    pub(super) n_features: usize,
    /// Multiplies every value (a boosting learning rate; 1 otherwise).
    pub(super) scale: f64,
    /// Whether `missing_go_to_left` (when present) gives each split a NaN rule (trees and
    /// forests; scikit-learn's gradient boosting rejects NaN).
    pub(super) read_missing: bool,
    /// How the library reads an f64 row (scikit-learn's trees: f32; its histogram
    /// boosting: f64).
    pub(super) input: InputPrecision,
}

/// One tree document, its path in the file and the file, which every error names.
struct TreeDoc<'a> {
    doc: &'a Value,
    path: &'a str,
    file: &'a Path,
}

/// The per-node arrays of a tree, `n_nodes` entries each.
struct NodeArrays {
    left: Vec<i64>,
    right: Vec<i64>,
    feature: Vec<i64>,
    threshold: Vec<f64>,
    /// Where NaN goes at each split, when the tree says and the model reads it.
    missing_left: Option<Vec<bool>>,
    /// Absent for histogram boosting, which stores no impurity.
    impurity: Option<Vec<f64>>,
    /// The stored split gains (histogram boosting), else computed from the impurities.
    gain: Option<Vec<f64>>,
    samples: Vec<i64>,
    weighted: Vec<f64>,
}

/// Reads one scikit-learn tree at `path` in the file.
pub(super) fn tree(doc: &Value, path: &str, settings: TreeSettings, file: &Path) -> Result<Tree> {
    let tree = TreeDoc { doc, path, file };
    let n_nodes = tree.node_count()?;
    let arrays = tree.arrays(n_nodes, settings.read_missing)?;
    let (n_values, values) = tree.values(n_nodes, settings.scale)?;
    let nodes = (0..n_nodes)
        .map(|i| tree.node(&arrays, i, n_nodes, settings.n_features))
        .collect::<Result<Vec<_>>>()?;
    let tree = Tree {
        // scikit-learn's trees cast X to float32 before comparing; its histogram
        // boosting compares the float64 value.
        input: settings.input,
        nodes,
        n_values,
        values,
        routes: Default::default(),
    };
    tree.validate(settings.n_features)
        .map_err(|(field, detail)| {
            ModelError::malformed(file, format!("{path}.{field}"), detail)
        })?;
    Ok(tree)
}

/// Reads the non-empty `model.trees` list of an ensemble.
pub(super) fn trees(body: &Value, settings: TreeSettings, file: &Path) -> Result<Vec<Tree>> {
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
        .map(|(t, doc)| tree(doc, &format!("model.trees[{t}]"), settings, file))
        .collect()
}

impl TreeDoc<'_> {
    /// `n_nodes`: at least 1.
    fn node_count(&self) -> Result<usize> {
        let n_nodes = usize_field(self.doc, "n_nodes", self.path, self.file)?;
        if n_nodes == 0 {
            return Err(ModelError::out_of_range(
                self.file,
                format!("{}.n_nodes", self.path),
                0,
                "at least one node",
            ));
        }
        Ok(n_nodes)
    }

    /// The node arrays, each checked to hold `n_nodes` entries.
    fn arrays(&self, n_nodes: usize, read_missing: bool) -> Result<NodeArrays> {
        let (doc, path, file) = (self.doc, self.path, self.file);
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
        Ok(NodeArrays {
            left: ints("children_left")?,
            right: ints("children_right")?,
            feature: ints("feature")?,
            threshold: thresholds(doc, path, n_nodes, file)?,
            missing_left: if read_missing {
                self.missing_left(n_nodes)?
            } else {
                None
            },
            impurity: match doc.get("impurity") {
                None => None,
                Some(_) => Some(floats("impurity")?),
            },
            gain: match doc.get("gain") {
                None => None,
                Some(_) => Some(floats("gain")?),
            },
            samples: ints("n_node_samples")?,
            weighted: floats("weighted_n_node_samples")?,
        })
    }

    /// `missing_go_to_left`, when the tree has it: one boolean per node.
    fn missing_left(&self, n_nodes: usize) -> Result<Option<Vec<bool>>> {
        let Some(Value::Array(items)) = self.doc.get("missing_go_to_left") else {
            return Ok(None);
        };
        let field = format!("{}.missing_go_to_left", self.path);
        check_len(items, n_nodes, &field, self.file)?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Bool(b) => Ok(*b),
                _ => Err(ModelError::malformed(
                    self.file,
                    format!("{field}[{i}]"),
                    "expected a boolean",
                )),
            })
            .collect::<Result<_>>()
            .map(Some)
    }

    /// `n_values` (at least 1) and the `n_nodes × n_values` values, times `scale`.
    fn values(&self, n_nodes: usize, scale: f64) -> Result<(usize, Vec<f64>)> {
        let (path, file) = (self.path, self.file);
        let n_values = usize_field(self.doc, "n_values", path, file)?;
        let mut values = f64_array(self.doc, "value", path, file)?;
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
        Ok((n_values, values))
    }

    /// Node `i`: its split (none for a leaf), counts, impurity and split gain.
    fn node(
        &self,
        arrays: &NodeArrays,
        i: usize,
        n_nodes: usize,
        n_features: usize,
    ) -> Result<Node> {
        let split = self.split(arrays, i, n_nodes, n_features)?;
        let gain = match (&split, &arrays.gain) {
            (None, _) => 0.0,
            (Some(_), Some(gains)) => gains.get(i).copied().unwrap_or(0.0),
            (Some(split), None) => gain(arrays, i, split),
        };
        let n_samples =
            u64::try_from(arrays.samples.get(i).copied().unwrap_or(0)).map_err(|_| {
                ModelError::malformed(self.file, self.at("n_node_samples", i), "negative count")
            })?;
        Ok(Node {
            id: i as u32,
            split,
            n_samples,
            cover: arrays.weighted.get(i).copied().unwrap_or(0.0),
            impurity: arrays
                .impurity
                .as_ref()
                .map(|impurity| impurity.get(i).copied().unwrap_or(0.0)),
            gain,
        })
    }

    /// The split of node `i` (`float32(x) <= threshold` goes left), or `None` for a leaf
    /// (both children −1).
    fn split(
        &self,
        arrays: &NodeArrays,
        i: usize,
        n_nodes: usize,
        n_features: usize,
    ) -> Result<Option<Split>> {
        let file = self.file;
        let (l, r) = (
            arrays.left.get(i).copied().unwrap_or(-1),
            arrays.right.get(i).copied().unwrap_or(-1),
        );
        if l == -1 && r == -1 {
            return Ok(None);
        }
        let left = child_index(l, i, n_nodes, || self.at("children_left", i), file)?;
        let right = child_index(r, i, n_nodes, || self.at("children_right", i), file)?;
        let feature = feature_index(
            arrays.feature.get(i).copied().unwrap_or(-1),
            n_features,
            || self.at("feature", i),
            file,
        )?;
        let threshold = arrays.threshold.get(i).copied().unwrap_or(f64::NAN);
        if threshold.is_nan() {
            return Err(ModelError::malformed(
                file,
                self.at("threshold", i),
                "threshold is NaN",
            ));
        }
        Ok(Some(Split {
            feature,
            threshold: f32_at_or_below(threshold),
            threshold_f64: threshold,
            test: SplitTest::LessOrEqual,
            categories: Vec::new(),
            missing: if arrays.missing_left.is_some() {
                MissingRule::NanDefault
            } else {
                MissingRule::Reject
            },
            default_left: arrays
                .missing_left
                .as_ref()
                .and_then(|m| m.get(i).copied())
                .unwrap_or(false),
            left,
            right,
        }))
    }

    /// The error path of entry `i` of the array `name` (`model.tree.feature[7]`).
    fn at(&self, name: &str, i: usize) -> String {
        format!("{}.{name}[{i}]", self.path)
    }
}

/// The split gain of node `i`: its weighted impurity decrease, divided by the root's
/// weight (scikit-learn's `feature_importances_` terms).
fn gain(arrays: &NodeArrays, i: usize, split: &Split) -> f64 {
    let weighted = |c: usize| arrays.weighted.get(c).copied().unwrap_or(0.0);
    let impurity = |c: usize| {
        arrays
            .impurity
            .as_ref()
            .and_then(|impurity| impurity.get(c).copied())
            .unwrap_or(0.0)
    };
    let total_weight = match arrays.weighted.first().copied().unwrap_or(1.0) {
        0.0 => 1.0,
        w => w,
    };
    let child = |c: u32| weighted(c as usize) * impurity(c as usize);
    (weighted(i) * impurity(i) - child(split.left) - child(split.right)) / total_weight
}

/// Divides each node's class values by their sum where they do not already add up to 1.
///
/// scikit-learn before 1.4 stored a classifier node's `value` as weighted class counts and
/// divided them by their sum in `predict_proba`; from 1.4 on it stores the fractions and
/// divides nothing. Read this way, a tree or forest predicts what the version that wrote it
/// predicts, bit for bit: a node already within 1e-6 of 1 keeps its bits (a fraction's sum
/// is 1 up to rounding), an empty node (sum 0) stays as it is, as in scikit-learn.
pub(super) fn class_fractions(tree: &mut Tree) {
    let n_values = tree.n_values.max(1);
    for node in tree.values.chunks_exact_mut(n_values) {
        let sum: f64 = node.iter().sum();
        if sum > 0.0 && (sum - 1.0).abs() > 1e-6 {
            for v in node {
                *v /= sum;
            }
        }
    }
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
