//! One tree of an XGBoost JSON model (`learner.gradient_booster.model.trees[t]`), read into a
//! [`Tree`] in named steps: the node count, the node arrays, the categorical sets, one node
//! per entry (a leaf's value, or a split's feature, test, threshold or categories, default
//! direction and children), then the internal nodes' cover-weighted means.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use whyline_core::SplitTest;

use super::{check_len, child_index, f64_array, feature_index, field, i64_array, usize_field};
use crate::error::{ModelError, Result};
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree};

/// One tree document, its path in the file and the file, which every error names.
struct TreeDoc<'a> {
    doc: &'a Value,
    path: &'a str,
    file: &'a Path,
}

/// The per-node arrays of a tree, `num_nodes` entries each.
struct NodeArrays {
    left: Vec<i64>,
    right: Vec<i64>,
    feature: Vec<i64>,
    /// A split's threshold, or a leaf's value.
    conditions: Vec<f64>,
    default_left: Vec<i64>,
    hessian: Vec<f64>,
    loss: Vec<f64>,
    /// 0 numerical, 1 categorical (all 0 when the array is absent).
    split_type: Vec<i64>,
}

/// Reads one tree: `path` locates it in the file for errors.
pub(super) fn tree(doc: &Value, path: &str, n_features: usize, file: &Path) -> Result<Tree> {
    let tree = TreeDoc { doc, path, file };
    let n_nodes = tree.node_count()?;
    let arrays = tree.arrays(n_nodes)?;
    let node_categories = categories(doc, path, n_nodes, file)?;
    let mut nodes = Vec::with_capacity(n_nodes);
    let mut values = vec![0.0f64; n_nodes];
    for i in 0..n_nodes {
        let (node, leaf_value) = tree.node(&arrays, &node_categories, i, n_nodes, n_features)?;
        if let (Some(value), Some(slot)) = (leaf_value, values.get_mut(i)) {
            *slot = value;
        }
        nodes.push(node);
    }
    fill_internal_means(&nodes, &mut values);
    let tree = Tree {
        // XGBoost's DMatrix holds float32.
        input: InputPrecision::F32,
        nodes,
        n_values: 1,
        values,
        routes: Default::default(),
    };
    tree.validate(n_features).map_err(|(field, detail)| {
        ModelError::malformed(file, format!("{path}.{field}"), detail)
    })?;
    Ok(tree)
}

impl TreeDoc<'_> {
    /// `tree_param.num_nodes` (at least 1); multi-target trees (`size_leaf_vector > 1`)
    /// are refused.
    fn node_count(&self) -> Result<usize> {
        let file = self.file;
        let param = field(self.doc, "tree_param", self.path, file)?;
        let param_path = format!("{}.tree_param", self.path);
        let n_nodes = usize_field(param, "num_nodes", &param_path, file)?;
        if n_nodes == 0 {
            return Err(ModelError::out_of_range(
                file,
                format!("{param_path}.num_nodes"),
                0,
                "at least one node",
            ));
        }
        if param.get("size_leaf_vector").is_some() {
            let size = usize_field(param, "size_leaf_vector", &param_path, file)?;
            if size > 1 {
                return Err(ModelError::unsupported(
                    file,
                    format!("{param_path}.size_leaf_vector"),
                    size.to_string(),
                    "scalar leaves (multi-target trees are not supported)",
                ));
            }
        }
        Ok(n_nodes)
    }

    /// The node arrays, each checked to hold `n_nodes` entries.
    fn arrays(&self, n_nodes: usize) -> Result<NodeArrays> {
        let ints = |name: &str| -> Result<Vec<i64>> {
            let v = i64_array(self.doc, name, self.path, self.file)?;
            check_len(&v, n_nodes, &format!("{}.{name}", self.path), self.file)?;
            Ok(v)
        };
        let floats = |name: &str| -> Result<Vec<f64>> {
            let v = f64_array(self.doc, name, self.path, self.file)?;
            check_len(&v, n_nodes, &format!("{}.{name}", self.path), self.file)?;
            Ok(v)
        };
        Ok(NodeArrays {
            left: ints("left_children")?,
            right: ints("right_children")?,
            feature: ints("split_indices")?,
            conditions: floats("split_conditions")?,
            default_left: ints("default_left")?,
            hessian: floats("sum_hessian")?,
            loss: floats("loss_changes")?,
            split_type: match self.doc.get("split_type") {
                Some(_) => ints("split_type")?,
                None => vec![0; n_nodes],
            },
        })
    }

    /// Node `i`, and its value when it is a leaf (its `split_conditions` entry, an f32).
    fn node(
        &self,
        arrays: &NodeArrays,
        node_categories: &HashMap<usize, Vec<u32>>,
        i: usize,
        n_nodes: usize,
        n_features: usize,
    ) -> Result<(Node, Option<f64>)> {
        let condition = arrays.conditions.get(i).copied().unwrap_or(f64::NAN);
        if condition.is_nan() {
            return Err(ModelError::malformed(
                self.file,
                self.at("split_conditions", i),
                "NaN",
            ));
        }
        let left = arrays.left.get(i).copied().unwrap_or(-1);
        let (split, leaf_value) = if left == -1 {
            (None, Some(f64::from(condition as f32)))
        } else {
            let split = self.split(arrays, node_categories, i, n_nodes, n_features)?;
            (Some(split), None)
        };
        let cover = arrays.hessian.get(i).copied().unwrap_or(0.0);
        let node = Node {
            id: i as u32,
            gain: if split.is_some() {
                arrays.loss.get(i).copied().unwrap_or(0.0)
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
        };
        Ok((node, leaf_value))
    }

    /// The split of node `i`: `x < condition` (as f32), or the categories that go right.
    fn split(
        &self,
        arrays: &NodeArrays,
        node_categories: &HashMap<usize, Vec<u32>>,
        i: usize,
        n_nodes: usize,
        n_features: usize,
    ) -> Result<Split> {
        let file = self.file;
        let condition = arrays.conditions.get(i).copied().unwrap_or(f64::NAN);
        let (test, threshold, categories) = match arrays.split_type.get(i).copied().unwrap_or(0) {
            0 => (SplitTest::Less, condition as f32, Vec::new()),
            // The listed categories go right; everything else (and invalid values) left.
            1 => match node_categories.get(&i) {
                Some(set) => (SplitTest::NotInCategories, 0.0, set.clone()),
                None => {
                    return Err(ModelError::malformed(
                        file,
                        self.at("split_type", i),
                        "categorical split without an entry in categories_nodes",
                    ));
                }
            },
            other => {
                return Err(ModelError::unsupported(
                    file,
                    self.at("split_type", i),
                    other.to_string(),
                    "0 (numerical) or 1 (categorical)",
                ));
            }
        };
        Ok(Split {
            feature: feature_index(
                arrays.feature.get(i).copied().unwrap_or(-1),
                n_features,
                || self.at("split_indices", i),
                file,
            )?,
            threshold,
            threshold_f64: f64::from(threshold),
            test,
            categories,
            missing: MissingRule::NanDefault,
            default_left: arrays.default_left.get(i).copied().unwrap_or(0) != 0,
            left: child_index(
                arrays.left.get(i).copied().unwrap_or(-1),
                i,
                n_nodes,
                || self.at("left_children", i),
                file,
            )?,
            right: child_index(
                arrays.right.get(i).copied().unwrap_or(-1),
                i,
                n_nodes,
                || self.at("right_children", i),
                file,
            )?,
        })
    }

    /// The error path of entry `i` of the array `name` (`trees[3].split_indices[7]`).
    fn at(&self, name: &str, i: usize) -> String {
        format!("{}.{name}[{i}]", self.path)
    }
}

/// Internal nodes hold the cover-weighted mean of their children (XGBoost's
/// FillNodeMeanValues), what TreeSHAP expects; children come after parents, so one
/// backward pass fills them.
fn fill_internal_means(nodes: &[Node], values: &mut [f64]) {
    for i in (0..nodes.len()).rev() {
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
        let raw_node = node;
        let node = usize::try_from(node)
            .ok()
            .filter(|&n| n < n_nodes)
            .ok_or_else(|| {
                ModelError::malformed(
                    file,
                    at("categories_nodes"),
                    format!("node {raw_node} is not below the tree's {n_nodes} nodes"),
                )
            })?;
        let (start, size) = (
            segments.get(j).copied().unwrap_or(-1),
            sizes.get(j).copied().unwrap_or(-1),
        );
        let set = usize::try_from(start)
            .ok()
            .zip(usize::try_from(size).ok())
            .and_then(|(start, size)| values.get(start..start.checked_add(size)?))
            .ok_or_else(|| {
                ModelError::malformed(
                    file,
                    at("categories_segments"),
                    format!(
                        "{size} categories from {start} are outside the {} in `categories`",
                        values.len()
                    ),
                )
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
