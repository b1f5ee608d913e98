//! One `Tree=` block of a LightGBM text model, read into a [`Tree`] in named steps: the
//! shape (`num_leaves`), the leaves, the split arrays, then one node per split (its feature,
//! missing rule, threshold or category set, children) followed by the leaves.
//!
//! LightGBM numbers splits `0..num_leaves-1` and leaves `-1, -2, …` (leaf `l` is `-(l+1)`);
//! the node array puts the splits first and the leaves after them, so every child comes
//! after its parent. Leaf values are doubles with the shrinkage folded in; thresholds are
//! doubles, compared with the row's doubles ([`InputPrecision::F64`]).

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use whyline_core::SplitTest;

use crate::error::{ModelError, Result};
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree, f32_at_or_below};

/// One `Tree=` block: its `key=value` lines, its index in the file and the file, which
/// every error names (`Tree=3.left_child[7]`).
pub(super) struct TreeBlock<'a> {
    /// The block's lines, by key.
    pub(super) lines: &'a HashMap<&'a str, &'a str>,
    /// The tree's index (`Tree=N`).
    pub(super) index: usize,
    /// The model file.
    pub(super) file: &'a Path,
}

/// The leaves' arrays, `num_leaves` entries each.
struct Leaves {
    value: Vec<f64>,
    weight: Vec<f64>,
    count: Vec<u64>,
}

/// The splits' arrays, `num_leaves − 1` entries each, and the categorical bitsets.
struct Splits {
    feature: Vec<i64>,
    gain: Vec<f64>,
    threshold: Vec<f64>,
    decision_type: Vec<u8>,
    left_child: Vec<i64>,
    right_child: Vec<i64>,
    value: Vec<f64>,
    weight: Vec<f64>,
    count: Vec<u64>,
    /// `cat_boundaries`: categorical split `c` owns the words `[c]..[c+1]` of `cat_threshold`.
    cat_boundaries: Vec<usize>,
    /// `cat_threshold`: 32-bit words whose set bits are the categories that go left.
    cat_threshold: Vec<u32>,
}

/// How many splits and leaves a tree has; splits are numbered first in the node array.
#[derive(Clone, Copy)]
struct Shape {
    n_splits: usize,
    n_leaves: usize,
}

impl Shape {
    /// The node index of LightGBM's child number `raw` of split `parent`: a later split
    /// (`raw ≥ 0`) or a leaf (`raw = -(leaf + 1)`), or `None` when it is neither.
    fn child(self, raw: i64, parent: usize) -> Option<u32> {
        let index = if raw >= 0 {
            usize::try_from(raw)
                .ok()
                .filter(|&split| split > parent && split < self.n_splits)
        } else {
            usize::try_from(-(raw + 1))
                .ok()
                .filter(|&leaf| leaf < self.n_leaves)
                .map(|leaf| self.n_splits + leaf)
        };
        index.and_then(|i| u32::try_from(i).ok())
    }
}

/// Reads one tree block.
pub(super) fn tree(block: &TreeBlock<'_>, n_features: usize) -> Result<Tree> {
    let n_leaves = block.n_leaves()?;
    block.reject_linear()?;
    let shape = Shape {
        n_splits: n_leaves - 1,
        n_leaves,
    };
    let n_nodes = shape.n_splits.checked_add(n_leaves).ok_or_else(|| {
        ModelError::out_of_range(
            block.file,
            block.field("num_leaves"),
            n_leaves,
            "a count whose nodes fit in memory",
        )
    })?;
    let leaves = block.leaves(n_leaves)?;
    let mut nodes = Vec::with_capacity(n_nodes);
    let mut values = Vec::with_capacity(n_nodes);
    if shape.n_splits > 0 {
        let splits = block.splits(shape.n_splits)?;
        for i in 0..shape.n_splits {
            nodes.push(split_node(block, &splits, shape, i, n_features)?);
            values.push(splits.value.get(i).copied().unwrap_or(0.0));
        }
    }
    for leaf in 0..n_leaves {
        nodes.push(leaf_node(&leaves, leaf));
        values.push(leaves.value.get(leaf).copied().unwrap_or(0.0));
    }
    let tree = Tree {
        // LightGBM compares doubles with its double thresholds.
        input: InputPrecision::F64,
        nodes,
        n_values: 1,
        values,
        routes: Default::default(),
    };
    tree.validate(n_features).map_err(|(field, detail)| {
        ModelError::malformed(block.file, format!("Tree={}.{field}", block.index), detail)
    })?;
    Ok(tree)
}

/// The node of split `i`: its feature, test, threshold or categories, missing rule and
/// children.
fn split_node(
    block: &TreeBlock<'_>,
    splits: &Splits,
    shape: Shape,
    i: usize,
    n_features: usize,
) -> Result<Node> {
    let file = block.file;
    let at = |name: &str| format!("{}[{i}]", block.field(name));
    let raw_feature = splits.feature.get(i).copied().unwrap_or(-1);
    let feature = usize::try_from(raw_feature)
        .ok()
        .filter(|&f| f < n_features)
        .and_then(|f| u32::try_from(f).ok())
        .ok_or_else(|| {
            ModelError::out_of_range(
                file,
                at("split_feature"),
                raw_feature,
                format!("a feature index below the model's {n_features}"),
            )
        })?;
    let decision = splits.decision_type.get(i).copied().unwrap_or(0);
    let raw_threshold = splits.threshold.get(i).copied().unwrap_or(f64::NAN);
    let missing = missing_rule(decision).ok_or_else(|| {
        ModelError::malformed(
            file,
            at("decision_type"),
            format!("missing type {}", (decision >> 2) & 3),
        )
    })?;
    let (test, threshold, categories, missing) = if decision & 1 == 1 {
        // LightGBM's categorical decision ignores the missing type: NaN goes right.
        let categories = categories(splits, raw_threshold).ok_or_else(|| {
            ModelError::malformed(
                file,
                at("threshold"),
                format!(
                    "categorical split {} has no cat_boundaries range",
                    raw_threshold as i64
                ),
            )
        })?;
        (
            SplitTest::InCategories,
            0.0,
            categories,
            MissingRule::NanIsNoCategory,
        )
    } else {
        if raw_threshold.is_nan() {
            return Err(ModelError::malformed(file, at("threshold"), "NaN"));
        }
        (SplitTest::LessOrEqual, raw_threshold, Vec::new(), missing)
    };
    let child = |name: &str, raw: i64| {
        shape.child(raw, i).ok_or_else(|| {
            ModelError::out_of_range(
                file,
                at(name),
                raw,
                format!(
                    "a split after {i} below {}, or a leaf -1 to -{}",
                    shape.n_splits, shape.n_leaves
                ),
            )
        })
    };
    Ok(Node {
        id: i as u32,
        split: Some(Split {
            feature,
            threshold: f32_at_or_below(threshold),
            threshold_f64: threshold,
            test,
            categories,
            missing,
            default_left: decision & 2 == 2,
            left: child("left_child", splits.left_child.get(i).copied().unwrap_or(0))?,
            right: child(
                "right_child",
                splits.right_child.get(i).copied().unwrap_or(0),
            )?,
        }),
        n_samples: splits.count.get(i).copied().unwrap_or(0),
        cover: splits.weight.get(i).copied().unwrap_or(0.0),
        impurity: None,
        gain: splits.gain.get(i).copied().unwrap_or(0.0),
    })
}

/// The node of leaf `leaf` (numbered by LightGBM's leaf index, as `pred_leaf` reports it).
fn leaf_node(leaves: &Leaves, leaf: usize) -> Node {
    Node {
        id: leaf as u32,
        split: None,
        n_samples: leaves.count.get(leaf).copied().unwrap_or(0),
        cover: leaves.weight.get(leaf).copied().unwrap_or(0.0),
        impurity: None,
        gain: 0.0,
    }
}

/// The missing type in bits 2–3 of a `decision_type`: 0 None (NaN reads as 0), 1 Zero (NaN
/// and zero take the default), 2 NaN (NaN takes the default); `None` for 3.
fn missing_rule(decision: u8) -> Option<MissingRule> {
    match (decision >> 2) & 3 {
        0 => Some(MissingRule::NanAsZero),
        1 => Some(MissingRule::ZeroDefault),
        2 => Some(MissingRule::NanDefault),
        _ => None,
    }
}

/// The sorted categories that a categorical split sends left: the set bits of its words of
/// `cat_threshold`. Its threshold is the categorical split's number; `None` when that
/// number has no `cat_boundaries` range.
fn categories(splits: &Splits, threshold: f64) -> Option<Vec<u32>> {
    let c = usize::try_from(threshold as i64).ok()?;
    let (start, end) = (
        *splits.cat_boundaries.get(c)?,
        *splits.cat_boundaries.get(c + 1)?,
    );
    let words = splits.cat_threshold.get(start..end)?;
    let mut categories = Vec::new();
    for (w, word) in words.iter().enumerate() {
        for bit in 0..32u32 {
            if word >> bit & 1 == 1 {
                categories.push(w as u32 * 32 + bit);
            }
        }
    }
    Some(categories)
}

impl TreeBlock<'_> {
    /// The error path of `key` in this block (`Tree=3.num_leaves`).
    fn field(&self, key: &str) -> String {
        format!("Tree={}.{key}", self.index)
    }

    /// `num_leaves`: at least 1.
    fn n_leaves(&self) -> Result<usize> {
        self.lines
            .get("num_leaves")
            .and_then(|v| v.trim().parse().ok())
            .filter(|&n: &usize| n >= 1)
            .ok_or_else(|| {
                ModelError::malformed(
                    self.file,
                    self.field("num_leaves"),
                    "missing or not a positive integer",
                )
            })
    }

    /// Linear trees (`is_linear=1`) are refused.
    fn reject_linear(&self) -> Result<()> {
        if self.lines.get("is_linear").is_some_and(|v| v.trim() != "0") {
            return Err(ModelError::unsupported(
                self.file,
                self.field("is_linear"),
                "1",
                "constant leaves (linear trees are not supported)",
            ));
        }
        Ok(())
    }

    /// The leaves' values (finite), weights and counts.
    fn leaves(&self, n_leaves: usize) -> Result<Leaves> {
        let value: Vec<f64> = self.numbers("leaf_value", n_leaves)?;
        if let Some(i) = value.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::malformed(
                self.file,
                format!("{}[{i}]", self.field("leaf_value")),
                "not finite",
            ));
        }
        Ok(Leaves {
            value,
            weight: self.optional("leaf_weight", n_leaves)?,
            count: self.optional("leaf_count", n_leaves)?,
        })
    }

    /// The splits' arrays and, when the tree has categorical splits, its bitsets.
    fn splits(&self, n_splits: usize) -> Result<Splits> {
        let num_cat: usize = self
            .lines
            .get("num_cat")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let (cat_boundaries, cat_threshold) = if num_cat > 0 {
            let boundaries: Vec<usize> = self.numbers("cat_boundaries", num_cat + 1)?;
            let words = boundaries.last().copied().unwrap_or(0);
            (boundaries, self.numbers("cat_threshold", words)?)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Splits {
            feature: self.numbers("split_feature", n_splits)?,
            gain: self.optional("split_gain", n_splits)?,
            threshold: self.numbers("threshold", n_splits)?,
            decision_type: self.numbers("decision_type", n_splits)?,
            left_child: self.numbers("left_child", n_splits)?,
            right_child: self.numbers("right_child", n_splits)?,
            value: self.optional("internal_value", n_splits)?,
            weight: self.optional("internal_weight", n_splits)?,
            count: self.optional("internal_count", n_splits)?,
            cat_boundaries,
            cat_threshold,
        })
    }

    /// The whitespace-separated numbers of `key`, exactly `expected` of them.
    fn numbers<T: FromStr>(&self, key: &str, expected: usize) -> Result<Vec<T>> {
        let field = self.field(key);
        let text = self
            .lines
            .get(key)
            .ok_or_else(|| ModelError::malformed(self.file, &field, "missing"))?;
        let values = text
            .split_whitespace()
            .enumerate()
            .map(|(i, v)| {
                v.parse::<T>().map_err(|_| {
                    ModelError::malformed(
                        self.file,
                        format!("{field}[{i}]"),
                        format!("{v:?} is not a number"),
                    )
                })
            })
            .collect::<Result<Vec<T>>>()?;
        if values.len() != expected {
            return Err(ModelError::malformed(
                self.file,
                field,
                format!("{} entries, expected {expected}", values.len()),
            ));
        }
        Ok(values)
    }

    /// Like [`numbers`](TreeBlock::numbers), or `expected` zeros when the line is absent
    /// (LightGBM omits the statistics of some trees).
    fn optional<T: FromStr + Clone + Default>(&self, key: &str, expected: usize) -> Result<Vec<T>> {
        if self.lines.contains_key(key) {
            self.numbers(key, expected)
        } else {
            Ok(vec![T::default(); expected])
        }
    }
}
