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
//! The row's own routing, missing values included, is the models' own
//! ([`Split::goes_left`]), so a NaN takes the default branch as in prediction.

use whyline_models::{Link, Model, ModelFormat, ModelKind, Node, Prediction, Split, Task, Tree};

use crate::attribution::{Attribution, OutputSpace};
use crate::error::{ExplainError, Result};
use crate::model_output::predict_f32;
use crate::settings::{MethodSettings, TreeShapSettings};

mod compile;
mod interventional;
mod leaf_table;
mod sweep;
use compile::{compile, compile_boosting};
use leaf_table::PowerTable;
use sweep::{SweepScratch, SweepTree};

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

/// Rows [`TreeShap::shap_values_rows_into`] takes through each tree before the next tree:
/// enough that a compiled tree's reads are shared, few enough that the block's values (and
/// each row's sweep buffers) stay in the core's caches.
pub const ROWS_PER_BLOCK: usize = 32;

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
    ///
    /// A model with a preprocessing stage is refused
    /// ([`ExplainError::MethodDoesNotFit`]): explain it with
    /// [`Explainer`](crate::Explainer), or compile `model.estimator()` and give it
    /// transformed rows.
    pub fn new(model: &'a Model) -> Result<TreeShap<'a>> {
        crate::model_output::refuse_stage(model, "tree-shap")?;
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
        let input = RowInput {
            values: row,
            has_nan: row.iter().any(|v| v.is_nan()),
            n_features: self.n_features,
        };
        for tree in &self.trees {
            tree.accumulate(input, values, scratch, &self.table, self.algorithm);
        }
        Ok(())
    }

    /// SHAP values of many rows at once (`rows` row-major, `n_features` values per row):
    /// `values[row × n_outputs × n_features + output × n_features + feature]`, written into
    /// `values` (resized). Every row is checked before any is computed; the first bad row's
    /// error names its feature, and [`ExplainError::InputWidth`] a length that is not whole
    /// rows.
    ///
    /// The values are bit for bit those of [`TreeShap::shap_values_into`] row by row (each
    /// row still adds the trees in order), but the loops run trees outside and rows inside,
    /// over blocks of [`ROWS_PER_BLOCK`] rows: a compiled tree (tens of KB for a depth-8
    /// tree) is read from memory once per block instead of once per row, which is what a
    /// forest of a hundred such trees is bound by.
    pub fn shap_values_rows_into(
        &self,
        rows: &[f32],
        values: &mut Vec<f64>,
        scratch: &mut TreeShapScratch,
    ) -> Result<()> {
        let width = self.n_features;
        let per_row = width * self.n_outputs;
        if width == 0 || !rows.len().is_multiple_of(width) {
            return Err(ExplainError::InputWidth {
                expected: width,
                found: rows.len() % width.max(1),
            });
        }
        for row in rows.chunks_exact(width) {
            self.check_row(row)?;
        }
        values.clear();
        values.resize(rows.len() / width * per_row, 0.0);
        scratch.hot.resize(self.max_entries, false);
        for (block, phis) in rows
            .chunks(width * ROWS_PER_BLOCK)
            .zip(values.chunks_mut(per_row * ROWS_PER_BLOCK))
        {
            // Whether each row of the block has a missing value: once, not once per tree.
            let mut has_nan = [false; ROWS_PER_BLOCK];
            for (flag, row) in has_nan.iter_mut().zip(block.chunks_exact(width)) {
                *flag = row.iter().any(|v| v.is_nan());
            }
            for tree in &self.trees {
                for ((row, phi), &has_nan) in block
                    .chunks_exact(width)
                    .zip(phis.chunks_exact_mut(per_row))
                    .zip(&has_nan)
                {
                    let input = RowInput {
                        values: row,
                        has_nan,
                        n_features: width,
                    };
                    tree.accumulate(input, phi, scratch, &self.table, self.algorithm);
                }
            }
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
        let mut flat = Vec::new();
        self.shap_values_into(row, &mut flat, &mut TreeShapScratch::default())?;
        self.attribution(row, output, &flat, &self.base_values, false)
    }

    /// Explains one output of every row of `rows` (row-major), one result per row in order,
    /// as [`TreeShap::explain`] row by row gives them, bit for bit: blocks of rows go
    /// through [`TreeShap::shap_values_rows_into`], and a block holding a bad row (or a
    /// trailing partial row) row by row, so that only the bad row gets its error.
    pub fn explain_rows(&self, rows: &[f32], output: Option<usize>) -> Vec<Result<Attribution>> {
        let width = self.n_features.max(1);
        let per_row = (self.n_features * self.n_outputs).max(1);
        let mut results = Vec::with_capacity(rows.len().div_ceil(width));
        let mut values = Vec::new();
        let mut scratch = TreeShapScratch::default();
        for block in rows.chunks(width * ROWS_PER_BLOCK) {
            if self
                .shap_values_rows_into(block, &mut values, &mut scratch)
                .is_ok()
            {
                for (row, flat) in block.chunks(width).zip(values.chunks(per_row)) {
                    results.push(self.attribution(row, output, flat, &self.base_values, false));
                }
                continue;
            }
            for row in block.chunks(width) {
                results.push(
                    self.shap_values_into(row, &mut values, &mut scratch)
                        .and_then(|()| {
                            self.attribution(row, output, &values, &self.base_values, false)
                        }),
                );
            }
        }
        results
    }

    /// The attribution of one output from every output's values (`[output × n_features +
    /// feature]`) and base values, with the model's own prediction as the sum-check.
    fn attribution(
        &self,
        row: &[f32],
        output: Option<usize>,
        flat: &[f64],
        base_values: &[f64],
        interventional: bool,
    ) -> Result<Attribution> {
        let prediction = predict_f32(self.model, row)?;
        let index = self.output_index(output, &prediction)?;
        let start = index * self.n_features;
        Ok(Attribution::new(
            MethodSettings::TreeShap(TreeShapSettings {
                output: Some(index),
                interventional,
            }),
            self.model,
            (index, self.space),
            row,
            flat.get(start..start + self.n_features)
                .unwrap_or(&[])
                .to_vec(),
            base_values.get(index).copied().unwrap_or(0.0),
            self.output_value(index, &prediction),
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
            return Err(ExplainError::output_out_of_range(index, self.n_outputs));
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

/// The row a pass explains: its values, whether any is missing, the model's width.
#[derive(Clone, Copy, Debug)]
struct RowInput<'r> {
    values: &'r [f32],
    has_nan: bool,
    n_features: usize,
}

impl CompiledTree {
    /// Adds this tree's SHAP values of `input` to `phi`, by `algorithm` (the sweep where
    /// the tree has its form).
    fn accumulate(
        &self,
        input: RowInput<'_>,
        phi: &mut [f64],
        scratch: &mut TreeShapScratch,
        table: &PowerTable,
        algorithm: TreeShapAlgorithm,
    ) {
        if let (TreeShapAlgorithm::Sweep, Some(tree)) = (algorithm, &self.sweep) {
            tree.accumulate(input, &self.splits, self.offset, phi, &mut scratch.sweep);
            return;
        }
        self.accumulate_leaves(input.values, input.n_features, phi, scratch, table);
    }
}
