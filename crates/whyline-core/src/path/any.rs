//! A path of any type, for readers of logs that mix models.

use serde::{Deserialize, Serialize};

use super::{
    ClusterPath, DecisionPath, ForestPath, KnnPath, LinearPath, Names, NeuralPath, PathType,
    TreePath,
};
use crate::error::Result;

/// Any decision path; what a reader gets when it does not know the model in advance.
///
/// Its JSON form is the inner path's, whose `type` field names the variant; reading
/// dispatches on that field, so an unknown or missing `type` is a clear error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[serde(from = "TaggedPath")]
pub enum AnyPath {
    /// A [`LinearPath`].
    Linear(LinearPath),
    /// A [`TreePath`].
    Tree(TreePath),
    /// A [`ForestPath`].
    Forest(ForestPath),
    /// A [`KnnPath`].
    Knn(KnnPath),
    /// A [`NeuralPath`].
    Neural(NeuralPath),
    /// A [`ClusterPath`].
    Cluster(ClusterPath),
}

impl Default for AnyPath {
    /// An empty [`LinearPath`], so models whose path type is chosen at run time can still
    /// fill a reusable path with [`Explainable::explain_into`](crate::Explainable::explain_into).
    fn default() -> AnyPath {
        AnyPath::Linear(LinearPath::default())
    }
}

macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            AnyPath::Linear($p) => $body,
            AnyPath::Tree($p) => $body,
            AnyPath::Forest($p) => $body,
            AnyPath::Knn($p) => $body,
            AnyPath::Neural($p) => $body,
            AnyPath::Cluster($p) => $body,
        }
    };
}

impl DecisionPath for AnyPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        each!(self, p => p.encode_json_path(out))
    }

    fn path_type(&self) -> PathType {
        each!(self, p => p.path_type())
    }

    fn explain_with(&self, names: &Names) -> String {
        each!(self, p => p.explain_with(names))
    }

    fn feature_contributions(&self) -> &[f32] {
        each!(self, p => p.feature_contributions())
    }

    fn confidence(&self) -> f32 {
        each!(self, p => p.confidence())
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        each!(self, p => p.encode_path(out))
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        Ok(match path_type {
            PathType::Linear => {
                AnyPath::Linear(LinearPath::decode_path(path_type, bytes, base_offset)?)
            }
            PathType::Tree => AnyPath::Tree(TreePath::decode_path(path_type, bytes, base_offset)?),
            PathType::Forest => {
                AnyPath::Forest(ForestPath::decode_path(path_type, bytes, base_offset)?)
            }
            PathType::Knn => AnyPath::Knn(KnnPath::decode_path(path_type, bytes, base_offset)?),
            PathType::Neural => {
                AnyPath::Neural(NeuralPath::decode_path(path_type, bytes, base_offset)?)
            }
            PathType::Cluster => {
                AnyPath::Cluster(ClusterPath::decode_path(path_type, bytes, base_offset)?)
            }
        })
    }
}

macro_rules! from_path {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for AnyPath {
            fn from(path: $ty) -> AnyPath {
                AnyPath::$variant(path)
            }
        }
    )*};
}

from_path!(
    Linear(LinearPath),
    Tree(TreePath),
    Forest(ForestPath),
    Knn(KnnPath),
    Neural(NeuralPath),
    Cluster(ClusterPath)
);

/// The reading side of [`AnyPath`]: serde's internally tagged form, keyed by `type`.
#[derive(Deserialize)]
#[serde(tag = "type")]
#[allow(clippy::enum_variant_names)] // the variant names are the JSON `type` values
enum TaggedPath {
    LinearPath(LinearPath),
    TreePath(TreePath),
    ForestPath(ForestPath),
    KnnPath(KnnPath),
    NeuralPath(NeuralPath),
    ClusterPath(ClusterPath),
}

impl From<TaggedPath> for AnyPath {
    fn from(tagged: TaggedPath) -> AnyPath {
        match tagged {
            TaggedPath::LinearPath(p) => AnyPath::Linear(p),
            TaggedPath::TreePath(p) => AnyPath::Tree(p),
            TaggedPath::ForestPath(p) => AnyPath::Forest(p),
            TaggedPath::KnnPath(p) => AnyPath::Knn(p),
            TaggedPath::NeuralPath(p) => AnyPath::Neural(p),
            TaggedPath::ClusterPath(p) => AnyPath::Cluster(p),
        }
    }
}
