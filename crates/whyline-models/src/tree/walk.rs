//! The explained walk of a row down a tree, one split at a time ([`SplitWalk`]).

use whyline_core::{TreePath, TreeSplit};

use super::Tree;
use super::steps::{self, Step};

/// One tree's explained walk in progress: the node reached and whether every node so far
/// had an impurity.
pub(crate) struct SplitWalk<'a> {
    tree: &'a Tree,
    steps: &'a [Step],
    index: usize,
    every_impurity: bool,
}

impl<'a> SplitWalk<'a> {
    /// Starts at the root of `tree`, emptying `path`'s splits and impurity path (their
    /// buffers are reused).
    #[inline]
    pub(crate) fn start(tree: &'a Tree, path: &mut TreePath) -> SplitWalk<'a> {
        path.splits.clear();
        path.impurity_path.clear();
        SplitWalk {
            tree,
            steps: tree.routes.steps(tree),
            index: 0,
            every_impurity: true,
        }
    }

    /// Takes the split at the current node, writing it into `path`; `false` once the walk
    /// stands on a leaf (and the node's impurity is recorded).
    #[inline(always)]
    pub(crate) fn advance(&mut self, row: &[f32], path: &mut TreePath) -> bool {
        let Some(step) = self.steps.get(self.index) else {
            return false;
        };
        if step.has_impurity {
            path.impurity_path.push(step.impurity);
        } else {
            self.every_impurity = false;
        }
        let value = row.get(step.feature as usize).copied().unwrap_or(f32::NAN);
        let (left, missing, categories) = match step.kind & steps::TEST {
            steps::LEAF => return false,
            steps::GENERIC => {
                match self
                    .tree
                    .nodes
                    .get(self.index)
                    .and_then(|n| n.split.as_ref())
                {
                    Some(split) => {
                        let (left, missing) = split.decide(value);
                        (left, missing, split.categories.clone())
                    }
                    None => return false,
                }
            }
            _ => {
                let (left, missing) = step.decide_numeric(value);
                (left, missing, Vec::new())
            }
        };
        path.splits.push(TreeSplit {
            node_index: step.id,
            feature_index: step.feature,
            threshold: step.threshold,
            test: step.test,
            categories,
            went_left: left,
            missing,
            n_samples: step.n_samples,
        });
        self.index = if left { step.left } else { step.right } as usize;
        true
    }

    /// Ends the walk: the impurity path is kept only if every node had one. Returns the
    /// leaf's index into the tree's nodes.
    #[inline]
    pub(crate) fn finish(self, path: &mut TreePath) -> usize {
        if !self.every_impurity {
            path.impurity_path.clear();
        }
        self.index
    }
}
