//! The per-row TreeSHAP pass that shares work between leaves: two sweeps over the internal
//! nodes instead of one walk per leaf, `O(nodes × q)` instead of `O(leaves × d × q)` (the
//! idea of Linear TreeShap, Yu et al. 2022, on the Gauss–Legendre form of the leaf formula).
//!
//! With `h_e(t) = o t + (1 − t) z` the factor of edge `e` (its feature's aggregated
//! satisfaction `o` and cover product `z` along the path), a leaf's polynomial is
//! `F_l(t) = Π_{edges above l} h_e(t)` (a repeated feature replaces its earlier factor)
//! and feature `i`'s share of the leaf is `v_l (o_i − z_i) ∫ F_l / h_i`. Summed over the
//! leaves under an edge, that is `(o − z) ∫ A_c / h_e` with `A_c = Σ_{l under c} v_l F_l`.
//! A feature split again further down takes over the leaves below the deeper split: that
//! edge adds its own term and subtracts the earlier edge's term for its leaves, with the
//! same quadrature values, so the earlier (non-polynomial) part cancels exactly.
//!
//! The nodes are renumbered in level order (consecutive nodes of a sweep do not depend on
//! each other), and every internal node handles both of its child edges at once: they
//! share the parent's polynomial, the feature and the earlier edge on that feature (the
//! root stands for "no earlier edge": satisfied, factor 1, credit 0). Of the two children
//! the row follows at most one (the *hot* child, satisfied when the earlier edge is); the
//! other is cold, with factor `(1 − t) z` and credit factor `−w/(1 − t)`. The sweeps:
//!
//! 1. top-down (parents first): `P(t_k) = F` at every node, and whether its edge is
//!    satisfied, by multiplying the parent's `P` with `1/h` of the earlier edge (stored
//!    for both of its states: no division per row) and the child's own `h`;
//! 2. bottom-up, per output: `A(t_k)` at every internal node (a leaf's is `v P`), and the
//!    credit of both child edges less the earlier edge's share of them. With `c` an edge's
//!    credit factor (`w_k (1 − z)/h_k` satisfied, `cold_k = −w_k/(1 − t_k)` not) and `g =
//!    c_satisfied − cold` (stored), that is `Σ_k A_hot g_hot − A g_earlier` when the earlier
//!    edge is satisfied, and nothing when it is not (then both children are cold too, and
//!    their credit cancels the earlier edge's exactly).
//!
//! With one output, a node whose children are both leaves is finished in the top-down
//! sweep. Choices on the row's directions are multiplications by 0 or 1 (exact on finite
//! values) or index choices, not branches.
//!
//! The row's directions come from one comparison per split (`x <= threshold` in `f32`, as
//! the libraries compare) when every split of the tree is a plain numeric test and the row
//! has no missing value, else from the library's full missing-value rule.

use std::collections::VecDeque;

use whyline_core::SplitTest;
use whyline_models::{MissingRule, Split, Tree};

use super::{CoverSource, RowInput};

mod one_output;
mod several_outputs;

use one_output::one_output_products;
use several_outputs::several_outputs_products;

/// The root's number: also "no earlier split on this feature".
const ROOT: u32 = 0;

/// One internal node, with what both of its child edges need.
#[derive(Clone, Copy, Debug)]
struct Inner {
    /// This node's number (level order) and its children's.
    node: u32,
    left: u32,
    right: u32,
    /// The node whose incoming edge is the previous split on `feature` above, or [`ROOT`].
    previous: u32,
    feature: u32,
    /// Both children are leaves: the top-down sweep finishes the node.
    twig: bool,
    /// Whether each child is a leaf (its `A` is its value times its `P`).
    left_leaf: bool,
    right_leaf: bool,
}

/// An edge while compiling: the parent's number, the cover fraction, whether it is the
/// right child.
type Edge = (u32, f64, bool);

/// How a row is routed without the full missing-value rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PlainTest {
    /// `x <= threshold` at every split.
    LessOrEqual,
    /// `x < threshold` at every split.
    Less,
}

/// A tree compiled for the sweep, nodes in level order.
#[derive(Clone, Debug)]
pub(super) struct SweepTree {
    /// Internal nodes in level order.
    inner: Vec<Inner>,
    /// Per internal node: its index in the compiled tree's `splits`, and its threshold.
    split_index: Vec<u32>,
    threshold: Vec<f32>,
    /// Set when every split routes a present value by one comparison.
    plain: Option<PlainTest>,
    /// Nodes in the tree.
    n_nodes: usize,
    /// `5q` values per node, the record of its incoming edge: its factor `(1 − t_k) z`
    /// (unsatisfied) and `t_k + (1 − t_k) z` (satisfied), times the leaf's value for a leaf
    /// of a one-output tree; `g_k = w_k (1 − z)/(t_k + (1 − t_k) z) + w_k/(1 − t_k)`, its
    /// credit factor when satisfied minus when not; and the reciprocals of the factors
    /// (without the value). The child records a top-down step reads come first. The
    /// root's stand for "no earlier edge": reciprocal factors 1, and `g = w/(1 − t)`.
    records: Vec<f64>,
    /// `width` values per node: the leaf's value for each output (1 for internal nodes, so
    /// that `value × X` is a node's `A` in the bottom-up sweep, see [`SweepScratch`]).
    values: Vec<f64>,
    width: usize,
    /// Every leaf's values sum to the same total (a classifier's class distributions): the
    /// last output's SHAP values are minus the sum of the others' (those of a tree whose
    /// every leaf holds the same value are 0), so the bottom-up sweep computes one output
    /// fewer.
    complement: bool,
    /// Points of the Gauss–Legendre rule.
    q: usize,
    /// Per internal node (in `inner`'s order), the products the sweeps multiply by, folded
    /// once here instead of per row: `6q` values with one output (see
    /// [`one_output_products`]), `10q` with several (see [`several_outputs_products`]).
    products: Vec<f64>,
}

/// Buffers of the sweep, reused between rows.
#[derive(Clone, Debug, Default)]
pub(super) struct SweepScratch {
    went_left: Vec<bool>,
    satisfied: Vec<bool>,
    /// `q` values per node: `P` after the top-down sweep; the bottom-up sweep overwrites
    /// internal nodes with their `A` (a leaf's `A` is its value times its `P`).
    x: Vec<f64>,
    /// With several outputs: `q` values per internal node and output, its `A`.
    acc: Vec<f64>,
    /// With several outputs: the bottom-up sweep's credits of one tree, `q` per output
    /// and feature, summed over the points once per tree instead of once per node.
    credits: Vec<f64>,
}

impl SweepTree {
    /// Compiles `tree` for a `q`-point rule; `None` when the sweep cannot run it exactly
    /// (a zero cover product, which the stored reciprocals cannot take, or `q > 8`): the
    /// caller falls back to the per-leaf pass. `internal_of` maps a tree node to its index
    /// in the compiled `splits`, `leaf_of` to its compiled leaf, whose `width` values are in
    /// `leaf_values`.
    pub(super) fn compile(
        tree: &Tree,
        covers: CoverSource,
        internal_of: &[u32],
        leaf_of: &[u32],
        leaf_values: &[f64],
        width: usize,
        q: usize,
    ) -> Option<SweepTree> {
        if q == 0 || q > 8 || width == 0 || tree.nodes.is_empty() {
            return None;
        }
        let rule = crate::quadrature::rule(q);
        let mut sweep = SweepTree {
            inner: Vec::new(),
            split_index: Vec::new(),
            threshold: Vec::new(),
            plain: None,
            n_nodes: 0,
            records: Vec::new(),
            values: Vec::new(),
            width,
            complement: false,
            q,
            products: Vec::new(),
        };
        let mut tests = Vec::new();
        // Per node: the cover product `z` of its edge's feature down to here (1 at the root).
        let mut zeros: Vec<f64> = Vec::new();
        // Per node: its parent and the feature of its incoming edge.
        let mut parent: Vec<u32> = Vec::new();
        let mut edge_feature: Vec<u32> = Vec::new();
        // Per node: its index in `inner` (`usize::MAX` for leaves).
        let mut inner_of: Vec<usize> = Vec::new();
        // (tree node, (parent's number, cover fraction, is a right child)), level order.
        let mut queue: VecDeque<(usize, Option<Edge>)> = VecDeque::from([(0, None)]);
        while let Some((index, from)) = queue.pop_front() {
            let node = tree.nodes.get(index)?;
            let id = zeros.len() as u32;
            if id as usize >= tree.nodes.len() {
                return None;
            }
            let zero = match from {
                None => 1.0,
                Some((p, fraction, is_right)) => {
                    let p_inner = sweep.inner.get_mut(*inner_of.get(p as usize)?)?;
                    if is_right {
                        p_inner.right = id;
                    } else {
                        p_inner.left = id;
                    }
                    // The parent's earlier split on its feature, if any, carries the
                    // feature's cover product so far.
                    let above = if p_inner.previous == ROOT {
                        1.0
                    } else {
                        zeros.get(p_inner.previous as usize).copied()?
                    };
                    fraction * above
                }
            };
            if !(zero.is_finite() && zero > 0.0) {
                return None;
            }
            zeros.push(zero);
            let (p, feature) = match from {
                Some((p, _, _)) => {
                    let p_inner = sweep.inner.get(*inner_of.get(p as usize)?)?;
                    (p, p_inner.feature)
                }
                None => (ROOT, u32::MAX),
            };
            parent.push(p);
            edge_feature.push(feature);
            match &node.split {
                Some(split) => {
                    push_record(&mut sweep.records, &rule, id, zero, 1.0);
                    sweep.values.extend(std::iter::repeat_n(1.0, width));
                    // The previous split on this feature: walk up the edges from this node.
                    let mut e = id;
                    let mut previous = ROOT;
                    while e != ROOT {
                        if edge_feature.get(e as usize).copied()? == split.feature {
                            previous = e;
                            break;
                        }
                        e = parent.get(e as usize).copied()?;
                    }
                    inner_of.push(sweep.inner.len());
                    sweep.inner.push(Inner {
                        node: id,
                        left: ROOT,
                        right: ROOT,
                        previous,
                        feature: split.feature,
                        twig: false,
                        left_leaf: false,
                        right_leaf: false,
                    });
                    sweep.split_index.push(internal_of.get(index).copied()?);
                    sweep.threshold.push(split.threshold);
                    tests.push(plain_test(split));
                    let cover = covers.of(node);
                    let fraction = |child: u32| {
                        tree.nodes
                            .get(child as usize)
                            .map_or(0.0, |c| covers.of(c) / cover)
                    };
                    queue.push_back((split.left as usize, Some((id, fraction(split.left), false))));
                    queue.push_back((
                        split.right as usize,
                        Some((id, fraction(split.right), true)),
                    ));
                }
                None => {
                    inner_of.push(usize::MAX);
                    let leaf = leaf_of.get(index).copied()? as usize;
                    let values = leaf_values.get(leaf * width..(leaf + 1) * width)?;
                    // One output: the leaf's value goes into its factors, so its `P` is its
                    // `A`.
                    let scale = match values {
                        [value] => *value,
                        _ => 1.0,
                    };
                    push_record(&mut sweep.records, &rule, id, zero, scale);
                    sweep.values.extend_from_slice(values);
                }
            }
        }
        sweep.n_nodes = zeros.len();
        let is_leaf = |node: u32| inner_of.get(node as usize) == Some(&usize::MAX);
        for inner in &mut sweep.inner {
            inner.left_leaf = is_leaf(inner.left);
            inner.right_leaf = is_leaf(inner.right);
            inner.twig = inner.left_leaf && inner.right_leaf;
        }
        sweep.complement = width > 1 && leaves_share_a_total(&sweep.values, &inner_of, width);
        sweep.products = if width == 1 {
            one_output_products(&sweep.inner, &sweep.records, q)
        } else {
            several_outputs_products(&sweep.inner, &sweep.records, q)
        };
        sweep.plain = tests
            .first()
            .copied()
            .flatten()
            .filter(|first| tests.iter().all(|t| *t == Some(*first)));
        Some(sweep)
    }
}

impl SweepTree {
    /// A node's `width` values (a leaf's outputs; 1 for an internal node).
    #[inline(always)]
    fn node_values(&self, node: u32) -> &[f64] {
        let start = node as usize * self.width;
        self.values.get(start..start + self.width).unwrap_or(&[])
    }

    /// The outputs the bottom-up sweep computes, and where the last output's values start
    /// in `phi` when it is minus the sum of the others ([`SweepTree::complement`]).
    fn computed_outputs(&self, n_features: usize) -> (usize, Option<usize>) {
        match self.complement {
            true => (self.width - 1, Some((self.width - 1) * n_features)),
            false => (self.width, None),
        }
    }
}

/// Whether every leaf's `width` values sum to the same nonzero total, to rounding (relative
/// 1e-12): then the outputs' SHAP values sum to 0 in every tree.
fn leaves_share_a_total(values: &[f64], inner_of: &[usize], width: usize) -> bool {
    let mut totals = values
        .chunks_exact(width)
        .zip(inner_of)
        .filter(|(_, inner)| **inner == usize::MAX)
        .map(|(leaf, _)| leaf.iter().sum::<f64>());
    let Some(first) = totals.next() else {
        return false;
    };
    first.is_finite()
        && first != 0.0
        && totals.all(|total| (total - first).abs() <= 1e-12 * first.abs())
}

/// Appends a node's record (see [`SweepTree::records`]).
fn push_record(
    records: &mut Vec<f64>,
    rule: &crate::quadrature::Rule,
    id: u32,
    zero: f64,
    scale: f64,
) {
    let (t, w) = (&rule.nodes, &rule.weights);
    if id == ROOT {
        records.extend(t.iter().map(|_| 1.0));
        records.extend(t.iter().map(|_| 1.0));
        records.extend(t.iter().zip(w).map(|(&t, &w)| w / (1.0 - t)));
        records.extend(t.iter().map(|_| 1.0));
        records.extend(t.iter().map(|_| 1.0));
        return;
    }
    records.extend(t.iter().map(|&t| scale * ((1.0 - t) * zero)));
    records.extend(t.iter().map(|&t| scale * (t + (1.0 - t) * zero)));
    records.extend(
        t.iter()
            .zip(w)
            .map(|(&t, &w)| w * (1.0 - zero) / (t + (1.0 - t) * zero) + w / (1.0 - t)),
    );
    records.extend(t.iter().map(|&t| 1.0 / ((1.0 - t) * zero)));
    records.extend(t.iter().map(|&t| 1.0 / (t + (1.0 - t) * zero)));
}

/// The single comparison a split makes on a present (non-NaN, finite) value, if it does.
fn plain_test(split: &Split) -> Option<PlainTest> {
    let plain_missing = matches!(
        split.missing,
        MissingRule::Reject
            | MissingRule::NanIsNoCategory
            | MissingRule::NanDefault
            | MissingRule::NanAsZero
    );
    match split.test {
        SplitTest::LessOrEqual if plain_missing => Some(PlainTest::LessOrEqual),
        SplitTest::Less if plain_missing => Some(PlainTest::Less),
        _ => None,
    }
}

impl SweepTree {
    /// Adds this tree's SHAP values to `phi` (`[output][feature]`, this tree's outputs
    /// from `offset`). `splits` are the compiled tree's splits, for the full routing rule.
    pub(super) fn accumulate(
        &self,
        input: RowInput<'_>,
        splits: &[Split],
        offset: usize,
        phi: &mut [f64],
        scratch: &mut SweepScratch,
    ) {
        let n_features = input.n_features;
        self.route(input.values, input.has_nan, splits, &mut scratch.went_left);
        let run = Run {
            tree: self,
            offset,
            n_features,
        };
        match self.q {
            1 => run.go::<1>(phi, scratch),
            2 => run.go::<2>(phi, scratch),
            3 => run.go::<3>(phi, scratch),
            4 => run.go::<4>(phi, scratch),
            5 => run.go::<5>(phi, scratch),
            6 => run.go::<6>(phi, scratch),
            7 => run.go::<7>(phi, scratch),
            8 => run.go::<8>(phi, scratch),
            _ => {}
        }
    }

    /// Per internal node (level order): does the row go left.
    fn route(&self, row: &[f32], row_has_nan: bool, splits: &[Split], out: &mut Vec<bool>) {
        out.clear();
        let value = |feature: u32| row.get(feature as usize).copied().unwrap_or(f32::NAN);
        match self.plain {
            Some(PlainTest::LessOrEqual) if !row_has_nan => out.extend(
                self.inner
                    .iter()
                    .zip(&self.threshold)
                    .map(|(inner, &threshold)| value(inner.feature) <= threshold),
            ),
            Some(PlainTest::Less) if !row_has_nan => out.extend(
                self.inner
                    .iter()
                    .zip(&self.threshold)
                    .map(|(inner, &threshold)| value(inner.feature) < threshold),
            ),
            _ => out.extend(self.inner.iter().zip(&self.split_index).map(|(inner, &s)| {
                splits
                    .get(s as usize)
                    .is_some_and(|split| split.goes_left(value(inner.feature)))
            })),
        }
    }
}

struct Run<'a> {
    tree: &'a SweepTree,
    offset: usize,
    n_features: usize,
}

/// The five `[f64; Q]` of a node's record (see [`SweepTree::records`]): the factors
/// (unsatisfied, satisfied), `g`, the reciprocal factors (unsatisfied, satisfied).
type Record<const Q: usize> = [[f64; Q]; 5];

/// Node `node`'s record (zeros for a node out of range, which compiling rules out).
#[inline(always)]
fn record<const Q: usize>(records: &[[f64; Q]], node: u32) -> &Record<Q> {
    let start = node as usize * 5;
    records
        .get(start..start + 5)
        .and_then(|r| <&Record<Q>>::try_from(r).ok())
        .unwrap_or(const { &[[0.0; Q]; 5] })
}

/// The `at`-th `[f64; Q]` of a node's folded products, or zeros.
#[inline(always)]
fn product<const Q: usize>(table: &[[f64; Q]], at: usize) -> [f64; Q] {
    table.get(at).copied().unwrap_or([0.0; Q])
}

/// Hands `P` down to an internal node's children: the hot child's edge is satisfied when
/// the earlier edge on the feature is (`sat`), the cold child's never is.
#[inline(always)]
fn hand_down<const Q: usize>(
    x: &mut [[f64; Q]],
    satisfied: &mut [bool],
    (hot, p_hot): (u32, [f64; Q]),
    (cold, p_cold): (u32, [f64; Q]),
    sat: bool,
) {
    if let Some(slot) = x.get_mut(hot as usize) {
        *slot = p_hot;
    }
    if let Some(slot) = x.get_mut(cold as usize) {
        *slot = p_cold;
    }
    if let Some(slot) = satisfied.get_mut(hot as usize) {
        *slot = sat;
    }
    if let Some(slot) = satisfied.get_mut(cold as usize) {
        *slot = false;
    }
}

/// `[f64; Q]` at `index` of `chunks`, or zeros.
#[inline(always)]
fn load<const Q: usize>(chunks: &[[f64; Q]], index: u32) -> [f64; Q] {
    chunks.get(index as usize).copied().unwrap_or([0.0; Q])
}

impl Run<'_> {
    fn go<const Q: usize>(&self, phi: &mut [f64], scratch: &mut SweepScratch) {
        let tree = self.tree;
        let n = tree.n_nodes;
        let width = tree.width;
        let SweepScratch {
            went_left,
            satisfied,
            x,
            acc,
            credits,
        } = scratch;
        // Every slot read is written first in this tree (the root's explicitly), so the
        // buffers only grow.
        if satisfied.len() < n {
            satisfied.resize(n, true);
        }
        if x.len() < n * Q {
            x.resize(n * Q, 1.0);
        }
        let (x, _) = x.as_chunks_mut::<Q>();
        let (records, _) = tree.records.as_chunks::<Q>();
        if let (Some(s0), Some(x0)) = (satisfied.get_mut(0), x.get_mut(0)) {
            *s0 = true;
            *x0 = [1.0; Q];
        }
        let record = |node: u32| record(records, node);
        let flag = |b: bool| f64::from(u8::from(b));
        // With one output, a node over two leaves is finished in the top-down sweep (the
        // leaves' values are in their factors).
        let fuse = width == 1;
        let n_features = self.n_features;
        let Some(phi) = phi.get_mut(self.offset * n_features..(self.offset + width) * n_features)
        else {
            return;
        };
        if !fuse {
            // Nodes over two leaves are finished in the top-down sweep too (while their
            // leaves' values are in cache), each output's `A` kept in `acc`.
            if acc.len() < n * width * Q {
                acc.resize(n * width * Q, 0.0);
            }
            let (acc, _) = acc.as_chunks_mut::<Q>();
            let (computed, last) = tree.computed_outputs(n_features);
            let slots = computed * n_features;
            if credits.len() < slots * Q {
                credits.resize(slots * Q, 0.0);
            }
            let (credits, _) = credits.as_chunks_mut::<Q>();
            let Some(credits) = credits.get_mut(..slots) else {
                return;
            };
            credits.fill([0.0; Q]);
            // Two computed outputs (a three-class forest, its third the complement) and one
            // (two classes) get sweeps with the count fixed; any other count the general.
            match computed {
                1 => {
                    self.several_outputs_down::<Q, 1>(phi, went_left, satisfied, x, acc);
                    self.several_outputs::<Q, 1>(went_left, satisfied, x, acc, credits);
                }
                2 => {
                    self.several_outputs_down::<Q, 2>(phi, went_left, satisfied, x, acc);
                    self.several_outputs::<Q, 2>(went_left, satisfied, x, acc, credits);
                }
                _ => {
                    self.several_outputs_down::<Q, 0>(phi, went_left, satisfied, x, acc);
                    self.several_outputs::<Q, 0>(went_left, satisfied, x, acc, credits);
                }
            }
            for feature in 0..n_features {
                let mut total = 0.0;
                for out in 0..computed {
                    let credit: f64 = credits
                        .get(out * n_features + feature)
                        .map_or(0.0, |c| c.iter().sum());
                    if let Some(slot) = phi.get_mut(out * n_features + feature) {
                        *slot += credit;
                    }
                    total += credit;
                }
                if let Some(slot) = last.and_then(|last| phi.get_mut(last + feature)) {
                    *slot -= total;
                }
            }
            return;
        }
        self.one_output_down::<Q>(phi, went_left, satisfied, x);
        // Bottom-up: with `A` of both children, their credit less the earlier edge's share,
        // `Σ_k A_hot g_hot − A g_earlier` if the earlier edge is satisfied, else nothing.
        // The leaves' `P` are their `A`; nodes over two leaves are done.
        for (inner, &go_left) in tree.inner.iter().zip(went_left.iter()).rev() {
            let Inner {
                node,
                left,
                right,
                previous,
                feature,
                twig,
                ..
            } = *inner;
            if twig {
                continue;
            }
            let hot = if go_left { left } else { right };
            let sat = satisfied.get(previous as usize).copied().unwrap_or(false);
            let (xl, xr, xh) = (load(x, left), load(x, right), load(x, hot));
            let (g_hot, g_earlier) = (&record(hot)[2], &record(previous)[2]);
            let mut sum = [0.0; Q];
            let mut credit = 0.0;
            for k in 0..Q {
                sum[k] = xl[k] + xr[k];
                credit += xh[k] * g_hot[k] - sum[k] * g_earlier[k];
            }
            if let Some(slot) = x.get_mut(node as usize) {
                *slot = sum;
            }
            if let Some(slot) = phi.get_mut(feature as usize) {
                *slot += flag(sat) * credit;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use whyline_models::Model;

    use crate::tree_shap::TreeShap;

    /// The sweep takes every tree of the fixture models (so the tests comparing both
    /// algorithms with shap do test it), with the one-comparison routing for the
    /// scikit-learn and XGBoost splits.
    #[test]
    fn every_fixture_tree_compiles_for_the_sweep() {
        let dir =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../whyline-models/tests/fixtures");
        for (file, plain) in [
            ("sk_rf_reg_diabetes.whyline.json", true),
            ("sk_rf_clf_wine.whyline.json", true),
            ("sk_gb_clf_breast_cancer.whyline.json", true),
            ("xgb_binary_logistic_breast_cancer_missing.xgb.json", true),
            ("xgb_multi_softprob_iris.xgb.json", true),
            ("lgb_binary_breast_cancer.lgb.txt", false),
            ("lgb_binary_categorical.lgb.txt", false),
        ] {
            let model = Model::load(dir.join(file)).unwrap();
            let explainer = TreeShap::new(&model).unwrap();
            for tree in &explainer.trees {
                let sweep = tree
                    .sweep
                    .as_ref()
                    .unwrap_or_else(|| panic!("{file}: no sweep"));
                if plain {
                    assert!(sweep.plain.is_some(), "{file}: not plain");
                }
                // A classifier forest's leaves hold class distributions: its last class
                // is computed as minus the others (the shap comparisons check it).
                let classifier_forest = file.starts_with("sk_rf_clf");
                assert_eq!(sweep.complement, classifier_forest, "{file}: complement");
                // The products are folded, six per point per node with one output, ten
                // with several.
                let per_node = if sweep.width == 1 { 6 } else { 10 };
                let folded = sweep.inner.len() * per_node * sweep.q;
                assert_eq!(sweep.products.len(), folded, "{file}: products");
            }
        }
    }
}
