//! Checking a recorded path against the model without rebuilding it: what `whyline replay`
//! does for every decision made by the same model.
//!
//! Rebuilding a random forest's path ([`Explainable::explain_into`]) and encoding it
//! ([`DecisionPath::encode_path`]) costs about 2 µs for the demo's 20 trees of depth 9,
//! most of it pushing each split into the path and writing it out again. Yet a tree's path
//! is the same for every row that reaches the same leaf without meeting a missing value. So
//! [`RecordedPathCheck`] encodes every leaf's path once, when it is made, with the tests a
//! row meets on its way there. A check reads, in each tree's recorded path, the leaf it
//! names (at a fixed place when no split on the tree's paths has categories), compares the
//! recorded bytes with that leaf's encoding and checks that the row passes the leaf's
//! tests; then it builds and compares the ensemble's head and tail (aggregation, base
//! score, outputs, agreement, importance, probability) with the same code as
//! `explain_into`: [`RandomForest::finish_path`] for a random forest,
//! [`GradientBoosting::finish_path`] for a gradient-boosted ensemble (XGBoost, LightGBM,
//! scikit-learn), whose leaves' outputs are margins summed per group through the link.
//!
//! Reading the leaf from the record instead of walking the tree to it turns each tree's
//! chain of dependent loads (a node, its feature's value, the comparison, the child, ...)
//! into a handful of independent comparisons the processor runs side by side: a replay's
//! forest does not fit in the first-level cache, and the walk waited for every node. A tree
//! with categorical splits is still walked. The row passes a leaf's tests exactly when the
//! walk reaches that leaf (the tests are the walk's decisions on the way), so both answer
//! the same.
//!
//! The check answers only "these are exactly the bytes `explain_into` then `encode_path`
//! would write" or "not shown": a difference, a row meeting a missing value on its way
//! (the split is then reported as missing, which the leaf's encoding is not), or a row the
//! model rejects. The caller rebuilds the path for those, to find the first differing byte
//! or the error. So a check never calls a path identical that a rebuild would not.

use whyline_core::{DecisionPath, ForestPath};

use crate::boosting::GradientBoosting;
use crate::decision_tree::{Task, leaf_output};
use crate::forest::RandomForest;
use crate::model::{Model, ModelKind};
use crate::tree::{RouteTest, Tree};

/// Where one leaf's encoding and gains are.
#[derive(Clone, Copy, Debug)]
struct LeafEncoding {
    /// The leaf's tree path, as its forest's APRT path data holds it.
    bytes: (u32, u32),
    /// Its splits' `(feature, gain)`, root first.
    gains: (u32, u32),
    /// The tree's output at this leaf (its class vote or value).
    output: f32,
    /// Its tests in [`TreeEncodings::tests`].
    tests: (u32, u32),
}

/// Bytes of a split without categories in a tree path's encoding (node, feature,
/// threshold, test, flags, samples, then an empty category list's count).
const SPLIT_BYTES: usize = 26;

/// One tree's leaves, indexed by node.
#[derive(Clone, Debug, Default)]
struct TreeEncodings {
    leaves: Vec<Option<LeafEncoding>>,
    bytes: Vec<u8>,
    gains: Vec<(u32, f32)>,
    /// Every leaf's tests, root first.
    tests: Vec<RouteTest>,
    /// The leaf (index into `leaves`) of each node id a recorded path can name, `u32::MAX`
    /// for none; empty when the tree is walked instead (a split with categories, whose
    /// encoded length varies, or ids too sparse for a table).
    by_id: Vec<u32>,
}

/// A model's paths made ready for [`RecordedPathCheck::matches`]: for a random forest or
/// a gradient-boosted ensemble (the families it takes for now; [`Model::recorded_path_check`]
/// says `None` for the others), every leaf's encoded path.
#[derive(Clone, Debug)]
pub struct RecordedPathCheck<'m> {
    ensemble: Ensemble<'m>,
    trees: Vec<TreeEncodings>,
}

/// The tree ensemble a check is for: how its leaves read and how its tail is made.
#[derive(Clone, Copy, Debug)]
enum Ensemble<'m> {
    /// Each leaf's output is its vote or value; the tail averages them.
    Forest(&'m RandomForest),
    /// Each leaf's output is its margin; the tail sums them per group through the link.
    Boosting(&'m GradientBoosting),
}

impl Ensemble<'_> {
    fn trees(&self) -> &[Tree] {
        match self {
            Ensemble::Forest(forest) => &forest.trees,
            Ensemble::Boosting(boosting) => &boosting.trees,
        }
    }

    fn n_features(&self) -> usize {
        match self {
            Ensemble::Forest(forest) => forest.n_features,
            Ensemble::Boosting(boosting) => boosting.n_features,
        }
    }

    fn check(&self, row: &[f32]) -> Option<()> {
        match self {
            Ensemble::Forest(forest) => forest.check(row).ok(),
            Ensemble::Boosting(boosting) => boosting.check(row).ok(),
        }
    }

    /// A leaf's output as its path reports it, and whether the path holds its class
    /// distribution.
    fn leaf_output(&self, tree: &Tree, leaf: usize) -> (f32, bool) {
        match self {
            Ensemble::Forest(forest) => (
                leaf_output(tree, leaf, forest.task) as f32,
                matches!(forest.task, Task::Classification { .. }),
            ),
            Ensemble::Boosting(_) => (tree.node_value(leaf) as f32, false),
        }
    }
}

/// Buffers a [`RecordedPathCheck`] reuses from one check to the next.
#[derive(Clone, Debug, Default)]
pub struct RecordedPathScratch {
    /// The forest's tail fields (its `tree_paths` stay empty).
    path: ForestPath,
    proba: Vec<f64>,
    /// The leaf each tree reached (a boosted ensemble's tail is made from them).
    leaves: Vec<usize>,
    tail: Vec<u8>,
}

impl Model {
    /// A check of recorded paths against this model without rebuilding them, when the
    /// model is a random forest or a gradient-boosted ensemble without a preprocessing
    /// stage; `None` otherwise (then rebuild each path with
    /// [`Explainable::explain_into`](whyline_core::Explainable)).
    pub fn recorded_path_check(&self) -> Option<RecordedPathCheck<'_>> {
        if self.preprocessing().is_some() {
            return None;
        }
        match self.kind() {
            ModelKind::RandomForest(forest) => Some(RecordedPathCheck::new(forest)),
            ModelKind::GradientBoosting(boosting) => {
                Some(RecordedPathCheck::for_boosting(boosting))
            }
            _ => None,
        }
    }
}

impl<'m> RecordedPathCheck<'m> {
    /// Encodes every leaf's path of every tree of `forest`.
    pub fn new(forest: &'m RandomForest) -> Self {
        Self::build(Ensemble::Forest(forest))
    }

    /// Encodes every leaf's path of every tree of a gradient-boosted `model`.
    pub fn for_boosting(model: &'m GradientBoosting) -> Self {
        Self::build(Ensemble::Boosting(model))
    }

    fn build(ensemble: Ensemble<'m>) -> Self {
        let trees = ensemble
            .trees()
            .iter()
            .map(|tree| {
                let mut encodings = TreeEncodings {
                    leaves: vec![None; tree.nodes.len()],
                    ..TreeEncodings::default()
                };
                let mut ids = Vec::new();
                let mut every_route = true;
                for mut leaf in tree.leaf_paths() {
                    let (output, distribution) = ensemble.leaf_output(tree, leaf.leaf);
                    tree.leaf_into(leaf.leaf, output, distribution, &mut leaf.path);
                    let start = encodings.bytes.len() as u32;
                    leaf.path.encode_path(&mut encodings.bytes);
                    let gains_start = encodings.gains.len() as u32;
                    encodings.gains.extend_from_slice(&leaf.gains);
                    let tests_start = encodings.tests.len() as u32;
                    match &leaf.route {
                        Some(route) => encodings.tests.extend_from_slice(route),
                        None => every_route = false,
                    }
                    ids.push((leaf.path.leaf.node_index, leaf.leaf));
                    if let Some(slot) = encodings.leaves.get_mut(leaf.leaf) {
                        *slot = Some(LeafEncoding {
                            bytes: (start, encodings.bytes.len() as u32),
                            gains: (gains_start, encodings.gains.len() as u32),
                            output,
                            tests: (tests_start, encodings.tests.len() as u32),
                        });
                    }
                }
                let largest = ids.iter().map(|&(id, _)| id as usize).max().unwrap_or(0);
                if every_route && largest < 4 * tree.nodes.len() + 64 {
                    encodings.by_id = vec![u32::MAX; largest + 1];
                    for (id, leaf) in ids {
                        if let Some(slot) = encodings.by_id.get_mut(id as usize) {
                            *slot = leaf as u32;
                        }
                    }
                }
                encodings
            })
            .collect();
        Self { ensemble, trees }
    }

    /// `Some(output)` when `recorded` (the APRT path data of a decision) are exactly the
    /// bytes this model's path for `row` encodes to, with the model's output for `row`;
    /// `None` when they are not shown to be (they differ, a split on the way finds its
    /// value missing, or the model rejects the row): rebuild the path to find out.
    pub fn matches(
        &self,
        row: &[f32],
        recorded: &[u8],
        scratch: &mut RecordedPathScratch,
    ) -> Option<f32> {
        let ensemble = self.ensemble;
        ensemble.check(row)?;
        let trees = ensemble.trees();
        let n_classes = match ensemble {
            Ensemble::Forest(RandomForest {
                task: Task::Classification { n_classes },
                ..
            }) => *n_classes,
            _ => 0,
        };
        let RecordedPathScratch {
            path,
            proba,
            leaves,
            tail,
        } = scratch;
        path.tree_paths.clear();
        path.tree_predictions.clear();
        path.feature_importance.clear();
        path.feature_importance.resize(ensemble.n_features(), 0.0);
        proba.clear();
        proba.resize(n_classes, 0.0);
        leaves.clear();
        // The head (aggregation, base score, tree count) has one length; its values come
        // with the prediction, so it is compared last.
        tail.clear();
        ForestPath::encode_head(whyline_core::Aggregation::Mean, 0.0, trees.len(), tail);
        let (head, mut rest) = recorded.split_at_checked(tail.len())?;
        let mut sum = 0.0f64;
        for (tree, encodings) in trees.iter().zip(&self.trees) {
            let walked = encodings.by_id.is_empty();
            let leaf = if walked {
                tree.leaf_without_missing(row)?
            } else {
                encodings.leaf_named_in(rest)?
            };
            let encoding = (*encodings.leaves.get(leaf)?)?;
            let (start, end) = encoding.bytes;
            let expected = encodings.bytes.get(start as usize..end as usize)?;
            rest = rest.strip_prefix(expected)?;
            if !walked {
                let (start, end) = encoding.tests;
                for test in encodings.tests.get(start as usize..end as usize)? {
                    if !test.sends_row_on(row)? {
                        return None;
                    }
                }
            }
            let (start, end) = encoding.gains;
            for &(feature, gain) in encodings.gains.get(start as usize..end as usize)? {
                if let Some(slot) = path.feature_importance.get_mut(feature as usize) {
                    *slot += gain;
                }
            }
            path.tree_predictions.push(encoding.output);
            leaves.push(leaf);
            if n_classes > 0 {
                for (p, v) in proba.iter_mut().zip(tree.node_values(leaf)) {
                    *p += v;
                }
            } else {
                sum += tree.node_value(leaf);
            }
        }
        let output = match ensemble {
            Ensemble::Forest(forest) => forest.finish_path(path, proba, sum),
            Ensemble::Boosting(boosting) => boosting.finish_path(path, leaves),
        };
        tail.clear();
        ForestPath::encode_head(path.aggregation, path.base_score, trees.len(), tail);
        if head != tail.as_slice() {
            return None;
        }
        tail.clear();
        path.encode_tail(tail);
        (rest == tail.as_slice()).then_some(output)
    }
}

impl TreeEncodings {
    /// The leaf whose node id a tree path at the start of `recorded` names, found by where
    /// the id lies in a path without categories (split count, splits, impurities, leaf);
    /// `None` when the bytes name no leaf of the tree. Whether they are that leaf's path is
    /// for the caller to compare.
    #[inline]
    fn leaf_named_in(&self, recorded: &[u8]) -> Option<usize> {
        let u32_at = |at: usize| -> Option<usize> {
            let bytes = recorded.get(at..at.checked_add(4)?)?;
            Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
        };
        let impurities_at = u32_at(0)?.checked_mul(SPLIT_BYTES)?.checked_add(4)?;
        let id_at = u32_at(impurities_at)?
            .checked_mul(4)?
            .checked_add(impurities_at + 4)?;
        let leaf = *self.by_id.get(u32_at(id_at)?)?;
        (leaf != u32::MAX).then_some(leaf as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_core::Explainable;

    /// A tree the check cannot read a leaf from (categorical splits, sparse ids) is walked
    /// instead: with every tree so, the demo's rebuilt records are accepted with their
    /// outputs and a neighbouring row's different record is refused, as with the leaf read
    /// from the record.
    #[test]
    fn a_tree_without_an_id_table_is_walked_with_the_same_answers() {
        let model = Model::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../whyline-cli/assets/demo_model.json"
        ))
        .unwrap();
        let read = model.recorded_path_check().unwrap();
        let mut walked = read.clone();
        for tree in &mut walked.trees {
            assert!(!tree.by_id.is_empty());
            tree.by_id.clear();
        }
        let n = model.n_features();
        let rows: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                (0..n)
                    .map(|j| ((i * 7 + j * 13) % 97) as f32 * 0.75 - 10.0)
                    .collect()
            })
            .collect();
        let mut path = model.empty_path();
        let mut records = Vec::new();
        for row in &rows {
            let output = model.explain_into(row, &mut path).unwrap();
            let mut bytes = Vec::new();
            path.encode_path(&mut bytes);
            records.push((bytes, output));
        }
        let mut scratch = RecordedPathScratch::default();
        let mut refused = 0;
        for (i, row) in rows.iter().enumerate() {
            let (own, output) = &records[i];
            let (other, _) = &records[(i + 1) % rows.len()];
            for check in [&read, &walked] {
                assert_eq!(
                    check.matches(row, own, &mut scratch).map(f32::to_bits),
                    Some(output.to_bits())
                );
                if other != own {
                    assert_eq!(check.matches(row, other, &mut scratch), None);
                }
            }
            refused += usize::from(other != own);
        }
        assert!(refused > 200, "refused {refused}");
    }
}
