//! The decision path of a tree ensemble: random forests and gradient-boosted trees.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{
    DecisionPath, Names, PathType, TreePath, expect_type, short, signed, top_by_magnitude,
};
use crate::codec::json_float as jf;
use crate::codec::wire::{Reader, Writer};
use crate::error::{CoreError, Result};

/// How an ensemble combines its trees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The mean of the trees' outputs (random forests).
    #[default]
    Mean,
    /// `base_score` plus the sum of the trees' margins (gradient boosting), before the link.
    Sum,
}

/// How a forest or boosted ensemble reached its output.
///
/// APRT path bytes (path type 2):
///
/// ```text
/// aggregation          u8  (0 mean, 1 sum)
/// base_score           f32
/// tree_paths           u32 count, then each tree as the TreePath bytes (path type 1)
/// tree_predictions     u32 count, then count × f32
/// ensemble_prediction  f32
/// tree_agreement       f32
/// feature_importance   u32 count, then count × f32
/// probability          u8 flag, then f32 when present
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "ForestPath")]
pub struct ForestPath {
    /// How the trees' outputs combine.
    #[serde(default)]
    pub aggregation: Aggregation,
    /// Added to the sum of margins under [`Aggregation::Sum`]; 0 for a mean.
    #[serde(with = "jf::one", default)]
    pub base_score: f32,
    /// Each tree's path, in the ensemble's tree order.
    pub tree_paths: Vec<TreePath>,
    /// Each tree's output (class vote, value or margin), in the same order.
    #[serde(with = "jf::vec")]
    pub tree_predictions: Vec<f32>,
    /// The ensemble's prediction: class index for classifiers, value otherwise.
    #[serde(with = "jf::one")]
    pub ensemble_prediction: f32,
    /// Share of trees whose own output agrees with the ensemble, in `[0, 1]`.
    #[serde(with = "jf::one")]
    pub tree_agreement: f32,
    /// Per-feature importance along the paths taken, averaged across trees.
    #[serde(with = "jf::vec")]
    pub feature_importance: Vec<f32>,
    /// For classifiers, the probability the ensemble gives to the predicted class.
    #[serde(with = "jf::option", default)]
    pub probability: Option<f32>,
}

/// The APRT path data of a forest in its three parts, for a reader that checks recorded
/// bytes piece by piece (replay compares each tree's path with a per-leaf encoding made
/// once): [`encode_head`](ForestPath::encode_head), then each tree's
/// [`DecisionPath::encode_path`], then [`encode_tail`](ForestPath::encode_tail) are, end to
/// end, the bytes [`DecisionPath::encode_path`] writes for the whole forest.
impl ForestPath {
    /// Appends what precedes the tree paths: the aggregation, the base score and the count
    /// of tree paths.
    pub fn encode_head(
        aggregation: Aggregation,
        base_score: f32,
        n_trees: usize,
        out: &mut Vec<u8>,
    ) {
        let mut w = Writer::new(out);
        w.u8(match aggregation {
            Aggregation::Mean => 0,
            Aggregation::Sum => 1,
        });
        w.f32(base_score);
        w.count(n_trees);
    }

    /// Appends what follows the tree paths: the trees' outputs, the ensemble's prediction,
    /// agreement, feature importance and probability (`tree_paths` is not read).
    pub fn encode_tail(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.f32s(&self.tree_predictions);
        w.f32(self.ensemble_prediction);
        w.f32(self.tree_agreement);
        w.f32s(&self.feature_importance);
        w.opt_f32(self.probability);
    }
}

impl DecisionPath for ForestPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json_write::forest(self, out);
        Ok(())
    }

    fn path_type(&self) -> PathType {
        PathType::Forest
    }

    fn explain_with(&self, names: &Names) -> String {
        let mut text = String::new();
        let _ = match (self.aggregation, self.probability) {
            (_, Some(p)) => writeln!(
                text,
                "Ensemble of {} trees: {}, probability={:.2}, tree agreement={:.0}%",
                self.tree_paths.len().max(self.tree_predictions.len()),
                names.class(self.ensemble_prediction as usize),
                p,
                self.tree_agreement * 100.0
            ),
            (Aggregation::Mean, None) => writeln!(
                text,
                "Ensemble of {} trees: mean={}, tree agreement={:.0}%",
                self.tree_paths.len().max(self.tree_predictions.len()),
                short(self.ensemble_prediction),
                self.tree_agreement * 100.0
            ),
            (Aggregation::Sum, None) => writeln!(
                text,
                "Boosted ensemble of {} trees: base={} + Σ margins → {}",
                self.tree_paths.len().max(self.tree_predictions.len()),
                short(self.base_score),
                short(self.ensemble_prediction)
            ),
        };
        let mut top = top_by_magnitude(&self.feature_importance, 5);
        top.retain(|(_, importance)| *importance != 0.0);
        if !top.is_empty() {
            let _ = writeln!(text, "Most important features along the paths:");
            for (index, importance) in top {
                let _ = writeln!(text, "  - {}: {}", names.feature(index), signed(importance));
            }
        }
        for (i, tree) in self.tree_paths.iter().enumerate() {
            let output = self.tree_predictions.get(i).copied().unwrap_or(f32::NAN);
            let _ = writeln!(text, "Tree {i} (output {}):", short(output));
            tree.write_explanation(&mut text, names, "  ");
        }
        text.truncate(text.trim_end().len());
        text
    }

    fn feature_contributions(&self) -> &[f32] {
        &self.feature_importance
    }

    fn confidence(&self) -> f32 {
        self.probability.unwrap_or(self.tree_agreement)
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        ForestPath::encode_head(
            self.aggregation,
            self.base_score,
            self.tree_paths.len(),
            out,
        );
        let mut w = Writer::new(out);
        for tree in &self.tree_paths {
            tree.encode_into(&mut w);
        }
        self.encode_tail(out);
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        expect_type(PathType::Forest, path_type)?;
        let mut r = Reader::new(bytes, base_offset);
        let aggregation_offset = r.offset();
        let aggregation = match r.u8("aggregation")? {
            0 => Aggregation::Mean,
            1 => Aggregation::Sum,
            other => {
                return Err(CoreError::InvalidField {
                    offset: aggregation_offset,
                    field: "aggregation",
                    detail: format!("aggregation byte is {other}, expected 0 or 1"),
                });
            }
        };
        let base_score = r.f32("base_score")?;
        // The smallest tree path (no splits, no impurities, no distribution) is 21 bytes.
        let n_trees = r.count("tree_paths", 21)?;
        let mut tree_paths = Vec::with_capacity(n_trees);
        for _ in 0..n_trees {
            tree_paths.push(TreePath::decode_from(&mut r)?);
        }
        let path = ForestPath {
            aggregation,
            base_score,
            tree_paths,
            tree_predictions: r.f32s("tree_predictions")?,
            ensemble_prediction: r.f32("ensemble_prediction")?,
            tree_agreement: r.f32("tree_agreement")?,
            feature_importance: r.f32s("feature_importance")?,
            probability: r.opt_f32("probability")?,
        };
        r.finish("ForestPath")?;
        Ok(path)
    }
}
