//! Rows stay f64 until the model reads them (issue 9, section 2): on rows that f32 cannot
//! hold (`fixtures/f64/`, written by `python/make_f64_fixtures.py`), every family's
//! prediction, probabilities and raw outputs equal the library's to 1e-12 relative where
//! the library computes in f64 (linear and logistic regression, KNN, MLP), and bit for bit
//! for trees, forests and boosters, which read the row as their library does (rounded to
//! f32 by scikit-learn and XGBoost, compared in f64 by LightGBM). The tree fixtures include
//! rows on and one step beside a root split's threshold, where the two readings part.

use whyline_models::{ModelKind, Prediction};

use crate::exactness::predicted;
use crate::fixtures::{self, Fixture, relative_error};

/// The bound for families the library computes in f64.
const F64_TOLERANCE: f64 = 1e-12;
/// Probabilities and values below this are compared absolutely (at 1e-24).
const FLOOR: f64 = 1e-12;

/// Whether the family is made of trees (bit-identical to its library).
fn is_trees(fixture: &Fixture) -> bool {
    matches!(
        fixture.model.kind(),
        ModelKind::DecisionTree(_) | ModelKind::RandomForest(_) | ModelKind::GradientBoosting(_)
    )
}

/// Every output of one row next to the library's: `(what, ours, library)`.
fn outputs(fixture: &Fixture, row: usize, prediction: &Prediction) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    let mut add = |what: &str, ours: &[f64], theirs: &[f64]| {
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{} row {row} {what}",
            fixture.name
        );
        for (i, (&a, &e)) in ours.iter().zip(theirs).enumerate() {
            out.push((format!("{what}[{i}]"), a, e));
        }
    };
    let expected_predict = fixture.rows("predict").unwrap();
    add(
        "predict",
        &predicted(fixture, prediction),
        &expected_predict[row],
    );
    if let Some(expected) = fixture.rows("proba") {
        add(
            "predict_proba",
            prediction.probabilities.as_deref().unwrap_or(&[]),
            &expected[row],
        );
    }
    if let Some(expected) = fixture.rows("raw") {
        add("raw", &prediction.raw, &expected[row]);
    }
    out
}

/// The worst relative error over every row and output of a fixture, and where it is.
fn worst_error(fixture: &Fixture, rows: &[Vec<f64>]) -> (f64, String) {
    let mut worst = (0.0f64, String::new());
    for (r, row) in rows.iter().enumerate() {
        let prediction = fixture
            .model
            .predict(row)
            .unwrap_or_else(|e| panic!("{}: row {r}: {e}", fixture.name));
        for (what, ours, theirs) in outputs(fixture, r, &prediction) {
            let error = relative_error(ours, theirs, FLOOR);
            if error > worst.0 || error.is_nan() {
                worst = (
                    error,
                    format!("row {r} {what}: ours {ours:e}, library {theirs:e}"),
                );
            }
        }
    }
    worst
}

#[test]
fn f64_rows_give_the_library_outputs_to_1e_12_for_linear_knn_and_mlp() {
    let mut report = Vec::new();
    for fixture in fixtures::all_f64().iter().filter(|f| !is_trees(f)) {
        let (error, at) = worst_error(fixture, &fixture.inputs_f64);
        assert!(
            error <= F64_TOLERANCE,
            "{}: error {error:e} > {F64_TOLERANCE:e} at {at}",
            fixture.name
        );
        report.push(format!("{:<36} {error:.2e}", fixture.name));
    }
    assert!(
        report.len() >= 17,
        "only {} f64 fixtures checked",
        report.len()
    );
    // Shown with --nocapture: the worst error per fixture, for the README's table.
    for line in report {
        println!("{line}");
    }
}

#[test]
fn trees_forests_and_boosters_are_bit_identical_on_f64_rows() {
    let mut checked = 0;
    for fixture in fixtures::all_f64().iter().filter(|f| is_trees(f)) {
        let leaves = fixture.rows("leaves").unwrap();
        for (r, row) in fixture.inputs_f64.iter().enumerate() {
            let prediction = fixture.model.predict(row).unwrap();
            for (what, ours, theirs) in outputs(fixture, r, &prediction) {
                assert_eq!(
                    ours.to_bits(),
                    theirs.to_bits(),
                    "{} row {r} {what}: ours {ours:e}, library {theirs:e}",
                    fixture.name
                );
            }
            let ours = fixtures::leaves_of(fixture, row);
            assert_eq!(ours, leaves[r], "{} row {r} leaves", fixture.name);
            checked += 1;
        }
    }
    assert!(checked >= 600, "only {checked} tree rows checked");
}

#[test]
fn f64_knn_neighbours_and_distances_equal_kneighbors() {
    let mut checked = 0;
    for fixture in fixtures::all_f64() {
        let ModelKind::Knn(knn) = fixture.model.kind() else {
            continue;
        };
        let neighbors = &fixture.doc["neighbors"];
        for (r, row) in fixture.inputs_f64.iter().enumerate() {
            let ours = knn.neighbors(row).unwrap();
            let indices = neighbors["indices"][r].as_array().unwrap();
            let distances = neighbors["distances"][r].as_array().unwrap();
            assert_eq!(ours.len(), indices.len());
            for ((index, distance), (theirs_index, theirs_distance)) in
                ours.iter().zip(indices.iter().zip(distances))
            {
                assert_eq!(*index as u64, theirs_index.as_u64().unwrap());
                let theirs_distance = theirs_distance.as_f64().unwrap();
                let error = relative_error(*distance, theirs_distance, FLOOR);
                assert!(
                    error <= F64_TOLERANCE,
                    "{} row {r}: distance {distance:e}, kneighbors {theirs_distance:e}",
                    fixture.name
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 120, "four KNN fixtures of 30 rows");
}

#[test]
fn the_f64_fixtures_tell_a_row_rounded_to_f32_from_the_f64_row() {
    // The guard on the tests above: where the library computes on the f64 row (linear,
    // distance-weighted KNN, MLP, LightGBM), predicting the row rounded to f32 misses the
    // library's outputs by far more than the tolerance on every such fixture. (Uniform KNN
    // outputs are neighbour counts, which rounding leaves alone on these rows.)
    let mut checked = 0;
    for fixture in fixtures::all_f64() {
        let uniform_knn = matches!(
            fixture.model.kind(),
            ModelKind::Knn(knn) if knn.weights == whyline_models::KnnWeights::Uniform
        );
        let reads_f64 = (!is_trees(&fixture) && !uniform_knn) || fixture.kind == "lightgbm";
        if !reads_f64 {
            continue;
        }
        let rounded: Vec<Vec<f64>> = fixture
            .inputs
            .iter()
            .map(|row| fixtures::widen(row))
            .collect();
        let (error, _) = worst_error(&fixture, &rounded);
        assert!(
            error > 1e3 * F64_TOLERANCE,
            "{}: rounding rows to f32 changes the outputs by only {error:e}",
            fixture.name
        );
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} fixtures checked");
}
