//! A single decision tree, classifier or regressor (scikit-learn semantics).

use whyline_core::{Explainable, TreePath};

use crate::info::{ModelInfo, Prediction, argmax};
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
/// Classifier leaves hold the class distribution (scikit-learn stores fractions); the
/// prediction is the class index with the largest share, the first on ties. Regressor
/// leaves hold the mean target. Inputs must be finite (scikit-learn trees trained without
/// missing values have no missing-value rule).
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTree {
    /// The tree.
    pub tree: Tree,
    /// Features per row.
    pub n_features: usize,
    /// Classifier or regressor.
    pub task: Task,
    /// Names, labels and training statistics.
    pub info: ModelInfo,
}

impl DecisionTree {
    /// Predicts one row in the library's terms (class probabilities for classifiers).
    pub fn predict(&self, row: &[f32]) -> crate::Result<Prediction> {
        self.info.check_finite(row, self.n_features)?;
        let leaf = self.tree.leaf_index(row);
        Ok(leaf_prediction(&self.tree, leaf, self.task))
    }
}

/// The prediction a single tree's leaf makes.
pub(crate) fn leaf_prediction(tree: &Tree, leaf: usize, task: Task) -> Prediction {
    match task {
        Task::Classification { .. } => {
            let values = tree.node_values(leaf);
            let total: f64 = values.iter().sum();
            let total = if total == 0.0 { 1.0 } else { total };
            let probabilities: Vec<f64> = values.iter().map(|v| v / total).collect();
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
        self.info.check_finite(row, self.n_features)?;
        let leaf = self.tree.leaf_index(row);
        Ok(leaf_output(&self.tree, leaf, self.task) as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut TreePath) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
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
