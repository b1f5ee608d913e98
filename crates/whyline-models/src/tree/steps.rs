//! A compact copy of a tree for walking `f32` rows: what an explained walk reads at each
//! node (its split, its id, samples, impurity and gain) in 40 bytes instead of a whole
//! [`Node`](super::Node) of over 100 bytes, so that a forest's explained walk touches a
//! third of the cache lines and decides a numeric split with one comparison.
//!
//! It is a cache derived from the nodes, built on the first walk. It decides exactly as
//! [`Split::decide`](super::Split::decide) for `x <= t` and `x < t` splits without
//! categories whose missing rule is "none" or "NaN takes the default way"; any other split
//! is marked and decided by its [`Split`](super::Split) itself.

use whyline_core::{SplitTest, TreeSplit};

use super::{MissingRule, Split, Tree};

/// A leaf: the walk ends.
pub(super) const LEAF: u8 = 0;
/// Left when `x <= t`.
pub(super) const LESS_OR_EQUAL: u8 = 1;
/// Left when `x < t`.
pub(super) const LESS: u8 = 2;
/// Decided by the node's [`Split`] (categorical tests, other missing rules).
pub(super) const GENERIC: u8 = 3;
/// The bits above that say which test.
pub(super) const TEST: u8 = 3;
/// Added to a numeric kind: NaN takes the default way and is reported missing (otherwise
/// NaN compares false and goes right, not missing).
pub(super) const NAN_DEFAULT: u8 = 4;
/// With [`NAN_DEFAULT`]: the default way is left.
pub(super) const NAN_LEFT: u8 = 8;

/// One node of the compact `f32` walk.
#[derive(Clone, Copy, Debug)]
pub(super) struct Step {
    /// Training samples (or cover) that reached the node.
    pub(super) n_samples: u64,
    /// The `f32` threshold of a numeric split.
    pub(super) threshold: f32,
    /// The feature the split tests.
    pub(super) feature: u32,
    /// The left child's index.
    pub(super) left: u32,
    /// The right child's index.
    pub(super) right: u32,
    /// The node's id as the library numbers it.
    pub(super) id: u32,
    /// The node's impurity as the path reports it (`f32`); NaN when the file has none.
    pub(super) impurity: f32,
    /// The split's gain as the path's feature importance adds it (`f32`).
    pub(super) gain: f32,
    /// [`LEAF`], [`LESS_OR_EQUAL`], [`LESS`] or [`GENERIC`], with the NaN bits.
    pub(super) kind: u8,
    /// The split's test, as the path reports it.
    pub(super) test: SplitTest,
    /// Whether the file stores the node's impurity.
    pub(super) has_impurity: bool,
}

/// Builds the compact walk of `tree`, node for node.
pub(super) fn build(tree: &Tree) -> Vec<Step> {
    tree.nodes
        .iter()
        .map(|node| {
            let (kind, test, threshold, feature, left, right) = match &node.split {
                None => (LEAF, SplitTest::default(), 0.0, 0, 0, 0),
                Some(split) => (
                    kind(split),
                    split.test,
                    split.threshold,
                    split.feature,
                    split.left,
                    split.right,
                ),
            };
            Step {
                n_samples: node.n_samples,
                threshold,
                feature,
                left,
                right,
                id: node.id,
                impurity: node.impurity.map_or(f32::NAN, |i| i as f32),
                gain: node.gain as f32,
                kind,
                test,
                has_impurity: node.impurity.is_some(),
            }
        })
        .collect()
}

/// The step kind that decides as `split` does (the compact `f64` walk derives its own from
/// it).
pub(super) fn kind(split: &Split) -> u8 {
    if !split.categories.is_empty() {
        return GENERIC;
    }
    let test = match split.test {
        SplitTest::LessOrEqual => LESS_OR_EQUAL,
        SplitTest::Less => LESS,
        SplitTest::InCategories | SplitTest::NotInCategories => return GENERIC,
    };
    match split.missing {
        MissingRule::Reject => test,
        MissingRule::NanDefault if split.default_left => test | NAN_DEFAULT | NAN_LEFT,
        MissingRule::NanDefault => test | NAN_DEFAULT,
        MissingRule::NanAsZero | MissingRule::ZeroDefault | MissingRule::NanIsNoCategory => GENERIC,
    }
}

impl Step {
    /// This node's split as a path reports it, with the way the row went.
    pub(super) fn path_split(
        &self,
        went_left: bool,
        missing: bool,
        categories: Vec<u32>,
    ) -> TreeSplit {
        TreeSplit {
            node_index: self.id,
            feature_index: self.feature,
            threshold: self.threshold,
            test: self.test,
            categories,
            went_left,
            missing,
            n_samples: self.n_samples,
        }
    }

    /// Which way a numeric step sends `value`: `(went_left, missing)`, as
    /// [`Split::decide`](super::Split::decide) decides. Only for [`LESS_OR_EQUAL`] and
    /// [`LESS`] kinds.
    #[inline]
    pub(super) fn decide_numeric(&self, value: f32) -> (bool, bool) {
        decide_numeric(self.kind, self.threshold, value)
    }
}

/// Which way a numeric split of `kind` ([`LESS_OR_EQUAL`] or [`LESS`], with the NaN bits) at
/// `threshold` sends `value`: `(went_left, missing)`, as [`Split::decide`] decides.
#[inline]
pub(super) fn decide_numeric(kind: u8, threshold: f32, value: f32) -> (bool, bool) {
    if value.is_nan() {
        if kind & NAN_DEFAULT != 0 {
            (kind & NAN_LEFT != 0, true)
        } else {
            (false, false)
        }
    } else if kind & TEST == LESS {
        (value < threshold, false)
    } else {
        (value <= threshold, false)
    }
}
