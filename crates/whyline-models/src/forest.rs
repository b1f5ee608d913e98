//! Random forests (scikit-learn semantics): the mean of the trees' class distributions or
//! values, with every tree's path in the explanation.

use whyline_core::{Aggregation, Explainable, ForestPath, TreePath};

use crate::decision_tree::{Task, leaf_output};
use crate::info::{ModelInfo, Prediction, RowValue, argmax};
use crate::scratch;
use crate::tree::Tree;

/// A random forest whose path is each tree's path, vote and the ensemble's agreement.
///
/// A classifier averages each tree's leaf distribution (the class fractions as stored, as
/// scikit-learn's `predict_proba` sums them in tree order in f64 and divides by the tree
/// count) and predicts
/// the class with the largest mean; a regressor averages the leaf values.
///
/// In the path, `tree_predictions` holds each tree's class vote (classifier) or value
/// (regressor); `tree_agreement` is the share of trees voting for the predicted class, or,
/// for a regressor, the share of trees on the same side of the training mean (the mean of
/// the trees' root values) as the ensemble; `feature_importance` sums, per feature, the
/// split gains (weighted impurity decrease) along each tree's path, divided by the tree
/// count.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomForest {
    /// The trees, in the ensemble's order.
    pub trees: Vec<Tree>,
    /// Features per row.
    pub n_features: usize,
    /// Classifier or regressor.
    pub task: Task,
    /// Whether NaN inputs are allowed: they follow each split's missing rule (scikit-learn
    /// ≥ 1.3 trees and forests record one); infinite values are rejected either way.
    pub allows_missing: bool,
    /// Names, labels and training statistics.
    pub info: ModelInfo,
}

impl RandomForest {
    /// Checks a row's length and values (NaN only with a missing rule).
    pub(crate) fn check<T: RowValue>(&self, row: &[T]) -> whyline_core::Result<()> {
        if self.allows_missing {
            self.info.check_no_infinity(row, self.n_features)
        } else {
            self.info.check_finite(row, self.n_features)
        }
    }

    /// Predicts one row in the library's terms (class probabilities for classifiers): the
    /// f64 row rounded to f32, as scikit-learn's trees read it.
    pub fn predict(&self, row: &[f64]) -> crate::Result<Prediction> {
        self.check(row)?;
        Ok(self.predict_from_leaves(|_, tree| tree.leaf_index_f64(row)))
    }

    /// The prediction from the leaf `leaf_of(t, tree)` each tree reaches.
    fn predict_from_leaves(&self, mut leaf_of: impl FnMut(usize, &Tree) -> usize) -> Prediction {
        let n = self.trees.len().max(1) as f64;
        match self.task {
            Task::Classification { n_classes } => {
                let mut proba = vec![0.0f64; n_classes];
                for (t, tree) in self.trees.iter().enumerate() {
                    let leaf = leaf_of(t, tree);
                    for (p, v) in proba.iter_mut().zip(tree.node_values(leaf)) {
                        *p += v;
                    }
                }
                for p in &mut proba {
                    *p /= n;
                }
                Prediction {
                    value: argmax(&proba) as f64,
                    probabilities: Some(proba),
                    raw: Vec::new(),
                }
            }
            Task::Regression => {
                let mut sum = 0.0f64;
                for (t, tree) in self.trees.iter().enumerate() {
                    let leaf = leaf_of(t, tree);
                    sum += tree.node_value(leaf);
                }
                Prediction {
                    value: sum / n,
                    probabilities: None,
                    raw: Vec::new(),
                }
            }
        }
    }

    /// The leaf (as the library numbers nodes) each tree reaches from the f64 row:
    /// scikit-learn's `apply()`.
    pub fn apply(&self, row: &[f64]) -> crate::Result<Vec<u32>> {
        self.check(row)?;
        Ok(self
            .trees
            .iter()
            .map(|tree| {
                let leaf = tree.leaf_index_f64(row);
                tree.nodes.get(leaf).map_or(0, |node| node.id)
            })
            .collect())
    }
}

impl Explainable for RandomForest {
    type Path = ForestPath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.check(row)?;
        // The value `predict_from_leaves` gives, summed in the same order, without building
        // a `Prediction`: classes on the stack, so a decision allocates nothing.
        let n = self.trees.len().max(1) as f64;
        let value = match self.task {
            Task::Classification { n_classes } => scratch::with_sums(n_classes, 0.0, |proba| {
                for tree in &self.trees {
                    let leaf = tree.leaf_index(row);
                    for (p, v) in proba.iter_mut().zip(tree.node_values(leaf)) {
                        *p += v;
                    }
                }
                for p in proba.iter_mut() {
                    *p /= n;
                }
                argmax(proba) as f64
            }),
            Task::Regression => {
                let sum: f64 = self
                    .trees
                    .iter()
                    .map(|tree| tree.node_value(tree.leaf_index(row)))
                    .fold(0.0, |sum, v| sum + v);
                sum / n
            }
        };
        Ok(value as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut ForestPath) -> whyline_core::Result<f32> {
        self.check(row)?;
        let n_trees = self.trees.len();
        path.tree_paths.resize_with(n_trees, TreePath::default);
        path.tree_predictions.clear();
        path.feature_importance.clear();
        path.feature_importance.resize(self.n_features, 0.0);
        // The prediction as `predict_from_leaves` makes it (the trees' values summed in tree
        // order in f64, then divided), summed during the walk; classes on the stack unless
        // there are many (`scratch`).
        let n_classes = match self.task {
            Task::Classification { n_classes } => Some(n_classes),
            Task::Regression => None,
        };
        Ok(scratch::with_sums(n_classes.unwrap_or(0), 0.0, |proba| {
            let mut sum = 0.0f64;
            for (tree, tree_path) in self.trees.iter().zip(path.tree_paths.iter_mut()) {
                let leaf =
                    tree.walk_splits_into(row, tree_path, Some(&mut path.feature_importance));
                let output = leaf_output(tree, leaf, self.task) as f32;
                tree.leaf_into(leaf, output, n_classes.is_some(), tree_path);
                path.tree_predictions.push(output);
                if n_classes.is_some() {
                    for (p, v) in proba.iter_mut().zip(tree.node_values(leaf)) {
                        *p += v;
                    }
                } else {
                    sum += tree.node_value(leaf);
                }
            }
            self.finish_path(path, proba, sum)
        }))
    }
}

impl RandomForest {
    /// Finishes a path whose `tree_paths`, `tree_predictions` and summed (not yet
    /// averaged) `feature_importance` are in place, from the trees' class sums `proba` (a
    /// classifier) or value sum `sum` (a regressor), summed in tree order: the averages,
    /// the prediction, agreement and probability. Returns the output. Shared by
    /// [`Explainable::explain_into`] and [`RecordedPathCheck`](crate::RecordedPathCheck),
    /// so that both make the same bytes.
    pub(crate) fn finish_path(&self, path: &mut ForestPath, proba: &mut [f64], sum: f64) -> f32 {
        let n_trees = self.trees.len();
        let n_classes = match self.task {
            Task::Classification { n_classes } => Some(n_classes),
            Task::Regression => None,
        };
        let n = n_trees.max(1) as f64;
        for importance in &mut path.feature_importance {
            *importance /= n as f32;
        }
        let (value, probability) = if n_classes.is_some() {
            for p in proba.iter_mut() {
                *p /= n;
            }
            let class = argmax(proba);
            (class as f64, proba.get(class).map(|&p| p as f32))
        } else {
            (sum / n, None)
        };
        let output = value as f32;
        path.aggregation = Aggregation::Mean;
        path.base_score = 0.0;
        path.ensemble_prediction = output;
        let agreeing = if n_classes.is_some() {
            path.tree_predictions
                .iter()
                .filter(|&&vote| vote == output)
                .count()
        } else {
            let mean: f64 = self.trees.iter().map(|t| t.node_value(0)).sum::<f64>() / n;
            let above = value >= mean;
            path.tree_predictions
                .iter()
                .filter(|&&value| (f64::from(value) >= mean) == above)
                .count()
        };
        path.tree_agreement = agreeing as f32 / n as f32;
        path.probability = probability;
        output
    }
}
