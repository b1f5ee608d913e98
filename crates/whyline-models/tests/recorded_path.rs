//! `RecordedPathCheck` (what replay compares recorded forest paths with) agrees with
//! rebuilding the path: on every random forest and gradient-boosted fixture (scikit-learn,
//! XGBoost, LightGBM), for the fixture rows and for rows
//! probing every split (on, below and above its threshold, NaN), it accepts exactly the
//! bytes `explain_into` then `encode_path` write, with the same output, and no byte changed
//! anywhere in them.

use whyline_core::{AnyPath, DecisionPath, Explainable};
use whyline_models::{Model, ModelKind, RecordedPathScratch};

use crate::fixtures::{Fixture, all};

/// The fixture rows, then each with one feature moved onto, just below and just above
/// every threshold of the first tree, and set to NaN.
fn rows(fixture: &Fixture) -> Vec<Vec<f32>> {
    let mut rows: Vec<Vec<f32>> = fixture.inputs.clone();
    let trees = match fixture.model.kind() {
        ModelKind::RandomForest(forest) => &forest.trees,
        ModelKind::GradientBoosting(boosting) => &boosting.trees,
        _ => return rows,
    };
    let Some(base) = fixture.inputs.first() else {
        return rows;
    };
    for node in trees.iter().flat_map(|tree| &tree.nodes).take(400) {
        let Some(split) = &node.split else { continue };
        for value in [
            split.threshold,
            split.threshold.next_down(),
            split.threshold.next_up(),
            f32::NAN,
        ] {
            let mut row = base.clone();
            row[split.feature as usize] = value;
            rows.push(row);
        }
    }
    rows
}

fn forests() -> Vec<(String, Model, Vec<Vec<f32>>)> {
    let mut forests: Vec<(String, Model, Vec<Vec<f32>>)> = all()
        .into_iter()
        .filter(|f| f.model.preprocessing().is_none())
        .filter(|f| {
            matches!(
                f.model.kind(),
                ModelKind::RandomForest(_) | ModelKind::GradientBoosting(_)
            )
        })
        .map(|f| {
            let rows = rows(&f);
            (f.name, f.model, rows)
        })
        .collect();
    // The demo's forest, with rows across its inputs' ranges.
    let demo = Model::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../whyline-cli/assets/demo_model.json"
    ))
    .unwrap();
    let n = demo.n_features();
    let demo_rows = (0..500)
        .map(|i| {
            (0..n)
                .map(|j| ((i * 7 + j * 13) % 97) as f32 * 0.75 - 10.0)
                .collect()
        })
        .collect();
    forests.push(("demo_model".into(), demo, demo_rows));
    let boosted = forests
        .iter()
        .filter(|(_, model, _)| matches!(model.kind(), ModelKind::GradientBoosting(_)))
        .count();
    assert!(
        forests.len() >= 8 && boosted >= 4,
        "tree ensemble fixtures: {} ({boosted} boosted)",
        forests.len()
    );
    forests
}

#[test]
fn the_check_accepts_exactly_the_rebuilt_bytes() {
    let mut accepted = 0usize;
    let mut not_shown = 0usize;
    for (name, model, rows) in forests() {
        let accepted_before = accepted;
        let check = model
            .recorded_path_check()
            .unwrap_or_else(|| panic!("{name}: no check for a tree ensemble"));
        let mut scratch = RecordedPathScratch::default();
        let mut path = model.empty_path();
        for row in &rows {
            let rebuilt = model.explain_into(row, &mut path);
            let Ok(output) = rebuilt else {
                assert_eq!(
                    check.matches(row, &[], &mut scratch),
                    None,
                    "{name}: {row:?}"
                );
                continue;
            };
            let mut bytes = Vec::new();
            path.encode_path(&mut bytes);
            match check.matches(row, &bytes, &mut scratch) {
                Some(checked) => {
                    assert_eq!(checked.to_bits(), output.to_bits(), "{name}: {row:?}");
                    accepted += 1;
                }
                None => {
                    // Only a row that met a missing value on its way may be left to a
                    // rebuild, and then the path says so.
                    let AnyPath::Forest(forest) = &path else {
                        panic!("{name}: not a forest path")
                    };
                    assert!(
                        forest
                            .tree_paths
                            .iter()
                            .any(|t| t.splits.iter().any(|s| s.missing)),
                        "{name}: the check refused the rebuilt bytes of {row:?}"
                    );
                    not_shown += 1;
                }
            }
            // Any byte changed (at a spread of places, the tail included) is refused, and
            // so are the bytes cut short or with one more.
            let step = (bytes.len() / 97).max(1);
            for at in (0..bytes.len()).step_by(step).chain([bytes.len() - 1]) {
                let mut changed = bytes.clone();
                changed[at] ^= 0x10;
                assert_eq!(
                    check.matches(row, &changed, &mut scratch),
                    None,
                    "{name}: byte {at}"
                );
            }
            assert_eq!(
                check.matches(row, &bytes[..bytes.len() - 1], &mut scratch),
                None
            );
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(check.matches(row, &longer, &mut scratch), None);
        }
        assert!(
            accepted > accepted_before,
            "{name}: no row's bytes were accepted"
        );
    }
    assert!(accepted > 1_000, "accepted {accepted}");
    assert!(not_shown > 0, "no probe met a missing value");
}

/// A recorded path is accepted only for a row the model sends down it: another row's
/// record, self-consistent as it is (each tree's bytes are some leaf's encoding, and the
/// tail matches them), is refused unless the row's own rebuilt record is the same bytes.
/// The probe rows lie just below, on and just above thresholds, so neighbours often differ
/// in one split's direction only (sibling leaves, whose gains and votes can be equal).
#[test]
fn another_rows_record_is_refused_unless_it_is_the_rows_own() {
    let (mut refused, mut shared) = (0usize, 0usize);
    for (name, model, rows) in forests() {
        let check = model.recorded_path_check().unwrap();
        let mut scratch = RecordedPathScratch::default();
        let mut path = model.empty_path();
        let mut record = |row: &[f32]| {
            model.explain_into(row, &mut path).ok().and_then(|output| {
                let AnyPath::Forest(forest) = &path else {
                    return None;
                };
                let missing = forest
                    .tree_paths
                    .iter()
                    .any(|t| t.splits.iter().any(|s| s.missing));
                let mut bytes = Vec::new();
                path.encode_path(&mut bytes);
                (!missing).then_some((bytes, output))
            })
        };
        let records: Vec<_> = rows.iter().map(|row| record(row)).collect();
        for (pair, records) in rows.windows(2).zip(records.windows(2)) {
            let (Some((first, _)), Some((second, output))) = (&records[0], &records[1]) else {
                continue;
            };
            let checked = check.matches(&pair[1], first, &mut scratch);
            if first == second {
                assert_eq!(checked.map(f32::to_bits), Some(output.to_bits()), "{name}");
                shared += 1;
            } else {
                assert_eq!(
                    checked, None,
                    "{name}: {:?} passed as {:?}",
                    pair[1], pair[0]
                );
                refused += 1;
            }
        }
    }
    assert!(
        refused > 500 && shared > 100,
        "refused {refused}, shared {shared}"
    );
}

#[test]
fn only_bare_random_forests_and_boosted_ensembles_have_a_check() {
    for fixture in all() {
        let is_forest = matches!(
            fixture.model.kind(),
            ModelKind::RandomForest(_) | ModelKind::GradientBoosting(_)
        ) && fixture.model.preprocessing().is_none();
        assert_eq!(
            fixture.model.recorded_path_check().is_some(),
            is_forest,
            "{}",
            fixture.name
        );
    }
}
