//! Exact counterfactuals of a decision tree classifier: every leaf is a box of feature
//! intervals; the nearest point of a box under a separable cost is the row clamped into
//! it, so the optimum is the cheapest clamp over the leaves that predict another class and
//! fit the bounds.

use whyline_core::SplitTest;
use whyline_models::{DecisionTree, Task};

use super::Cost;
use crate::error::{ExplainError, Impossible, Result};

pub(super) fn solve(
    model: &DecisionTree,
    row: &[f32],
    original: usize,
    bounds: &[(f64, f64)],
    weights: &[f64],
    cost: Cost,
) -> Result<(Vec<f32>, f64)> {
    if !matches!(model.task, Task::Classification { .. }) {
        return Err(ExplainError::MethodDoesNotFit {
            method: "counterfactual",
            model: "decision tree regressor",
            hint: "a regressor has no decision to flip",
        });
    }
    let tree = &model.tree;
    let mut best: Option<(f64, Vec<f32>)> = None;
    // Depth-first with each node's box (inclusive f32 intervals).
    let start: Vec<(f32, f32)> = bounds
        .iter()
        .map(|&(low, high)| (low as f32, high as f32))
        .collect();
    let mut stack = vec![(0usize, start)];
    while let Some((index, region)) = stack.pop() {
        let Some(node) = tree.nodes.get(index) else {
            continue;
        };
        let Some(split) = &node.split else {
            let values = tree.node_values(index);
            let class = argmax(values);
            if class == original {
                continue;
            }
            let candidate: Vec<f32> = row
                .iter()
                .zip(&region)
                .map(|(&x, &(low, high))| x.clamp(low, high))
                .collect();
            let deltas = row
                .iter()
                .zip(&candidate)
                .map(|(&x, &y)| f64::from(y) - f64::from(x));
            let value = match cost {
                Cost::L2 => deltas.map(|d| d * d).sum::<f64>().sqrt(),
                Cost::L1 | Cost::MadL1 => deltas.zip(weights).map(|(d, c)| d.abs() * c).sum(),
            };
            if best.as_ref().is_none_or(|(b, _)| value < *b) {
                best = Some((value, candidate));
            }
            continue;
        };
        let j = split.feature as usize;
        let t = split.threshold;
        // Left: x <= t (LessOrEqual) or x < t (Less); right: the rest.
        let (left_high, right_low) = match split.test {
            SplitTest::LessOrEqual => (t, t.next_up()),
            SplitTest::Less => (t.next_down(), t),
            SplitTest::InCategories | SplitTest::NotInCategories => continue,
        };
        for (child, (low, high)) in [
            (split.right, (right_low, f32::INFINITY)),
            (split.left, (f32::NEG_INFINITY, left_high)),
        ] {
            let mut child_region = region.clone();
            if let Some(slot) = child_region.get_mut(j) {
                slot.0 = slot.0.max(low);
                slot.1 = slot.1.min(high);
                if slot.0 > slot.1 {
                    continue;
                }
            }
            stack.push((child as usize, child_region));
        }
    }
    best.map(|(value, candidate)| (candidate, value)).ok_or(
        ExplainError::ImpossibleCounterfactual {
            reason: Impossible::NoRegion,
        },
    )
}

fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    let mut best_value = f64::NEG_INFINITY;
    for (i, &v) in values.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best
}
