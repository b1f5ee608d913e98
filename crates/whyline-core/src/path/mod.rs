//! Decision paths: how a model reached one decision, in the model's own terms.
//!
//! Each model family has its own path type ([`LinearPath`], [`TreePath`], [`ForestPath`],
//! [`KnnPath`], [`NeuralPath`], [`ClusterPath`]); [`AnyPath`] holds any of them, for readers of mixed logs.
//! Every path type knows its APRT [`PathType`] byte, encodes itself into the APRT path bytes
//! and back, renders a human-readable explanation, and reports its confidence.

mod any;
mod cluster;
mod forest;
mod knn;
mod linear;
mod neural;
mod tree;

use std::fmt;

pub use any::AnyPath;
pub use cluster::ClusterPath;
pub use forest::{Aggregation, ForestPath};
pub use knn::KnnPath;
pub use linear::LinearPath;
pub use neural::NeuralPath;
pub use tree::{LeafInfo, SplitTest, TreePath, TreeSplit};

use crate::error::Result;

/// The path type byte of an APRT record (offset 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum PathType {
    /// [`LinearPath`].
    Linear = 0,
    /// [`TreePath`].
    Tree = 1,
    /// [`ForestPath`].
    Forest = 2,
    /// [`KnnPath`].
    Knn = 3,
    /// [`NeuralPath`].
    Neural = 4,
    /// [`ClusterPath`].
    Cluster = 5,
}

impl PathType {
    /// Every defined path type, in byte order.
    pub const ALL: [PathType; 6] = [
        PathType::Linear,
        PathType::Tree,
        PathType::Forest,
        PathType::Knn,
        PathType::Neural,
        PathType::Cluster,
    ];

    /// The byte written to an APRT record.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// The path type for an APRT byte, or `None` for a reserved value.
    pub fn from_byte(byte: u8) -> Option<PathType> {
        PathType::ALL.get(usize::from(byte)).copied()
    }

    /// The name used as the `type` of a path in the JSON view (`"LinearPath"`, ...).
    pub fn json_name(self) -> &'static str {
        match self {
            PathType::Linear => "LinearPath",
            PathType::Tree => "TreePath",
            PathType::Forest => "ForestPath",
            PathType::Knn => "KnnPath",
            PathType::Neural => "NeuralPath",
            PathType::Cluster => "ClusterPath",
        }
    }
}

impl fmt::Display for PathType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json_name())
    }
}

/// Names that turn indices into words in explanations: `feature[3] (income)`, `class=1 (approve)`.
///
/// Missing names fall back to indices, so an empty `Names` is always valid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// Feature names by feature index.
    pub features: Vec<String>,
    /// Class names by class index.
    pub classes: Vec<String>,
}

impl Names {
    /// No names: explanations use indices only.
    pub const fn none() -> Names {
        Names {
            features: Vec::new(),
            classes: Vec::new(),
        }
    }

    /// `feature[i] (name)` or `feature[i]`.
    pub fn feature(&self, index: usize) -> String {
        match self.features.get(index) {
            Some(name) => format!("feature[{index}] ({name})"),
            None => format!("feature[{index}]"),
        }
    }

    /// The feature's name, or `feature[i]` when it has none.
    pub fn feature_short(&self, index: usize) -> String {
        match self.features.get(index) {
            Some(name) => name.clone(),
            None => format!("feature[{index}]"),
        }
    }

    /// `class=i (name)` or `class=i`.
    pub fn class(&self, index: usize) -> String {
        match self.classes.get(index) {
            Some(name) => format!("class={index} ({name})"),
            None => format!("class={index}"),
        }
    }
}

/// The common interface of every decision path.
///
/// A path is what a model can say about one decision without extra computation: the
/// contributions of a linear model, the splits a tree took, the votes of a forest or of
/// k neighbours, the input gradient of a network.
///
/// Encoding is split in two: [`encode_path`](DecisionPath::encode_path) appends to a caller's
/// buffer (so a hot loop reuses one buffer and allocates nothing), and
/// [`to_bytes`](DecisionPath::to_bytes) is the allocating convenience. The JSON view comes
/// from the path's `serde` implementation, whose `type` field names the path type.
pub trait DecisionPath:
    Clone + fmt::Debug + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static
{
    /// The APRT path type of this path.
    fn path_type(&self) -> PathType;

    /// A human-readable explanation, with feature and class names where `names` has them.
    fn explain_with(&self, names: &Names) -> String;

    /// A human-readable explanation using indices for features and classes.
    fn explain(&self) -> String {
        self.explain_with(&Names::none())
    }

    /// Per-feature attribution carried by the path (contributions, importance or gradient);
    /// empty when the path type carries none (a single tree's path, a KNN vote).
    fn feature_contributions(&self) -> &[f32];

    /// Confidence in this decision, in `[0, 1]`; `1.0` where the model has no notion of it
    /// (regressors).
    fn confidence(&self) -> f32;

    /// Appends the path's JSON view (the `path` object of a trace's JSON, `type` first) to
    /// `out`.
    ///
    /// The default goes through the path's serde derive; the path types of this crate
    /// write the same bytes directly, which is what makes [`encode_json`](crate::encode_json)
    /// fast.
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json::encode_path_reference(self, out)
    }

    /// Appends the APRT path bytes (the `path_data` of a record) to `out`.
    fn encode_path(&self, out: &mut Vec<u8>);

    /// The APRT path bytes as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_path(&mut out);
        out
    }

    /// Decodes APRT path bytes of the given path type. The whole slice must be one path.
    ///
    /// `base_offset` is the position of `bytes[0]` in the caller's stream, used in errors.
    /// A concrete path type rejects any other `path_type` with
    /// [`CoreError::PathTypeMismatch`](crate::CoreError::PathTypeMismatch); [`AnyPath`]
    /// accepts all.
    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self>;

    /// Decodes APRT path bytes of the given path type (offsets in errors start at 0).
    fn from_bytes(path_type: PathType, bytes: &[u8]) -> Result<Self> {
        Self::decode_path(path_type, bytes, 0)
    }
}

/// Fails unless `found` is the path type a concrete decoder reads.
pub(crate) fn expect_type(expected: PathType, found: PathType) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(crate::CoreError::PathTypeMismatch { expected, found })
    }
}

/// Indices of the `k` largest absolute values, largest first; ties keep the lower index first.
/// NaN sorts last, so it never pushes out a real value.
pub(crate) fn top_by_magnitude(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut indexed: Vec<(usize, f32)> = values.iter().copied().enumerate().collect();
    indexed.sort_by(|a, b| {
        let (ma, mb) = (a.1.abs(), b.1.abs());
        match (ma.is_nan(), mb.is_nan()) {
            (true, true) => a.0.cmp(&b.0),
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            (false, false) => mb.total_cmp(&ma).then(a.0.cmp(&b.0)),
        }
    });
    indexed.truncate(k);
    indexed
}

/// Formats a signed value the way explanations show contributions: `+0.42`, `-0.15`.
pub(crate) fn signed(value: f32) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value >= 0.0 {
        format!("+{}", short(value))
    } else {
        short(value)
    }
}

/// A value with at most four decimals, trailing zeros dropped (`0.42`, `35`, `50000`).
pub(crate) fn short(value: f32) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}
