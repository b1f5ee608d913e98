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
