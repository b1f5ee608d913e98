//! The decision path of a neural network: gradients and, on request, activations.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{DecisionPath, Names, PathType, expect_type, signed, top_by_magnitude};
use crate::codec::json_float as jf;
use crate::codec::wire::{Reader, Writer};
use crate::error::Result;

/// How a neural network reached its output, in gradient terms.
///
/// APRT path bytes (path type 4):
///
/// ```text
/// input_gradient        u32 count, then count × f32
/// activations           u8 flag, then u32 layer count and per layer u32 count + f32s
/// attention_weights     u8 flag, then u32 row count and per row u32 count + f32s
/// integrated_gradients  u8 flag, then u32 count and count × f32 when present
/// probability           u8 flag, then f32 when present
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "NeuralPath")]
pub struct NeuralPath {
    /// Gradient of the output with respect to each input feature (saliency).
    #[serde(with = "jf::vec")]
    pub input_gradient: Vec<f32>,
    /// Each layer's activations, when they were asked for.
    #[serde(with = "jf::option_rows", default)]
    pub activations: Option<Vec<Vec<f32>>>,
    /// Attention weights (for attention models), row by row.
    #[serde(with = "jf::option_rows", default)]
    pub attention_weights: Option<Vec<Vec<f32>>>,
    /// Integrated-gradients attribution per feature, when computed.
    #[serde(with = "jf::option_vec", default)]
    pub integrated_gradients: Option<Vec<f32>>,
    /// For classifiers, the probability the network gives to the predicted class.
    #[serde(with = "jf::option", default)]
    pub probability: Option<f32>,
}

impl DecisionPath for NeuralPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json_write::neural(self, out);
        Ok(())
    }

    fn path_type(&self) -> PathType {
        PathType::Neural
    }

    fn explain_with(&self, names: &Names) -> String {
        let mut text = String::new();
        if let Some(p) = self.probability {
            let _ = writeln!(text, "Confidence: {:.2}", p);
        }
        let (label, values) = match &self.integrated_gradients {
            Some(ig) => ("integrated gradients", ig.as_slice()),
            None => ("input gradient", self.input_gradient.as_slice()),
        };
        let _ = writeln!(text, "Most influential features ({label}):");
        for (index, value) in top_by_magnitude(values, 5) {
            let _ = writeln!(text, "  - {}: {}", names.feature(index), signed(value));
        }
        if let Some(layers) = &self.activations {
            let sizes: Vec<usize> = layers.iter().map(Vec::len).collect();
            let _ = writeln!(text, "Layer activations recorded: sizes {sizes:?}");
        }
        text.truncate(text.trim_end().len());
        text
    }

    fn feature_contributions(&self) -> &[f32] {
        match &self.integrated_gradients {
            Some(ig) => ig,
            None => &self.input_gradient,
        }
    }

    fn confidence(&self) -> f32 {
        self.probability.unwrap_or(1.0)
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        w.f32s(&self.input_gradient);
        w.opt_f32_rows(self.activations.as_deref());
        w.opt_f32_rows(self.attention_weights.as_deref());
        w.opt_f32s(self.integrated_gradients.as_deref());
        w.opt_f32(self.probability);
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        expect_type(PathType::Neural, path_type)?;
        let mut r = Reader::new(bytes, base_offset);
        let path = NeuralPath {
            input_gradient: r.f32s("input_gradient")?,
            activations: r.opt_f32_rows("activations")?,
            attention_weights: r.opt_f32_rows("attention_weights")?,
            integrated_gradients: r.opt_f32s("integrated_gradients")?,
            probability: r.opt_f32("probability")?,
        };
        r.finish("NeuralPath")?;
        Ok(path)
    }
}
