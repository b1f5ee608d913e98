//! The compact walk behind every tree family's `predict` (`Tree::leaf_index_f64`) reaches the
//! leaf the split-by-split walk reaches, on every tree of every fixture: the fixtures' rows,
//! rows with missing values, and values on, just below and just above every threshold.

use whyline_models::{ModelKind, Tree};

use crate::fixtures::{Fixture, all, all_f64};

fn trees(fixture: &Fixture) -> Vec<&Tree> {
    match fixture.model.kind() {
        ModelKind::DecisionTree(m) => vec![&m.tree],
        ModelKind::RandomForest(m) => m.trees.iter().collect(),
        ModelKind::GradientBoosting(m) => m.trees.iter().collect(),
        _ => Vec::new(),
    }
}

/// Rows that probe every split of `tree`: the row with one feature set to the threshold (as
/// stored in f32 and f64), one step either side, NaN, zero and a category-like integer.
fn probes(tree: &Tree, base: &[f64]) -> Vec<Vec<f64>> {
    let mut rows = vec![base.to_vec()];
    for node in &tree.nodes {
        let Some(split) = &node.split else { continue };
        let feature = split.feature as usize;
        let t32 = f64::from(split.threshold);
        for value in [
            split.threshold_f64,
            split.threshold_f64.next_down(),
            split.threshold_f64.next_up(),
            t32,
            f64::from(split.threshold.next_down()),
            f64::from(split.threshold.next_up()),
            f64::NAN,
            0.0,
            -0.5,
            1.0,
            split.categories.first().map_or(2.0, |&c| f64::from(c)),
        ] {
            let mut row = base.to_vec();
            row[feature] = value;
            rows.push(row);
        }
    }
    rows
}

#[test]
fn the_compact_walk_reaches_the_leaf_the_splits_reach() {
    let mut checked = 0usize;
    for fixture in all().iter().chain(all_f64().iter()) {
        for tree in trees(fixture) {
            for base in fixture.inputs_f64.iter().take(3) {
                for row in probes(tree, base) {
                    assert_eq!(
                        tree.leaf_index_f64(&row),
                        tree.leaf_index_f64_by_splits(&row),
                        "{}: row {row:?}",
                        fixture.name
                    );
                    checked += 1;
                }
            }
            for row in fixture.inputs_f64.iter() {
                assert_eq!(
                    tree.leaf_index_f64(row),
                    tree.leaf_index_f64_by_splits(row),
                    "{}",
                    fixture.name
                );
            }
        }
    }
    assert!(
        checked > 100_000,
        "only {checked} probes: fixtures missing?"
    );
}

/// The explained `f32` walk as the nodes give it, split by split through `Split::decide`
/// (the one place the libraries' split semantics live): the splits taken with their node
/// ids, samples and tests, the impurity path (empty unless every node has one), and the leaf.
fn path_by_splits(tree: &Tree, row: &[f32]) -> (whyline_core::TreePath, usize) {
    let mut path = whyline_core::TreePath::default();
    let mut index = 0usize;
    let mut every_impurity = true;
    while let Some(node) = tree.nodes.get(index) {
        match node.impurity {
            Some(impurity) => path.impurity_path.push(impurity as f32),
            None => every_impurity = false,
        }
        let Some(split) = &node.split else { break };
        let value = row.get(split.feature as usize).copied().unwrap_or(f32::NAN);
        let (left, missing) = split.decide(value);
        path.splits.push(whyline_core::TreeSplit {
            node_index: node.id,
            feature_index: split.feature,
            threshold: split.threshold,
            test: split.test,
            categories: split.categories.clone(),
            went_left: left,
            missing,
            n_samples: node.n_samples,
        });
        index = if left { split.left } else { split.right } as usize;
    }
    if !every_impurity {
        path.impurity_path.clear();
    }
    let leaf = &tree.nodes[index];
    let values = tree.node_values(index);
    let total: f64 = values.iter().sum();
    let total = if total == 0.0 { 1.0 } else { total };
    path.leaf = whyline_core::LeafInfo {
        node_index: leaf.id,
        prediction: index as f32,
        n_samples: leaf.n_samples,
        class_distribution: Some(values.iter().map(|v| (v / total) as f32).collect()),
    };
    (path, index)
}

#[test]
fn the_compact_explained_walk_takes_the_splits_the_nodes_take() {
    let mut checked = 0usize;
    // One path reused across every walk, as the monitor reuses it.
    let mut path = whyline_core::TreePath::default();
    for fixture in all().iter().chain(all_f64().iter()) {
        for tree in trees(fixture) {
            for base in fixture.inputs_f64.iter().take(3) {
                for row in probes(tree, base) {
                    let row: Vec<f32> = row.iter().map(|&v| v as f32).collect();
                    let (expected, leaf) = path_by_splits(tree, &row);
                    assert_eq!(
                        tree.walk_into(&row, &mut path, |leaf| leaf as f32, true),
                        leaf,
                        "{}: row {row:?}",
                        fixture.name
                    );
                    assert_eq!(path, expected, "{}: row {row:?}", fixture.name);
                    assert_eq!(tree.leaf_index(&row), leaf, "{}", fixture.name);
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked > 100_000,
        "only {checked} probes: fixtures missing?"
    );
}
