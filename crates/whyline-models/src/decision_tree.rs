//! A single decision tree, classifier or regressor (scikit-learn semantics).

use whyline_core::{Explainable, TreePath};

use crate::info::{ModelInfo, Prediction, RowValue, argmax};
use crate::tree::Tree;

/// What a model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// A class index among `n_classes`.
    Classification {
        /// Number of classes.
        n_classes: usize,
    },
    /// A real value.
    Regression,
}

/// A decision tree whose path is every split taken and the leaf reached.
///
/// Classifier leaves hold the class distribution (scikit-learn stores fractions), which is
/// `predict_proba`; the prediction is the class index with the largest share, the first on
/// ties. Regressor
/// leaves hold the mean target. NaN inputs follow `missing_go_to_left` when the file has it
/// (scikit-learn ≥ 1.3), and are rejected otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTree {
    /// The tree.
    pub tree: Tree,
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

impl DecisionTree {
    /// The leaf the f64 row reaches, numbered as scikit-learn's `apply()` numbers nodes.
    pub fn apply(&self, row: &[f64]) -> crate::Result<u32> {
        self.check(row)?;
        let leaf = self.tree.leaf_index_f64(row);
        Ok(self.tree.nodes.get(leaf).map_or(0, |node| node.id))
    }

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
        let leaf = self.tree.leaf_index_f64(row);
        Ok(leaf_prediction(&self.tree, leaf, self.task))
    }
}

/// The prediction a single tree's leaf makes.
pub(crate) fn leaf_prediction(tree: &Tree, leaf: usize, task: Task) -> Prediction {
    match task {
        Task::Classification { .. } => {
            // The leaf's class fractions as stored, as scikit-learn's `predict_proba` returns
            // them (≥ 1.4 stores fractions and does not renormalise: their sum may be 1 ± ulp).
            let probabilities = tree.node_values(leaf).to_vec();
            Prediction {
                value: argmax(&probabilities) as f64,
                probabilities: Some(probabilities),
                raw: Vec::new(),
            }
        }
        Task::Regression => Prediction {
            value: tree.node_value(leaf),
            probabilities: None,
            raw: Vec::new(),
        },
    }
}

/// The class a classifier leaf votes for, or the value of a regressor leaf.
pub(crate) fn leaf_output(tree: &Tree, leaf: usize, task: Task) -> f64 {
    match task {
        Task::Classification { .. } => argmax(tree.node_values(leaf)) as f64,
        Task::Regression => tree.node_value(leaf),
    }
}

impl Explainable for DecisionTree {
    type Path = TreePath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.check(row)?;
        let leaf = self.tree.leaf_index(row);
        Ok(leaf_output(&self.tree, leaf, self.task) as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut TreePath) -> whyline_core::Result<f32> {
        self.check(row)?;
        let classifier = matches!(self.task, Task::Classification { .. });
        let leaf = self.tree.walk_into(
            row,
            path,
            |leaf| leaf_output(&self.tree, leaf, self.task) as f32,
            classifier,
        );
        Ok(leaf_output(&self.tree, leaf, self.task) as f32)
    }
}
