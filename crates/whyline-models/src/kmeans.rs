//! Centroid clustering (k-means): a row belongs to the nearest centroid.

use whyline_core::{ClusterPath, Explainable};

use crate::info::{ModelInfo, Prediction, RowValue};

/// A k-means model whose path is the distance to every centroid, the winner, the runner-up
/// and the per-feature contributions to the margin between them ([`ClusterPath`]).
///
/// The squared Euclidean distance to each centroid is computed in f64 from the row (an f32
/// row widened exactly) and the stored centroids, summed in feature order; the row goes to
/// the nearest centroid, the first on ties (aprender's `KMeans::predict`, which compares f32
/// squared distances with `<`). The prediction's `value` is the cluster index and `raw` holds
/// the squared distances.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeansModel {
    /// Centroids, `n_clusters × n_features`, row-major.
    pub centroids: Vec<f64>,
    /// Clusters (at least 1).
    pub n_clusters: usize,
    /// Features per row.
    pub n_features: usize,
    /// Names and training statistics.
    pub info: ModelInfo,
}

impl KMeansModel {
    /// The centroid of cluster `k` (empty if out of range).
    pub fn centroid(&self, k: usize) -> &[f64] {
        let start = k.saturating_mul(self.n_features);
        self.centroids
            .get(start..start.saturating_add(self.n_features))
            .unwrap_or(&[])
    }

    /// Squared distances to every centroid, in f64.
    fn squared_distances<T: RowValue>(&self, row: &[T]) -> Vec<f64> {
        (0..self.n_clusters)
            .map(|k| {
                self.centroid(k)
                    .iter()
                    .zip(row)
                    .map(|(c, &x)| {
                        let d = x.into() - c;
                        d * d
                    })
                    .sum()
            })
            .collect()
    }

    /// The nearest and second-nearest clusters (the first on ties; the nearest twice when
    /// there is one cluster).
    fn winner_and_runner_up(distances: &[f64]) -> (usize, usize) {
        let mut best = 0;
        for (k, &d) in distances.iter().enumerate() {
            if d < distances.get(best).copied().unwrap_or(f64::INFINITY) {
                best = k;
            }
        }
        let mut second: Option<usize> = None;
        for (k, &d) in distances.iter().enumerate() {
            if k == best {
                continue;
            }
            let better = match second {
                None => true,
                Some(s) => d < distances.get(s).copied().unwrap_or(f64::INFINITY),
            };
            if better {
                second = Some(k);
            }
        }
        (best, second.unwrap_or(best))
    }

    /// Predicts one f64 row: the cluster index, with the squared distances as `raw`.
    pub fn predict(&self, row: &[f64]) -> crate::Result<Prediction> {
        self.info.check_finite(row, self.n_features)?;
        let distances = self.squared_distances(row);
        let (cluster, _) = Self::winner_and_runner_up(&distances);
        Ok(Prediction {
            value: cluster as f64,
            probabilities: None,
            raw: distances,
        })
    }
}

impl Explainable for KMeansModel {
    type Path = ClusterPath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        let distances = self.squared_distances(row);
        Ok(Self::winner_and_runner_up(&distances).0 as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut ClusterPath) -> whyline_core::Result<f32> {
        self.info.check_finite(row, self.n_features)?;
        let distances = self.squared_distances(row);
        let (cluster, runner_up) = Self::winner_and_runner_up(&distances);
        path.squared_distances.clear();
        path.squared_distances
            .extend(distances.iter().map(|&d| d as f32));
        path.cluster = cluster as u32;
        path.runner_up = runner_up as u32;
        path.contributions.clear();
        let (winner, second) = (self.centroid(cluster), self.centroid(runner_up));
        let mut margin = 0.0f64;
        for ((&x, w), r) in row.iter().zip(winner).zip(second) {
            let x = f64::from(x);
            let share = (x - r) * (x - r) - (x - w) * (x - w);
            margin += share;
            path.contributions.push(share as f32);
        }
        path.margin = margin as f32;
        Ok(cluster as f32)
    }
}
