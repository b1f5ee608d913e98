//! A compact copy of a tree's numeric splits for predicting `f64` rows: 24 bytes a node
//! instead of a whole [`Node`](crate::Node) (its split with two thresholds, categories,
//! counts, cover, impurity and gain: over 100 bytes), so that a forest's walk touches a
//! quarter of the cache lines. A 100-tree forest's prediction spent its time waiting for node
//! memory.
//!
//! It is a cache derived from the nodes, built on the first prediction. It decides exactly
//! as [`Split::decide`] / [`Split::decide_f64`] for `x <= t` and `x < t` splits whose
//! missing rule is "none" or "NaN takes the default way" (every scikit-learn and XGBoost
//! numeric split, LightGBM's `NaN` missing type); any other split is marked and decided by
//! its [`Split`] itself.

use std::sync::OnceLock;

// The test kinds (a leaf, `x <= t`, `x < t`, or decided by the node's [`Split`]) are the
// explained walk's.
use super::steps::{self, GENERIC, LEAF, LESS, Step};
use super::{InputPrecision, Split, Tree};

/// Added to a numeric kind: NaN goes left.
const NAN_LEFT: u8 = 4;

/// One node of the compact walk.
#[derive(Clone, Copy, Debug)]
struct Route {
    /// The threshold the row's value is compared with, in `f64`: the `f32` threshold
    /// widened for trees that read `f32` rows, the library's double otherwise.
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
    kind: u8,
}

/// The compact walks of one tree, each built once on first use: for `f64` rows (here) and
/// for explained `f32` walks ([`steps`](super::steps)). Equal for every tree: a cache
/// derived from the nodes takes no part in comparisons.
#[derive(Clone, Debug, Default)]
pub(crate) struct Routes {
    f64_walk: OnceLock<Vec<Route>>,
    steps: OnceLock<Vec<Step>>,
}

impl PartialEq for Routes {
    fn eq(&self, _: &Routes) -> bool {
        true
    }
}

impl Routes {
    /// The index (into the tree's nodes) of the leaf `row` reaches; see
    /// [`Tree::leaf_index_f64`].
    #[inline]
    pub(crate) fn leaf_index_f64(&self, tree: &Tree, row: &[f64]) -> usize {
        let routes = self.f64_walk.get_or_init(|| build(tree));
        let mut index = 0usize;
        while let Some(route) = routes.get(index) {
            let left = match route.kind & !NAN_LEFT {
                LEAF => return index,
                GENERIC => match tree.nodes.get(index).and_then(|n| n.split.as_ref()) {
                    Some(split) => decide(tree.input, split, row),
                    None => return index,
                },
                kind => {
                    let value = row.get(route.feature as usize).copied().unwrap_or(f64::NAN);
                    let value = match tree.input {
                        InputPrecision::F32 => f64::from(value as f32),
                        InputPrecision::F64 => value,
                    };
                    if value.is_nan() {
                        route.kind & NAN_LEFT != 0
                    } else if kind == LESS {
                        value < route.threshold
                    } else {
                        value <= route.threshold
                    }
                }
            };
            index = if left { route.left } else { route.right } as usize;
        }
        index
    }
}

impl Routes {
    /// Builds both compact walks of `tree` now, not on first use.
    pub(super) fn prepare(&self, tree: &Tree) {
        self.f64_walk.get_or_init(|| build(tree));
        self.steps(tree);
    }

    /// The compact `f32` walk of `tree`, built on first use.
    #[inline]
    pub(super) fn steps(&self, tree: &Tree) -> &[Step] {
        self.steps.get_or_init(|| steps::build(tree))
    }
}

/// The split's own decision for an `f64` row, read as the tree's library reads it.
#[inline]
pub(super) fn decide(input: InputPrecision, split: &Split, row: &[f64]) -> bool {
    let value = row.get(split.feature as usize).copied().unwrap_or(f64::NAN);
    match input {
        InputPrecision::F32 => split.decide(value as f32).0,
        InputPrecision::F64 => split.decide_f64(value).0,
    }
}

fn build(tree: &Tree) -> Vec<Route> {
    tree.nodes
        .iter()
        .map(|node| match &node.split {
            None => Route {
                threshold: 0.0,
                feature: 0,
                left: 0,
                right: 0,
                kind: LEAF,
            },
            Some(split) => Route {
                threshold: match tree.input {
                    InputPrecision::F32 => f64::from(split.threshold),
                    InputPrecision::F64 => split.threshold_f64,
                },
                feature: split.feature,
                left: split.left,
                right: split.right,
                kind: kind(split),
            },
        })
        .collect()
}

/// The route kind that decides as `split` does: the explained walk's kind
/// ([`steps::kind`]), where a NaN that goes right by default needs no bit (NaN compares
/// false and goes right anyway) and the missing flag is not reported.
fn kind(split: &Split) -> u8 {
    let kind = steps::kind(split);
    match kind & steps::TEST {
        steps::GENERIC => GENERIC,
        test if kind & steps::NAN_LEFT != 0 => test | NAN_LEFT,
        test => test,
    }
}
