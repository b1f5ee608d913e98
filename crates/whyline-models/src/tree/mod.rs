//! One decision tree as every importer builds it: a flat node array with the split rules of
//! scikit-learn, XGBoost and LightGBM, validated once at load so that walking it can index
//! without checks failing.
//!
//! The structure is public because TreeSHAP (in `whyline-explain`) walks it: each node has
//! its children, its split, its sample count, its cover (weighted samples or hessian sum)
//! and a value vector (class distribution, regression value or boosting margin).
//!
//! Each split keeps two thresholds. [`Split::threshold`] is an `f32`, so that the
//! comparison an `f32` row (the explained path) makes is the comparison the path reports:
//! libraries that compare against an `f64` threshold with `x <= t` (scikit-learn, LightGBM)
//! are stored with the largest `f32` not above `t` ([`f32_at_or_below`]), which decides
//! every `f32` input the same way. [`Split::threshold_f64`] is the threshold as the library
//! stores it, for `f64` rows.
//!
//! An `f64` row ([`Tree::leaf_index_f64`], behind every family's `predict`) is read as the
//! library reads it, which the tree's [`InputPrecision`] says: scikit-learn's trees cast
//! `X` to float32 and XGBoost's `DMatrix` holds float32, so their rows are rounded to `f32`
//! first and take the `f32` walk; LightGBM reads doubles and compares them with its double
//! thresholds, so its rows are compared in `f64`.

mod leaf_paths;
pub(crate) use leaf_paths::RouteTest;
mod routes;
mod steps;

use whyline_core::{LeafInfo, SplitTest, TreePath};

use routes::Routes;

/// LightGBM treats `|x| <= 1e-35` as zero (`kZeroThreshold`).
const LIGHTGBM_ZERO_THRESHOLD: f64 = 1e-35;

/// What a split does with a missing (NaN) value, and which values count as missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MissingRule {
    /// The model has no missing-value rule: callers reject NaN before walking the tree
    /// (scikit-learn trees trained without missing values).
    Reject,
    /// NaN takes the node's default direction (XGBoost; LightGBM missing type `NaN`).
    NanDefault,
    /// NaN is read as 0.0 and compared (LightGBM missing type `None`).
    NanAsZero,
    /// NaN and zero (`|x| <= 1e-35`) take the default direction (LightGBM missing type `Zero`).
    ZeroDefault,
    /// NaN is a category outside every set (LightGBM categorical splits: it goes right).
    NanIsNoCategory,
}

/// How a library reads the values of an `f64` row before its trees compare them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputPrecision {
    /// Rounded to `f32` first, then compared as `f32` rows are (scikit-learn's trees cast
    /// `X` to float32; XGBoost's `DMatrix` stores float32).
    F32,
    /// Compared as `f64` with [`Split::threshold_f64`] (LightGBM reads doubles).
    F64,
}

/// The test of one split node.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Feature tested, validated against the model's feature count at load.
    pub feature: u32,
    /// Threshold of a numeric test as an `f32` row is compared with it (and as the path
    /// reports it); `0.0` for categorical tests.
    pub threshold: f32,
    /// Threshold of a numeric test as the library stores it: scikit-learn's and LightGBM's
    /// double, XGBoost's float widened; `0.0` for categorical tests. An `f64` row of an
    /// [`InputPrecision::F64`] tree is compared with it.
    pub threshold_f64: f64,
    /// The test that sends a row left.
    pub test: SplitTest,
    /// Sorted categories of a categorical test (the set the test names).
    pub categories: Vec<u32>,
    /// What a missing value does here.
    pub missing: MissingRule,
    /// Direction of missing values under [`MissingRule::NanDefault`] and
    /// [`MissingRule::ZeroDefault`].
    pub default_left: bool,
    /// Index (into [`Tree::nodes`]) of the left child.
    pub left: u32,
    /// Index (into [`Tree::nodes`]) of the right child.
    pub right: u32,
}

/// One node of a tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The node's number as the library writes it (scikit-learn and XGBoost node ids;
    /// LightGBM internal node index for splits and leaf index for leaves), so paths and
    /// leaf ids compare with `apply()` and `pred_leaf`.
    pub id: u32,
    /// The split, or `None` for a leaf.
    pub split: Option<Split>,
    /// Training samples that reached the node (0 when the format does not store counts).
    pub n_samples: u64,
    /// Weighted samples (scikit-learn), hessian sum (XGBoost) or weight (LightGBM).
    pub cover: f64,
    /// Impurity at the node (scikit-learn), when the format stores it.
    pub impurity: Option<f64>,
    /// Gain of the split: weighted impurity decrease (scikit-learn), `loss_changes`
    /// (XGBoost), `split_gain` (LightGBM); 0 for leaves.
    pub gain: f64,
}

/// A decision tree: nodes, root at index 0, each child after its parent, and
/// [`n_values`](Tree::n_values) values per node.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// How the library reads an `f64` row: rounded to `f32` (scikit-learn, XGBoost) or
    /// compared as `f64` (LightGBM).
    pub input: InputPrecision,
    /// The nodes; children always have larger indices than their parent.
    pub nodes: Vec<Node>,
    /// Values per node (classes for a classifier's distribution, 1 otherwise).
    pub n_values: usize,
    /// `nodes.len() × n_values` values, node-major: the class distribution (scikit-learn
    /// classifiers, fractions), the mean target (regressors) or the margin (boosting, with
    /// the learning rate folded in).
    pub values: Vec<f64>,
    /// The compact walk of [`leaf_index_f64`](Tree::leaf_index_f64), built on first use.
    pub(crate) routes: Routes,
}

/// The largest `f32` that is not above `t`: for every `f32` `x`, `x <= t` (compared in f64)
/// equals `x <= f32_at_or_below(t)`.
pub fn f32_at_or_below(t: f64) -> f32 {
    let rounded = t as f32;
    if f64::from(rounded) > t {
        rounded.next_down()
    } else {
        rounded
    }
}

impl Split {
    /// Which way this split sends the `f32` value `value`: `(went_left, missing)`, where
    /// `missing` says the value was NaN (or, under [`MissingRule::ZeroDefault`], zero) and
    /// its rule chose the way. The comparison is with [`threshold`](Split::threshold).
    ///
    /// This and [`decide_f64`](Split::decide_f64) are the one place the libraries' split
    /// semantics live; tree walks and TreeSHAP both route through them.
    #[inline]
    pub fn decide(&self, value: f32) -> (bool, bool) {
        // Widening is exact and f32 comparisons equal the widened ones, so the f32 walk
        // decides exactly as it would in f32.
        self.decide_against(f64::from(value), f64::from(self.threshold))
    }

    /// Which way this split sends the `f64` value `value`, compared with
    /// [`threshold_f64`](Split::threshold_f64) as LightGBM compares a double: `(went_left,
    /// missing)` as in [`decide`](Split::decide). Trees whose library rounds rows to `f32`
    /// call [`decide`](Split::decide) on the rounded value instead
    /// ([`Tree::leaf_index_f64`]).
    #[inline]
    pub fn decide_f64(&self, value: f64) -> (bool, bool) {
        self.decide_against(value, self.threshold_f64)
    }

    /// The split's test of `value` against `threshold` (one of the split's two).
    #[inline]
    fn decide_against(&self, value: f64, threshold: f64) -> (bool, bool) {
        let split = self;
        let nan = value.is_nan();
        match split.test {
            SplitTest::InCategories | SplitTest::NotInCategories => {
                // XGBoost sends NaN the default way; otherwise NaN, negative values and
                // values past the largest category belong to no set (LightGBM: right of an
                // `InCategories` split; XGBoost: left of a `NotInCategories` split). Values
                // are truncated to integer categories, as both libraries cast them; LightGBM
                // truncates before its sign test (`static_cast<int>`), so a value in
                // (-1, 0) is category 0 there.
                if nan && split.missing == MissingRule::NanDefault {
                    return (split.default_left, true);
                }
                let not_negative = if split.missing == MissingRule::NanIsNoCategory {
                    value > -1.0
                } else {
                    value >= 0.0
                };
                let member = !nan
                    && not_negative
                    && value < 2_147_483_648.0
                    && split.categories.binary_search(&(value as u32)).is_ok();
                let left = if split.test == SplitTest::InCategories {
                    member
                } else {
                    !member
                };
                (left, nan)
            }
            SplitTest::LessOrEqual | SplitTest::Less => {
                let value = match split.missing {
                    MissingRule::Reject => value,
                    MissingRule::NanIsNoCategory => {
                        if nan {
                            return (false, true);
                        }
                        value
                    }
                    MissingRule::NanDefault => {
                        if nan {
                            return (split.default_left, true);
                        }
                        value
                    }
                    MissingRule::NanAsZero => {
                        if nan {
                            0.0
                        } else {
                            value
                        }
                    }
                    MissingRule::ZeroDefault => {
                        if nan || value.abs() <= LIGHTGBM_ZERO_THRESHOLD {
                            return (split.default_left, true);
                        }
                        value
                    }
                };
                let left = if split.test == SplitTest::Less {
                    value < threshold
                } else {
                    value <= threshold
                };
                (left, false)
            }
        }
    }

    /// Whether this split sends `value` left.
    #[inline]
    pub fn goes_left(&self, value: f32) -> bool {
        self.decide(value).0
    }
}

impl Tree {
    /// Checks the invariants prediction relies on; returns the field and what is wrong.
    ///
    /// Every child index is in range and larger than its parent's (so every walk ends),
    /// every feature index is below `n_features`, and there are `n_values` values per node.
    pub fn validate(&self, n_features: usize) -> Result<(), (String, String)> {
        if self.nodes.is_empty() {
            return Err(("nodes".into(), "the tree has no nodes".into()));
        }
        if self.n_values == 0
            || Some(self.values.len()) != self.nodes.len().checked_mul(self.n_values)
        {
            return Err((
                "values".into(),
                format!(
                    "{} values for {} nodes of {} values each",
                    self.values.len(),
                    self.nodes.len(),
                    self.n_values
                ),
            ));
        }
        for (index, node) in self.nodes.iter().enumerate() {
            let Some(split) = &node.split else { continue };
            if split.feature as usize >= n_features {
                return Err((
                    format!("node {index} feature"),
                    format!("feature {} but the model has {n_features}", split.feature),
                ));
            }
            for (side, child) in [("left", split.left), ("right", split.right)] {
                let child = child as usize;
                if child <= index || child >= self.nodes.len() {
                    return Err((
                        format!("node {index} {side} child"),
                        format!(
                            "child {child} is not after its parent and below {}",
                            self.nodes.len()
                        ),
                    ));
                }
            }
            if !matches!(
                split.test,
                SplitTest::InCategories | SplitTest::NotInCategories
            ) && (split.threshold.is_nan() || split.threshold_f64.is_nan())
            {
                return Err((format!("node {index} threshold"), "threshold is NaN".into()));
            }
        }
        Ok(())
    }

    /// The values of node `index` (empty if out of range).
    pub fn node_values(&self, index: usize) -> &[f64] {
        let start = index.saturating_mul(self.n_values);
        self.values
            .get(start..start.saturating_add(self.n_values))
            .unwrap_or(&[])
    }

    /// The first value of node `index` (0 if out of range).
    pub fn node_value(&self, index: usize) -> f64 {
        self.node_values(index).first().copied().unwrap_or(0.0)
    }

    /// The index (into [`nodes`](Tree::nodes)) of the leaf `row` reaches.
    ///
    /// `row` must have the model's feature count (a missing feature reads as NaN).
    #[inline]
    pub fn leaf_index(&self, row: &[f32]) -> usize {
        let steps = self.routes.steps(self);
        let mut index = 0usize;
        while let Some(step) = steps.get(index) {
            let value = row.get(step.feature as usize).copied().unwrap_or(f32::NAN);
            let left = match step.kind & steps::TEST {
                steps::LEAF => return index,
                steps::GENERIC => match self.nodes.get(index).and_then(|n| n.split.as_ref()) {
                    Some(split) => split.decide(value).0,
                    None => return index,
                },
                _ => step.decide_numeric(value).0,
            };
            index = if left { step.left } else { step.right } as usize;
        }
        index
    }

    /// The index (into [`nodes`](Tree::nodes)) of the leaf the `f64` row `row` reaches, read
    /// as the library reads it ([`input`](Tree::input)): rounded to `f32` and walked as
    /// [`leaf_index`](Tree::leaf_index) walks, or compared in `f64`.
    ///
    /// `row` must have the model's feature count (a missing feature reads as NaN).
    #[inline]
    pub fn leaf_index_f64(&self, row: &[f64]) -> usize {
        self.routes.leaf_index_f64(self, row)
    }

    /// [`leaf_index_f64`](Tree::leaf_index_f64) walked split by split through the nodes,
    /// without the compact copy: what the compact walk must equal.
    pub fn leaf_index_f64_by_splits(&self, row: &[f64]) -> usize {
        let mut index = 0usize;
        while let Some(Node {
            split: Some(split), ..
        }) = self.nodes.get(index)
        {
            let left = routes::decide(self.input, split, row);
            index = if left { split.left } else { split.right } as usize;
        }
        index
    }

    /// Builds the compact walks now instead of on first use, so that no prediction or
    /// explanation allocates, the first one included. Only once the tree is complete: the
    /// walks are copies of the nodes as they are now.
    pub(crate) fn prepare_walks(&self) {
        self.routes.prepare(self);
    }

    /// Walks `row` to its leaf, writing every split taken and the leaf into `path` (whose
    /// vectors are reused). Returns the leaf's index into [`nodes`](Tree::nodes).
    ///
    /// `leaf_prediction` is what the path reports as the leaf's output (class index,
    /// value or margin); classifiers also get the leaf's class distribution.
    pub fn walk_into(
        &self,
        row: &[f32],
        path: &mut TreePath,
        leaf_prediction: impl Fn(usize) -> f32,
        with_distribution: bool,
    ) -> usize {
        let leaf = self.walk_splits_into(row, path, None);
        self.leaf_into(leaf, leaf_prediction(leaf), with_distribution, path);
        leaf
    }

    /// Walks `row` to its leaf through the compact nodes, writing the splits taken and the
    /// impurity path into `path` (whose vectors are reused), and adding each split's gain
    /// into `importance` by feature when given (an ensemble's path importance, root first).
    /// Returns the leaf's index; the leaf itself is [`leaf_into`](Tree::leaf_into)'s.
    pub(crate) fn walk_splits_into(
        &self,
        row: &[f32],
        path: &mut TreePath,
        mut importance: Option<&mut [f32]>,
    ) -> usize {
        path.splits.clear();
        path.impurity_path.clear();
        let steps = self.routes.steps(self);
        let mut index = 0usize;
        let mut every_impurity = true;
        while let Some(step) = steps.get(index) {
            if step.has_impurity {
                path.impurity_path.push(step.impurity);
            } else {
                every_impurity = false;
            }
            let value = row.get(step.feature as usize).copied().unwrap_or(f32::NAN);
            let (left, missing, categories) = match step.kind & steps::TEST {
                steps::LEAF => break,
                steps::GENERIC => match self.nodes.get(index).and_then(|n| n.split.as_ref()) {
                    Some(split) => {
                        let (left, missing) = split.decide(value);
                        (left, missing, split.categories.clone())
                    }
                    None => break,
                },
                _ => {
                    let (left, missing) = step.decide_numeric(value);
                    (left, missing, Vec::new())
                }
            };
            path.splits.push(step.path_split(left, missing, categories));
            if let Some(slot) = importance
                .as_deref_mut()
                .and_then(|importance| importance.get_mut(step.feature as usize))
            {
                *slot += step.gain;
            }
            index = if left { step.left } else { step.right } as usize;
        }
        if !every_impurity {
            path.impurity_path.clear();
        }
        index
    }

    /// Writes the leaf `index` into `path`: its id and samples, `prediction` as its output,
    /// and, `with_distribution`, its values as fractions of their sum (a classifier's class
    /// distribution).
    pub(crate) fn leaf_into(
        &self,
        index: usize,
        prediction: f32,
        with_distribution: bool,
        path: &mut TreePath,
    ) {
        let leaf = self.nodes.get(index);
        let class_distribution = if with_distribution {
            let values = self.node_values(index);
            let mut distribution = path.leaf.class_distribution.take().unwrap_or_default();
            distribution.clear();
            let total: f64 = values.iter().sum();
            let total = if total == 0.0 { 1.0 } else { total };
            distribution.extend(values.iter().map(|v| (v / total) as f32));
            Some(distribution)
        } else {
            None
        };
        path.leaf = LeafInfo {
            node_index: leaf.map_or(0, |n| n.id),
            prediction,
            n_samples: leaf.map_or(0, |n| n.n_samples),
            class_distribution,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_at_or_below_decides_every_f32_like_the_f64_threshold() {
        for t in [0.1f64, -0.1, 2.5, 1e-40, 3.4e38, 1e300, -1e300, 0.0] {
            let t32 = f32_at_or_below(t);
            assert!(f64::from(t32) <= t);
            let above = t32.next_up();
            assert!(f64::from(above) > t, "{t}: {t32} is not the largest");
        }
    }
}
