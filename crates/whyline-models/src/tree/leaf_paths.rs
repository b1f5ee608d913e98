//! Every leaf's path as the explained walk ([`Tree::walk_splits_into`]) reports it for a
//! row that reaches the leaf without meeting a missing value: made once per tree, so that
//! replay can compare a recorded path with the leaf's instead of rebuilding it per decision
//! (see [`crate::RecordedPathCheck`]).

use whyline_core::TreePath;

use super::{Tree, steps};

/// One leaf's path, as the walk leaves it before [`Tree::leaf_into`] fills the leaf.
pub(crate) struct LeafPath {
    /// The leaf's index in [`Tree::nodes`].
    pub(crate) leaf: usize,
    /// The splits taken (none missing) and the impurities, root first.
    pub(crate) path: TreePath,
    /// Each split's `(feature, gain)`, root first: what the walk adds to an ensemble's
    /// importance, in the walk's order.
    pub(crate) gains: Vec<(u32, f32)>,
    /// The tests a row meets on its way to the leaf, root first; `None` when one of them
    /// is decided by its [`Split`](super::Split) (categories, other missing rules) rather
    /// than by one comparison.
    pub(crate) route: Option<Vec<RouteTest>>,
}

/// One split on the way to a leaf, and the way the leaf lies: what
/// [`RouteTest::sends_row_on`] checks, in 12 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RouteTest {
    threshold: f32,
    feature: u32,
    /// The step's kind ([`steps::LESS_OR_EQUAL`] or [`steps::LESS`], with the NaN bits).
    kind: u8,
    /// Whether the leaf lies left of the split.
    left: bool,
}

impl RouteTest {
    /// Whether the split sends `row` the leaf's way, as the walk decides it: `Some(true)`
    /// when it does, `Some(false)` when the row goes the other way, `None` when the split
    /// finds the value missing (the walk would report it, which the leaf's encoding does
    /// not).
    #[inline]
    pub(crate) fn sends_row_on(&self, row: &[f32]) -> Option<bool> {
        let value = row.get(self.feature as usize).copied().unwrap_or(f32::NAN);
        let (left, missing) = steps::decide_numeric(self.kind, self.threshold, value);
        (!missing).then_some(left == self.left)
    }
}

impl Tree {
    /// The path to every leaf that the root reaches, in node order.
    pub(crate) fn leaf_paths(&self) -> Vec<LeafPath> {
        let steps = self.routes.steps(self);
        // Each node's parent and whether it is the parent's left child.
        let mut parent: Vec<Option<(usize, bool)>> = vec![None; steps.len()];
        for (index, step) in steps.iter().enumerate() {
            if step.kind & steps::TEST == steps::LEAF {
                continue;
            }
            for (child, left) in [(step.left, true), (step.right, false)] {
                if let Some(slot) = parent.get_mut(child as usize) {
                    *slot = Some((index, left));
                }
            }
        }
        let mut leaves = Vec::new();
        let mut above = Vec::new();
        for (leaf, step) in steps.iter().enumerate() {
            if step.kind & steps::TEST != steps::LEAF {
                continue;
            }
            above.clear();
            let mut node = leaf;
            while let Some(&Some((up, left))) = parent.get(node) {
                above.push((up, left));
                node = up;
                if above.len() > steps.len() {
                    break; // a cycle, which validation rules out
                }
            }
            if node != 0 || above.len() > steps.len() {
                continue; // not under the root
            }
            above.reverse();
            let mut path = TreePath::default();
            let mut gains = Vec::with_capacity(above.len());
            let mut route = Some(Vec::with_capacity(above.len()));
            let mut every_impurity = true;
            for &(index, left) in &above {
                let Some(step) = steps.get(index) else {
                    continue;
                };
                if step.has_impurity {
                    path.impurity_path.push(step.impurity);
                } else {
                    every_impurity = false;
                }
                let categories = match step.kind & steps::TEST {
                    steps::GENERIC => self
                        .nodes
                        .get(index)
                        .and_then(|node| node.split.as_ref())
                        .map(|split| split.categories.clone())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                path.splits.push(step.path_split(left, false, categories));
                gains.push((step.feature, step.gain));
                route = route.filter(|_| step.kind & steps::TEST != steps::GENERIC);
                if let Some(route) = route.as_mut() {
                    route.push(RouteTest {
                        threshold: step.threshold,
                        feature: step.feature,
                        kind: step.kind,
                        left,
                    });
                }
            }
            if step.has_impurity {
                path.impurity_path.push(step.impurity);
            } else {
                every_impurity = false;
            }
            if !every_impurity {
                path.impurity_path.clear();
            }
            leaves.push(LeafPath {
                leaf,
                path,
                gains,
                route,
            });
        }
        leaves
    }

    /// The leaf `row` reaches, as [`Tree::leaf_index`] finds it, when no split on the way
    /// finds the value it tests missing (the path would report it); `None` when one does.
    #[inline]
    pub(crate) fn leaf_without_missing(&self, row: &[f32]) -> Option<usize> {
        let steps = self.routes.steps(self);
        let mut index = 0usize;
        while let Some(step) = steps.get(index) {
            let value = row.get(step.feature as usize).copied().unwrap_or(f32::NAN);
            let (left, missing) = match step.kind & steps::TEST {
                steps::LEAF => return Some(index),
                steps::GENERIC => self
                    .nodes
                    .get(index)
                    .and_then(|node| node.split.as_ref())?
                    .decide(value),
                _ => step.decide_numeric(value),
            };
            if missing {
                return None;
            }
            index = if left { step.left } else { step.right } as usize;
        }
        None
    }
}
