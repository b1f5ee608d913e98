//! aprender's trees and forests in an `.apr` payload (model types `DecisionTree` and
//! `RandomForest`): `DecisionTreeClassifier`, `DecisionTreeRegressor`,
//! `RandomForestClassifier` and `RandomForestRegressor` (bincode 1 of aprender's structs,
//! layouts in `docs/aprender-format.md`), read into whyline's [`Tree`].
//!
//! aprender's tree is a recursive enum: a split `Node { feature_idx, threshold: f32, left,
//! right }` sends `x[feature_idx] <= threshold` left; a classifier `Leaf { class_label,
//! n_samples }` predicts its label, a regressor `Leaf { value: f32, n_samples }` its value.
//! Nodes are numbered in pre-order (node, left subtree, right subtree), the order of
//! aprender's own `save_safetensors` arrays. A split's sample count is the sum of its
//! leaves', and its value the sample-weighted mean of its children's (for a classifier, of
//! their one-hot votes). Up to 0.27 aprender stores no impurity, so split gains are 0;
//! aprender-core 0.72 adds `impurity` to every node and `n_node_samples` to splits (the
//! [`Layout::WithImpurity`] layout): the Gini impurity (classifiers) or the population
//! variance of the targets (regressors) of the training rows reaching the node, in f32. A
//! split's gain is then the weighted impurity decrease `(n·impurity − n_left·impurity_left −
//! n_right·impurity_right) / n_root`, the term aprender-core's own `feature_importances`
//! (mean decrease in impurity) sums per feature before it averages over the trees and
//! normalises. Each layout is read only to its exact end. Both layouts are checked against
//! files aprender wrote (`tests/fixtures/aprender/0.27.8/` and `0.72.3/`, the latter with
//! aprender-core's node lists and `feature_importances`); in the decision trees there a
//! split's `n_node_samples` equals the sum of its leaves' counts, which is what is used.

use std::path::Path;

use whyline_core::SplitTest;

use super::aprender_payload::Payload;
use crate::decision_tree::{DecisionTree, Task};
use crate::error::{ModelError, Result};
use crate::forest::RandomForest;
use crate::info::ModelInfo;
use crate::model::ModelKind;
use crate::tree::{InputPrecision, MissingRule, Node, Split, Tree};

/// Deepest tree read: deeper nesting (which aprender's `max_depth` never produces in
/// practice) is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

/// Most features a tree may declare (a row is checked against the count).
const MAX_FEATURES: u64 = 1 << 24;

/// Largest class label accepted (aprender's labels are class indices).
const MAX_CLASSES: u64 = 4096;

/// Most node values (nodes × classes) one tree may need.
const MAX_VALUES: usize = 1 << 26;

/// Which of aprender's two tree enums a payload holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `TreeNode`: leaves hold a class label (`usize`).
    Classifier,
    /// `RegressionTreeNode`: leaves hold a value (`f32`).
    Regressor,
}

/// The node layouts aprender has written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// 0.10 to 0.27: `Node { feature_idx, threshold, left, right }`, leaves `{ output,
    /// n_samples }`.
    Plain,
    /// aprender-core 0.72 (checked with files 0.72.3 wrote): `Node { feature_idx, threshold,
    /// impurity: f32, n_node_samples: usize, left, right }`, leaves `{ output, n_samples,
    /// impurity: f32 }`.
    WithImpurity,
}

/// Every (kind, layout) pair, in the order tried.
const ATTEMPTS: [(Kind, Layout, &str); 4] = [
    (Kind::Classifier, Layout::Plain, "DecisionTreeClassifier"),
    (
        Kind::Classifier,
        Layout::WithImpurity,
        "DecisionTreeClassifier",
    ),
    (Kind::Regressor, Layout::Plain, "DecisionTreeRegressor"),
    (
        Kind::Regressor,
        Layout::WithImpurity,
        "DecisionTreeRegressor",
    ),
];

/// One node as read, in pre-order.
struct RawNode {
    /// Impurity at the node ([`Layout::WithImpurity`]).
    impurity: Option<f32>,
    /// `(feature, threshold, left, right)` of a split.
    split: Option<(u32, f32, u32, u32)>,
    /// Class label (classifier) or value (regressor) of a leaf.
    output: f64,
    /// Training samples of a leaf.
    n_samples: u64,
}

/// A tree as read: its nodes, and the feature count its struct declares (classifiers from
/// aprender 0.25 on record it).
struct RawTree {
    nodes: Vec<RawNode>,
    n_features: Option<usize>,
}

/// A `DecisionTree` payload: the first of classifier and regressor, in either node layout,
/// that reads to the payload's end.
pub(super) fn decision_tree(payload: &[u8], file: &Path) -> Result<(ModelKind, &'static str)> {
    let mut first_error = None;
    for (kind, layout, name) in ATTEMPTS {
        match read_whole(payload, file, name, |r| read_tree(r, kind, layout, "")) {
            Ok(raw) => {
                let n_features = n_features_of(&[&raw], None);
                let (n_values, task, info) = match kind {
                    Kind::Classifier => {
                        let n_classes = n_classes_of(&[&raw], None);
                        (
                            n_classes,
                            Task::Classification { n_classes },
                            classes_info(n_classes),
                        )
                    }
                    Kind::Regressor => (1, Task::Regression, ModelInfo::default()),
                };
                let tree = build(&raw, kind, n_values, n_features, "tree", file)?;
                let model = DecisionTree {
                    tree,
                    n_features,
                    task,
                    allows_missing: false,
                    info,
                };
                return Ok((ModelKind::DecisionTree(model), name));
            }
            // Report the first layout's error (aprender 0.27's classifier, the common case).
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| ModelError::malformed(file, "payload", "empty")))
}

/// A `RandomForest` payload: the first of classifier and regressor, in either node layout,
/// that reads to the payload's end.
pub(super) fn random_forest(payload: &[u8], file: &Path) -> Result<(ModelKind, &'static str)> {
    let mut first_error = None;
    for (kind, layout, _) in ATTEMPTS {
        let name = match kind {
            Kind::Classifier => "RandomForestClassifier",
            Kind::Regressor => "RandomForestRegressor",
        };
        match read_whole(payload, file, name, |r| read_forest(r, kind, layout)) {
            Ok(forest) => return forest_model(forest, kind, file),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| ModelError::malformed(file, "payload", "empty")))
}

/// A forest as read: its trees, the training matrix's column count and the largest
/// training label (classifiers), when the payload keeps the training data.
struct RawForest {
    trees: Vec<RawTree>,
    x_train_cols: Option<usize>,
    y_train_classes: Option<usize>,
}

fn forest_model(forest: RawForest, kind: Kind, file: &Path) -> Result<(ModelKind, &'static str)> {
    if forest.trees.is_empty() {
        return Err(ModelError::malformed(
            file,
            "payload.trees",
            "the forest has no trees (saved before it was fitted)",
        ));
    }
    let raws: Vec<&RawTree> = forest.trees.iter().collect();
    let n_features = n_features_of(&raws, forest.x_train_cols);
    let (n_values, task, info, name) = match kind {
        Kind::Classifier => {
            let n_classes = n_classes_of(&raws, forest.y_train_classes);
            (
                n_classes,
                Task::Classification { n_classes },
                classes_info(n_classes),
                "RandomForestClassifier",
            )
        }
        Kind::Regressor => (
            1,
            Task::Regression,
            ModelInfo::default(),
            "RandomForestRegressor",
        ),
    };
    let trees = raws
        .iter()
        .enumerate()
        .map(|(t, raw)| {
            build(
                raw,
                kind,
                n_values,
                n_features,
                &format!("trees[{t}]"),
                file,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((
        ModelKind::RandomForest(RandomForest {
            trees,
            n_features,
            task,
            allows_missing: false,
            info,
        }),
        name,
    ))
}

/// Runs `read` on the whole payload and requires it to end there.
fn read_whole<T>(
    payload: &[u8],
    file: &Path,
    name: &str,
    read: impl FnOnce(&mut Payload<'_>) -> Result<T>,
) -> Result<T> {
    let mut reader = Payload::new(payload, file);
    let value = read(&mut reader)?;
    reader.finish(name)?;
    Ok(value)
}

/// `DecisionTreeClassifier { tree: Option<TreeNode>, max_depth: Option<usize>,
/// n_features: Option<usize> }` or `DecisionTreeRegressor { tree:
/// Option<RegressionTreeNode>, max_depth: Option<usize>, min_samples_split: usize,
/// min_samples_leaf: usize }`; `prefix` names the tree in a forest (`trees[3].`).
fn read_tree(r: &mut Payload<'_>, kind: Kind, layout: Layout, prefix: &str) -> Result<RawTree> {
    if !r.option(&format!("{prefix}tree"))? {
        return Err(r.fail(
            &format!("{prefix}tree"),
            "None: the tree was saved before it was fitted",
        ));
    }
    let mut nodes = Vec::new();
    read_node(r, kind, layout, &mut nodes, 0, prefix)?;
    if r.option(&format!("{prefix}max_depth"))? {
        r.u64(&format!("{prefix}max_depth"))?;
    }
    let n_features = match kind {
        Kind::Classifier => {
            if r.option(&format!("{prefix}n_features"))? {
                Some(r.usize(&format!("{prefix}n_features"), MAX_FEATURES)?)
            } else {
                None
            }
        }
        Kind::Regressor => {
            r.u64(&format!("{prefix}min_samples_split"))?;
            r.u64(&format!("{prefix}min_samples_leaf"))?;
            None
        }
    };
    Ok(RawTree { nodes, n_features })
}

/// One node and its subtrees, appended in pre-order; returns its index.
fn read_node(
    r: &mut Payload<'_>,
    kind: Kind,
    layout: Layout,
    nodes: &mut Vec<RawNode>,
    depth: usize,
    prefix: &str,
) -> Result<u32> {
    let index = nodes.len();
    let field = |name: &str| format!("{prefix}tree.node[{index}].{name}");
    if depth > MAX_DEPTH {
        return Err(r.fail(
            &field("depth"),
            format!("the tree is deeper than {MAX_DEPTH} levels"),
        ));
    }
    let index_u32 = u32::try_from(index).map_err(|_| r.fail(&field("index"), "too many nodes"))?;
    match r.variant(&field("variant"), 2)? {
        0 => {
            let feature = r.usize(&field("feature_idx"), u64::from(u32::MAX))?;
            let threshold = r.f32(&field("threshold"))?;
            let impurity = match layout {
                Layout::Plain => None,
                Layout::WithImpurity => {
                    let impurity = r.f32(&field("impurity"))?;
                    r.u64(&field("n_node_samples"))?;
                    Some(impurity)
                }
            };
            nodes.push(RawNode {
                impurity,
                split: None,
                output: 0.0,
                n_samples: 0,
            });
            let left = read_node(r, kind, layout, nodes, depth + 1, prefix)?;
            let right = read_node(r, kind, layout, nodes, depth + 1, prefix)?;
            if let Some(node) = nodes.get_mut(index) {
                node.split = Some((feature as u32, threshold, left, right));
            }
        }
        _ => {
            let output = match kind {
                Kind::Classifier => r.usize(&field("class_label"), MAX_CLASSES)? as f64,
                Kind::Regressor => {
                    let value = r.f32(&field("value"))?;
                    if !value.is_finite() {
                        return Err(
                            r.fail(&field("value"), format!("{value} is not a finite number"))
                        );
                    }
                    f64::from(value)
                }
            };
            let n_samples = r.u64(&field("n_samples"))?;
            let impurity = match layout {
                Layout::Plain => None,
                Layout::WithImpurity => Some(r.f32(&field("impurity"))?),
            };
            nodes.push(RawNode {
                impurity,
                split: None,
                output,
                n_samples,
            });
        }
    }
    Ok(index_u32)
}

/// `RandomForestClassifier` / `RandomForestRegressor { trees: Vec<tree>, n_estimators:
/// usize, max_depth: Option<usize>, random_state: Option<u64>, oob_indices:
/// Vec<Vec<usize>>, x_train: Option<Matrix<f32>>, y_train: Option<Vec<usize>> (classifier)
/// | Option<Vector<f32>> (regressor) }`.
fn read_forest(r: &mut Payload<'_>, kind: Kind, layout: Layout) -> Result<RawForest> {
    // A tree takes at least 20 bytes (Some tag, a leaf, max_depth tag, 2 more fields).
    let n_trees = r.len("trees.len", 20)?;
    let trees = (0..n_trees)
        .map(|t| read_tree(r, kind, layout, &format!("trees[{t}].")))
        .collect::<Result<Vec<_>>>()?;
    r.u64("n_estimators")?;
    if r.option("max_depth")? {
        r.u64("max_depth")?;
    }
    if r.option("random_state")? {
        r.u64("random_state")?;
    }
    let n_oob = r.len("oob_indices.len", 8)?;
    for t in 0..n_oob {
        r.skip_u64s(&format!("oob_indices[{t}]"))?;
    }
    let x_train_cols = if r.option("x_train")? {
        // Matrix { data: Vec<f32>, rows: usize, cols: usize }
        let data = r.f32s("x_train.data")?;
        let rows = r.u64("x_train.rows")?;
        let cols = r.usize("x_train.cols", MAX_FEATURES)?;
        if rows.checked_mul(cols as u64) != Some(data.len() as u64) {
            return Err(r.fail(
                "x_train",
                format!("{rows} × {cols} does not match {} values", data.len()),
            ));
        }
        Some(cols)
    } else {
        None
    };
    let y_train_classes = if r.option("y_train")? {
        match kind {
            Kind::Classifier => {
                let labels = r.u64s("y_train")?;
                let max = labels.iter().copied().max().unwrap_or(0);
                if max >= MAX_CLASSES {
                    return Err(
                        r.fail("y_train", format!("label {max} is not below {MAX_CLASSES}"))
                    );
                }
                Some(max as usize + 1)
            }
            Kind::Regressor => {
                // Vector { data: Vec<f32> }
                r.f32s("y_train.data")?;
                None
            }
        }
    } else {
        None
    };
    Ok(RawForest {
        trees,
        x_train_cols,
        y_train_classes,
    })
}

/// The feature count: the training matrix's, else the one the trees declare, else one more
/// than the largest feature a split tests.
fn n_features_of(trees: &[&RawTree], x_train_cols: Option<usize>) -> usize {
    x_train_cols
        .or_else(|| trees.iter().find_map(|t| t.n_features))
        .unwrap_or_else(|| {
            trees
                .iter()
                .flat_map(|t| t.nodes.iter())
                .filter_map(|n| n.split.map(|(f, ..)| f as usize + 1))
                .max()
                .unwrap_or(1)
        })
}

/// The class count: one more than the largest training label when the payload keeps the
/// labels (aprender's `predict_proba` width), else than the largest leaf label.
fn n_classes_of(trees: &[&RawTree], y_train_classes: Option<usize>) -> usize {
    let from_leaves = trees
        .iter()
        .flat_map(|t| t.nodes.iter())
        .filter(|n| n.split.is_none())
        .map(|n| n.output as usize + 1)
        .max()
        .unwrap_or(1);
    y_train_classes.map_or(from_leaves, |n| n.max(from_leaves))
}

fn classes_info(n_classes: usize) -> ModelInfo {
    ModelInfo {
        class_values: (0..n_classes).map(|c| c as f64).collect(),
        ..ModelInfo::default()
    }
}

/// whyline's tree from the nodes read: splits `x <= threshold` (f32, as aprender compares
/// its f32 rows), leaf one-hot votes or values, and counts and values of splits from their
/// children (children come after their parent, so one backward pass fills them).
fn build(
    raw: &RawTree,
    kind: Kind,
    n_values: usize,
    n_features: usize,
    field: &str,
    file: &Path,
) -> Result<Tree> {
    let n = raw.nodes.len();
    if n.saturating_mul(n_values) > MAX_VALUES {
        return Err(ModelError::malformed(
            file,
            format!("payload.{field}"),
            format!("{n} nodes × {n_values} classes exceed {MAX_VALUES} values"),
        ));
    }
    let mut samples = vec![0u64; n];
    let mut values = vec![0.0f64; n * n_values];
    for (i, node) in raw.nodes.iter().enumerate().rev() {
        match node.split {
            None => {
                samples[i] = node.n_samples;
                match kind {
                    Kind::Classifier => {
                        if let Some(v) = values.get_mut(i * n_values + node.output as usize) {
                            *v = 1.0;
                        }
                    }
                    Kind::Regressor => values[i * n_values] = node.output,
                }
            }
            Some((_, _, left, right)) => {
                let (l, r) = (left as usize, right as usize);
                let (nl, nr) = (samples[l], samples[r]);
                let total = nl.saturating_add(nr);
                samples[i] = total;
                // Weighted mean of the children; their plain mean when neither has samples.
                let (wl, wr) = if total == 0 {
                    (0.5, 0.5)
                } else {
                    (nl as f64 / total as f64, nr as f64 / total as f64)
                };
                for v in 0..n_values {
                    values[i * n_values + v] =
                        wl * values[l * n_values + v] + wr * values[r * n_values + v];
                }
            }
        }
    }
    // Weighted impurity decrease over the root's samples (scikit-learn's importance terms),
    // where the payload has impurities.
    let root_samples = samples.first().copied().unwrap_or(0).max(1) as f64;
    let impurity = |i: usize| {
        raw.nodes
            .get(i)
            .and_then(|n| n.impurity)
            .map_or(0.0, f64::from)
    };
    let gain = |i: usize, node: &RawNode| match node.split {
        Some((_, _, left, right)) if node.impurity.is_some() => {
            let (l, r) = (left as usize, right as usize);
            (samples[i] as f64 * impurity(i)
                - samples[l] as f64 * impurity(l)
                - samples[r] as f64 * impurity(r))
                / root_samples
        }
        _ => 0.0,
    };
    let nodes = raw
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| Node {
            id: i as u32,
            split: node.split.map(|(feature, threshold, left, right)| Split {
                feature,
                threshold,
                threshold_f64: f64::from(threshold),
                test: SplitTest::LessOrEqual,
                categories: Vec::new(),
                missing: MissingRule::Reject,
                default_left: false,
                left,
                right,
            }),
            n_samples: samples[i],
            cover: samples[i] as f64,
            impurity: node.impurity.map(f64::from),
            gain: gain(i, node),
        })
        .collect();
    let tree = Tree {
        // aprender's rows are f32 and its thresholds f32.
        input: InputPrecision::F32,
        nodes,
        n_values,
        values,
        routes: Default::default(),
    };
    tree.validate(n_features).map_err(|(what, detail)| {
        ModelError::malformed(file, format!("payload.{field}.{what}"), detail)
    })?;
    Ok(tree)
}
