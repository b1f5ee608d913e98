//! Checking a recorded path against the model without rebuilding it: what `whyline replay`
//! does for every decision made by the same model.
//!
//! Rebuilding a random forest's path ([`Explainable::explain_into`]) and encoding it
//! ([`DecisionPath::encode_path`]) costs about 2 µs for the demo's 20 trees of depth 9,
//! most of it pushing each split into the path and writing it out again. Yet a tree's path
//! is the same for every row that reaches the same leaf without meeting a missing value. So
//! [`RecordedPathCheck`] encodes every leaf's path once, when it is made; a check walks
//! each tree to its leaf and compares the recorded bytes with that leaf's encoding, then
//! builds and compares the forest's tail (its outputs, agreement and importance) with the
//! same code as `explain_into` ([`RandomForest::finish_path`]).
//!
//! The check answers only "these are exactly the bytes `explain_into` then `encode_path`
//! would write" or "not shown": a difference, a row meeting a missing value on its way
//! (the split is then reported as missing, which the leaf's encoding is not), or a row the
//! model rejects. The caller rebuilds the path for those, to find the first differing byte
//! or the error. So a check never calls a path identical that a rebuild would not.

use whyline_core::{DecisionPath, ForestPath};

use crate::decision_tree::{Task, leaf_output};
use crate::forest::RandomForest;
use crate::model::{Model, ModelKind};

/// Where one leaf's encoding and gains are.
#[derive(Clone, Copy, Debug)]
struct LeafEncoding {
    /// The leaf's tree path, as its forest's APRT path data holds it.
    bytes: (u32, u32),
    /// Its splits' `(feature, gain)`, root first.
    gains: (u32, u32),
    /// The tree's output at this leaf (its class vote or value).
    output: f32,
}

/// One tree's leaves, indexed by node.
#[derive(Clone, Debug, Default)]
struct TreeEncodings {
    leaves: Vec<Option<LeafEncoding>>,
    bytes: Vec<u8>,
    gains: Vec<(u32, f32)>,
}

/// A model's paths made ready for [`RecordedPathCheck::matches`]: for a random forest
/// (the only family it takes for now; [`Model::recorded_path_check`] says `None` for the
/// others), every leaf's encoded path.
#[derive(Clone, Debug)]
pub struct RecordedPathCheck<'m> {
    forest: &'m RandomForest,
    trees: Vec<TreeEncodings>,
}

/// Buffers a [`RecordedPathCheck`] reuses from one check to the next.
#[derive(Clone, Debug, Default)]
pub struct RecordedPathScratch {
    /// The forest's tail fields (its `tree_paths` stay empty).
    path: ForestPath,
    proba: Vec<f64>,
    tail: Vec<u8>,
}

impl Model {
    /// A check of recorded paths against this model without rebuilding them, when the
    /// model is a random forest without a preprocessing stage; `None` otherwise (then
    /// rebuild each path with [`Explainable::explain_into`](whyline_core::Explainable)).
    pub fn recorded_path_check(&self) -> Option<RecordedPathCheck<'_>> {
        if self.preprocessing().is_some() {
            return None;
        }
        match self.kind() {
            ModelKind::RandomForest(forest) => Some(RecordedPathCheck::new(forest)),
            _ => None,
        }
    }
}

impl<'m> RecordedPathCheck<'m> {
    /// Encodes every leaf's path of every tree of `forest`.
    pub fn new(forest: &'m RandomForest) -> Self {
        let classifier = matches!(forest.task, Task::Classification { .. });
        let trees = forest
            .trees
            .iter()
            .map(|tree| {
                let mut encodings = TreeEncodings {
                    leaves: vec![None; tree.nodes.len()],
                    ..TreeEncodings::default()
                };
                for mut leaf in tree.leaf_paths() {
                    let output = leaf_output(tree, leaf.leaf, forest.task) as f32;
                    tree.leaf_into(leaf.leaf, output, classifier, &mut leaf.path);
                    let start = encodings.bytes.len() as u32;
                    leaf.path.encode_path(&mut encodings.bytes);
                    let gains_start = encodings.gains.len() as u32;
                    encodings.gains.extend_from_slice(&leaf.gains);
                    if let Some(slot) = encodings.leaves.get_mut(leaf.leaf) {
                        *slot = Some(LeafEncoding {
                            bytes: (start, encodings.bytes.len() as u32),
                            gains: (gains_start, encodings.gains.len() as u32),
                            output,
                        });
                    }
                }
                encodings
            })
            .collect();
        Self { forest, trees }
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
        let forest = self.forest;
        forest.check(row).ok()?;
        let n_classes = match forest.task {
            Task::Classification { n_classes } => n_classes,
            Task::Regression => 0,
        };
        let RecordedPathScratch { path, proba, tail } = scratch;
        path.tree_paths.clear();
        path.tree_predictions.clear();
        path.feature_importance.clear();
        path.feature_importance.resize(forest.n_features, 0.0);
        proba.clear();
        proba.resize(n_classes, 0.0);
        tail.clear();
        ForestPath::encode_head(
            whyline_core::Aggregation::Mean,
            0.0,
            forest.trees.len(),
            tail,
        );
        let mut rest = recorded.strip_prefix(tail.as_slice())?;
        let mut sum = 0.0f64;
        for (tree, encodings) in forest.trees.iter().zip(&self.trees) {
            let leaf = tree.leaf_without_missing(row)?;
            let encoding = (*encodings.leaves.get(leaf)?)?;
            let (start, end) = encoding.bytes;
            let expected = encodings.bytes.get(start as usize..end as usize)?;
            rest = rest.strip_prefix(expected)?;
            let (start, end) = encoding.gains;
            for &(feature, gain) in encodings.gains.get(start as usize..end as usize)? {
                if let Some(slot) = path.feature_importance.get_mut(feature as usize) {
                    *slot += gain;
                }
            }
            path.tree_predictions.push(encoding.output);
            if n_classes > 0 {
                for (p, v) in proba.iter_mut().zip(tree.node_values(leaf)) {
                    *p += v;
                }
            } else {
                sum += tree.node_value(leaf);
            }
        }
        let output = forest.finish_path(path, proba, sum);
        tail.clear();
        path.encode_tail(tail);
        (rest == tail.as_slice()).then_some(output)
    }
}
