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
    GradientBoosting, Link, MissingRule, Model, ModelFormat, ModelKind, Node, Prediction, Split,
    Task, Tree,
};

use crate::attribution::{Attribution, ExplainedOutput, OutputSpace};
use crate::error::{ExplainError, Result};
use crate::quadrature;
use crate::settings::{MethodSettings, TreeShapSettings};

mod interventional;
mod sweep;
use sweep::{SweepScratch, SweepTree};

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
        // Only LightGBM counts samples; every other format (scikit-learn's export, XGBoost,
        // and importers without trees) carries covers.
        if format == ModelFormat::LightgbmText {
            CoverSource::SampleCount
        } else {
            CoverSource::Cover
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
    /// Per node: its parent's node index (`u32::MAX` for the root) and whether it is the
    /// left child; per node its internal index (`u32::MAX` for leaves); per leaf its node.
    node_parent: Vec<u32>,
    node_is_left: Vec<bool>,
    node_internal: Vec<u32>,
    leaf_node: Vec<u32>,
    /// The two-sweep form, when the tree allows it.
    sweep: Option<SweepTree>,
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
    table: PowerTable,
    algorithm: TreeShapAlgorithm,
}

/// How [`TreeShap`] computes a row; both give the same values (to rounding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TreeShapAlgorithm {
    /// Two sweeps over the nodes sharing work between leaves (`O(nodes × q)` per tree);
    /// trees it cannot take exactly (a zero cover product, more than 16 distinct features
    /// on a path) use [`LeafTable`](TreeShapAlgorithm::LeafTable). The default.
    #[default]
    Sweep,
    /// One Gauss–Legendre evaluation per leaf (`O(leaves × d × q)`).
    LeafTable,
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
            table: PowerTable::new(max_entries),
            algorithm: TreeShapAlgorithm::default(),
        })
    }

    /// The same explainer with another algorithm (for cross-checks and benchmarks).
    pub fn with_algorithm(mut self, algorithm: TreeShapAlgorithm) -> TreeShap<'a> {
        self.algorithm = algorithm;
        self
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
        let row_has_nan = row.iter().any(|v| v.is_nan());
        for tree in &self.trees {
            tree.accumulate(
                row,
                row_has_nan,
                self.n_features,
                values,
                scratch,
                &self.table,
                self.algorithm,
            );
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
        let index = self.output_index(output, &prediction)?;
        let f = self.output_value(index, &prediction);
        let start = index * self.n_features;
        let values = flat
            .get(start..start + self.n_features)
            .unwrap_or(&[])
            .to_vec();
        let names = &self.model.info().names;
        Ok(Attribution::new(
            MethodSettings::TreeShap(TreeShapSettings {
                output: Some(index),
                interventional: false,
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

impl TreeShap<'_> {
    /// The explained output: `None` is the predicted class of a classifier, else 0.
    fn output_index(&self, output: Option<usize>, prediction: &Prediction) -> Result<usize> {
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
        Ok(index)
    }

    /// The model's own output `index` in this explainer's space.
    fn output_value(&self, index: usize, prediction: &Prediction) -> f64 {
        match self.space {
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
        }
    }
}

/// Buffers reused between rows.
#[derive(Clone, Debug, Default)]
pub struct TreeShapScratch {
    went_left: Vec<bool>,
    hot: Vec<bool>,
    p: Vec<f64>,
    unsatisfied: Vec<u64>,
    sweep: SweepScratch,
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
        node_parent: vec![u32::MAX; tree.nodes.len()],
        node_is_left: vec![false; tree.nodes.len()],
        node_internal: internal_of.clone(),
        leaf_node: Vec::new(),
        sweep: None,
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
                    if let Some(parent) = compiled.node_parent.get_mut(child as usize) {
                        *parent = index as u32;
                    }
                    if let Some(is_left) = compiled.node_is_left.get_mut(child as usize) {
                        *is_left = left;
                    }
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
            None => {
                compiled.leaf_node.push(index as u32);
                compiled.push_leaf(&path, &leaf_value(tree, index));
            }
        }
    }
    let max_entries = compiled
        .entry_start
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as usize)
        .max()
        .unwrap_or(0);
    let mut leaf_of = vec![u32::MAX; tree.nodes.len()];
    for (leaf, &node) in compiled.leaf_node.iter().enumerate() {
        if let Some(slot) = leaf_of.get_mut(node as usize) {
            *slot = leaf as u32;
        }
    }
    compiled.sweep = SweepTree::compile(
        tree,
        covers,
        &internal_of,
        &leaf_of,
        &compiled.leaf_values,
        compiled.width,
        max_entries.div_ceil(2).max(1),
    );
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

    #[allow(clippy::too_many_arguments)]
    fn accumulate(
        &self,
        row: &[f32],
        row_has_nan: bool,
        n_features: usize,
        phi: &mut [f64],
        scratch: &mut TreeShapScratch,
        table: &PowerTable,
        algorithm: TreeShapAlgorithm,
    ) {
        let TreeShapScratch {
            went_left,
            hot: hot_buffer,
            p,
            unsatisfied,
            sweep,
        } = scratch;
        if let (TreeShapAlgorithm::Sweep, Some(tree)) = (algorithm, &self.sweep) {
            tree.accumulate(
                row,
                row_has_nan,
                &self.splits,
                self.offset,
                n_features,
                phi,
                sweep,
            );
            return;
        }
        went_left.clear();
        went_left.extend(self.splits.iter().map(|split| {
            let value = row.get(split.feature as usize).copied().unwrap_or(f32::NAN);
            goes_left(split, value)
        }));
        // With at most 64 features, one top-down pass gives every node the set of features
        // whose splits the row fails on the way to it (children come after parents).
        let bitset = n_features <= 64;
        if bitset {
            unsatisfied.clear();
            unsatisfied.resize(self.node_parent.len(), 0);
            for node in 1..self.node_parent.len() {
                let parent = self.node_parent.get(node).copied().unwrap_or(u32::MAX) as usize;
                let internal = self.node_internal.get(parent).copied().unwrap_or(u32::MAX) as usize;
                let (Some(split), Some(&left), Some(&is_left), Some(&above)) = (
                    self.splits.get(internal),
                    went_left.get(internal),
                    self.node_is_left.get(node),
                    unsatisfied.get(parent),
                ) else {
                    continue;
                };
                let failed = u64::from(left != is_left) << (split.feature & 63);
                if let Some(slot) = unsatisfied.get_mut(node) {
                    *slot = above | failed;
                }
            }
        }
        for leaf in 0..self.n_leaves() {
            let (e0, e1) = self.entries(leaf);
            let d = e1 - e0;
            if d == 0 {
                continue;
            }
            let Some(hot) = hot_buffer.get_mut(..d) else {
                continue;
            };
            let features = self.entry_feature.get(e0..e1).unwrap_or(&[]);
            if bitset {
                let node = self.leaf_node.get(leaf).copied().unwrap_or(0) as usize;
                let failed = unsatisfied.get(node).copied().unwrap_or(0);
                for (h, &feature) in hot.iter_mut().zip(features) {
                    *h = failed >> (feature & 63) & 1 == 0;
                }
            } else {
                hot.fill(true);
            }
            let s0 = self.step_start.get(leaf).copied().unwrap_or(0) as usize;
            let s1 = self.step_start.get(leaf + 1).copied().unwrap_or(0) as usize;
            for s in (s0..s1).filter(|_| !bitset) {
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
            let leaf_data = Leaf {
                zeros: self.entry_zero.get(e0..e1).unwrap_or(&[]),
                features,
                hot,
                values: self
                    .leaf_values
                    .get(leaf * self.width..(leaf + 1) * self.width)
                    .unwrap_or(&[]),
                offset: self.offset,
                n_features,
            };
            match d.div_ceil(2) {
                1 => leaf_data.add::<1>(table, phi),
                2 => leaf_data.add::<2>(table, phi),
                3 => leaf_data.add::<3>(table, phi),
                4 => leaf_data.add::<4>(table, phi),
                5 => leaf_data.add::<5>(table, phi),
                6 => leaf_data.add::<6>(table, phi),
                7 => leaf_data.add::<7>(table, phi),
                8 => leaf_data.add::<8>(table, phi),
                q => leaf_data.add_dynamic(q, table, phi, p),
            }
        }
    }
}

/// Gauss–Legendre rules for every point count a model needs, with the weights multiplied
/// by every power of `1 − t` a leaf can need: `w_k (1 − t_k)^c` for `c` cold features.
#[derive(Clone, Debug, Default)]
struct PowerTable {
    /// `rules[q]`: nodes of the q-point rule.
    nodes: Vec<Vec<f64>>,
    /// `weights[q][c × q + k] = w_k (1 − t_k)^c`.
    weights: Vec<Vec<f64>>,
}

impl PowerTable {
    fn new(max_entries: usize) -> PowerTable {
        let max_q = max_entries.div_ceil(2);
        let mut table = PowerTable::default();
        for q in 0..=max_q {
            let rule = quadrature::rule(q);
            let mut weights = Vec::with_capacity((max_entries + 1) * q);
            for c in 0..=max_entries {
                for (t, w) in rule.nodes.iter().zip(&rule.weights) {
                    weights.push(w * (1.0 - t).powi(c as i32));
                }
            }
            table.nodes.push(rule.nodes.clone());
            table.weights.push(weights);
        }
        table
    }

    /// Nodes of the q-point rule and its weights times `(1 − t)^c`.
    #[inline]
    fn get(&self, q: usize, c: usize) -> (&[f64], &[f64]) {
        let nodes = self.nodes.get(q).map_or(&[][..], Vec::as_slice);
        let weights = self
            .weights
            .get(q)
            .and_then(|w| w.get(c * q..(c + 1) * q))
            .unwrap_or(&[]);
        (nodes, weights)
    }
}

/// One leaf's path state for one row.
struct Leaf<'a> {
    zeros: &'a [f64],
    features: &'a [u32],
    hot: &'a [bool],
    values: &'a [f64],
    offset: usize,
    n_features: usize,
}

impl Leaf<'_> {
    /// Adds `coefficient × v` to feature `feature`'s value of every output of the leaf.
    #[inline]
    fn credit(&self, phi: &mut [f64], feature: u32, coefficient: f64) {
        for (k, &v) in self.values.iter().enumerate() {
            if let Some(slot) = phi.get_mut((self.offset + k) * self.n_features + feature as usize)
            {
                *slot += coefficient * v;
            }
        }
    }

    /// The leaf's Shapley values with a Q-point rule (`d ≤ 2Q` distinct features).
    ///
    /// With `H` the features whose splits the row satisfies, `C` the others, `g_j(t) =
    /// t + (1 − t) z_j` and `h(t) = Π_{j∈H} g_j(t)`:
    /// `φ_i = v (1 − z_i) Π_C z ∫ h(t)/g_i(t) (1 − t)^|C| dt` for `i ∈ H` and
    /// `φ_i = −v Π_C z ∫ h(t) (1 − t)^(|C|−1) dt` for `i ∈ C`.
    #[inline]
    fn add<const Q: usize>(&self, table: &PowerTable, phi: &mut [f64]) {
        let mut h = [1.0f64; Q];
        let mut cold_product = 1.0;
        let mut n_cold = 0usize;
        let (nodes, _) = table.get(Q, 0);
        let Ok(t) = <&[f64; Q]>::try_from(nodes) else {
            return;
        };
        for (&hot, &z) in self.hot.iter().zip(self.zeros) {
            // Selects rather than branches: the pattern changes from leaf to leaf.
            let zh = if hot { z } else { 1.0 };
            for k in 0..Q {
                h[k] *= t[k] + (1.0 - t[k]) * zh;
            }
            cold_product *= if hot { 1.0 } else { z };
            n_cold += usize::from(!hot);
        }
        let (_, hot_weights) = table.get(Q, n_cold);
        let Ok(hot_weights) = <&[f64; Q]>::try_from(hot_weights) else {
            return;
        };
        let mut a = [0.0f64; Q];
        for k in 0..Q {
            a[k] = cold_product * hot_weights[k] * h[k];
        }
        let cold_coefficient = if n_cold > 0 {
            let (_, cold_weights) = table.get(Q, n_cold - 1);
            let mut integral = 0.0;
            for (w, hk) in cold_weights.iter().zip(&h) {
                integral += w * hk;
            }
            -cold_product * integral
        } else {
            0.0
        };
        for ((&hot, &z), &feature) in self.hot.iter().zip(self.zeros).zip(self.features) {
            let coefficient = if hot {
                let mut integral = 0.0;
                for k in 0..Q {
                    integral += a[k] / (t[k] + (1.0 - t[k]) * z);
                }
                (1.0 - z) * integral
            } else {
                cold_coefficient
            };
            self.credit(phi, feature, coefficient);
        }
    }

    /// [`add`](Leaf::add) for long paths, with a heap buffer.
    fn add_dynamic(&self, q: usize, table: &PowerTable, phi: &mut [f64], h: &mut Vec<f64>) {
        let (t, _) = table.get(q, 0);
        h.clear();
        h.resize(q, 1.0);
        let mut cold_product = 1.0;
        let mut n_cold = 0usize;
        for (&hot, &z) in self.hot.iter().zip(self.zeros) {
            if hot {
                for (hk, tk) in h.iter_mut().zip(t) {
                    *hk *= tk + (1.0 - tk) * z;
                }
            } else {
                cold_product *= z;
                n_cold += 1;
            }
        }
        let (_, hot_weights) = table.get(q, n_cold);
        let cold_coefficient = if n_cold > 0 {
            let (_, cold_weights) = table.get(q, n_cold - 1);
            -cold_product
                * cold_weights
                    .iter()
                    .zip(h.iter())
                    .map(|(w, hk)| w * hk)
                    .sum::<f64>()
        } else {
            0.0
        };
        for ((&hot, &z), &feature) in self.hot.iter().zip(self.zeros).zip(self.features) {
            let coefficient = if hot {
                let mut integral = 0.0;
                for ((w, hk), tk) in hot_weights.iter().zip(h.iter()).zip(t) {
                    integral += cold_product * w * hk / (tk + (1.0 - tk) * z);
                }
                (1.0 - z) * integral
            } else {
                cold_coefficient
            };
            self.credit(phi, feature, coefficient);
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
