//! Exact counterfactuals of small tree ensembles (random forest and gradient-boosted
//! classifiers): branch and bound over combinations of leaves, one per tree.
//!
//! The ensemble's decision is constant on every non-empty intersection of leaf boxes (one
//! leaf per tree), so the optimum is the row clamped into the cheapest such intersection
//! whose decision differs from the row's. Boxes are inclusive `f32` intervals built as the
//! models compare: under a `x <= t` split (scikit-learn, LightGBM) the left box ends at `t`
//! and the right one starts at `t.next_up()`, under `x < t` (XGBoost) the left box ends at
//! `t.next_down()` — so the returned point lies strictly on the other side of every
//! threshold it crosses, by the smallest `f32` step.
//!
//! The search takes the trees in model order. At each step it
//! - prunes when the cost of clamping the row into the current box (a lower bound, since the
//!   box only shrinks) is no better than the best counterfactual found;
//! - prunes when no choice of reachable leaves in the remaining trees can change the
//!   decision (an upper bound per competing class of the score the trees can add);
//! - tries the next tree's reachable leaves cheapest first.
//!
//! A full combination is checked by re-predicting the clamped row with the model itself, so
//! the library's own summation (f32 for XGBoost) and tie rules decide. The work is
//! exponential in the number of trees in the worst case: every tree node walked (enumerating
//! a tree's leaves in a box, or bounding the remaining trees) and every box visited counts
//! against `max_exact_nodes`, and exceeding it is [`ExplainError::TooLarge`]. On the
//! committed fixtures a search walks 1,000–230,000 nodes (about 15 ns each on the bench
//! machine), so the default budget of 1,000,000 stops a hopeless search within ~20 ms. Rows with a missing
//! (NaN) value keep it: the search follows the missing value's direction at every split on
//! that feature. Categorical and zero-as-missing splits are not boxes:
//! [`ExplainError::MethodDoesNotFit`].

use whyline_core::SplitTest;
use whyline_models::{GradientBoosting, Link, MissingRule, Model, RandomForest, Task, Tree};

use super::{Cost, Problem};
use crate::error::{ExplainError, Impossible, Result};
use crate::model_output::predict_f32;

/// The method name in errors.
const METHOD: &str = "counterfactual over forest leaf regions";

/// What the search needs of the ensemble: its trees and, per tree and leaf, the score each
/// competing class gains over the row's class.
pub(super) struct Ensemble<'a> {
    trees: Vec<&'a Tree>,
    /// Competing scores: classes (random forests, softmax boosting) or one margin (binary
    /// boosting, oriented so that the decision flips when it is positive).
    k: usize,
    /// The row's class among the `k` scores (`None` for an oriented margin).
    excluded: Option<usize>,
    /// `gain[t][leaf * k + c]`: what tree `t`'s `leaf` adds to class `c`'s lead over the
    /// row's class.
    gains: Vec<Vec<f64>>,
    /// The leads before any tree (boosting's base scores).
    base: Vec<f64>,
    /// Slack of the pruning bound against rounding (the model decides in the end).
    tolerance: f64,
}

/// Finds the cheapest flip of a random forest or boosted classifier within `budget` tree
/// nodes walked; see the module docs.
pub(super) fn solve(
    problem: Problem<'_>,
    trees: Ensemble<'_>,
    budget: usize,
) -> Result<(Vec<f32>, f64)> {
    let Problem {
        model,
        row,
        original,
        bounds,
        weights,
        cost,
    } = problem;
    let region: Vec<(f32, f32)> = bounds
        .iter()
        .zip(row)
        .map(|(&(low, high), &x)| {
            if x.is_nan() {
                (f32::NAN, f32::NAN)
            } else {
                (low as f32, high as f32)
            }
        })
        .collect();
    let mut search = Search {
        model,
        ensemble: &trees,
        row,
        original,
        weights,
        l2: cost == Cost::L2,
        budget,
        work: 0,
        best: None,
    };
    let leads = trees.base.clone();
    search.visit(0, region, leads)?;
    match search.best {
        Some((value, candidate)) => {
            let value = if cost == Cost::L2 {
                value.sqrt()
            } else {
                value
            };
            Ok((candidate, value))
        }
        None => Err(ExplainError::ImpossibleCounterfactual {
            reason: Impossible::NoRegion,
        }),
    }
}

/// The ensemble of a random forest classifier: the per-tree class distributions (each
/// normalised, as scikit-learn averages them), leads over the row's class.
pub(super) fn random_forest(model: &RandomForest, original: usize) -> Result<Ensemble<'_>> {
    let Task::Classification { n_classes } = model.task else {
        return Err(regressor("random forest"));
    };
    check_splits(&model.trees)?;
    let gains = model
        .trees
        .iter()
        .map(|tree| {
            let mut gains = vec![0.0; tree.nodes.len() * n_classes];
            for (node, slot) in gains.chunks_exact_mut(n_classes).enumerate() {
                let values = tree.node_values(node);
                let total: f64 = values.iter().sum();
                let total = if total == 0.0 { 1.0 } else { total };
                let own = values.get(original).copied().unwrap_or(0.0) / total;
                for (g, v) in slot.iter_mut().zip(values) {
                    *g = v / total - own;
                }
            }
            gains
        })
        .collect();
    let n = model.trees.len();
    Ok(Ensemble {
        trees: model.trees.iter().collect(),
        k: n_classes,
        excluded: Some(original),
        gains,
        base: vec![0.0; n_classes],
        tolerance: 1e-9 * (n as f64 + 1.0),
    })
}

/// The ensemble of a gradient-boosted classifier: binary (the sign of the margin decides,
/// class 1 at a margin of exactly 0) or softmax (the largest group margin).
pub(super) fn boosting(model: &GradientBoosting, original: usize) -> Result<Ensemble<'_>> {
    if !matches!(model.task, Task::Classification { .. }) {
        return Err(regressor("gradient boosting"));
    }
    check_splits(&model.trees)?;
    let (k, excluded, base) = match model.link {
        Link::Logistic { .. } => {
            // Oriented so that a positive lead flips: class 0 → 1 needs margin ≥ 0,
            // class 1 → 0 needs −margin > 0.
            let sign = if original == 0 { 1.0 } else { -1.0 };
            let b = model.base_score.first().copied().unwrap_or(0.0);
            (1, None, vec![sign * b])
        }
        Link::Softmax => {
            let own = model.base_score.get(original).copied().unwrap_or(0.0);
            let base = model.base_score.iter().map(|b| b - own).collect();
            (model.n_groups(), Some(original), base)
        }
        Link::Identity => {
            return Err(ExplainError::MethodDoesNotFit {
                method: "counterfactual",
                model: "gradient boosting with an identity link",
                hint: "a regressor has no decision to flip",
            });
        }
    };
    let sign = if original == 0 { 1.0 } else { -1.0 };
    let mut scale = base.iter().map(|b| b.abs()).sum::<f64>();
    let gains = model
        .trees
        .iter()
        .zip(&model.tree_groups)
        .map(|(tree, &group)| {
            let group = group as usize;
            let mut gains = vec![0.0; tree.nodes.len() * k];
            let mut largest = 0.0f64;
            for (node, slot) in gains.chunks_exact_mut(k).enumerate() {
                let v = tree.node_value(node);
                largest = largest.max(v.abs());
                if excluded.is_none() {
                    if let Some(g) = slot.first_mut() {
                        *g = sign * v;
                    }
                } else {
                    if let Some(g) = slot.get_mut(group) {
                        *g += v;
                    }
                    if group != original {
                        continue;
                    }
                    for g in slot.iter_mut() {
                        *g -= v;
                    }
                }
            }
            scale += largest;
            gains
        })
        .collect();
    let n = model.trees.len() as f64;
    Ok(Ensemble {
        trees: model.trees.iter().collect(),
        k,
        excluded,
        gains,
        base,
        // XGBoost sums in f32: the bound keeps that much slack.
        tolerance: (n + 1.0) * f64::from(f32::EPSILON) * (scale + 1.0),
    })
}

fn regressor(model: &'static str) -> ExplainError {
    ExplainError::MethodDoesNotFit {
        method: "counterfactual",
        model,
        hint: "a regressor has no decision to flip",
    }
}

/// Every split must be a numeric threshold whose sides are intervals.
fn check_splits(trees: &[Tree]) -> Result<()> {
    let boxes = trees.iter().flat_map(|t| &t.nodes).all(|node| {
        node.split.as_ref().is_none_or(|s| {
            matches!(s.test, SplitTest::LessOrEqual | SplitTest::Less)
                && s.missing != MissingRule::ZeroDefault
        })
    });
    if boxes {
        Ok(())
    } else {
        Err(ExplainError::MethodDoesNotFit {
            method: "exact counterfactual",
            model: "tree ensemble with categorical or zero-as-missing splits",
            hint: "its leaves are not boxes; use the seeded search",
        })
    }
}

/// A leaf of the next tree: the cost of its box, its index and its box.
type Child = (f64, usize, Vec<(f32, f32)>);

struct Search<'a> {
    model: &'a Model,
    ensemble: &'a Ensemble<'a>,
    row: &'a [f32],
    original: usize,
    weights: &'a [f64],
    /// Compare squared L2 (the square root is taken at the end).
    l2: bool,
    budget: usize,
    /// Tree nodes walked so far.
    work: usize,
    /// Best (cost, squared for L2; point).
    best: Option<(f64, Vec<f32>)>,
}

impl Search<'_> {
    /// The cost of clamping the row into `region` (squared for L2).
    fn cost(&self, region: &[(f32, f32)]) -> f64 {
        let mut total = 0.0;
        for ((&x, &(low, high)), &w) in self.row.iter().zip(region).zip(self.weights) {
            if x.is_nan() {
                continue;
            }
            let d = f64::from(x.clamp(low, high)) - f64::from(x);
            total += if self.l2 { d * d } else { d.abs() * w };
        }
        total
    }

    fn too_large(&self) -> ExplainError {
        ExplainError::TooLarge {
            method: METHOD,
            unit: "tree nodes walked",
            setting: "max_exact_nodes",
            limit: self.budget,
        }
    }

    fn beaten(&self, cost: f64) -> bool {
        self.best.as_ref().is_some_and(|(b, _)| cost >= *b)
    }

    /// Explores the combinations that extend the chosen leaves of trees `..t` (their
    /// intersection is `region`, their summed leads `leads`).
    fn visit(&mut self, t: usize, region: Vec<(f32, f32)>, leads: Vec<f64>) -> Result<()> {
        self.work += 1;
        if self.work > self.budget {
            return Err(self.too_large());
        }
        let ensemble = self.ensemble;
        let Some(tree) = ensemble.trees.get(t) else {
            let candidate: Vec<f32> = self
                .row
                .iter()
                .zip(&region)
                .map(|(&x, &(low, high))| if x.is_nan() { x } else { x.clamp(low, high) })
                .collect();
            let cost = self.cost(&region);
            if !self.beaten(cost)
                && predict_f32(self.model, &candidate)?.value as usize != self.original
            {
                self.best = Some((cost, candidate));
            }
            return Ok(());
        };
        if !self.can_flip(t, &region, &leads) {
            return Ok(());
        }
        if self.work > self.budget {
            return Err(self.too_large());
        }
        let k = ensemble.k;
        let gains = ensemble.gains.get(t).map_or(&[][..], Vec::as_slice);
        let mut children: Vec<Child> = Vec::new();
        let mut scratch = region;
        let mut work = 0;
        walk(
            tree,
            0,
            &mut scratch,
            &mut work,
            &mut |leaf, leaf_region| {
                let cost = self.cost(leaf_region);
                if !self.beaten(cost) {
                    children.push((cost, leaf, leaf_region.to_vec()));
                }
            },
        );
        self.work += work;
        children.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (cost, leaf, child_region) in children {
            if self.beaten(cost) {
                break;
            }
            let mut next = leads.clone();
            for (lead, g) in next
                .iter_mut()
                .zip(gains.get(leaf * k..(leaf + 1) * k).unwrap_or(&[]))
            {
                *lead += g;
            }
            self.visit(t + 1, child_region, next)?;
        }
        Ok(())
    }

    /// Whether some choice of leaves of trees `t..` reachable in `region` can give a
    /// competing class the lead (up to the rounding tolerance).
    fn can_flip(&mut self, t: usize, region: &[(f32, f32)], leads: &[f64]) -> bool {
        let mut work = 0;
        let ensemble = self.ensemble;
        let k = ensemble.k;
        let mut upper = leads.to_vec();
        let mut best = vec![f64::NEG_INFINITY; k];
        let mut scratch = region.to_vec();
        for (tree, gains) in ensemble.trees.iter().zip(&ensemble.gains).skip(t) {
            best.fill(f64::NEG_INFINITY);
            walk(tree, 0, &mut scratch, &mut work, &mut |leaf, _| {
                for (b, g) in best
                    .iter_mut()
                    .zip(gains.get(leaf * k..(leaf + 1) * k).unwrap_or(&[]))
                {
                    *b = b.max(*g);
                }
            });
            for (u, b) in upper.iter_mut().zip(&best) {
                *u += b;
            }
        }
        self.work += work;
        upper
            .iter()
            .enumerate()
            .any(|(c, &u)| Some(c) != ensemble.excluded && u >= -ensemble.tolerance)
    }
}

/// Calls `visit(leaf, box)` for every leaf of `tree` under `node` whose box meets `region`,
/// with the box narrowed to the leaf's. NaN intervals are missing values: they follow the
/// split's missing-value direction. `region` is restored on return.
fn walk(
    tree: &Tree,
    node: usize,
    region: &mut [(f32, f32)],
    work: &mut usize,
    visit: &mut impl FnMut(usize, &[(f32, f32)]),
) {
    *work += 1;
    let Some(current) = tree.nodes.get(node) else {
        return;
    };
    let Some(split) = &current.split else {
        visit(node, region);
        return;
    };
    let j = split.feature as usize;
    let Some(&(low, high)) = region.get(j) else {
        return;
    };
    if low.is_nan() {
        let child = if split.goes_left(f32::NAN) {
            split.left
        } else {
            split.right
        };
        walk(tree, child as usize, region, work, visit);
        return;
    }
    let t = split.threshold;
    let (left_high, right_low) = match split.test {
        SplitTest::Less => (t.next_down(), t),
        _ => (t, t.next_up()),
    };
    if low <= left_high {
        if let Some(slot) = region.get_mut(j) {
            *slot = (low, high.min(left_high));
        }
        walk(tree, split.left as usize, region, work, visit);
    }
    if high >= right_low {
        if let Some(slot) = region.get_mut(j) {
            *slot = (low.max(right_low), high);
        }
        walk(tree, split.right as usize, region, work, visit);
    }
    if let Some(slot) = region.get_mut(j) {
        *slot = (low, high);
    }
}
