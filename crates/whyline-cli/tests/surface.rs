//! The command's surface: input the user surely meant is never exit 0 with no output; one
//! error prefix and the exit codes of every command; renamed flags and their old names;
//! the shared `--format`; the README's explain line on the sample files in `examples/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repository()
        .join("crates/whyline-models/tests/fixtures")
        .join(name)
}

/// The iris logistic model's feature names, as its header.
const IRIS_HEADER: &str = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)";

/// Runs `whyline explain` on the iris model with `input` written to a file and `extra`
/// flags; returns the assertion.
fn explain_iris(input: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.txt");
    std::fs::write(&path, input).unwrap();
    whyline()
        .args(["explain", "--model"])
        .arg(fixture("sk_logreg_iris.whyline.json"))
        .arg("--input")
        .arg(&path)
        .args(extra)
        .assert()
}

/// Asserts exit 2 and one `whyline: error:` line holding every part of `expected`.
fn assert_input_error(assert: assert_cmd::assert::Assert, expected: &[&str]) {
    let output = assert.code(2).get_output().clone();
    assert!(output.stdout.is_empty(), "stdout: {:?}", output.stdout);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("whyline: error: "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    for leak in ["Some(", "None", "[\""] {
        assert!(!stderr.contains(leak), "{leak} in {stderr}");
    }
}

// ---- input the user surely meant ----

#[test]
fn a_csv_without_header_is_an_error_that_names_no_header() {
    let rows = "5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n";
    assert_input_error(
        explain_iris(rows, &[]),
        &[
            "rows.txt: line 1: the first line holds only numbers",
            "seems to have no header",
            "--no-header",
        ],
    );
    // With --no-header the same file is two rows taken in order.
    explain_iris(rows, &["--no-header"])
        .success()
        .stdout(predicate::str::contains("row 2:").and(predicate::str::contains("row 3:").not()));
}

#[test]
fn a_header_without_rows_is_an_error() {
    assert_input_error(
        explain_iris(&format!("{IRIS_HEADER}\n"), &[]),
        &["rows.txt: line 1: the input has a header but no rows"],
    );
}

#[test]
fn empty_input_is_an_error() {
    for input in ["", "\n\n"] {
        assert_input_error(explain_iris(input, &[]), &["rows.txt: the input is empty"]);
    }
    whyline()
        .args(["explain", "--model"])
        .arg(fixture("sk_logreg_iris.whyline.json"))
        .args(["--input", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "whyline: error: reading standard input: the input is empty",
        ));
}

#[test]
fn a_json_array_of_rows_is_an_error_that_shows_the_expected_form() {
    assert_input_error(
        explain_iris("[[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]\n", &[]),
        &[
            "line 1: found an array of rows",
            "each line must be one row",
            "{\"features\": [...]}",
        ],
    );
}

#[test]
fn a_single_json_array_line_is_one_row_in_feature_order() {
    let with_array = explain_iris("[5.1, 3.5, 1.4, 0.2]\n", &["--format", "json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let with_features = explain_iris(
        "{\"features\": [5.1, 3.5, 1.4, 0.2]}\n",
        &["--format", "json"],
    )
    .success()
    .get_output()
    .stdout
    .clone();
    assert_eq!(
        String::from_utf8(with_array.clone())
            .unwrap()
            .lines()
            .count(),
        1
    );
    assert_eq!(with_array, with_features);
}

#[test]
fn a_header_of_wrong_names_is_an_error_listing_missing_and_unknown_names() {
    let rows = "a,b,c,d\n5.1,3.5,1.4,0.2\n";
    assert_input_error(
        explain_iris(rows, &[]),
        &[
            "line 1: the header does not name the model's features: missing sepal length (cm), \
             sepal width (cm), petal length (cm), petal width (cm); unknown columns a, b, c, d",
            "--no-header",
        ],
    );
}

#[test]
fn header_columns_that_name_no_feature_are_ignored_with_a_note() {
    let rows = format!("id,{IRIS_HEADER}\n7,5.1,3.5,1.4,0.2\n");
    explain_iris(&rows, &[])
        .success()
        .stdout(predicate::str::contains("row 1:"))
        .stderr(predicate::str::contains(
            "rows.txt: ignoring column id (no feature of the model has that name)",
        ));
}

#[test]
fn a_bad_cell_names_its_line_column_and_header_name() {
    let rows = format!("{IRIS_HEADER}\n5.1,3.5,1.4,0.2\n5.1,wide,1.4,0.2\n");
    assert_input_error(
        explain_iris(&rows, &[]),
        &["rows.txt: line 3, column 2 (sepal width (cm)): \"wide\" is not a number"],
    );
}

// ---- one prefix, exit codes ----

#[test]
fn usage_errors_have_the_one_prefix_and_exit_2() {
    whyline()
        .args(["explain", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "whyline: error: unexpected argument '--bogus' found",
        ));
    whyline()
        .args(["verify"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("whyline: error: "));
    whyline()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: whyline"));
}

#[test]
fn every_command_reports_errors_with_the_prefix_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let not_a_ledger = tmp.path().join("empty");
    std::fs::create_dir(&not_a_ledger).unwrap();
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str)> = vec![
        (
            vec![
                "explain".as_ref(),
                "--model".as_ref(),
                missing.as_os_str(),
                "--input".as_ref(),
                "-".as_ref(),
            ],
            "cannot read model file",
        ),
        (
            vec!["trace".as_ref(), "decode".as_ref(), missing.as_os_str()],
            "reading",
        ),
        (
            vec!["verify".as_ref(), not_a_ledger.as_os_str()],
            "not a whyline ledger",
        ),
        (
            vec![
                "prove".as_ref(),
                not_a_ledger.as_os_str(),
                "--index".as_ref(),
                "0".as_ref(),
            ],
            "not a whyline ledger",
        ),
        (
            vec![
                "incident".as_ref(),
                not_a_ledger.as_os_str(),
                "--at".as_ref(),
                "yesterday".as_ref(),
            ],
            "cannot read time \"yesterday\"",
        ),
        (
            vec![
                "checkpoint".as_ref(),
                not_a_ledger.as_os_str(),
                "--signing-key".as_ref(),
                missing.as_os_str(),
            ],
            "missing",
        ),
        (
            vec![
                "append".as_ref(),
                not_a_ledger.as_os_str(),
                "--signing-key".as_ref(),
                missing.as_os_str(),
            ],
            "missing",
        ),
    ];
    for (args, expected) in cases {
        let output = whyline()
            .args(&args)
            .write_stdin("")
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.starts_with("whyline: error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: {expected:?} not in {stderr}"
        );
    }
    // keygen refuses to overwrite a key: exit 2, with the prefix.
    let keys = tmp.path().join("keys");
    whyline()
        .args(["keygen", "--out"])
        .arg(&keys)
        .assert()
        .success();
    whyline()
        .args(["keygen", "--out"])
        .arg(&keys)
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("whyline: error: creating "));
}

#[test]
fn problems_found_exit_1_and_a_missing_checkpoint_exits_2_with_the_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.aprt");
    std::fs::write(&bad, b"not an APRT record at all, far too short?").unwrap();
    whyline()
        .args(["trace", "decode"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("whyline: error: "));
    // A ledger without checkpoints: `checkpoint` has nothing to print and `prove` nothing to
    // prove against; both are told how to sign one (exit 2: nothing failed verification).
    let log = tmp.path().join("log");
    let line = std::fs::read_to_string(
        repository().join("crates/whyline-core/tests/fixtures/golden/all.jsonl"),
    )
    .unwrap()
    .lines()
    .next()
    .unwrap()
    .to_owned();
    whyline()
        .arg("append")
        .arg(&log)
        .write_stdin(line)
        .assert()
        .success();
    whyline()
        .arg("checkpoint")
        .arg(&log)
        .assert()
        .code(2)
        .stderr(
            predicate::str::starts_with("whyline: error: ").and(predicate::str::contains(
                "no checkpoint yet (sign one with whyline checkpoint --signing-key",
            )),
        );
    whyline()
        .args(["prove", "--index", "0"])
        .arg(&log)
        .assert()
        .code(2)
        .stderr(
            predicate::str::starts_with("whyline: error: ")
                .and(predicate::str::contains("no checkpoint yet")),
        );
}

#[test]
fn positions_are_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("model.json");
    std::fs::write(&model, "{\"a\":\n").unwrap();
    whyline()
        .args(["explain", "--input", "-", "--model"])
        .arg(&model)
        .assert()
        .code(2)
        .stderr(predicate::str::ends_with(
            "model.json: invalid JSON at line 2, column 0: EOF while parsing a value\n",
        ));
}

// ---- flags ----

#[test]
fn explain_class_is_the_flag_and_output_its_old_name() {
    let rows = format!("{IRIS_HEADER}\n5.1,3.5,1.4,0.2\n");
    let run = |flag: &str| {
        explain_iris(
            &rows,
            &["--method", "linear-shap", flag, "2", "--format", "json"],
        )
        .success()
        .get_output()
        .stdout
        .clone()
    };
    let class = run("--class");
    assert_eq!(class, run("--output"));
    let line: Value = serde_json::from_slice(&class).unwrap();
    assert_eq!(line["settings"]["output"], 2, "{line}");
    let help = whyline().args(["explain", "--help"]).assert().success();
    let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    assert!(help.contains("--class <K>"), "{help}");
    assert!(!help.contains("--output"), "{help}");
}

#[test]
fn signing_key_is_the_flag_and_key_its_old_name() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    whyline()
        .args(["keygen", "--out"])
        .arg(&keys)
        .assert()
        .success();
    let log = tmp.path().join("log");
    let traces = std::fs::read_to_string(
        repository().join("crates/whyline-core/tests/fixtures/golden/all.jsonl"),
    )
    .unwrap();
    whyline()
        .arg("append")
        .arg(&log)
        .arg("--signing-key")
        .arg(keys.join("ledger.key"))
        .write_stdin(traces)
        .assert()
        .success();
    for flag in ["--signing-key", "--key"] {
        whyline()
            .arg("checkpoint")
            .arg(&log)
            .arg(flag)
            .arg(keys.join("ledger.key"))
            .assert()
            .success()
            .stdout(predicate::str::starts_with("whyline/ledger\n"));
    }
    for command in ["append", "checkpoint"] {
        let help = whyline().args([command, "--help"]).assert().success();
        let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
        assert!(help.contains("--signing-key <FILE>"), "{help}");
        assert!(!help.contains("--key "), "{help}");
    }
}

#[test]
fn format_takes_only_the_values_a_command_writes() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["verify", "x", "--format", "html"],
        vec!["trace", "decode", "x", "--format", "html"],
        vec![
            "explain", "--model", "m", "--input", "i", "--format", "html",
        ],
    ] {
        whyline()
            .current_dir(tmp.path())
            .args(&args)
            .assert()
            .code(2)
            .stderr(
                predicate::str::starts_with("whyline: error: invalid value 'html' for '--format")
                    .and(predicate::str::contains("[possible values: text, json]")),
            );
    }
    whyline()
        .args(["incident", "x", "--at", "0", "--format", "pdf"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "[possible values: text, json, html]",
        ));
}

// ---- the README's explain line ----

/// The README's `whyline explain` line on the sample files, its words.
fn readme_explain_line() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let line = readme
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("whyline explain --model examples/"))
        .expect("README.md has a `whyline explain --model examples/...` line");
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_readme_explain_line_runs_as_written_and_matches_scikit_learn() {
    let words = readme_explain_line();
    assert_eq!(words.first().map(String::as_str), Some("whyline"));
    let expected: Value = serde_json::from_slice(
        &std::fs::read(repository().join("examples/data/credit.expected.json")).unwrap(),
    )
    .unwrap();
    let predicted = expected["predict"].as_array().unwrap();

    let text = whyline()
        .current_dir(repository())
        .args(&words[1..])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(text.stdout).unwrap();
    for row in 1..=predicted.len() {
        assert!(stdout.contains(&format!("row {row}: ")), "{stdout}");
    }
    assert!(!stdout.contains(&format!("row {}: ", predicted.len() + 1)));
    assert!(
        text.stderr.is_empty(),
        "{:?}",
        String::from_utf8(text.stderr)
    );

    // The same line as JSON: scikit-learn's classes and probabilities.
    let json = whyline()
        .current_dir(repository())
        .args(&words[1..])
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8(json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), predicted.len());
    let classes = expected["classes"].as_array().unwrap();
    for ((line, label), probabilities) in lines
        .iter()
        .zip(predicted)
        .zip(expected["predict_proba"].as_array().unwrap())
    {
        let class = line["prediction"].as_f64().unwrap() as usize;
        assert_eq!(&classes[class], label, "{line}");
        for (ours, theirs) in line["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .zip(probabilities.as_array().unwrap())
        {
            let (ours, theirs) = (ours.as_f64().unwrap(), theirs.as_f64().unwrap());
            // Rows stay f64 up to the model, which computes as scikit-learn does.
            assert!(
                (ours - theirs).abs() <= 1e-12 * theirs.abs().max(1e-300),
                "{ours} vs {theirs}"
            );
        }
    }
}

#[test]
fn the_sample_files_exist_where_the_readme_says() {
    let words = readme_explain_line();
    for flag in ["--model", "--input"] {
        let at = words.iter().position(|w| w == flag).unwrap();
        let path = Path::new(&words[at + 1]);
        assert!(repository().join(path).is_file(), "{}", path.display());
    }
}
