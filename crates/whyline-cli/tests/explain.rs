//! `whyline explain` end to end, on model fixtures written by scikit-learn, XGBoost and
//! LightGBM (`crates/whyline-models/tests/fixtures`), against the libraries' outputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};

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
    let lines = explain_file_json(
        &fixture("sk_logreg_iris.whyline.json"),
        &input,
        &["--top", "2"],
    );
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
    // A row of the wrong width is refused while reading, naming its line.
    std::fs::write(&input, "\n{\"features\": [1, 2, 3]}\n").unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(fixture("sk_linreg_diabetes.whyline.json"))
        .arg("--input")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "rows.jsonl: line 2: 3 features, the model takes 10",
        ));
    // A row the model refuses (a missing value it has no rule for) is named by row and line.
    let nan_in_row_2 = "[1,2,3,4,5,6,7,8,9,10]\n[1,null,3,4,5,6,7,8,9,10]\n";
    std::fs::write(&input, nan_in_row_2).unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(fixture("sk_linreg_diabetes.whyline.json"))
        .arg("--input")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "rows.jsonl: row 2 (line 2): feature 1 (sex): value NaN is not finite",
        ));
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

// ---- --method: attributions and counterfactuals of whyline-explain ----

fn explain_fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-explain/tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Rows as JSON lines `{"features": [...]}` (f32 values, as the CLI reads them).
fn json_lines(rows: &Value) -> String {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let cells: Vec<Value> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().map_or(Value::Null, |x| json!(x as f32)))
                .collect();
            format!("{}\n", json!({ "features": cells }))
        })
        .collect()
}

fn f32_rows(rows: &Value) -> Vec<Vec<f32>> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().map_or(f32::NAN, |x| x as f32))
                .collect()
        })
        .collect()
}

/// Runs `whyline explain --format json` with extra arguments; the parsed lines.
fn explain_json(model: &str, rows: &str, background: Option<&str>, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    std::fs::write(&input, rows).unwrap();
    let mut command = whyline();
    command
        .args(["explain", "--format", "json", "--model"])
        .arg(fixture(model))
        .arg("--input")
        .arg(&input)
        .args(extra);
    if let Some(background) = background {
        let path = dir.path().join("background.jsonl");
        std::fs::write(&path, background).unwrap();
        command.arg("--background").arg(path);
    }
    parse_json_lines(&command.assert().success().get_output().stdout)
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn assert_close(ours: &[f64], theirs: &[f64], tolerance: f64, what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}");
    for (j, (x, y)) in ours.iter().zip(theirs).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * y.abs().max(1.0),
            "{what} feature {j}: whyline explain {x}, reference {y}"
        );
    }
}

/// Each line's values equal the oracle's values of the output the line explains (row `r`,
/// output `line.output.index`), to `tolerance`.
fn assert_values_match(lines: &[Value], oracle: &Value, tolerance: f64) {
    assert_eq!(lines.len(), oracle["values"].as_array().unwrap().len());
    for (r, line) in lines.iter().enumerate() {
        let k = line["output"]["index"].as_u64().unwrap() as usize;
        assert_close(
            &floats(&line["values"]),
            &floats(&oracle["values"][r][k]),
            tolerance,
            &format!("row {r}"),
        );
    }
}

#[test]
fn method_tree_shap_prints_shap_tree_explainer_values() {
    let oracle = explain_fixture("sk_tree_clf_iris.shap.json");
    let lines = explain_json(
        "sk_tree_clf_iris.whyline.json",
        &json_lines(&oracle["rows"]),
        None,
        &["--method", "tree-shap"],
    );
    assert_eq!(lines.len(), oracle["rows"].as_array().unwrap().len());
    for (r, line) in lines.iter().enumerate() {
        assert_eq!(line["type"], "attribution");
        assert_eq!(line["method"], "tree-shap");
        assert_eq!(line["row"], r);
        assert!(line["seed"].is_null());
        assert!(line["residual"].as_f64().unwrap() < 1e-12);
        let k = line["output"]["index"].as_u64().unwrap() as usize;
        let shap = floats(&oracle["values"][r][k]);
        assert_close(&floats(&line["values"]), &shap, 1e-9, &format!("row {r}"));
        assert!(
            (line["base_value"].as_f64().unwrap() - oracle["expected_value"][k].as_f64().unwrap())
                .abs()
                < 1e-9
        );
    }
}

#[test]
fn method_tree_shap_with_a_background_is_interventional() {
    let oracle = explain_fixture("sk_tree_clf_iris.interventional.shap.json");
    let lines = explain_json(
        "sk_tree_clf_iris.whyline.json",
        &json_lines(&oracle["rows"]),
        Some(&json_lines(&oracle["background"])),
        &["--method", "tree-shap"],
    );
    // shap's interventional explainer keeps its leaf values in float32: 1e-6, as in
    // whyline-explain's own test.
    assert!(
        lines
            .iter()
            .all(|l| l["settings"]["interventional"] == true)
    );
    assert_values_match(&lines, &oracle, 1e-6);
}

#[test]
fn method_linear_shap_prints_shap_linear_explainer_values() {
    let oracle = explain_fixture("sk_logreg_breast_cancer.linear.shap.json");
    let lines = explain_json(
        "sk_logreg_breast_cancer.whyline.json",
        &json_lines(&oracle["rows"]),
        Some(&json_lines(&oracle["background"])),
        &["--method", "linear-shap", "--output", "0"],
    );
    for (r, line) in lines.iter().enumerate() {
        assert_eq!(line["output"]["space"], "margin");
        assert_close(
            &floats(&line["values"]),
            &floats(&oracle["values"][r][0]),
            1e-12,
            &format!("row {r}"),
        );
    }
}

#[test]
fn method_kernel_shap_prints_the_exact_shapley_values_of_shap_kernel_explainer() {
    let oracle = explain_fixture("sk_knn_clf_iris.kernel.shap.json");
    let lines = explain_json(
        "sk_knn_clf_iris.whyline.json",
        &json_lines(&oracle["rows"]),
        Some(&json_lines(&oracle["background"])),
        &["--method", "kernel-shap"],
    );
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["seed"] == 0));
    assert_values_match(&lines, &oracle, 1e-9);
}

#[test]
fn method_lime_equals_the_library_and_is_reproducible_per_seed() {
    let oracle = explain_fixture("sk_logreg_breast_cancer.lime.json");
    let rows = json_lines(&oracle["rows"]);
    let background = json_lines(&oracle["background"]);
    let args = ["--method", "lime", "--seed", "11", "--samples", "2000"];
    let lines = explain_json(
        "sk_logreg_breast_cancer.whyline.json",
        &rows,
        Some(&background),
        &args,
    );
    let again = explain_json(
        "sk_logreg_breast_cancer.whyline.json",
        &rows,
        Some(&background),
        &args,
    );
    assert_eq!(lines, again);
    let model =
        whyline_models::Model::load(fixture("sk_logreg_breast_cancer.whyline.json")).unwrap();
    let bg_rows = f32_rows(&oracle["background"]);
    let bg = whyline_explain::Background::from_rows(&bg_rows, bg_rows[0].len()).unwrap();
    let settings = whyline_explain::LimeSettings {
        seed: 11,
        samples: 2000,
        ..Default::default()
    };
    for (line, row) in lines.iter().zip(f32_rows(&oracle["rows"])) {
        let library = whyline_explain::lime(&model, &row, &bg, &settings).unwrap();
        assert_eq!(line["method"], "lime");
        assert_eq!(line["seed"], 11);
        assert_eq!(line["settings"]["samples"], 2000);
        assert_eq!(floats(&line["values"]), library.values);
        assert_eq!(line["base_value"].as_f64().unwrap(), library.base_value);
        assert_eq!(line["residual"].as_f64().unwrap(), library.residual);
        assert_eq!(line["score"].as_f64().unwrap(), library.score.unwrap());
    }
    let other = explain_json(
        "sk_logreg_breast_cancer.whyline.json",
        &rows,
        Some(&background),
        &["--method", "lime", "--seed", "12", "--samples", "2000"],
    );
    assert_ne!(other[0]["values"], lines[0]["values"]);
}

#[test]
fn methods_ig_and_saliency_equal_the_library_on_an_mlp() {
    let doc = expected("sk_mlp_clf_wine");
    let rows: Vec<Vec<f32>> = f32_rows(&doc["inputs"]).into_iter().take(3).collect();
    let text = json_lines(&doc["inputs"])
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let model = whyline_models::Model::load(fixture("sk_mlp_clf_wine.whyline.json")).unwrap();
    for (method, saliency) in [("ig", false), ("saliency", true)] {
        let lines = explain_json(
            "sk_mlp_clf_wine.whyline.json",
            &text,
            None,
            &["--method", method, "--samples", "20"],
        );
        for (line, row) in lines.iter().zip(&rows) {
            let settings = whyline_explain::GradientSettings {
                steps: 20,
                saliency,
                ..Default::default()
            };
            let library = whyline_explain::integrated_gradients(&model, row, &settings).unwrap();
            assert_eq!(floats(&line["values"]), library.values, "{method}");
            assert_eq!(line["method"], library.method, "{method}");
        }
    }
}

#[test]
fn method_counterfactual_flips_the_decision_as_the_library_does() {
    let doc = expected("sk_logreg_breast_cancer");
    let text: String = json_lines(&doc["inputs"])
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    let lines = explain_json(
        "sk_logreg_breast_cancer.whyline.json",
        &text,
        None,
        &["--method", "counterfactual"],
    );
    let model =
        whyline_models::Model::load(fixture("sk_logreg_breast_cancer.whyline.json")).unwrap();
    for (line, row) in lines.iter().zip(f32_rows(&doc["inputs"])) {
        let library =
            whyline_explain::counterfactual(&model, &row, &Default::default(), None).unwrap();
        assert_eq!(line["type"], "counterfactual");
        assert_eq!(line["method"], "counterfactual");
        assert_eq!(line["alternative_decision"], library.alternative_decision);
        assert_ne!(line["alternative_decision"], line["original_decision"]);
        let cf: Vec<f32> = floats(&line["counterfactual_input"])
            .iter()
            .map(|&x| x as f32)
            .collect();
        assert_eq!(cf, library.counterfactual_input);
        assert_eq!(line["text"], library.explain());
    }
}

#[test]
fn method_text_output_renders_the_attribution() {
    let oracle = explain_fixture("sk_tree_clf_iris.shap.json");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    std::fs::write(&input, json_lines(&oracle["rows"])).unwrap();
    whyline()
        .args(["explain", "--method", "tree-shap", "--model"])
        .arg(fixture("sk_tree_clf_iris.whyline.json"))
        .arg("--input")
        .arg(&input)
        .assert()
        .success()
        .stdout(predicate::str::contains("row 1: tree-shap, output"))
        .stdout(predicate::str::contains("petal"));
}

/// Runs `whyline explain` expecting failure; (exit code, stderr).
fn explain_fails(
    model: &str,
    rows: &str,
    background: Option<&str>,
    extra: &[&str],
) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = explain_command(dir.path(), model, rows, background, extra)
        .assert()
        .failure()
        .get_output()
        .clone();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn method_errors_are_clear_and_exit_2_or_1() {
    let iris = json_lines(&expected("sk_knn_clf_iris")["inputs"]);
    let (code, stderr) = explain_fails(
        "sk_knn_clf_iris.whyline.json",
        &iris,
        None,
        &["--method", "tree-shap"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("method tree-shap does not explain a KNN model"),
        "{stderr}"
    );

    let cancer = json_lines(&expected("sk_logreg_breast_cancer")["inputs"]);
    let (code, stderr) = explain_fails(
        "sk_logreg_breast_cancer.whyline.json",
        &cancer,
        None,
        &["--method", "lime"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("lime needs a background set"), "{stderr}");

    let (code, stderr) = explain_fails(
        "sk_logreg_breast_cancer.whyline.json",
        &cancer,
        Some(&iris),
        &["--method", "lime"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("reading background"), "{stderr}");
    assert!(
        stderr.contains("4 features, the model takes 30"),
        "{stderr}"
    );

    let (code, stderr) = explain_fails(
        "sk_logreg_breast_cancer.whyline.json",
        &cancer,
        Some(&cancer),
        &["--method", "lime", "--samples", "0"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("setting samples"), "{stderr}");

    let all: Vec<String> = (0..30).map(|j| j.to_string()).collect();
    let (code, stderr) = explain_fails(
        "sk_logreg_breast_cancer.whyline.json",
        &cancer,
        None,
        &["--method", "counterfactual", "--immutable", &all.join(",")],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains(
            "row 1: no counterfactual: every feature that moves the decision is immutable"
        ),
        "{stderr}"
    );

    let (code, stderr) = explain_fails(
        "sk_logreg_breast_cancer.whyline.json",
        &cancer,
        None,
        &["--seed", "3"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("--method"), "{stderr}");

    let diabetes = json_lines(&expected("sk_knn_reg_diabetes")["inputs"]);
    let (code, stderr) = explain_fails(
        "sk_knn_reg_diabetes.whyline.json",
        &diabetes,
        None,
        &["--method", "counterfactual"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "counterfactual does not explain a KNN model (a regressor has no decision to flip)"
        ),
        "{stderr}"
    );
}

#[test]
fn method_counterfactual_on_a_knn_model_is_the_seeded_search_and_repeats_per_seed() {
    let doc = expected("sk_knn_clf_iris");
    let text: String = json_lines(&doc["inputs"])
        .lines()
        .take(5)
        .map(|l| format!("{l}\n"))
        .collect();
    let run = |seed: &str| {
        explain_json(
            "sk_knn_clf_iris.whyline.json",
            &text,
            None,
            &["--method", "counterfactual", "--seed", seed],
        )
    };
    let (first, again) = (run("11"), run("11"));
    assert_eq!(first, again);
    let model = whyline_models::Model::load(fixture("sk_knn_clf_iris.whyline.json")).unwrap();
    for (line, row) in first.iter().zip(f32_rows(&doc["inputs"])) {
        assert_eq!(line["method"], "counterfactual");
        assert_eq!(line["solver"], "seeded");
        assert_eq!(line["seed"], 11);
        // The counterfactual is an f32 row (the explained path's precision), widened here.
        let cf: Vec<f64> = floats(&line["counterfactual_input"])
            .iter()
            .map(|&x| f64::from(x as f32))
            .collect();
        let row: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
        assert_ne!(
            model.predict(&cf).unwrap().value,
            model.predict(&row).unwrap().value
        );
    }
}

/// An f64 fixture set (`python/make_f64_fixtures.py`): rows that f32 cannot hold.
fn f64_expected(name: &str) -> Value {
    expected(&format!("f64/{name}"))
}

/// The relative error, with values below 1e-12 compared absolutely (at 1e-24).
fn relative_error(ours: f64, theirs: f64) -> f64 {
    (ours - theirs).abs() / theirs.abs().max(1e-12)
}

#[test]
fn explain_json_prints_the_library_probabilities_of_f64_rows_to_1e_12() {
    // Issue 9, section 2: the rows stay f64 until the model reads them, so the printed
    // probabilities and raw outputs are scikit-learn's to the last bits (rounding the rows
    // to f32 on the way in was off by 4e-8 to 1e-7).
    for name in [
        "f64_logreg_multinomial_s303",
        "f64_knn_clf_distance_s101",
        "f64_mlp_clf_relu_s101",
    ] {
        let doc = f64_expected(name);
        let n_features = doc["inputs"][0].as_array().unwrap().len();
        let header: Vec<String> = (0..n_features).map(|i| format!("x{i}")).collect();
        let mut csv = header.join(",");
        csv.push('\n');
        for row in doc["inputs"].as_array().unwrap() {
            // `{}` writes the shortest text that reads back as the same f64.
            let cells: Vec<String> = floats(row).iter().map(|x| format!("{x}")).collect();
            csv.push_str(&cells.join(","));
            csv.push('\n');
        }
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("rows.csv");
        std::fs::write(&input, csv).unwrap();
        let lines = explain_file_json(&fixture(&format!("f64/{name}.whyline.json")), &input, &[]);
        let proba = doc["proba"].as_array().unwrap();
        assert_eq!(lines.len(), proba.len(), "{name}");
        for (r, (line, expected)) in lines.iter().zip(proba).enumerate() {
            let ours = floats(&line["probabilities"]);
            let theirs = floats(expected);
            assert_eq!(ours.len(), theirs.len(), "{name} row {r}");
            for (k, (&a, &e)) in ours.iter().zip(&theirs).enumerate() {
                assert!(
                    relative_error(a, e) <= 1e-12,
                    "{name} row {r} class {k}: whyline explain {a:e}, predict_proba {e:e}"
                );
            }
            assert_eq!(
                line["label"].as_f64(),
                doc["predict"][r].as_f64(),
                "{name} row {r}"
            );
            if let Some(raw) = doc["raw"].as_array() {
                for (&a, &e) in floats(&line["raw"]).iter().zip(&floats(&raw[r])) {
                    assert!(
                        relative_error(a, e) <= 1e-12,
                        "{name} row {r} raw: whyline explain {a:e}, decision_function {e:e}"
                    );
                }
            }
        }
    }
}

// ---- --jobs: one explainer shared by threads, the same bytes as one job ----

/// Runs `whyline explain` with `args`; stdout and the exit code.
fn explain_stdout(
    model: &str,
    rows: &str,
    background: Option<&str>,
    args: &[&str],
) -> (Vec<u8>, i32) {
    let dir = tempfile::tempdir().unwrap();
    let output = explain_command(dir.path(), model, rows, background, args)
        .output()
        .unwrap();
    (output.stdout, output.status.code().unwrap())
}

/// `whyline explain --model FIXTURE --input ROWS [--background BACKGROUND] ARGS`, with the
/// rows and background written as JSON lines into `dir`.
fn explain_command(
    dir: &std::path::Path,
    model: &str,
    rows: &str,
    background: Option<&str>,
    args: &[&str],
) -> Command {
    let input = dir.join("rows.jsonl");
    std::fs::write(&input, rows).unwrap();
    let mut command = whyline();
    command
        .args(["explain", "--model"])
        .arg(fixture(model))
        .arg("--input")
        .arg(&input)
        .args(args);
    if let Some(background) = background {
        let path = dir.join("background.jsonl");
        std::fs::write(&path, background).unwrap();
        command.arg("--background").arg(path);
    }
    command
}

#[test]
fn jobs_give_the_same_output_bytes_in_the_same_order_as_one_job() {
    let breast_cancer = json_lines(&expected("sk_logreg_breast_cancer")["inputs"]);
    let background =
        json_lines(&explain_fixture("sk_logreg_breast_cancer.lime.json")["background"]);
    let wine = json_lines(&expected("sk_rf_clf_wine")["inputs"]);
    let cases: [(&str, &str, Option<&str>, &[&str]); 6] = [
        (
            "sk_gb_clf_breast_cancer.whyline.json",
            &breast_cancer,
            None,
            &["--method", "tree-shap"],
        ),
        (
            "sk_rf_clf_wine.whyline.json",
            &wine,
            None,
            &["--method", "tree-shap"],
        ),
        (
            "sk_logreg_breast_cancer.whyline.json",
            &breast_cancer,
            Some(&background),
            &["--method", "kernel-shap", "--samples", "200", "--seed", "5"],
        ),
        (
            "sk_logreg_breast_cancer.whyline.json",
            &breast_cancer,
            Some(&background),
            &["--method", "lime", "--samples", "500", "--seed", "3"],
        ),
        (
            "sk_rf_clf_wine.whyline.json",
            &wine,
            None,
            &["--method", "counterfactual"],
        ),
        (
            "sk_logreg_breast_cancer.whyline.json",
            &breast_cancer,
            Some(&background),
            &["--method", "linear-shap"],
        ),
    ];
    for (model, rows, background, method) in cases {
        let n_rows = rows.lines().count();
        assert!(n_rows >= 8, "{model}: {n_rows} rows are too few to split");
        for format in ["json", "text"] {
            let run = |jobs: Option<&str>| {
                let mut args = method.to_vec();
                args.extend(["--format", format]);
                if let Some(jobs) = jobs {
                    args.extend(["--jobs", jobs]);
                }
                explain_stdout(model, rows, background, &args)
            };
            let (one, code) = run(Some("1"));
            assert!(code == 0 || code == 1, "{model} {method:?}: exit {code}");
            if format == "json" {
                let lines = parse_json_lines(&one);
                assert!(!lines.is_empty(), "{model} {method:?}: no output");
                let order: Vec<u64> = lines.iter().map(|l| l["row"].as_u64().unwrap()).collect();
                assert!(
                    order.windows(2).all(|w| w[0] < w[1]),
                    "{model}: rows out of order {order:?}"
                );
            }
            for jobs in [Some("2"), Some("3"), Some("7"), None] {
                let (many, many_code) = run(jobs);
                assert_eq!(many_code, code, "{model} {method:?} --jobs {jobs:?}: exit");
                assert!(
                    many == one,
                    "{model} {method:?} {format} --jobs {jobs:?} differs from --jobs 1:\n{}\n---\n{}",
                    String::from_utf8_lossy(&many),
                    String::from_utf8_lossy(&one)
                );
            }
        }
    }
}

#[test]
fn jobs_zero_is_a_usage_error() {
    let rows = json_lines(&expected("sk_rf_clf_wine")["inputs"]);
    let (code, stderr) = explain_fails(
        "sk_rf_clf_wine.whyline.json",
        &rows,
        None,
        &["--method", "tree-shap", "--jobs", "0"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--jobs"), "{stderr}");
}

// ---- issue 9: a binary classifier's one margin is the positive class's ----

#[test]
fn tree_shap_labels_a_binary_margin_with_the_positive_class() {
    let oracle = explain_fixture("sk_gb_clf_breast_cancer.shap.json");
    let rows = json_lines(&oracle["rows"]);
    let doc = expected("sk_gb_clf_breast_cancer");
    let lines = explain_json(
        "sk_gb_clf_breast_cancer.whyline.json",
        &rows,
        None,
        &["--method", "tree-shap"],
    );
    assert_eq!(lines.len(), oracle["values"].as_array().unwrap().len());
    for (r, line) in lines.iter().enumerate() {
        // scikit-learn's decision_function is the log-odds of class 1 (benign).
        assert_eq!(line["output"]["index"], 1, "row {r}: {}", line["output"]);
        assert_eq!(line["output"]["name"], "benign", "row {r}");
        assert_eq!(line["output"]["space"], "margin", "row {r}");
        assert_close(
            &floats(&line["values"]),
            &floats(&oracle["values"][r][0]),
            1e-9,
            &format!("row {r}"),
        );
        // The explained margin is scikit-learn's decision_function, positive for benign.
        assert_eq!(
            doc["inputs"][r], oracle["rows"][r],
            "row {r}: fixtures disagree"
        );
        let margin =
            line["base_value"].as_f64().unwrap() + floats(&line["values"]).iter().sum::<f64>();
        let raw = doc["raw"][r]
            .as_f64()
            .unwrap_or_else(|| doc["raw"][r][0].as_f64().unwrap());
        assert!(
            (margin - raw).abs() < 1e-9,
            "row {r}: margin {margin}, scikit-learn {raw}"
        );
        assert_eq!(
            doc["predict"][r].as_f64().unwrap() == 1.0,
            margin > 0.0,
            "row {r}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    std::fs::write(&input, &rows).unwrap();
    whyline()
        .args(["explain", "--method", "tree-shap", "--model"])
        .arg(fixture("sk_gb_clf_breast_cancer.whyline.json"))
        .arg("--input")
        .arg(&input)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "row 1: tree-shap, output 1 (benign, margin)",
        ))
        .stdout(predicate::str::contains("malignant").not());
}

/// `whyline explain --format json --model MODEL --input INPUT EXTRA`, which must succeed: its
/// JSON lines.
fn explain_file_json(
    model: &std::path::Path,
    input: &std::path::Path,
    extra: &[&str],
) -> Vec<Value> {
    let output = whyline()
        .args(["explain", "--format", "json", "--model"])
        .arg(model)
        .arg("--input")
        .arg(input)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    parse_json_lines(&output)
}

/// One JSON value per line of a command's standard output.
fn parse_json_lines(stdout: &[u8]) -> Vec<Value> {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---- pipelines: raw rows with category strings (issue 18) ----

/// `whyline explain` on a Pipeline(ColumnTransformer(OneHotEncoder, StandardScaler),
/// HistGradientBoostingClassifier) and a CSV of category strings: the decisions are
/// scikit-learn's, the paths and the TreeSHAP values speak of the input columns, and the
/// values are shap's (on the transformed rows) summed by input column.
#[test]
fn explain_takes_category_strings_for_a_one_hot_scaler_boosting_pipeline() {
    let dir = fixture("pipelines");
    let model_file = dir.join("pipe_ohe_scaler_hgb_clf.whyline.json");
    let rows_file = dir.join("pipe_ohe_scaler_hgb_clf.rows.csv");
    let doc: Value = serde_json::from_slice(
        &std::fs::read(dir.join("pipe_ohe_scaler_hgb_clf.expected.json")).unwrap(),
    )
    .unwrap();
    let model: Value = serde_json::from_slice(&std::fs::read(&model_file).unwrap()).unwrap();
    let inputs: Vec<&str> = model["preprocessing"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let feature_input: Vec<usize> = model["preprocessing"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["input"].as_u64().unwrap() as usize)
        .collect();

    let lines = explain_file_json(&model_file, &rows_file, &[]);
    let predicted = doc["predict"].as_array().unwrap();
    assert_eq!(lines.len(), predicted.len());
    for (line, expected) in lines.iter().zip(predicted) {
        assert_eq!(line["label"].as_f64(), expected.as_f64());
        for tree in line["path"]["tree_paths"].as_array().unwrap() {
            for split in tree["splits"].as_array().unwrap() {
                assert!((split["feature_index"].as_u64().unwrap() as usize) < inputs.len());
            }
        }
    }

    let lines = explain_file_json(&model_file, &rows_file, &["--method", "tree-shap"]);
    let shap = &doc["shap"]["values"][0];
    for (r, line) in lines.iter().enumerate() {
        assert_eq!(line["method"], "tree-shap");
        let values: Vec<f64> = line["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(values.len(), inputs.len());
        let mut expected = vec![0.0; inputs.len()];
        for (feature, v) in shap[r].as_array().unwrap().iter().enumerate() {
            expected[feature_input[feature]] += v.as_f64().unwrap();
        }
        for (i, (ours, theirs)) in values.iter().zip(&expected).enumerate() {
            assert!(
                (ours - theirs).abs() <= 1e-9,
                "row {r} {}: {ours} != shap's {theirs}",
                inputs[i]
            );
        }
        assert!(line["residual"].as_f64().unwrap() <= 1e-9);
    }

    whyline()
        .args(["explain", "--method", "tree-shap", "--model"])
        .arg(&model_file)
        .arg("--input")
        .arg(&rows_file)
        .assert()
        .success()
        .stdout(predicate::str::contains("(city) = (unknown)"))
        .stdout(predicate::str::contains("(plan) = pro"));
}

#[test]
fn explain_names_an_unknown_category_where_the_encoder_refuses_one() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("pipelines/pipe_impute_ordinal_hgb_reg.whyline.json");
    let mut model: Value = serde_json::from_slice(&std::fs::read(source).unwrap()).unwrap();
    model["preprocessing"]["inputs"][0]["unknown"] = json!("error");
    let model_file = dir.path().join("model.json");
    std::fs::write(&model_file, model.to_string()).unwrap();
    let rows = dir.path().join("rows.csv");
    std::fs::write(
        &rows,
        "city,income,age,debt,plan\nLyon,1,2,3,pro\nBrest,1,2,3,pro\n",
    )
    .unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(&model_file)
        .arg("--input")
        .arg(&rows)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3"))
        .stderr(predicate::str::contains("unknown category \"Brest\""));
}

#[test]
fn explain_runs_every_aprender_family_and_verifies_signed_files() {
    for (stem, path_type) in [
        ("decision_tree_classifier", "TreePath"),
        ("decision_tree_regressor", "TreePath"),
        ("random_forest_classifier", "ForestPath"),
        ("random_forest_regressor", "ForestPath"),
        ("kmeans", "ClusterPath"),
        ("linear_regression", "LinearPath"),
        ("logistic_regression", "LinearPath"),
    ] {
        let doc = expected(&format!("aprender/0.27.8/{stem}"));
        let rows = json_lines(&doc["inputs"]);
        let lines = explain_json(&format!("aprender/0.27.8/{stem}.apr"), &rows, None, &[]);
        assert_eq!(
            lines.len(),
            doc["inputs"].as_array().unwrap().len(),
            "{stem}"
        );
        let predict = floats(&doc["predict"]);
        for (line, want) in lines.iter().zip(&predict) {
            assert_eq!(line["path"]["type"], path_type, "{stem}: {line}");
            let ours = line["prediction"].as_f64().unwrap();
            // Labels and tree values exactly; linear and forest regression to f32 rounding.
            assert!(
                (ours - want).abs() <= 1e-5 * want.abs().max(1.0),
                "{stem}: {ours} vs {want}"
            );
        }
    }
    // TreeSHAP on an aprender forest.
    let doc = expected("aprender/0.27.8/random_forest_classifier");
    let lines = explain_json(
        "aprender/0.27.8/random_forest_classifier.apr",
        &json_lines(&doc["inputs"]),
        None,
        &["--method", "tree-shap"],
    );
    for line in &lines {
        assert_eq!(line["type"], "attribution", "{line}");
        assert!(line["residual"].as_f64().unwrap() < 1e-9, "{line}");
    }
    // A signed file: with the signer's key, and refused with another.
    let doc = expected("aprender/0.27.8/decision_tree_classifier");
    let rows = json_lines(&doc["inputs"]);
    let key = fixture("aprender/0.27.8/signing_key.pub.hex");
    let lines = explain_json(
        "aprender/0.27.8/decision_tree_classifier.signed.apr",
        &rows,
        None,
        &["--apr-public-key", key.to_str().unwrap()],
    );
    assert_eq!(lines.len(), doc["inputs"].as_array().unwrap().len());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    std::fs::write(&input, rows).unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(fixture(
            "aprender/0.27.8/decision_tree_classifier.signed.apr",
        ))
        .arg("--input")
        .arg(&input)
        .arg("--apr-public-key")
        .arg(fixture("aprender/0.27.8/other_key.pub.hex"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "signature does not verify with the given public key",
        ));
    // An encrypted file names what is missing.
    whyline()
        .args(["explain", "--model"])
        .arg(fixture(
            "aprender/0.27.8/decision_tree_classifier.encrypted.apr",
        ))
        .arg("--input")
        .arg(&input)
        .assert()
        .failure()
        .stderr(predicate::str::contains("payload is encrypted"));
}
