//! `whyline explain` end to end, on model fixtures written by scikit-learn, XGBoost and
//! LightGBM (`crates/whyline-models/tests/fixtures`), against the libraries' outputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(name)
}

fn expected(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.expected.json"))).unwrap())
        .unwrap()
}

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

/// A CSV of the fixture's inputs with the model's feature names as header, columns reversed
/// so matching by name is exercised.
fn csv(expected: &Value, names: &[&str]) -> String {
    let mut text = names.iter().rev().copied().collect::<Vec<_>>().join(",");
    text.push('\n');
    for row in expected["inputs"].as_array().unwrap() {
        let cells: Vec<String> = row
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .map(|v| {
                v.as_f64()
                    .map_or(String::new(), |x| format!("{}", x as f32))
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}

#[test]
fn explain_json_predicts_the_scikit_learn_classes_from_a_named_csv() {
    let dir = tempfile::tempdir().unwrap();
    let doc = expected("sk_logreg_iris");
    let model: Value =
        serde_json::from_slice(&std::fs::read(fixture("sk_logreg_iris.whyline.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = model["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let input = dir.path().join("rows.csv");
    std::fs::write(&input, csv(&doc, &names)).unwrap();
    let output = whyline()
        .args(["explain", "--format", "json", "--top", "2", "--model"])
        .arg(fixture("sk_logreg_iris.whyline.json"))
        .arg("--input")
        .arg(&input)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let predicted = doc["predict"].as_array().unwrap();
    assert_eq!(lines.len(), predicted.len());
    for (line, expected) in lines.iter().zip(predicted) {
        assert_eq!(line["type"], "explanation");
        assert_eq!(line["label"].as_f64(), expected.as_f64());
        assert_eq!(line["path"]["type"], "LinearPath");
        assert_eq!(line["top_features"].as_array().unwrap().len(), 2);
        assert_eq!(line["model"]["model_type"], "logistic_regression");
    }
}

#[test]
fn explain_text_reads_json_lines_for_a_lightgbm_model_with_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let doc = expected("lgb_binary_missing_breast_cancer");
    let mut text = String::new();
    for row in doc["inputs"].as_array().unwrap().iter().take(3) {
        text.push_str(&serde_json::json!({ "features": row }).to_string());
        text.push('\n');
    }
    let input = dir.path().join("rows.jsonl");
    std::fs::write(&input, text).unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(fixture("lgb_binary_missing_breast_cancer.lgb.txt"))
        .arg("--input")
        .arg(&input)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("row 3:")
                .and(predicate::str::contains("Ensemble of 10 trees")),
        );
}

#[test]
fn explain_reports_a_bad_row_with_its_number_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    std::fs::write(&input, "{\"features\": [1, 2, 3]}\n").unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(fixture("sk_linreg_diabetes.whyline.json"))
        .arg("--input")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("row 1").and(predicate::str::contains("features")));
}

#[test]
fn explain_names_an_unreadable_model_file() {
    whyline()
        .args([
            "explain",
            "--model",
            "/nonexistent/model.json",
            "--input",
            "-",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/model.json"));
}
