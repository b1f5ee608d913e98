//! Predictions, probabilities, raw margins and leaves equal the libraries' own outputs.

use whyline_core::Explainable;
use whyline_models::Prediction;

use crate::fixtures::{self, Fixture, relative_error};

/// Tolerances, as the issue sets them: 1e-6 relative for f64 paths (scikit-learn,
/// LightGBM probabilities), 1e-5 of |margin| for the float32 and margin paths of XGBoost
/// and LightGBM. Relative errors use a floor of 1e-12 under |expected|, so a probability
/// of 1e-15 is compared absolutely.
const SKLEARN_TOLERANCE: f64 = 1e-6;
const BOOSTER_TOLERANCE: f64 = 1e-5;
const FLOOR: f64 = 1e-12;

/// The library's `predict` value from our prediction, per fixture kind and objective.
pub(crate) fn predicted(fixture: &Fixture, prediction: &Prediction) -> Vec<f64> {
    let model_type = fixture.model.identity().unwrap().model_type.as_str();
    let probabilities = || prediction.probabilities.clone().unwrap();
    match (fixture.kind.as_str(), model_type) {
        ("xgboost", "xgboost:multi:softprob") | ("lightgbm", "lightgbm:multiclass") => {
            probabilities()
        }
        ("xgboost", "xgboost:binary:logistic") | ("lightgbm", "lightgbm:binary") => {
            vec![probabilities()[1]]
        }
        ("whyline", _) if prediction.probabilities.is_some() => {
            // scikit-learn predicts the class label; the model predicts its index.
            let labels = &fixture.model.info().class_values;
            vec![labels[prediction.value as usize]]
        }
        _ => vec![prediction.value],
    }
}

struct Worst {
    error: f64,
    at: String,
}

impl Worst {
    fn new() -> Worst {
        Worst {
            error: 0.0,
            at: String::new(),
        }
    }

    fn check(&mut self, actual: &[f64], expected: &[f64], what: &str, row: usize, floor: f64) {
        assert_eq!(
            actual.len(),
            expected.len(),
            "{what} row {row}: {actual:?} vs {expected:?}"
        );
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            let error = relative_error(a, e, floor);
            if error > self.error || error.is_nan() {
                self.error = error;
                self.at = format!("{what} row {row} [{i}]: ours {a:e}, library {e:e}");
            }
        }
    }
}

fn check_fixture(fixture: &Fixture) -> (f64, f64) {
    let (tolerance, raw_floor) = match fixture.kind.as_str() {
        "whyline" => (SKLEARN_TOLERANCE, FLOOR),
        // "≤ 1e-5 of |margin|": margins are compared relative to max(|margin|, 1).
        _ => (BOOSTER_TOLERANCE, 1.0),
    };
    let expected_predict = fixture.rows("predict").unwrap();
    let expected_proba = fixture.rows("proba");
    let expected_raw = fixture.rows("raw");
    let mut worst_output = Worst::new();
    let mut worst_raw = Worst::new();
    for (r, row) in fixture.inputs_f64.iter().enumerate() {
        let prediction = fixture
            .model
            .predict(row)
            .unwrap_or_else(|e| panic!("{}: row {r}: {e}", fixture.name));
        worst_output.check(
            &predicted(fixture, &prediction),
            &expected_predict[r],
            "predict",
            r,
            FLOOR,
        );
        if let (Some(expected), Some(ours)) = (&expected_proba, &prediction.probabilities) {
            worst_output.check(ours, &expected[r], "predict_proba", r, FLOOR);
        }
        if let Some(expected) = &expected_raw {
            worst_raw.check(&prediction.raw, &expected[r], "raw", r, raw_floor);
        }
    }
    assert!(
        worst_output.error <= tolerance,
        "{}: output error {:e} > {tolerance:e} at {}",
        fixture.name,
        worst_output.error,
        worst_output.at
    );
    assert!(
        worst_raw.error <= tolerance,
        "{}: raw error {:e} > {tolerance:e} at {}",
        fixture.name,
        worst_raw.error,
        worst_raw.at
    );
    (worst_output.error, worst_raw.error)
}

#[test]
fn predictions_equal_the_libraries_outputs_for_every_fixture() {
    let mut report = Vec::new();
    for fixture in fixtures::all() {
        let (output, raw) = check_fixture(&fixture);
        report.push(format!(
            "{:<45} output {output:.2e}  raw {raw:.2e}",
            fixture.name
        ));
    }
    // Shown with --nocapture: the worst error per fixture, for the README's table.
    for line in report {
        println!("{line}");
    }
}

#[test]
fn trees_written_by_scikit_learn_1_3_predict_its_probabilities() {
    // scikit-learn 1.3 stored weighted class counts in a classifier's nodes (1.4 and later
    // store fractions) and divided each tree's counts by their sum in predict_proba; read
    // as fractions, a balanced forest's probabilities would be weighted by each tree's
    // total. Every probability of all three sets is compared, and the leaves.
    for fixture in fixtures::all_sklearn13() {
        assert_eq!(
            fixture.doc["library"]["version"], "1.3.2",
            "{}",
            fixture.name
        );
        let (output, _) = check_fixture(&fixture);
        assert!(output <= 1e-12, "{}: output error {output:e}", fixture.name);
        let leaves = fixture.rows("leaves").unwrap();
        for (r, row) in fixture.inputs_f64.iter().enumerate() {
            let ours = fixtures::leaves_of(&fixture, row);
            assert_eq!(ours, leaves[r], "{}: row {r} leaves", fixture.name);
        }
    }
}

#[test]
fn leaves_equal_apply_and_pred_leaf_for_every_row() {
    let mut checked = 0;
    for fixture in fixtures::all() {
        let Some(expected) = fixture.rows("leaves") else {
            continue;
        };
        for (r, row) in fixture.inputs_f64.iter().enumerate() {
            let ours = fixtures::leaves_of(&fixture, row);
            assert_eq!(ours, expected[r], "{}: row {r} leaves", fixture.name);
            checked += 1;
        }
    }
    assert!(checked >= 300, "only {checked} rows had leaves to check");
}

#[test]
fn model_identity_is_the_sha256_of_the_file_bytes() {
    use sha2::Digest;
    for fixture in fixtures::all() {
        let bytes = std::fs::read(&fixture.model_path).unwrap();
        let expected: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let identity = fixture.model.identity().unwrap();
        assert_eq!(identity.sha256, expected, "{}", fixture.name);
        let format = match fixture.kind.as_str() {
            "whyline" => whyline_models::ModelFormat::WhylineJson,
            "xgboost" => whyline_models::ModelFormat::XgboostJson,
            _ => whyline_models::ModelFormat::LightgbmText,
        };
        assert_eq!(fixture.model.format(), format, "{}", fixture.name);
        let library = fixture.doc["library"]["name"].as_str().unwrap();
        let producer = fixture.model.producer();
        assert!(
            producer.starts_with(library),
            "{}: producer {producer}",
            fixture.name
        );
        // The path-free prediction is the explained one, and an ensemble's path carries the
        // probability `predict` gives its class.
        for row in &fixture.inputs {
            let (explained, path) = fixture.model.explain_one(row).unwrap();
            let fast = fixture.model.predict_one(row).unwrap();
            assert_eq!(fast.to_bits(), explained.to_bits(), "{}", fixture.name);
            if let whyline_core::AnyPath::Forest(path) = path {
                let full = fixture.model.predict(&crate::fixtures::widen(row)).unwrap();
                let want = full
                    .probabilities
                    .as_ref()
                    .map(|p| p[full.value as usize] as f32);
                assert_eq!(path.probability, want, "{}", fixture.name);
            }
        }
    }
}
