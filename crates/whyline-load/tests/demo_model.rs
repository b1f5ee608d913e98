//! The peer (scikit-learn) and `whyline serve` answer for the same forest: whyline's JSON
//! export of the demo model gives scikit-learn's predict_proba on the demo rows.

use whyline::Model;
use whyline::models::{RowFormat, RowOptions, Rows};

use crate::fixtures::{TestResult, demo_expected, demo_model, demo_rows};

#[test]
fn the_demo_model_gives_scikit_learns_probabilities_on_the_demo_rows() -> TestResult {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo_expected())?)?;
    let model = Model::load(demo_model())?;
    let classes: Vec<String> = serde_json::from_value(expected["classes"].clone())?;
    assert_eq!(model.info().names.classes, classes, "class order");
    let proba: Vec<Vec<f64>> = serde_json::from_value(expected["predict_proba"].clone())?;
    let rows = Rows::for_model_path(&demo_rows(), RowFormat::Auto, &model, RowOptions::new())?;
    assert_eq!(rows.len(), proba.len());
    assert_eq!(rows.len(), 1000);
    for (index, (row, want)) in rows.iter().zip(&proba).enumerate() {
        let got = model
            .predict(row)?
            .probabilities
            .ok_or("the demo model is a classifier")?;
        assert_eq!(got.len(), want.len(), "row {index}");
        for (class, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12,
                "row {index} class {class}: whyline {g}, scikit-learn {w}"
            );
        }
    }
    Ok(())
}
