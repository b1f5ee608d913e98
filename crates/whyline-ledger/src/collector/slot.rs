//! Copying a decision path into a ring slot without allocating.
//!
//! `Clone::clone_from` is the standard way to copy into an existing value while reusing its
//! heap capacity, and `Vec` and `Option` implement it that way. But `#[derive(Clone)]` does
//! not: a derived `clone_from` is `*self = source.clone()`, which allocates a fresh vector for
//! every field. The path types of `whyline-core` derive `Clone`, so a ring that called
//! `clone_from` on them would allocate on every record. [`RingSlot`] is the copy the ring
//! needs, written field by field for each path type so every vector keeps its capacity.

use whyline_core::{
    AnyPath, DecisionPath, ForestPath, KnnPath, LeafInfo, LinearPath, NeuralPath, TreePath,
    TreeSplit,
};

/// A decision path that can be copied into a slot already holding a path, reusing the slot's
/// heap capacity: once a slot has held a path at least as large, copying allocates nothing.
///
/// Implemented for every path type of `whyline-core`. For a path type of your own, the
/// default method calls [`Clone::clone_from`], which reuses capacity only if your `Clone`
/// implements `clone_from` by hand (a derived one does not); override
/// [`clone_into_slot`](RingSlot::clone_into_slot) to copy field by field.
///
/// ```
/// use whyline_core::LinearPath;
/// use whyline_ledger::collector::RingSlot;
///
/// let source = LinearPath { contributions: vec![0.5; 8], ..LinearPath::default() };
/// let mut slot = LinearPath { contributions: Vec::with_capacity(16), ..LinearPath::default() };
/// let before = slot.contributions.as_ptr();
/// source.clone_into_slot(&mut slot);
/// assert_eq!(slot, source);
/// assert_eq!(slot.contributions.as_ptr(), before, "the slot's vector was reused");
/// ```
pub trait RingSlot: DecisionPath {
    /// Makes `slot` equal to `self`, reusing `slot`'s heap capacity where it can.
    fn clone_into_slot(&self, slot: &mut Self) {
        slot.clone_from(self);
    }
}

/// Copies `source` into `target` element by element with [`RingSlot`]-like reuse, for vectors
/// of structs whose own `clone_from` would allocate.
fn clone_vec_into<T: Clone>(source: &[T], target: &mut Vec<T>, copy: impl Fn(&T, &mut T)) {
    target.truncate(source.len());
    let (head, tail) = source.split_at(target.len());
    for (from, to) in head.iter().zip(target.iter_mut()) {
        copy(from, to);
    }
    target.extend_from_slice(tail);
}

fn clone_split_into(source: &TreeSplit, slot: &mut TreeSplit) {
    slot.node_index = source.node_index;
    slot.feature_index = source.feature_index;
    slot.threshold = source.threshold;
    slot.test = source.test;
    slot.categories.clone_from(&source.categories);
    slot.went_left = source.went_left;
    slot.missing = source.missing;
    slot.n_samples = source.n_samples;
}

fn clone_leaf_into(source: &LeafInfo, slot: &mut LeafInfo) {
    slot.node_index = source.node_index;
    slot.prediction = source.prediction;
    slot.n_samples = source.n_samples;
    slot.class_distribution
        .clone_from(&source.class_distribution);
}

impl RingSlot for LinearPath {
    fn clone_into_slot(&self, slot: &mut Self) {
        slot.contributions.clone_from(&self.contributions);
        slot.intercept = self.intercept;
        slot.logit = self.logit;
        slot.prediction = self.prediction;
        slot.probability = self.probability;
    }
}

impl RingSlot for TreePath {
    fn clone_into_slot(&self, slot: &mut Self) {
        clone_vec_into(&self.splits, &mut slot.splits, clone_split_into);
        clone_leaf_into(&self.leaf, &mut slot.leaf);
        slot.impurity_path.clone_from(&self.impurity_path);
    }
}

impl RingSlot for ForestPath {
    fn clone_into_slot(&self, slot: &mut Self) {
        slot.aggregation = self.aggregation;
        slot.base_score = self.base_score;
        clone_vec_into(&self.tree_paths, &mut slot.tree_paths, |from, to| {
            from.clone_into_slot(to);
        });
        slot.tree_predictions.clone_from(&self.tree_predictions);
        slot.ensemble_prediction = self.ensemble_prediction;
        slot.tree_agreement = self.tree_agreement;
        slot.feature_importance.clone_from(&self.feature_importance);
        slot.probability = self.probability;
    }
}

impl RingSlot for KnnPath {
    fn clone_into_slot(&self, slot: &mut Self) {
        // `Vec` and `Option` implement `clone_from` with reuse; these fields hold no structs.
        slot.neighbor_indices.clone_from(&self.neighbor_indices);
        slot.distances.clone_from(&self.distances);
        slot.neighbor_labels.clone_from(&self.neighbor_labels);
        slot.votes.clone_from(&self.votes);
        slot.weighted_votes.clone_from(&self.weighted_votes);
    }
}

impl RingSlot for NeuralPath {
    fn clone_into_slot(&self, slot: &mut Self) {
        // `Option<Vec<Vec<f32>>>::clone_from` reuses the outer and the inner vectors.
        slot.input_gradient.clone_from(&self.input_gradient);
        slot.activations.clone_from(&self.activations);
        slot.attention_weights.clone_from(&self.attention_weights);
        slot.integrated_gradients
            .clone_from(&self.integrated_gradients);
        slot.probability = self.probability;
    }
}

impl RingSlot for AnyPath {
    /// Reuses the slot when it holds the same variant; a change of variant clones.
    fn clone_into_slot(&self, slot: &mut Self) {
        match (self, slot) {
            (AnyPath::Linear(from), AnyPath::Linear(to)) => from.clone_into_slot(to),
            (AnyPath::Tree(from), AnyPath::Tree(to)) => from.clone_into_slot(to),
            (AnyPath::Forest(from), AnyPath::Forest(to)) => from.clone_into_slot(to),
            (AnyPath::Knn(from), AnyPath::Knn(to)) => from.clone_into_slot(to),
            (AnyPath::Neural(from), AnyPath::Neural(to)) => from.clone_into_slot(to),
            (from, to) => *to = from.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_core::SplitTest;

    fn split(node: u32, categories: Vec<u32>) -> TreeSplit {
        TreeSplit {
            node_index: node,
            feature_index: node + 1,
            threshold: 0.5,
            test: SplitTest::InCategories,
            categories,
            went_left: true,
            missing: false,
            n_samples: 10,
        }
    }

    fn tree(depth: u32) -> TreePath {
        TreePath {
            splits: (0..depth).map(|i| split(i, vec![i; 3])).collect(),
            leaf: LeafInfo {
                node_index: 99,
                prediction: 1.0,
                n_samples: 4,
                class_distribution: Some(vec![0.25, 0.75]),
            },
            impurity_path: vec![0.1; depth as usize + 1],
        }
    }

    #[test]
    fn tree_copy_equals_source_whether_the_slot_is_longer_or_shorter() {
        let mut slot = tree(5);
        tree(2).clone_into_slot(&mut slot);
        assert_eq!(slot, tree(2));
        tree(7).clone_into_slot(&mut slot);
        assert_eq!(slot, tree(7));
    }

    #[test]
    fn forest_copy_equals_source() {
        let forest = ForestPath {
            tree_paths: vec![tree(3), tree(1)],
            tree_predictions: vec![1.0, 0.0],
            feature_importance: vec![0.5, 0.5],
            probability: Some(0.5),
            ..ForestPath::default()
        };
        let mut slot = ForestPath {
            tree_paths: vec![tree(4); 3],
            ..ForestPath::default()
        };
        forest.clone_into_slot(&mut slot);
        assert_eq!(slot, forest);
    }

    #[test]
    fn any_path_copy_crosses_variants() {
        let mut slot = AnyPath::Linear(LinearPath::default());
        let target = AnyPath::Tree(tree(2));
        target.clone_into_slot(&mut slot);
        assert_eq!(slot, target);
        let knn = AnyPath::Knn(KnnPath {
            neighbor_indices: vec![1, 2],
            distances: vec![0.1, 0.2],
            neighbor_labels: vec![1.0, 0.0],
            votes: vec![(0, 1), (1, 1)],
            weighted_votes: None,
        });
        knn.clone_into_slot(&mut slot);
        assert_eq!(slot, knn);
        let neural = NeuralPath {
            input_gradient: vec![0.1; 4],
            activations: Some(vec![vec![1.0; 3]; 2]),
            attention_weights: None,
            integrated_gradients: Some(vec![0.2; 4]),
            probability: Some(0.9),
        };
        let mut neural_slot = NeuralPath::default();
        neural.clone_into_slot(&mut neural_slot);
        assert_eq!(neural_slot, neural);
    }
}
