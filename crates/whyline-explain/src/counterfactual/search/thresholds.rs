//! 5. **Threshold steps** (tree models): a tree ensemble changes its decision only where a
//!    row crosses split thresholds, and its cheapest flip often crosses a few of them on
//!    features of small scale, which the sampled spheres rarely hit together. From the row,
//!    each step tries every crossing that moves the point to the other side of a split on
//!    its current path in some tree (a mutable feature, within the bounds) and takes the one
//!    that lowers the row's class's lead most per unit of cost added; every crossing that
//!    flips the decision is a candidate, and the steps go on while the point they reach costs
//!    less than the cheapest flip found (a cheap step now can make a cheaper flip later),
//!    until no crossing lowers the lead.

use whyline_models::{Model, ModelKind, Tree};

use super::Search;
use crate::error::Result;

/// The trees of a tree model; empty for other models.
pub(super) fn trees_of(model: &Model) -> &[Tree] {
    match model.kind() {
        ModelKind::DecisionTree(m) => std::slice::from_ref(&m.tree),
        ModelKind::RandomForest(m) => &m.trees,
        ModelKind::GradientBoosting(m) => &m.trees,
        _ => &[],
    }
}

/// Every `(feature, value)` that sends `point` to the other side of a numeric split on its
/// path in one of `trees`: just past the threshold (`next_up` when the row went left, which
/// passes both `x <= t` and `x < t`; `next_down` when it went right), sorted and distinct.
fn crossings(trees: &[Tree], point: &[f32], mutable: &[usize]) -> Vec<(usize, f32)> {
    let mut out = Vec::new();
    for tree in trees {
        let mut node = 0usize;
        while let Some(split) = tree.nodes.get(node).and_then(|n| n.split.as_ref()) {
            let j = split.feature as usize;
            let value = point.get(j).copied().unwrap_or(f32::NAN);
            let (left, _) = split.decide(value);
            if split.categories.is_empty() && mutable.contains(&j) {
                let target = if left {
                    split.threshold.next_up()
                } else {
                    split.threshold.next_down()
                };
                out.push((j, target));
            }
            node = if left { split.left } else { split.right } as usize;
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    out.dedup();
    out
}

impl Search<'_> {
    /// The greedy threshold steps over `trees` (see the module docs): the cheapest flip
    /// found, with its cost, if it costs less than `bound`.
    pub(super) fn threshold_steps(
        &mut self,
        trees: &[Tree],
        bound: f64,
    ) -> Result<Option<(f64, Vec<f32>)>> {
        if trees.is_empty() {
            return Ok(None);
        }
        let mut point = self.row.to_vec();
        let Some((_, mut lead)) = self.score(&point)? else {
            return Ok(None);
        };
        let mut cost = 0.0;
        // The cheapest flip found so far; the steps go on past a flip while the point they
        // reach is still cheaper, since a cheap step now can make a cheaper flip later.
        let mut best: Option<(f64, Vec<f32>)> = None;
        // Each step crosses one more split; a flip rarely needs more than a few per feature.
        for _ in 0..4 * self.mutable.len() {
            let limit = best.as_ref().map_or(bound, |(b, _)| *b);
            // (lead drop per cost, lead, point) of the best step that does not flip.
            let mut step: Option<(f64, f64, Vec<f32>)> = None;
            for (j, target) in crossings(trees, &point, &self.mutable) {
                let value = self.clamp(j, f64::from(target));
                if point.get(j) == Some(&value) {
                    continue;
                }
                let mut y = point.clone();
                if let Some(slot) = y.get_mut(j) {
                    *slot = value;
                }
                let c = self.cost(&y);
                if c >= limit || best.as_ref().is_some_and(|(b, _)| c >= *b) {
                    continue;
                }
                let Some((flipped, s)) = self.score(&y)? else {
                    return Ok(best);
                };
                if flipped {
                    best = Some((c, y));
                } else if s < lead {
                    let rate = (lead - s) / (c - cost).max(f64::MIN_POSITIVE);
                    if step.as_ref().is_none_or(|(r, _, _)| rate > *r) {
                        step = Some((rate, s, y));
                    }
                }
            }
            let Some((_, s, y)) = step else {
                break;
            };
            cost = self.cost(&y);
            if best.as_ref().is_some_and(|(b, _)| cost >= *b) {
                break;
            }
            lead = s;
            point = y;
        }
        Ok(best)
    }
}
