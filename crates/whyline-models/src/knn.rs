//! K-nearest neighbours with exact search (scikit-learn semantics, euclidean metric).

use whyline_core::{Explainable, KnnPath};

use crate::decision_tree::Task;
use crate::info::{ModelInfo, Prediction, RowValue, argmax};

/// How neighbours are weighted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KnnWeights {
    /// Every neighbour counts once.
    Uniform,
    /// Each neighbour counts `1 / distance`; neighbours at distance 0, if any, are the only
    /// ones that count (scikit-learn's rule).
    Distance,
}

/// A KNN classifier or regressor whose path is its neighbours and their votes.
///
/// Search is exact: the euclidean distance to every training row, computed in f64 in
/// feature order from the f64 row ([`predict`](KnnModel::predict),
/// [`neighbors`](KnnModel::neighbors)) or the widened f32 row (the explained path), sorted
/// by distance then by training index. scikit-learn computes the
/// same distances through `‖x‖² − 2x·y + ‖y‖²`, so rows whose neighbours tie (to about
/// 1e-12) may list tied neighbours in another order.
#[derive(Clone, Debug, PartialEq)]
pub struct KnnModel {
    /// Training rows, `n_samples × n_features`, row-major.
    pub samples: Vec<f64>,
    /// Training targets: class indices for a classifier, values for a regressor.
    pub targets: Vec<f64>,
    /// Training rows.
    pub n_samples: usize,
    /// Neighbours per prediction (at least 1, at most `n_samples`).
    pub k: usize,
    /// Neighbour weighting.
    pub weights: KnnWeights,
    /// Classifier or regressor.
    pub task: Task,
    /// Features per row.
    pub n_features: usize,
    /// Names, labels and training statistics.
    pub info: ModelInfo,
}

impl KnnModel {
    /// The `k` nearest training rows of the f64 row: `(index, distance)`, nearest first
    /// (scikit-learn's `kneighbors`).
    pub fn neighbors(&self, row: &[f64]) -> crate::Result<Vec<(usize, f64)>> {
        self.info.check_finite(row, self.n_features)?;
        Ok(self.search(row))
    }

    fn search<T: RowValue>(&self, row: &[T]) -> Vec<(usize, f64)> {
        let mut all: Vec<(usize, f64)> = self
            .samples
            .chunks_exact(self.n_features.max(1))
            .enumerate()
            .map(|(i, sample)| {
                let squared: f64 = sample
                    .iter()
                    .zip(row)
                    .map(|(s, &x)| {
                        let d = x.into() - s;
                        d * d
                    })
                    .sum();
                (i, squared)
            })
            .collect();
        let k = self.k.min(all.len());
        if k < all.len() {
            all.select_nth_unstable_by(k, |a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            all.truncate(k);
        }
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        for entry in &mut all {
            entry.1 = entry.1.sqrt();
        }
        all
    }

    fn weights_of(&self, neighbors: &[(usize, f64)]) -> Vec<f64> {
        match self.weights {
            KnnWeights::Uniform => vec![1.0; neighbors.len()],
            KnnWeights::Distance => {
                if neighbors.iter().any(|n| n.1 == 0.0) {
                    neighbors
                        .iter()
                        .map(|n| if n.1 == 0.0 { 1.0 } else { 0.0 })
                        .collect()
                } else {
                    neighbors.iter().map(|n| 1.0 / n.1).collect()
                }
            }
        }
    }

    fn target(&self, index: usize) -> f64 {
        self.targets.get(index).copied().unwrap_or(0.0)
    }

    fn predict_from(&self, neighbors: &[(usize, f64)]) -> Prediction {
        let weights = self.weights_of(neighbors);
        match self.task {
            Task::Classification { n_classes } => {
                let mut votes = vec![0.0f64; n_classes];
                for (n, w) in neighbors.iter().zip(&weights) {
                    if let Some(v) = votes.get_mut(self.target(n.0) as usize) {
                        *v += w;
                    }
                }
                let total: f64 = votes.iter().sum();
                let total = if total == 0.0 { 1.0 } else { total };
                let probabilities: Vec<f64> = votes.iter().map(|v| v / total).collect();
                Prediction {
                    value: argmax(&probabilities) as f64,
                    probabilities: Some(probabilities),
                    raw: votes,
                }
            }
            Task::Regression => {
                let (mut sum, mut total) = (0.0f64, 0.0f64);
                for (n, w) in neighbors.iter().zip(&weights) {
                    sum += w * self.target(n.0);
                    total += w;
                }
                let value = match self.weights {
                    KnnWeights::Uniform => sum / neighbors.len().max(1) as f64,
                    KnnWeights::Distance => sum / total,
                };
                Prediction {
                    value,
                    probabilities: None,
                    raw: Vec::new(),
                }
            }
        }
    }

    /// Predicts one row in the library's terms (class probabilities for classifiers), in
    /// f64 from the f64 row as scikit-learn computes them.
    pub fn predict(&self, row: &[f64]) -> crate::Result<Prediction> {
        self.info.check_finite(row, self.n_features)?;
        Ok(self.predict_from(&self.search(row)))
    }
}

impl Explainable for KnnModel {
    type Path = KnnPath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        Ok(self.predict_from(&self.search(row)).value as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut KnnPath) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        let neighbors = self.search(row);
        let prediction = self.predict_from(&neighbors);
        path.neighbor_indices.clear();
        path.distances.clear();
        path.neighbor_labels.clear();
        path.votes.clear();
        for &(index, distance) in &neighbors {
            path.neighbor_indices.push(index as u32);
            path.distances.push(distance as f32);
            path.neighbor_labels.push(self.target(index) as f32);
        }
        path.weighted_votes = None;
        if let Task::Classification { n_classes } = self.task {
            let mut counts = vec![0u32; n_classes];
            for &(index, _) in &neighbors {
                if let Some(c) = counts.get_mut(self.target(index) as usize) {
                    *c += 1;
                }
            }
            path.votes.extend(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(class, &c)| (class as u32, c)),
            );
            if self.weights == KnnWeights::Distance {
                path.weighted_votes = Some(prediction.raw.iter().map(|&v| v as f32).collect());
            }
        }
        Ok(prediction.value as f32)
    }
}
