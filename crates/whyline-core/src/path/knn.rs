//! The decision path of k-nearest neighbours: who the neighbours were and how they voted.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{DecisionPath, Names, PathType, expect_type, short};
use crate::codec::json_float as jf;
use crate::codec::wire::{Reader, Writer};
use crate::error::Result;

/// How a KNN model reached its output.
///
/// APRT path bytes (path type 3):
///
/// ```text
/// neighbor_indices  u32 count, then count × u32
/// distances         u32 count, then count × f32
/// neighbor_labels   u32 count, then count × f32
/// votes             u32 count, then count × (class u32, count u32)
/// weighted_votes    u8 flag, then u32 count and count × f32 when present
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "KnnPath")]
pub struct KnnPath {
    /// Indices of the k nearest training rows, nearest first.
    pub neighbor_indices: Vec<u32>,
    /// Distance to each neighbour.
    #[serde(with = "jf::vec")]
    pub distances: Vec<f32>,
    /// Each neighbour's label: class index for classifiers, target value for regressors.
    #[serde(with = "jf::vec")]
    pub neighbor_labels: Vec<f32>,
    /// Vote count per class, as `(class, count)`; empty for regressors.
    pub votes: Vec<(u32, u32)>,
    /// Distance-weighted vote per class index, when the model weights by distance.
    #[serde(with = "jf::option_vec", default)]
    pub weighted_votes: Option<Vec<f32>>,
}

impl DecisionPath for KnnPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json_write::knn(self, out);
        Ok(())
    }

    fn path_type(&self) -> PathType {
        PathType::Knn
    }

    fn explain_with(&self, names: &Names) -> String {
        let mut text = format!("{} nearest neighbours:\n", self.neighbor_indices.len());
        for (i, index) in self.neighbor_indices.iter().enumerate() {
            let distance = self.distances.get(i).copied().unwrap_or(f32::NAN);
            let label = self.neighbor_labels.get(i).copied().unwrap_or(f32::NAN);
            let _ = writeln!(
                text,
                "  - training row {index}: distance={}, label={}",
                short(distance),
                short(label)
            );
        }
        if !self.votes.is_empty() {
            let _ = writeln!(text, "Votes:");
            for (class, count) in &self.votes {
                let weighted = self
                    .weighted_votes
                    .as_ref()
                    .and_then(|w| w.get(*class as usize))
                    .map(|w| format!(" (weighted {})", short(*w)))
                    .unwrap_or_default();
                let _ = writeln!(
                    text,
                    "  - {}: {count}{weighted}",
                    names.class(*class as usize)
                );
            }
            let _ = write!(text, "Confidence: {:.2}", self.confidence());
        }
        text.truncate(text.trim_end().len());
        text
    }

    fn feature_contributions(&self) -> &[f32] {
        &[]
    }

    fn confidence(&self) -> f32 {
        if let Some(weighted) = &self.weighted_votes {
            let total: f32 = weighted.iter().sum();
            let best = weighted.iter().copied().fold(0.0f32, f32::max);
            return if total > 0.0 { best / total } else { 0.0 };
        }
        let total: u64 = self.votes.iter().map(|(_, c)| u64::from(*c)).sum();
        let best = self.votes.iter().map(|(_, c)| *c).max().unwrap_or(0);
        if total > 0 {
            best as f32 / total as f32
        } else {
            1.0
        }
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.u32s(&self.neighbor_indices);
        w.f32s(&self.distances);
        w.f32s(&self.neighbor_labels);
        w.count(self.votes.len());
        for (class, count) in &self.votes {
            w.u32(*class);
            w.u32(*count);
        }
        w.opt_f32s(self.weighted_votes.as_deref());
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        expect_type(PathType::Knn, path_type)?;
        let mut r = Reader::new(bytes, base_offset);
        let neighbor_indices = r.u32s("neighbor_indices")?;
        let distances = r.f32s("distances")?;
        let neighbor_labels = r.f32s("neighbor_labels")?;
        let n_votes = r.count("votes", 8)?;
        let mut votes = Vec::with_capacity(n_votes);
        for _ in 0..n_votes {
            votes.push((r.u32("votes.class")?, r.u32("votes.count")?));
        }
        let path = KnnPath {
            neighbor_indices,
            distances,
            neighbor_labels,
            votes,
            weighted_votes: r.opt_f32s("weighted_votes")?,
        };
        r.finish("KnnPath")?;
        Ok(path)
    }
}
