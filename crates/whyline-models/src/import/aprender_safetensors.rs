//! The SafeTensors files aprender's `save_safetensors` writes (`docs/aprender-format.md`):
//! an 8-byte little-endian header length, a JSON header mapping each tensor name to its
//! `dtype` (`F32`), `shape` and `data_offsets`, then the tensor bytes. The file does not
//! name its model type; the tensor names do:
//!
//! | tensors | model |
//! |---|---|
//! | `node_features`, `node_thresholds`, `node_classes`, `node_samples`, `node_left_child`, `node_right_child`, `max_depth` | `DecisionTreeClassifier` |
//! | the same prefixed `tree_{i}_` per tree, `n_estimators`, `max_depth`, `random_state` | `RandomForestClassifier` |
//! | `centroids` (`k × d`), `n_clusters`, `max_iter`, `tol`, `random_state`, `inertia`, `n_iter` | `KMeans` |
//!
//! `coefficients` and `intercept` alone are written alike by `LinearRegression`,
//! `LogisticRegression`, `Ridge`, `Lasso` and `ElasticNet`: the file cannot say which, so it
//! is refused with [`ModelError::UnsupportedModelType`] rather than guessed.
//!
//! Tree arrays are aprender's pre-order flattening: a leaf has feature −1 and child −1, its
//! class and sample count; a split its feature, threshold (f32) and child indices (samples
//! and class 0). Indices and counts are stored as f32 and must be whole numbers.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use whyline_core::SplitTest;

use crate::decision_tree::{DecisionTree, Task};
use crate::error::{ModelError, Result};
use crate::forest::RandomForest;
use crate::info::ModelInfo;
use crate::kmeans::KMeansModel;
use crate::model::{Loaded, ModelKind};
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree};

/// The format name in errors.
const FORMAT: &str = "aprender SafeTensors";

/// Largest header accepted (aprender's are a few kilobytes).
const MAX_HEADER: u64 = 16 << 20;

/// The tensors a single classifier tree has (with a `tree_{i}_` prefix in a forest).
const TREE_TENSORS: [&str; 6] = [
    "node_features",
    "node_thresholds",
    "node_classes",
    "node_samples",
    "node_left_child",
    "node_right_child",
];

/// Whether `bytes` look like a SafeTensors file: a header length that fits, then `{`.
pub(crate) fn looks_like(bytes: &[u8]) -> bool {
    let Some(length) = bytes.get(..8) else {
        return false;
    };
    let mut word = [0u8; 8];
    word.copy_from_slice(length);
    let n = u64::from_le_bytes(word);
    (2..=MAX_HEADER).contains(&n) && bytes.get(8) == Some(&b'{')
}

#[derive(Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// The tensors of a file, by name, as f32 values with their shapes.
struct Tensors<'a> {
    infos: BTreeMap<String, TensorInfo>,
    data: &'a [u8],
    data_start: usize,
    file: &'a Path,
}

impl Tensors<'_> {
    fn has(&self, name: &str) -> bool {
        self.infos.contains_key(name)
    }

    /// The values and shape of tensor `name`.
    fn get(&self, name: &str) -> Result<(Vec<f32>, &[u64])> {
        let info = self
            .infos
            .get(name)
            .ok_or_else(|| ModelError::malformed(self.file, format!("tensor {name}"), "missing"))?;
        let [start, end] = info.data_offsets;
        let bytes = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .filter(|(s, e)| s <= e)
            .and_then(|(s, e)| self.data.get(s..e))
            .ok_or_else(|| ModelError::Truncated {
                path: self.file.to_path_buf(),
                format: FORMAT,
                what: "a tensor's data",
                needed: (self.data_start as u64).saturating_add(end),
                found: (self.data_start + self.data.len()) as u64,
            })?;
        let count: u64 = info
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .unwrap_or(u64::MAX);
        if bytes.len() as u64 != count.saturating_mul(4) {
            return Err(ModelError::malformed(
                self.file,
                format!("tensor {name}"),
                format!(
                    "shape {:?} needs {} bytes of F32, data_offsets give {}",
                    info.shape,
                    count.saturating_mul(4),
                    bytes.len()
                ),
            ));
        }
        let values = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((values, &info.shape))
    }

    /// Tensor `name` as a vector of whole numbers at least `min` (indices, counts, labels
    /// stored as f32).
    fn integers(&self, name: &str, min: i64, limit: i64) -> Result<Vec<i64>> {
        let (values, _) = self.get(name)?;
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v.fract() == 0.0 && f64::from(v) >= min as f64 && f64::from(v) < limit as f64 {
                    Ok(v as i64)
                } else {
                    Err(ModelError::out_of_range(
                        self.file,
                        format!("tensor {name}[{i}]"),
                        v,
                        format!("a whole number in {min}..{limit}"),
                    ))
                }
            })
            .collect()
    }
}

/// Reads an aprender SafeTensors file.
pub(crate) fn load(bytes: &[u8], file: &Path) -> Result<Loaded> {
    let tensors = parse(bytes, file)?;
    let (kind, model_type) = if tensors.has("centroids") {
        (kmeans(&tensors)?, "KMeans")
    } else if tensors.has("node_features") {
        let tree = tree(&tensors, "", file)?;
        let n_features = tree.1;
        let n_classes = tree.2;
        (
            ModelKind::DecisionTree(DecisionTree {
                tree: tree.0,
                n_features,
                task: Task::Classification { n_classes },
                allows_missing: false,
                info: classes_info(n_classes),
            }),
            "DecisionTreeClassifier",
        )
    } else if tensors.has("tree_0_node_features") {
        (forest(&tensors, file)?, "RandomForestClassifier")
    } else if tensors.has("coefficients") && tensors.has("intercept") {
        return Err(ModelError::UnsupportedModelType {
            path: file.to_path_buf(),
            format: "aprender SafeTensors",
            model_type: "coefficients + intercept (aprender writes LinearRegression, \
                         LogisticRegression, Ridge, Lasso and ElasticNet alike, so the file \
                         cannot say which; save it with aprender's format::save)"
                .to_owned(),
            supported: "DecisionTreeClassifier, RandomForestClassifier, KMeans",
        });
    } else {
        let names: Vec<&str> = tensors.infos.keys().map(String::as_str).take(8).collect();
        return Err(ModelError::UnsupportedModelType {
            path: file.to_path_buf(),
            format: "aprender SafeTensors",
            model_type: format!("a file with tensors {}", names.join(", ")),
            supported: "DecisionTreeClassifier, RandomForestClassifier, KMeans",
        });
    };
    Ok(Loaded {
        kind,
        // SafeTensors files carry no aprender version.
        format_version: "safetensors".to_owned(),
        model_type: model_type.to_owned(),
        producer: "aprender (save_safetensors)".to_owned(),
    })
}

/// The header and the data section.
fn parse<'a>(bytes: &'a [u8], file: &'a Path) -> Result<Tensors<'a>> {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes.get(..8).unwrap_or(&[0; 8]));
    let n = u64::from_le_bytes(word);
    let end = 8u64.saturating_add(n);
    if (bytes.len() as u64) < end {
        return Err(ModelError::Truncated {
            path: file.to_path_buf(),
            format: FORMAT,
            what: "the JSON header its first 8 bytes declare",
            needed: end,
            found: bytes.len() as u64,
        });
    }
    let header = bytes.get(8..end as usize).unwrap_or(&[]);
    let mut infos: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| ModelError::json(file, &e))?;
    infos.remove("__metadata__");
    let mut out = BTreeMap::new();
    let data = bytes.get(end as usize..).unwrap_or(&[]);
    let mut covered = 0u64;
    for (name, value) in infos {
        let info: TensorInfo = serde_json::from_value(value)
            .map_err(|e| ModelError::malformed(file, format!("header.{name}"), e.to_string()))?;
        if info.dtype != "F32" {
            return Err(ModelError::unsupported(
                file,
                format!("header.{name}.dtype"),
                info.dtype.clone(),
                "F32 (what aprender's save_safetensors writes)",
            ));
        }
        covered = covered.max(info.data_offsets[1]);
        out.insert(name, info);
    }
    if covered != data.len() as u64 {
        let what = if covered > data.len() as u64 {
            return Err(ModelError::Truncated {
                path: file.to_path_buf(),
                format: FORMAT,
                what: "the tensor data the header declares",
                needed: end.saturating_add(covered),
                found: bytes.len() as u64,
            });
        } else {
            format!(
                "{} bytes after the last tensor",
                data.len() as u64 - covered
            )
        };
        return Err(ModelError::Binary {
            path: file.to_path_buf(),
            format: FORMAT,
            offset: end.saturating_add(covered),
            detail: what,
        });
    }
    Ok(Tensors {
        infos: out,
        data,
        data_start: end as usize,
        file,
    })
}

fn classes_info(n_classes: usize) -> ModelInfo {
    ModelInfo {
        class_values: (0..n_classes).map(|c| c as f64).collect(),
        ..ModelInfo::default()
    }
}

/// One classifier tree from its arrays (`prefix` is `tree_{i}_` in a forest): the tree, its
/// feature count (one more than the largest feature tested) and class count.
fn tree(t: &Tensors<'_>, prefix: &str, file: &Path) -> Result<(Tree, usize, usize)> {
    let name = |n: &str| format!("{prefix}{n}");
    let limit = 1 << 24;
    let features = t.integers(&name(TREE_TENSORS[0]), -1, limit)?;
    let (thresholds, _) = t.get(&name(TREE_TENSORS[1]))?;
    let classes = t.integers(&name(TREE_TENSORS[2]), 0, 4096)?;
    let samples = t.integers(&name(TREE_TENSORS[3]), 0, i64::MAX)?;
    let lefts = t.integers(&name(TREE_TENSORS[4]), -1, limit)?;
    let rights = t.integers(&name(TREE_TENSORS[5]), -1, limit)?;
    let n = features.len();
    for (tensor, len) in [
        (TREE_TENSORS[1], thresholds.len()),
        (TREE_TENSORS[2], classes.len()),
        (TREE_TENSORS[3], samples.len()),
        (TREE_TENSORS[4], lefts.len()),
        (TREE_TENSORS[5], rights.len()),
    ] {
        if len != n {
            return Err(ModelError::malformed(
                file,
                format!("tensor {prefix}{tensor}"),
                format!("{len} entries, {prefix}node_features has {n}"),
            ));
        }
    }
    let n_classes = (0..n)
        .filter(|&i| features[i] < 0)
        .map(|i| classes[i] as usize + 1)
        .max()
        .unwrap_or(1);
    let n_features = features.iter().map(|&f| f + 1).max().unwrap_or(1).max(1) as usize;
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let split = if features[i] < 0 {
            None
        } else {
            let (l, r) = (lefts[i], rights[i]);
            if l < 0 || r < 0 {
                return Err(ModelError::malformed(
                    file,
                    format!("tensor {prefix}node_left_child[{i}]"),
                    "a split without two children",
                ));
            }
            Some(Split {
                feature: features[i] as u32,
                threshold: thresholds[i],
                threshold_f64: f64::from(thresholds[i]),
                test: SplitTest::LessOrEqual,
                categories: Vec::new(),
                missing: MissingRule::Reject,
                default_left: false,
                left: l as u32,
                right: r as u32,
            })
        };
        nodes.push(Node {
            id: i as u32,
            split,
            n_samples: samples[i] as u64,
            cover: 0.0,
            impurity: None,
            gain: 0.0,
        });
    }
    let mut tree = Tree {
        input: InputPrecision::F32,
        nodes,
        n_values: n_classes,
        values: vec![0.0; n * n_classes],
        routes: Default::default(),
    };
    tree.validate(n_features).map_err(|(what, detail)| {
        ModelError::malformed(file, format!("tensors {prefix}node_*: {what}"), detail)
    })?;
    // Leaves: one-hot votes; splits: the sample-weighted mean of their children (children
    // come after their parent, so a backward pass fills them).
    for i in (0..n).rev() {
        let children = tree.nodes[i]
            .split
            .as_ref()
            .map(|s| (s.left as usize, s.right as usize));
        match children {
            None => {
                if let Some(v) = tree.values.get_mut(i * n_classes + classes[i] as usize) {
                    *v = 1.0;
                }
            }
            Some((l, r)) => {
                let (nl, nr) = (tree.nodes[l].n_samples, tree.nodes[r].n_samples);
                let total = nl.saturating_add(nr);
                tree.nodes[i].n_samples = total;
                let (wl, wr) = if total == 0 {
                    (0.5, 0.5)
                } else {
                    (nl as f64 / total as f64, nr as f64 / total as f64)
                };
                for c in 0..n_classes {
                    tree.values[i * n_classes + c] =
                        wl * tree.values[l * n_classes + c] + wr * tree.values[r * n_classes + c];
                }
            }
        }
    }
    for node in &mut tree.nodes {
        node.cover = node.n_samples as f64;
    }
    Ok((tree, n_features, n_classes))
}

fn forest(t: &Tensors<'_>, file: &Path) -> Result<ModelKind> {
    let mut trees = Vec::new();
    while t.has(&format!("tree_{}_node_features", trees.len())) {
        trees.push(tree(t, &format!("tree_{}_", trees.len()), file)?);
    }
    let n_features = trees.iter().map(|t| t.1).max().unwrap_or(1);
    // aprender's predict_proba without training labels has two classes at least.
    let n_classes = trees.iter().map(|t| t.2).max().unwrap_or(1).max(2);
    let trees = trees
        .into_iter()
        .map(|(mut tree, _, classes)| {
            widen_classes(&mut tree, classes, n_classes);
            tree
        })
        .collect();
    Ok(ModelKind::RandomForest(RandomForest {
        trees,
        n_features,
        task: Task::Classification { n_classes },
        allows_missing: false,
        info: classes_info(n_classes),
    }))
}

/// Pads every node's values from `from` to `to` classes with zeros.
fn widen_classes(tree: &mut Tree, from: usize, to: usize) {
    if from == to {
        return;
    }
    let mut values = Vec::with_capacity(tree.nodes.len() * to);
    for chunk in tree.values.chunks_exact(from.max(1)) {
        values.extend_from_slice(chunk);
        values.extend(std::iter::repeat_n(0.0, to - from));
    }
    tree.values = values;
    tree.n_values = to;
}

fn kmeans(t: &Tensors<'_>) -> Result<ModelKind> {
    let (values, shape) = t.get("centroids")?;
    let [k, d] = shape else {
        return Err(ModelError::malformed(
            t.file,
            "tensor centroids",
            format!("shape {shape:?}, expected [clusters, features]"),
        ));
    };
    let (k, d) = (*k as usize, *d as usize);
    if k == 0 || d == 0 {
        return Err(ModelError::malformed(
            t.file,
            "tensor centroids",
            "no clusters or no features",
        ));
    }
    for (i, v) in values.iter().enumerate() {
        super::aprender_models::check_finite(*v, &format!("tensor centroids[{i}]"), t.file)?;
    }
    Ok(ModelKind::KMeans(KMeansModel {
        centroids: values.into_iter().map(f64::from).collect(),
        n_clusters: k,
        n_features: d,
        info: ModelInfo::default(),
    }))
}
