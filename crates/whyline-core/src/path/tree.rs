//! The decision path of one decision tree: the splits taken from the root to a leaf.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{DecisionPath, Names, PathType, expect_type, short};
use crate::codec::json_float as jf;
use crate::codec::wire::{Reader, Writer};
use crate::error::{CoreError, Result};

/// The test a split node applies; a row that passes goes left.
///
/// Libraries differ: scikit-learn and LightGBM send `x <= threshold` left, XGBoost sends
/// `x < threshold` left, and categorical splits test set membership.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitTest {
    /// Left when `x <= threshold`.
    #[default]
    LessOrEqual,
    /// Left when `x < threshold`.
    Less,
    /// Left when `x` is one of `categories`.
    InCategories,
    /// Left when `x` is not one of `categories`.
    NotInCategories,
}

impl SplitTest {
    fn to_byte(self) -> u8 {
        match self {
            SplitTest::LessOrEqual => 0,
            SplitTest::Less => 1,
            SplitTest::InCategories => 2,
            SplitTest::NotInCategories => 3,
        }
    }

    fn from_byte(byte: u8) -> Option<SplitTest> {
        match byte {
            0 => Some(SplitTest::LessOrEqual),
            1 => Some(SplitTest::Less),
            2 => Some(SplitTest::InCategories),
            3 => Some(SplitTest::NotInCategories),
            _ => None,
        }
    }
}

/// One split on the path: which node, which test, which way the row went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TreeSplit {
    /// Index of the split node in the tree (as the library numbers its nodes).
    pub node_index: u32,
    /// Feature tested at the node.
    pub feature_index: u32,
    /// Threshold of a numeric test (unused by categorical tests).
    #[serde(with = "jf::one")]
    pub threshold: f32,
    /// The test that sends a row left.
    #[serde(default)]
    pub test: SplitTest,
    /// Categories of a categorical test; empty for numeric tests.
    #[serde(default)]
    pub categories: Vec<u32>,
    /// Direction taken: `true` went to the left child.
    pub went_left: bool,
    /// The value was missing (NaN) and the row took the node's default direction.
    #[serde(default)]
    pub missing: bool,
    /// Training samples (or cover) that reached this node.
    pub n_samples: u64,
}

/// The leaf a path ends in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LeafInfo {
    /// Index of the leaf node in the tree.
    pub node_index: u32,
    /// The leaf's output: a class index, a regression value or a boosting margin.
    #[serde(with = "jf::one")]
    pub prediction: f32,
    /// Training samples (or cover) that reached this leaf.
    pub n_samples: u64,
    /// Class distribution at the leaf (fractions or weighted counts), for classifiers.
    #[serde(with = "jf::option_vec", default)]
    pub class_distribution: Option<Vec<f32>>,
}

/// How one tree reached its output.
///
/// APRT path bytes (path type 1):
///
/// ```text
/// splits            u32 count, then per split:
///   node_index      u32
///   feature_index   u32
///   threshold       f32
///   test            u8   (0 <=, 1 <, 2 in categories, 3 not in categories)
///   flags           u8   (bit 0 went_left, bit 1 missing; other bits must be 0)
///   n_samples       u64
///   categories      u32 count, then count × u32
/// impurity_path     u32 count, then count × f32
/// leaf.node_index   u32
/// leaf.prediction   f32
/// leaf.n_samples    u64
/// leaf.class_distribution  u8 flag, then u32 count and count × f32 when present
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "TreePath")]
pub struct TreePath {
    /// The splits taken, root first.
    pub splits: Vec<TreeSplit>,
    /// The leaf reached.
    pub leaf: LeafInfo,
    /// Impurity (Gini, entropy or squared error, per the model's criterion) at each node of
    /// the path, root first and leaf last; empty when the model file does not store it.
    /// The seed spec calls this `gini_path`, which readers also accept.
    #[serde(with = "jf::vec", alias = "gini_path", default)]
    pub impurity_path: Vec<f32>,
}

impl TreePath {
    /// Number of splits on the path.
    pub fn depth(&self) -> usize {
        self.splits.len()
    }

    pub(crate) fn encode_into(&self, w: &mut Writer<'_>) {
        // 26 bytes a split without categories, ~20 bytes of impurity and leaf after.
        w.reserve(4 + 26 * self.splits.len() + 4 * self.impurity_path.len() + 32);
        w.count(self.splits.len());
        for split in &self.splits {
            // The fixed fields at once (one bounds check, not six): the layout of the
            // decoder below, field by field.
            let mut fixed = [0u8; 22];
            fixed[0..4].copy_from_slice(&split.node_index.to_le_bytes());
            fixed[4..8].copy_from_slice(&split.feature_index.to_le_bytes());
            fixed[8..12].copy_from_slice(&split.threshold.to_bits().to_le_bytes());
            fixed[12] = split.test.to_byte();
            fixed[13] = u8::from(split.went_left) | (u8::from(split.missing) << 1);
            fixed[14..22].copy_from_slice(&split.n_samples.to_le_bytes());
            w.bytes(&fixed);
            w.u32s(&split.categories);
        }
        w.f32s(&self.impurity_path);
        w.u32(self.leaf.node_index);
        w.f32(self.leaf.prediction);
        w.u64(self.leaf.n_samples);
        w.opt_f32s(self.leaf.class_distribution.as_deref());
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<TreePath> {
        // A split takes at least 26 bytes.
        let n_splits = r.count("splits", 26)?;
        let mut splits = Vec::with_capacity(n_splits);
        for _ in 0..n_splits {
            let node_index = r.u32("split.node_index")?;
            let feature_index = r.u32("split.feature_index")?;
            let threshold = r.f32("split.threshold")?;
            let test_offset = r.offset();
            let test_byte = r.u8("split.test")?;
            let test = SplitTest::from_byte(test_byte).ok_or(CoreError::InvalidField {
                offset: test_offset,
                field: "split.test",
                detail: format!("test byte is {test_byte}, expected 0..=3"),
            })?;
            let flags_offset = r.offset();
            let flags = r.u8("split.flags")?;
            if flags & !0b11 != 0 {
                return Err(CoreError::InvalidField {
                    offset: flags_offset,
                    field: "split.flags",
                    detail: format!("flags byte is {flags:#04x}, only bits 0 and 1 are defined"),
                });
            }
            let n_samples = r.u64("split.n_samples")?;
            let categories = r.u32s("split.categories")?;
            splits.push(TreeSplit {
                node_index,
                feature_index,
                threshold,
                test,
                categories,
                went_left: flags & 1 != 0,
                missing: flags & 2 != 0,
                n_samples,
            });
        }
        let impurity_path = r.f32s("impurity_path")?;
        let leaf = LeafInfo {
            node_index: r.u32("leaf.node_index")?,
            prediction: r.f32("leaf.prediction")?,
            n_samples: r.u64("leaf.n_samples")?,
            class_distribution: r.opt_f32s("leaf.class_distribution")?,
        };
        Ok(TreePath {
            splits,
            leaf,
            impurity_path,
        })
    }

    /// Writes the node-by-node lines of the explanation, each prefixed with `indent`.
    pub(crate) fn write_explanation(&self, text: &mut String, names: &Names, indent: &str) {
        for split in &self.splits {
            let feature = names.feature_short(split.feature_index as usize);
            let question = match split.test {
                SplitTest::LessOrEqual => format!("{feature} <= {}", short(split.threshold)),
                SplitTest::Less => format!("{feature} < {}", short(split.threshold)),
                SplitTest::InCategories => format!("{feature} in {:?}", split.categories),
                SplitTest::NotInCategories => format!("{feature} not in {:?}", split.categories),
            };
            let answer = match (split.missing, split.went_left) {
                (true, true) => "MISSING (default: went left".to_owned(),
                (true, false) => "MISSING (default: went right".to_owned(),
                (false, true) => "YES (went left".to_owned(),
                (false, false) => "NO (went right".to_owned(),
            };
            let _ = writeln!(
                text,
                "{indent}Node {}: {question}? {answer}, n={})",
                split.node_index, split.n_samples
            );
        }
        let leaf = &self.leaf;
        match &leaf.class_distribution {
            Some(distribution) => {
                let total: f32 = distribution.iter().sum();
                let class = leaf.prediction as usize;
                let share = distribution.get(class).copied().unwrap_or(0.0);
                let confidence = if total > 0.0 { share / total } else { 0.0 };
                let _ = writeln!(
                    text,
                    "{indent}Node {}: LEAF → {}, confidence={:.2}",
                    leaf.node_index,
                    names.class(class),
                    confidence
                );
                let shares: Vec<String> = distribution.iter().map(|v| short(*v)).collect();
                let _ = writeln!(
                    text,
                    "{indent}        Training samples: n={}, class distribution [{}]",
                    leaf.n_samples,
                    shares.join(", ")
                );
            }
            None => {
                let _ = writeln!(
                    text,
                    "{indent}Node {}: LEAF → value={} (n={})",
                    leaf.node_index,
                    short(leaf.prediction),
                    leaf.n_samples
                );
            }
        }
    }
}

impl DecisionPath for TreePath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        crate::codec::json_write::tree(self, out);
        Ok(())
    }

    fn path_type(&self) -> PathType {
        PathType::Tree
    }

    fn explain_with(&self, names: &Names) -> String {
        let mut text = format!("Decision Path (depth={}):\n", self.depth());
        self.write_explanation(&mut text, names, "  ");
        text.truncate(text.trim_end().len());
        text
    }

    fn feature_contributions(&self) -> &[f32] {
        &[]
    }

    fn confidence(&self) -> f32 {
        match &self.leaf.class_distribution {
            Some(distribution) => {
                let total: f32 = distribution.iter().sum();
                let best = distribution.iter().copied().fold(0.0f32, f32::max);
                if total > 0.0 { best / total } else { 0.0 }
            }
            None => 1.0,
        }
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        self.encode_into(&mut Writer::new(out));
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        expect_type(PathType::Tree, path_type)?;
        let mut r = Reader::new(bytes, base_offset);
        let path = TreePath::decode_from(&mut r)?;
        r.finish("TreePath")?;
        Ok(path)
    }
}
