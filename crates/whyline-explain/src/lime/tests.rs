//! LIME's internals against the `lime` package: its surrogate on the very neighbourhoods
//! lime built (`NAME.lime.json`, by `python/make_explain_fixtures.py --only lime`) and its
//! quartile edges. (End-to-end weights, determinism and errors: `tests/lime.rs`.)

use std::path::PathBuf;

use serde_json::Value;

use super::{QuartileDiscretizer, fit_surrogate};
use crate::background::Background;

const FIXTURES: [&str; 3] = [
    "sk_logreg_breast_cancer",
    "sk_rf_reg_diabetes",
    "sk_tree_clf_iris",
];

fn explain_fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn background(fixture: &Value) -> Background {
    let rows: Vec<Vec<f32>> = fixture["background"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| floats(row).into_iter().map(|x| x as f32).collect())
        .collect();
    Background::from_rows(&rows, rows[0].len()).unwrap()
}

fn close(ours: f64, theirs: f64, tolerance: f64) -> bool {
    (ours - theirs).abs() <= tolerance * theirs.abs().max(1.0)
}

#[test]
fn surrogate_matches_lime_base_on_lime_neighbourhoods_within_1e_6() {
    for name in FIXTURES {
        let fixture = explain_fixture(&format!("{name}.lime.json"));
        let width = fixture["kernel_width"].as_f64().unwrap();
        for (r, hood) in fixture["neighbourhoods"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let binary: Vec<&str> = hood["binary"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap())
                .collect();
            let m = binary[0].len();
            let data: Vec<f64> = binary
                .iter()
                .flat_map(|row| row.bytes().map(|b| if b == b'1' { 1.0 } else { 0.0 }))
                .collect();
            let targets = floats(&hood["targets"]);
            let distances = floats(&hood["distances"]);
            let fit = fit_surrogate(&data, m, &targets, &distances, width).unwrap();
            let weights = floats(&hood["weights"]);
            for (j, (ours, theirs)) in fit.weights.iter().zip(&weights).enumerate() {
                assert!(
                    close(*ours, *theirs, 1e-6),
                    "{name} row {r} feature {j}: ours {ours} lime {theirs}"
                );
            }
            for (what, ours, key) in [
                ("intercept", fit.intercept, "intercept"),
                ("score", fit.score, "score"),
                ("local prediction", fit.local_prediction, "local_pred"),
            ] {
                let theirs = hood[key].as_f64().unwrap();
                assert!(
                    close(ours, theirs, 1e-6),
                    "{name} row {r} {what}: ours {ours} lime {theirs}"
                );
            }
        }
    }
}

#[test]
fn quartile_edges_are_the_numpy_percentiles_lime_computed() {
    for name in FIXTURES {
        let fixture = explain_fixture(&format!("{name}.lime.json"));
        let discretizer = QuartileDiscretizer::new(&background(&fixture));
        for (j, expected) in fixture["edges"].as_array().unwrap().iter().enumerate() {
            let expected = floats(expected);
            let ours = discretizer.edges(j).unwrap();
            assert_eq!(ours, expected.as_slice(), "{name} feature {j}");
        }
        assert!(discretizer.edges(discretizer.n_features()).is_none());
    }
}

#[test]
fn a_neighbourhood_that_does_not_form_rows_is_refused() {
    assert!(fit_surrogate(&[1.0, 0.0], 2, &[1.0, 2.0], &[0.0], 1.0).is_err());
}
