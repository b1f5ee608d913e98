//! The decision path of a centroid clustering (k-means): how far the row is from every
//! centroid, which cluster won, which came second, and which features decided between them.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{DecisionPath, Names, PathType, expect_type, short, signed, top_by_magnitude};
use crate::codec::json_float as jf;
use crate::codec::wire::{Reader, Writer};
use crate::error::Result;

/// How a clustering model assigned a row to a cluster.
///
/// The model assigns the row to the centroid at the smallest squared Euclidean distance
/// (the first on ties). The runner-up is the second-nearest centroid; the margin between
/// them is `squared_distances[runner_up] − squared_distances[cluster]` (≥ 0), and
/// `contributions[j] = (x_j − r_j)² − (x_j − w_j)²` (runner-up centroid `r`, winning
/// centroid `w`) splits it by feature: the contributions sum to the margin, a positive one
/// pulled the row towards the winner, a negative one towards the runner-up. With a single
/// cluster the runner-up is the winner and the margin and contributions are zero.
///
/// APRT path bytes (path type 5):
///
/// ```text
/// squared_distances  u32 count, then count × f32
/// cluster            u32
/// runner_up          u32
/// margin             f32
/// contributions      u32 count, then count × f32
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "ClusterPath")]
pub struct ClusterPath {
    /// Squared Euclidean distance from the row to each centroid, by cluster index.
    #[serde(with = "jf::vec")]
    pub squared_distances: Vec<f32>,
    /// The assigned (nearest) cluster.
    pub cluster: u32,
    /// The second-nearest cluster (the assigned one when there is only one).
    pub runner_up: u32,
    /// `squared_distances[runner_up] − squared_distances[cluster]`.
    #[serde(with = "jf::one")]
    pub margin: f32,
    /// Per-feature share of the margin: `(x_j − runner_up_j)² − (x_j − cluster_j)²`.
    #[serde(with = "jf::vec")]
    pub contributions: Vec<f32>,
}

impl DecisionPath for ClusterPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json_write::cluster(self, out);
        Ok(())
    }

    fn path_type(&self) -> PathType {
        PathType::Cluster
    }

    fn explain_with(&self, names: &Names) -> String {
        let distance = |c: u32| {
            self.squared_distances
                .get(c as usize)
                .copied()
                .unwrap_or(f32::NAN)
        };
        let mut text = format!(
            "Cluster {} (squared distance {}); runner-up cluster {} (squared distance {}), \
             margin {}",
            self.cluster,
            short(distance(self.cluster)),
            self.runner_up,
            short(distance(self.runner_up)),
            short(self.margin)
        );
        let top = top_by_magnitude(&self.contributions, 3);
        if !top.is_empty() && self.runner_up != self.cluster {
            let _ = write!(text, "\nFeatures deciding between them:");
            for (feature, value) in top {
                let _ = write!(text, "\n  - {}: {}", names.feature(feature), signed(value));
            }
        }
        let _ = write!(text, "\nConfidence: {:.2}", self.confidence());
        text
    }

    fn feature_contributions(&self) -> &[f32] {
        &self.contributions
    }

    /// The margin relative to the runner-up's squared distance, in `[0, 1]`: 0 when the row
    /// is as close to the runner-up as to the winner, 1 when it sits on the winning centroid
    /// (and with a single cluster).
    fn confidence(&self) -> f32 {
        if self.runner_up == self.cluster {
            return 1.0;
        }
        let runner_up = self
            .squared_distances
            .get(self.runner_up as usize)
            .copied()
            .unwrap_or(0.0);
        if runner_up > 0.0 && self.margin.is_finite() {
            (self.margin / runner_up).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.f32s(&self.squared_distances);
        w.u32(self.cluster);
        w.u32(self.runner_up);
        w.f32(self.margin);
        w.f32s(&self.contributions);
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        expect_type(PathType::Cluster, path_type)?;
        let mut r = Reader::new(bytes, base_offset);
        let path = ClusterPath {
            squared_distances: r.f32s("squared_distances")?,
            cluster: r.u32("cluster")?,
            runner_up: r.u32("runner_up")?,
            margin: r.f32("margin")?,
            contributions: r.f32s("contributions")?,
        };
        r.finish("ClusterPath")?;
        Ok(path)
    }
}
