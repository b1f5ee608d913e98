//! Path-dependent TreeSHAP, exact, for decision trees, random forests and gradient-boosted
//! trees from every importer.
//!
//! # The game
//!
//! The value of a coalition `S` is the tree's conditional expectation as TreeSHAP defines
//! it: at a split on a feature in `S` follow the row, otherwise descend both ways weighted
//! by the children's covers. For one leaf `l` reached through the distinct features `U`
//! (`d = |U|`), let `z_j` be the product of the cover fractions of the splits on `j` along
//! the path and `o_j ∈ {0, 1}` whether the row satisfies all of them; the leaf's part of
//! the game is `v_l Π_{j∈S} o_j Π_{j∈U∖S} z_j`. Its Shapley values are, by the Beta
//! integral of the Shapley weights,
//!
//! ```text
//! φ_i = v_l (o_i − z_i) ∫₀¹ Π_{j∈U∖{i}} (o_j t + (1 − t) z_j) dt
//! ```
//!
//! a polynomial of degree `d − 1` that `⌈d/2⌉`-point Gauss–Legendre integrates exactly.
//! This is the same quantity as Lundberg's Algorithm 2, computed leaf by leaf in
//! `O(d · ⌈d/2⌉)` per leaf instead of `O(d²)`, with the row-independent parts (each leaf's
//! distinct features and their `z_j`) compiled once per model.
//!
//! # Covers, as `shap.TreeExplainer` (and the libraries it defers to) uses them
//!
//! | importer | cover |
//! |---|---|
//! | scikit-learn (whyline JSON) | `weighted_n_node_samples` ([`Node::cover`]) |
//! | XGBoost | `sum_hess` ([`Node::cover`]), as XGBoost's `pred_contribs` |
//! | LightGBM | `internal_count` / `leaf_count` ([`Node::n_samples`]), as LightGBM's `pred_contrib` |
//!
//! The row's own routing, missing values included, follows each library's rule
//! ([`MissingRule`]), so a NaN takes the default branch as in prediction.

use whyline_core::SplitTest;
use whyline_models::{
    GradientBoosting, Link, MissingRule, Model, ModelFormat, ModelKind, Node, Split, Task, Tree,
};

use crate::attribution::{Attribution, ExplainedOutput, OutputSpace};
use crate::error::{ExplainError, Result};
use crate::quadrature;
use crate::settings::{MethodSettings, TreeShapSettings};

/// LightGBM treats `|x| <= 1e-35` as zero (`kZeroThreshold`).
const LIGHTGBM_ZERO_THRESHOLD: f64 = 1e-35;

/// Which node weight splits the expectation at a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoverSource {
    /// [`Node::cover`]: weighted sample counts (scikit-learn) or hessian sums (XGBoost).
    Cover,
    /// [`Node::n_samples`]: training counts (LightGBM).
    SampleCount,
}

impl CoverSource {
    /// The cover each importer's TreeSHAP uses.
    pub fn for_format(format: ModelFormat) -> CoverSource {
        match format {
            ModelFormat::LightgbmText => CoverSource::SampleCount,
            ModelFormat::WhylineJson | ModelFormat::XgboostJson => CoverSource::Cover,
        }
    }

    fn of(self, node: &Node) -> f64 {
        match self {
            CoverSource::Cover => node.cover,
            CoverSource::SampleCount => node.n_samples as f64,
        }
    }
}

/// One tree compiled for TreeSHAP: its splits, and per leaf the distinct features of its
/// path with their cover products and the steps that decide whether the row follows it.
#[derive(Clone, Debug)]
struct CompiledTree {
    /// Split of each internal node, by internal index.
    splits: Vec<Split>,
    /// Leaf `l`'s distinct features are `entry_*[entry_start[l]..entry_start[l + 1]]`.
    entry_start: Vec<u32>,
    entry_feature: Vec<u32>,
    entry_zero: Vec<f64>,
    /// Leaf `l`'s steps are `step_*[step_start[l]..step_start[l + 1]]`.
    step_start: Vec<u32>,
    step_internal: Vec<u32>,
    step_left: Vec<bool>,
    step_entry: Vec<u32>,
    /// `width` values per leaf, for outputs `offset..offset + width`.
    leaf_values: Vec<f64>,
    width: usize,
    offset: usize,
}

/// Exact path-dependent TreeSHAP for one tree model, compiled once and reused per row.
///
/// Values of a classifier tree or forest explain class probabilities (the mean of the
/// trees' normalised leaf distributions, as scikit-learn's `predict_proba` and shap); those
/// of a boosted ensemble explain each group's margin (log-odds for a binary classifier).
#[derive(Clone, Debug)]
pub struct TreeShap<'a> {
    model: &'a Model,
    trees: Vec<CompiledTree>,
    n_features: usize,
    n_outputs: usize,
    base_values: Vec<f64>,
    space: OutputSpace,
    allows_missing: bool,
    max_entries: usize,
}

impl<'a> TreeShap<'a> {
    /// Compiles a tree model (decision tree, random forest, gradient boosting), with the
    /// cover its importer's TreeSHAP uses.
    pub fn new(model: &'a Model) -> Result<TreeShap<'a>> {
        let covers = CoverSource::for_format(model.format());
        let (trees, n_features, n_outputs, base, space, allows_missing) = match model.kind() {
            ModelKind::DecisionTree(m) => {
                let (width, space) = forest_outputs(m.task);
                let tree = compile(&m.tree, 0, covers, |t, leaf| {
                    forest_leaf(t, leaf, m.task, 1.0)
                })?;
                (
                    vec![tree],
                    m.n_features,
                    width,
                    vec![0.0; width],
                    space,
                    false,
                )
            }
            ModelKind::RandomForest(m) => {
                let (width, space) = forest_outputs(m.task);
                let scale = 1.0 / m.trees.len().max(1) as f64;
                let trees = m
                    .trees
                    .iter()
                    .enumerate()
                    .map(|(i, tree)| {
                        compile(tree, i, covers, |t, leaf| {
                            forest_leaf(t, leaf, m.task, scale)
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                (
                    trees,
                    m.n_features,
                    width,
                    vec![0.0; width],
                    space,
                    m.allows_missing,
                )
            }
            ModelKind::GradientBoosting(m) => {
                let trees = compile_boosting(m, covers)?;
                let space = match m.link {
                    Link::Identity => OutputSpace::Value,
                    _ => OutputSpace::Margin,
                };
                (
                    trees,
                    m.n_features,
                    m.n_groups(),
                    m.base_score.clone(),
                    space,
                    m.allows_missing,
                )
            }
            other => {
                return Err(ExplainError::MethodDoesNotFit {
                    method: "tree-shap",
                    model: crate::model_output::kind_name(other),
                    hint: "use kernel-shap, or linear-shap for a linear model",
                });
            }
        };
        let mut base_values = base;
        for tree in &trees {
            tree.add_expected_value(&mut base_values);
        }
        let max_entries = trees
            .iter()
            .flat_map(|t| t.entry_start.windows(2).map(|w| (w[1] - w[0]) as usize))
            .max()
            .unwrap_or(0);
        Ok(TreeShap {
            model,
            trees,
            n_features,
            n_outputs,
            base_values,
            space,
            allows_missing,
            max_entries,
        })
    }

    /// Outputs explained: classes (trees and forests classifiers, in probability space),
    /// boosting groups (margins), or 1.
    pub fn n_outputs(&self) -> usize {
        self.n_outputs
    }

    /// The expected output under the covers, one per output (shap's `expected_value`).
    pub fn base_values(&self) -> &[f64] {
        &self.base_values
    }

    /// The space the values add up in.
    pub fn space(&self) -> OutputSpace {
        self.space
    }

    fn check_row(&self, row: &[f32]) -> Result<()> {
        if row.len() != self.n_features {
            return Err(ExplainError::InputWidth {
                expected: self.n_features,
                found: row.len(),
            });
        }
        if let Some((feature_index, &value)) = row
            .iter()
            .enumerate()
            .find(|(_, v)| v.is_infinite() || (v.is_nan() && !self.allows_missing))
        {
            return Err(ExplainError::InvalidInput {
                feature_index,
                value,
            });
        }
        Ok(())
    }

    /// SHAP values of every output: `values[output × n_features + feature]`, written into
    /// `values` (resized), with `scratch` reused between calls.
    pub fn shap_values_into(
        &self,
        row: &[f32],
        values: &mut Vec<f64>,
        scratch: &mut TreeShapScratch,
    ) -> Result<()> {
        self.check_row(row)?;
        values.clear();
        values.resize(self.n_features * self.n_outputs, 0.0);
        scratch.hot.resize(self.max_entries, false);
        let points = self.max_entries.div_ceil(2);
        scratch.p.resize(points, 0.0);
        scratch.cold_power.resize(points, 0.0);
        for tree in &self.trees {
            tree.accumulate(row, self.n_features, values, scratch);
        }
        Ok(())
    }

    /// SHAP values of every output, `[output][feature]`.
    pub fn shap_values(&self, row: &[f32]) -> Result<Vec<Vec<f64>>> {
        let mut flat = Vec::new();
        self.shap_values_into(row, &mut flat, &mut TreeShapScratch::default())?;
        Ok(flat
            .chunks(self.n_features.max(1))
            .map(<[f64]>::to_vec)
            .collect())
    }

    /// Explains one output (`None`: the predicted class of a classifier, else output 0),
    /// with the model's own prediction as the sum-check.
    pub fn explain(&self, row: &[f32], output: Option<usize>) -> Result<Attribution> {
        let prediction = self.model.predict(row)?;
        let mut flat = Vec::new();
        self.shap_values_into(row, &mut flat, &mut TreeShapScratch::default())?;
        let index = match output {
            Some(index) => index,
            None if self.space == OutputSpace::Probability || self.n_outputs > 1 => {
                prediction.value as usize
            }
            None => 0,
        };
        if index >= self.n_outputs {
            return Err(ExplainError::OutputOutOfRange {
                output: index,
                n_outputs: self.n_outputs,
            });
        }
        let f = match self.space {
            OutputSpace::Probability => prediction
                .probabilities
                .as_ref()
                .and_then(|p| p.get(index).copied())
                .unwrap_or(f64::NAN),
            OutputSpace::Margin | OutputSpace::Value => match self.model.kind() {
                ModelKind::GradientBoosting(_) => {
                    prediction.raw.get(index).copied().unwrap_or(f64::NAN)
                }
                _ => prediction.value,
            },
        };
        let start = index * self.n_features;
        let values = flat
            .get(start..start + self.n_features)
            .unwrap_or(&[])
            .to_vec();
        let names = &self.model.info().names;
        Ok(Attribution::new(
            MethodSettings::TreeShap(TreeShapSettings {
                output: Some(index),
            }),
            ExplainedOutput {
                index,
                name: crate::model_output::class_name(names, index, self.space),
                space: self.space,
            },
            names.features.clone(),
            row,
            values,
            self.base_values.get(index).copied().unwrap_or(0.0),
            f,
        ))
    }
}

/// Buffers reused between rows.
#[derive(Clone, Debug, Default)]
pub struct TreeShapScratch {
    went_left: Vec<bool>,
    hot: Vec<bool>,
    p: Vec<f64>,
    cold_power: Vec<f64>,
}

fn forest_outputs(task: Task) -> (usize, OutputSpace) {
    match task {
        Task::Classification { n_classes } => (n_classes, OutputSpace::Probability),
        Task::Regression => (1, OutputSpace::Value),
    }
}

/// A forest leaf's contribution per output: the normalised class distribution, or the value.
fn forest_leaf(tree: &Tree, leaf: usize, task: Task, scale: f64) -> Vec<f64> {
    match task {
        Task::Classification { .. } => {
            let values = tree.node_values(leaf);
            let total: f64 = values.iter().sum();
            let total = if total == 0.0 { 1.0 } else { total };
            values.iter().map(|v| v / total * scale).collect()
        }
        Task::Regression => vec![tree.node_value(leaf) * scale],
    }
}

fn compile_boosting(m: &GradientBoosting, covers: CoverSource) -> Result<Vec<CompiledTree>> {
    m.trees
        .iter()
        .zip(&m.tree_groups)
        .enumerate()
        .map(|(i, (tree, &group))| {
            compile(tree, i, covers, |t, leaf| vec![t.node_value(leaf)])
                .map(|c| c.with_offset(group as usize))
        })
        .collect()
}

/// One step of a root-to-leaf path during compilation.
struct Step {
    internal: u32,
    left: bool,
    feature: u32,
    fraction: f64,
}

fn compile(
    tree: &Tree,
    tree_index: usize,
    covers: CoverSource,
    leaf_value: impl Fn(&Tree, usize) -> Vec<f64>,
) -> Result<CompiledTree> {
    let mut internal_of = vec![u32::MAX; tree.nodes.len()];
    let mut splits = Vec::new();
    for (index, node) in tree.nodes.iter().enumerate() {
        if let (Some(split), Some(slot)) = (&node.split, internal_of.get_mut(index)) {
            *slot = splits.len() as u32;
            splits.push(split.clone());
        }
    }
    let mut compiled = CompiledTree {
        splits,
        entry_start: vec![0],
        entry_feature: Vec::new(),
        entry_zero: Vec::new(),
        step_start: vec![0],
        step_internal: Vec::new(),
        step_left: Vec::new(),
        step_entry: Vec::new(),
        leaf_values: Vec::new(),
        width: 0,
        offset: 0,
    };
    // Depth-first, left before right; `path` holds the steps to the current node.
    let mut path: Vec<Step> = Vec::new();
    // (node, depth of its path, step that leads to it)
    let mut stack: Vec<(usize, usize, Option<Step>)> = vec![(0, 0, None)];
    while let Some((index, depth, step)) = stack.pop() {
        path.truncate(depth);
        if let Some(step) = step {
            path.push(step);
        }
        let Some(node) = tree.nodes.get(index) else {
            continue;
        };
        match &node.split {
            Some(split) => {
                let cover = covers.of(node);
                if !(cover.is_finite() && cover > 0.0) {
                    return Err(ExplainError::BadCover {
                        tree: tree_index,
                        node: index,
                        cover,
                    });
                }
                let internal = internal_of.get(index).copied().unwrap_or(u32::MAX);
                let child_cover =
                    |child: u32| tree.nodes.get(child as usize).map_or(0.0, |c| covers.of(c));
                for (child, left) in [(split.right, false), (split.left, true)] {
                    stack.push((
                        child as usize,
                        path.len(),
                        Some(Step {
                            internal,
                            left,
                            feature: split.feature,
                            fraction: child_cover(child) / cover,
                        }),
                    ));
                }
            }
            None => compiled.push_leaf(&path, &leaf_value(tree, index)),
        }
    }
    Ok(compiled)
}

impl CompiledTree {
    fn with_offset(mut self, offset: usize) -> CompiledTree {
        self.offset = offset;
        self
    }

    fn push_leaf(&mut self, path: &[Step], values: &[f64]) {
        let first_entry = self.entry_feature.len();
        for step in path {
            let local = self.entry_feature[first_entry..]
                .iter()
                .position(|&f| f == step.feature);
            let entry = match local {
                Some(e) => {
                    if let Some(z) = self.entry_zero.get_mut(first_entry + e) {
                        *z *= step.fraction;
                    }
                    e
                }
                None => {
                    self.entry_feature.push(step.feature);
                    self.entry_zero.push(step.fraction);
                    self.entry_feature.len() - 1 - first_entry
                }
            };
            self.step_internal.push(step.internal);
            self.step_left.push(step.left);
            self.step_entry.push(entry as u32);
        }
        self.entry_start.push(self.entry_feature.len() as u32);
        self.step_start.push(self.step_internal.len() as u32);
        self.width = values.len();
        self.leaf_values.extend_from_slice(values);
    }

    fn n_leaves(&self) -> usize {
        self.entry_start.len() - 1
    }

    /// Adds `Σ_leaves v_l Π z` (the tree's expectation under its covers) to `base`.
    fn add_expected_value(&self, base: &mut [f64]) {
        for leaf in 0..self.n_leaves() {
            let (e0, e1) = self.entries(leaf);
            let weight: f64 = self.entry_zero.get(e0..e1).unwrap_or(&[]).iter().product();
            for k in 0..self.width {
                let v = self
                    .leaf_values
                    .get(leaf * self.width + k)
                    .copied()
                    .unwrap_or(0.0);
                if let Some(b) = base.get_mut(self.offset + k) {
                    *b += v * weight;
                }
            }
        }
    }

    fn entries(&self, leaf: usize) -> (usize, usize) {
        let start = self.entry_start.get(leaf).copied().unwrap_or(0) as usize;
        let end = self.entry_start.get(leaf + 1).copied().unwrap_or(0) as usize;
        (start, end.max(start))
    }

    fn accumulate(
        &self,
        row: &[f32],
        n_features: usize,
        phi: &mut [f64],
        scratch: &mut TreeShapScratch,
    ) {
        let TreeShapScratch {
            went_left,
            hot: hot_buffer,
            p,
            cold_power,
        } = scratch;
        went_left.clear();
        went_left.extend(self.splits.iter().map(|split| {
            let value = row.get(split.feature as usize).copied().unwrap_or(f32::NAN);
            goes_left(split, value)
        }));
        for leaf in 0..self.n_leaves() {
            let (e0, e1) = self.entries(leaf);
            let d = e1 - e0;
            if d == 0 {
                continue;
            }
            let Some(hot) = hot_buffer.get_mut(..d) else {
                continue;
            };
            hot.fill(true);
            let s0 = self.step_start.get(leaf).copied().unwrap_or(0) as usize;
            let s1 = self.step_start.get(leaf + 1).copied().unwrap_or(0) as usize;
            for s in s0..s1 {
                let internal = self.step_internal.get(s).copied().unwrap_or(0) as usize;
                let left = self.step_left.get(s).copied().unwrap_or(false);
                if went_left.get(internal).copied() != Some(left)
                    && let Some(h) = self
                        .step_entry
                        .get(s)
                        .and_then(|&e| hot.get_mut(e as usize))
                {
                    *h = false;
                }
            }
            let rule = quadrature::rule(d.div_ceil(2));
            let q = rule.nodes.len().min(p.len()).min(cold_power.len());
            let nodes = &rule.nodes[..q];
            let weights = &rule.weights[..q];
            let zeros = &self.entry_zero[e0..e1];
            p[..q].fill(1.0);
            let mut cold_product = 1.0;
            let mut n_cold = 0i32;
            for (&h, &z) in hot.iter().zip(zeros) {
                if h {
                    for (pk, &t) in p[..q].iter_mut().zip(nodes) {
                        *pk *= t + (1.0 - t) * z;
                    }
                } else {
                    cold_product *= z;
                    n_cold += 1;
                }
            }
            // cold_power[k] = w_k (1 − t_k)^(n_cold − 1) P(t_k): the integrand of every
            // cold feature; (1 − t_k) × that is the hot features' before dividing by g_i.
            let mut cold_integral = 0.0;
            for k in 0..q {
                let one_minus = 1.0 - nodes[k];
                let c = if n_cold > 0 {
                    weights[k] * one_minus.powi(n_cold - 1) * p[k]
                } else {
                    0.0
                };
                cold_power[k] = if n_cold > 0 {
                    c * one_minus
                } else {
                    weights[k] * p[k]
                };
                cold_integral += c;
            }
            let values = self
                .leaf_values
                .get(leaf * self.width..(leaf + 1) * self.width)
                .unwrap_or(&[]);
            for ((&h, &z), &feature) in hot.iter().zip(zeros).zip(&self.entry_feature[e0..e1]) {
                let coefficient = if h {
                    let mut integral = 0.0;
                    for k in 0..q {
                        integral += cold_power[k] / (nodes[k] + (1.0 - nodes[k]) * z);
                    }
                    (1.0 - z) * cold_product * integral
                } else {
                    -cold_product * cold_integral
                };
                for (k, &v) in values.iter().enumerate() {
                    if let Some(slot) =
                        phi.get_mut((self.offset + k) * n_features + feature as usize)
                    {
                        *slot += coefficient * v;
                    }
                }
            }
        }
    }
}

/// Which way a split sends `value`, missing values by the library's rule: the same
/// decision as `whyline_models::Tree::leaf_index` makes (mirrored here because that crate
/// keeps it private; the shap fixtures with NaN, zero-as-missing and categorical rows pin
/// both).
#[inline]
pub(crate) fn goes_left(split: &Split, value: f32) -> bool {
    let nan = value.is_nan();
    match split.test {
        SplitTest::InCategories | SplitTest::NotInCategories => {
            if nan && split.missing == MissingRule::NanDefault {
                return split.default_left;
            }
            let member = !nan
                && (0.0..2_147_483_648.0).contains(&value)
                && split.categories.binary_search(&(value as u32)).is_ok();
            if split.test == SplitTest::InCategories {
                member
            } else {
                !member
            }
        }
        SplitTest::LessOrEqual | SplitTest::Less => {
            let value = match split.missing {
                MissingRule::Reject => value,
                MissingRule::NanIsNoCategory => {
                    if nan {
                        return false;
                    }
                    value
                }
                MissingRule::NanDefault => {
                    if nan {
                        return split.default_left;
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
                    if nan || f64::from(value).abs() <= LIGHTGBM_ZERO_THRESHOLD {
                        return split.default_left;
                    }
                    value
                }
            };
            if split.test == SplitTest::Less {
                value < split.threshold
            } else {
                value <= split.threshold
            }
        }
    }
}
