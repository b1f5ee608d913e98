//! Gradient-boosted trees: one engine for scikit-learn's gradient boosting, XGBoost and
//! LightGBM.
//!
//! The libraries differ in where the learning rate lives, how they sum and which link
//! they apply; every difference is a field of [`GradientBoosting`], set by the importer:
//!
//! | library | leaf values | sum | base score | split test | missing |
//! |---|---|---|---|---|---|
//! | scikit-learn | `learning_rate × value`, f64 | f64 | `init_` raw prediction | `x <= t` | rejected |
//! | XGBoost | f32, eta folded in | f32, tree order | `base_score`, to margin | `x < t`, categorical | `default_left` |
//! | LightGBM | f64, shrinkage folded in | f64, tree order | none (in the first tree) | `x <= t`, categorical | missing type |

use whyline_core::{Aggregation, Explainable, ForestPath, TreePath};

use crate::decision_tree::Task;
use crate::info::{ModelInfo, Prediction, RowValue, argmax, sigmoid, softmax_in_place};
use crate::scratch;
use crate::tree::Tree;

/// The link from summed margins to the output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    /// The margin is the output (regression).
    Identity,
    /// `1 / (1 + e^(-scale × margin))`: a binary classifier's probability of class 1, or the
    /// output of a logistic regression objective. `scale` is LightGBM's `sigmoid` parameter
    /// (1 elsewhere).
    Logistic {
        /// Multiplies the margin before the sigmoid.
        scale: f64,
    },
    /// Softmax over one margin per class.
    Softmax,
}

/// The precision margins are summed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Accumulation {
    /// `f32`, starting from the base score, in tree order (XGBoost).
    F32,
    /// `f64`, starting from the base score, in tree order (scikit-learn, LightGBM).
    F64,
}

/// A gradient-boosted tree ensemble whose path lists each tree's leaf and margin.
///
/// `raw[k] = base_score[k] + Σ margins of the trees in group k`, then the [`Link`]. A
/// classifier's prediction is the class with the largest margin (class 1 when the margin
/// is not negative for a binary model), as scikit-learn predicts and XGBoost's
/// `multi:softmax` does.
///
/// In the path: `aggregation` is [`Aggregation::Sum`], `base_score` and `tree_agreement` are
/// those of the explained group (the predicted class for a multiclass model, the only group
/// otherwise); `tree_agreement` is the share of that group's trees whose margin has the same
/// sign as the group's total push `raw − base_score`; `tree_predictions` holds every tree's
/// leaf margin; `feature_importance` sums split gains along the paths, divided by the tree
/// count.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientBoosting {
    /// The trees, in boosting order; leaf values are margins with the learning rate folded in.
    pub trees: Vec<Tree>,
    /// The output group (class) of each tree.
    pub tree_groups: Vec<u32>,
    /// The base margin of each group.
    pub base_score: Vec<f64>,
    /// The link applied to the margins.
    pub link: Link,
    /// The precision of the sum.
    pub accumulation: Accumulation,
    /// Classifier or regressor.
    pub task: Task,
    /// Features per row.
    pub n_features: usize,
    /// Whether NaN inputs are allowed (they follow each split's missing rule); infinite
    /// values are rejected either way.
    pub allows_missing: bool,
    /// Names, labels and training statistics.
    pub info: ModelInfo,
}

impl GradientBoosting {
    /// Number of groups (one margin per group).
    pub fn n_groups(&self) -> usize {
        self.base_score.len()
    }

    pub(crate) fn check<T: RowValue>(&self, row: &[T]) -> whyline_core::Result<()> {
        if self.allows_missing {
            self.info.check_no_infinity(row, self.n_features)
        } else {
            self.info.check_finite(row, self.n_features)
        }
    }

    /// The raw margins, one per group, from the leaf `leaf_of(t, tree)` each tree reaches.
    fn margins(&self, leaf_of: impl FnMut(usize, &Tree) -> usize) -> Vec<f64> {
        let mut sums = vec![0.0; self.n_groups()];
        self.margins_into(leaf_of, &mut sums);
        sums
    }

    /// [`margins`](GradientBoosting::margins) written into `sums` (one per group), in the
    /// library's precision: an f32 sum is kept in f64 slots, which hold every f32 exactly,
    /// and rounded back to f32 at each addition, so it adds up bit for bit as in f32.
    fn margins_into(&self, mut leaf_of: impl FnMut(usize, &Tree) -> usize, sums: &mut [f64]) {
        for (sum, &base) in sums.iter_mut().zip(&self.base_score) {
            *sum = match self.accumulation {
                Accumulation::F32 => f64::from(base as f32),
                Accumulation::F64 => base,
            };
        }
        for (t, (tree, &group)) in self.trees.iter().zip(&self.tree_groups).enumerate() {
            let leaf = leaf_of(t, tree);
            if let Some(sum) = sums.get_mut(group as usize) {
                *sum = match self.accumulation {
                    Accumulation::F32 => f64::from(*sum as f32 + tree.node_value(leaf) as f32),
                    Accumulation::F64 => *sum + tree.node_value(leaf),
                };
            }
        }
    }

    /// The decision [`finish`](GradientBoosting::finish) takes from `raw`, without the
    /// probabilities: what [`Explainable::predict_one`] returns.
    fn decision(&self, raw: &[f64]) -> f64 {
        let first = raw.first().copied().unwrap_or(0.0);
        match (self.link, self.task) {
            (Link::Identity, _) => first,
            (Link::Logistic { scale }, Task::Regression) => self.sigmoid(scale * first),
            // scikit-learn's rule: class 1 when the margin is not negative.
            (Link::Logistic { .. }, Task::Classification { .. }) => {
                if first >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            // The largest margin, as scikit-learn and XGBoost's multi:softmax pick it
            // (probabilities can tie after rounding where margins do not).
            (Link::Softmax, _) => argmax(raw) as f64,
        }
    }

    /// The logistic function in the library's precision: f64, or XGBoost's f32
    /// `1 / (expf(min(-x, 88.7)) + 1)`.
    fn sigmoid(&self, x: f64) -> f64 {
        match self.accumulation {
            Accumulation::F64 => sigmoid(x),
            Accumulation::F32 => {
                let x = (-(x as f32)).min(88.7);
                f64::from(1.0f32 / (x.exp() + 1.0f32))
            }
        }
    }

    /// The prediction of the margins `raw`: [`decision`](GradientBoosting::decision) with
    /// the probabilities of a classifier.
    fn finish(&self, raw: Vec<f64>) -> Prediction {
        let value = self.decision(&raw);
        let probabilities = match (self.link, self.task) {
            (Link::Identity, _) | (Link::Logistic { .. }, Task::Regression) => None,
            (Link::Logistic { scale }, Task::Classification { .. }) => {
                let p = self.sigmoid(scale * raw.first().copied().unwrap_or(0.0));
                Some(vec![1.0 - p, p])
            }
            (Link::Softmax, _) => {
                let mut probabilities = raw.clone();
                match self.accumulation {
                    Accumulation::F32 => softmax_f32_in_place(&mut probabilities),
                    Accumulation::F64 => softmax_in_place(&mut probabilities),
                }
                Some(probabilities)
            }
        };
        Prediction {
            value,
            probabilities,
            raw,
        }
    }

    /// Predicts one row in the library's terms: margins, probabilities and the prediction.
    /// The f64 row is read as the library reads it: rounded to f32 for scikit-learn and
    /// XGBoost, compared in f64 for LightGBM ([`Tree::input`]).
    pub fn predict(&self, row: &[f64]) -> crate::Result<Prediction> {
        self.check(row)?;
        Ok(self.finish(self.margins(|_, tree| tree.leaf_index_f64(row))))
    }

    /// The leaf each tree reaches from the f64 row, numbered as the library numbers them:
    /// scikit-learn's `apply()`, XGBoost's node ids, LightGBM's leaf indices (`pred_leaf`).
    pub fn apply(&self, row: &[f64]) -> crate::Result<Vec<u32>> {
        self.check(row)?;
        Ok(self
            .trees
            .iter()
            .map(|tree| {
                let leaf = tree.leaf_index_f64(row);
                tree.nodes.get(leaf).map_or(0, |node| node.id)
            })
            .collect())
    }
}

/// XGBoost's softmax: `expf(x − max)` in f32, summed in f64, divided by the sum as f32.
fn softmax_f32_in_place(values: &mut [f64]) {
    let max = values
        .iter()
        .map(|&v| v as f32)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    for v in values.iter_mut() {
        let e = (*v as f32 - max).exp();
        sum += f64::from(e);
        *v = f64::from(e);
    }
    let sum = sum as f32;
    for v in values.iter_mut() {
        *v = f64::from(*v as f32 / sum);
    }
}

impl Explainable for GradientBoosting {
    type Path = ForestPath;

    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        self.check(row)?;
        // The margins on the stack (`scratch`) and only the decision taken from them: a
        // decision allocates nothing.
        let value = scratch::with_sums(self.n_groups(), 0.0, |margins| {
            self.margins_into(|_, tree| tree.leaf_index(row), margins);
            self.decision(margins)
        });
        Ok(value as f32)
    }

    fn explain_into(&self, row: &[f32], path: &mut ForestPath) -> whyline_core::Result<f32> {
        self.check(row)?;
        path.tree_paths
            .resize_with(self.trees.len(), TreePath::default);
        path.tree_predictions.clear();
        path.feature_importance.clear();
        path.feature_importance.resize(self.n_features, 0.0);
        // The margins summed during the walk, on the stack (`scratch`): a decision with its
        // path allocates nothing once the path's buffers have grown.
        Ok(scratch::with_sums(self.n_groups(), 0.0, |margins| {
            let (tree_paths, margins_of_trees, importance) = (
                &mut path.tree_paths,
                &mut path.tree_predictions,
                &mut path.feature_importance,
            );
            self.margins_into(
                |t, tree| {
                    let Some(tree_path) = tree_paths.get_mut(t) else {
                        return 0;
                    };
                    let leaf = tree.walk_splits_into(row, tree_path, Some(&mut *importance));
                    let margin = tree.node_value(leaf) as f32;
                    tree.leaf_into(leaf, margin, false, tree_path);
                    margins_of_trees.push(margin);
                    leaf
                },
                margins,
            );
            self.finish_path_with_margins(path, margins)
        }))
    }
}

impl GradientBoosting {
    /// What follows the tree paths in `path`, as [`Explainable::explain_into`] makes it once
    /// every tree's leaf is in `leaves` and its margin in `path.tree_predictions`, its gains
    /// summed into `path.feature_importance`: the importance averaged, the aggregation, base
    /// score, prediction, agreement and probability. Returns the prediction. Shared with
    /// [`crate::RecordedPathCheck`], so that a checked path and a rebuilt one agree.
    pub(crate) fn finish_path(&self, path: &mut ForestPath, leaves: &[usize]) -> f32 {
        scratch::with_sums(self.n_groups(), 0.0, |margins| {
            self.margins_into(|t, _| leaves.get(t).copied().unwrap_or(0), margins);
            self.finish_path_with_margins(path, margins)
        })
    }

    /// [`finish_path`](GradientBoosting::finish_path) from the groups' margins `raw`.
    fn finish_path_with_margins(&self, path: &mut ForestPath, raw: &[f64]) -> f32 {
        let n = self.trees.len().max(1) as f32;
        for importance in &mut path.feature_importance {
            *importance /= n;
        }
        let value = self.decision(raw);
        let output = value as f32;
        let group = if self.n_groups() > 1 {
            value as usize
        } else {
            0
        };
        let base = self.base_score.get(group).copied().unwrap_or(0.0);
        let push = raw.get(group).copied().unwrap_or(0.0) - base;
        let (mut members, mut agreeing) = (0usize, 0usize);
        for (&tree_group, &margin) in self.tree_groups.iter().zip(&path.tree_predictions) {
            if tree_group as usize == group {
                members += 1;
                if (f64::from(margin) >= 0.0) == (push >= 0.0) {
                    agreeing += 1;
                }
            }
        }
        path.aggregation = Aggregation::Sum;
        path.base_score = base as f32;
        path.ensemble_prediction = output;
        path.tree_agreement = if members == 0 {
            1.0
        } else {
            agreeing as f32 / members as f32
        };
        path.probability = self.probability_of(raw, value as usize).map(|p| p as f32);
        output
    }

    /// The probability [`finish`](GradientBoosting::finish) gives class `class` from the
    /// margins `raw`, computed with the same operations in the same order (so the same
    /// bits) without building the vector; `None` for a regressor.
    fn probability_of(&self, raw: &[f64], class: usize) -> Option<f64> {
        let first = raw.first().copied().unwrap_or(0.0);
        match (self.link, self.task) {
            (Link::Identity, _) | (Link::Logistic { .. }, Task::Regression) => None,
            (Link::Logistic { scale }, Task::Classification { .. }) => {
                let p = self.sigmoid(scale * first);
                Some(if class == 1 { p } else { 1.0 - p })
            }
            (Link::Softmax, _) => {
                let at = raw.get(class).copied()?;
                Some(match self.accumulation {
                    Accumulation::F32 => {
                        let max = raw
                            .iter()
                            .map(|&v| v as f32)
                            .fold(f32::NEG_INFINITY, f32::max);
                        let sum: f64 = raw
                            .iter()
                            .map(|&v| f64::from((v as f32 - max).exp()))
                            .fold(0.0, |sum, e| sum + e);
                        f64::from((at as f32 - max).exp() / sum as f32)
                    }
                    Accumulation::F64 => {
                        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let sum: f64 = raw
                            .iter()
                            .map(|&v| (v - max).exp())
                            .fold(0.0, |sum, e| sum + e);
                        (at - max).exp() / sum
                    }
                })
            }
        }
    }
}
