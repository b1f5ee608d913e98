//! Decision paths told in the input columns: the estimator's path (over its features)
//! rewritten so that every split, contribution and importance names the column the user
//! gave.
//!
//! | path part | estimator feature | input column |
//! |---|---|---|
//! | split on a scaled number | `num__income <= 0.41` | `income <= 52000` (the threshold mapped back through the increasing transforms) |
//! | split on an encoded category | `cat__city_Paris <= 0.5` | `city in {Lyon, Nice}` (the categories whose encoded value goes left) |
//! | linear contribution, importance | one per feature | summed per column, in feature order |
//! | input gradient (MLP) | one per feature | chain rule through the scalers, summed per column (0 through an encoder) |
//!
//! A split whose feature has a transform that does not keep order (clipping, a lookup after
//! a numeric step) keeps its threshold in the feature's scale, on the input's index.

use whyline_core::{AnyPath, ForestPath, SplitTest, TreePath, TreeSplit};

use super::{Preprocessing, Transform};

/// Rewrites `path`, produced by the estimator over its features, in the input columns of
/// `row` (a split on a categorical column whose value is unknown or missing is marked
/// `missing`: the value is in none of the column's categories).
pub(crate) fn remap_path(stage: &Preprocessing, row: &[f32], path: &mut AnyPath) {
    match path {
        AnyPath::Linear(linear) => {
            linear.contributions = stage.attribute_f32(&linear.contributions);
        }
        AnyPath::Tree(tree) => remap_tree(stage, row, tree),
        AnyPath::Forest(forest) => remap_forest(stage, row, forest),
        AnyPath::Neural(neural) => {
            neural.input_gradient = gradient_to_inputs(stage, &neural.input_gradient);
            if let Some(ig) = neural.integrated_gradients.as_mut() {
                *ig = stage.attribute_f32(ig);
            }
        }
        // Neighbours and distances are about training rows, not columns.
        AnyPath::Knn(_) => {}
        // The margin's per-feature shares, summed per column (distances are per cluster).
        AnyPath::Cluster(cluster) => {
            cluster.contributions = stage.attribute_f32(&cluster.contributions);
        }
    }
}

fn remap_forest(stage: &Preprocessing, row: &[f32], forest: &mut ForestPath) {
    for tree in &mut forest.tree_paths {
        remap_tree(stage, row, tree);
    }
    if !forest.feature_importance.is_empty() {
        forest.feature_importance = stage.attribute_f32(&forest.feature_importance);
    }
}

fn remap_tree(stage: &Preprocessing, row: &[f32], tree: &mut TreePath) {
    for split in &mut tree.splits {
        remap_split(stage, row, split);
    }
}

/// One split in the input's terms (see the module table).
fn remap_split(stage: &Preprocessing, row: &[f32], split: &mut TreeSplit) {
    let feature = split.feature_index as usize;
    let Some(derived) = stage.features.get(feature) else {
        return;
    };
    let input = derived.input;
    let test = split.test;
    let threshold = split.threshold;
    let set = split.categories.clone();
    let goes_left = |value: f64| -> bool {
        if value.is_nan() {
            return false;
        }
        match test {
            SplitTest::LessOrEqual => value <= f64::from(threshold),
            SplitTest::Less => value < f64::from(threshold),
            SplitTest::InCategories | SplitTest::NotInCategories => {
                let member = value >= 0.0
                    && value.fract() == 0.0
                    && set.binary_search(&(value as u32)).is_ok();
                (test == SplitTest::InCategories) == member
            }
        }
    };
    if let Some(left) = stage.categories_where(feature, goes_left) {
        split.test = SplitTest::InCategories;
        split.categories = left;
        split.threshold = 0.0;
        let value = row.get(input).copied().unwrap_or(f32::NAN);
        split.missing = split.missing || value.is_nan() || value < 0.0;
    } else if matches!(test, SplitTest::LessOrEqual | SplitTest::Less)
        && let Some(mapped) = stage.threshold_to_input(feature, f64::from(threshold))
    {
        #[allow(clippy::cast_possible_truncation)] // the path's thresholds are f32
        {
            split.threshold = mapped as f32;
        }
    }
    split.feature_index = u32::try_from(input).unwrap_or(u32::MAX);
}

/// The input gradient of each column: each feature's gradient times the derivative of its
/// transforms (the scalers' `1 / scale` and `scale`; 0 through an encoder), summed per
/// column.
fn gradient_to_inputs(stage: &Preprocessing, gradient: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; stage.n_inputs()];
    for (derived, &g) in stage.features.iter().zip(gradient) {
        let mut derivative = 1.0f64;
        for transform in &derived.transforms {
            derivative *= match *transform {
                Transform::Impute { .. } | Transform::Clip { .. } => 1.0,
                Transform::Standardize { scale, .. } => 1.0 / scale,
                Transform::Affine { scale, .. } => scale,
                Transform::Lookup { .. }
                | Transform::Unknown { .. }
                | Transform::OneHot { .. }
                | Transform::OneHotMissing => 0.0,
            };
        }
        if let Some(slot) = out.get_mut(derived.input) {
            #[allow(clippy::cast_possible_truncation)] // paths hold f32
            {
                *slot += (f64::from(g) * derivative) as f32;
            }
        }
    }
    out
}
