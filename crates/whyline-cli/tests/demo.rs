//! The main job end to end: `whyline demo` records, verifies and investigates; a flipped byte
//! is caught by `whyline verify` and marked in `whyline incident`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

/// Runs the demo into `dir` and returns its stdout.
fn run_demo(dir: &Path) -> String {
    let output = whyline().args(["demo", "--dir"]).arg(dir).output().unwrap();
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The incident time the demo prints in its "Investigate again" line.
fn impact_time(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.contains("whyline incident"))
        .expect("the demo names the incident command");
    let after = line.split("--at ").nth(1).unwrap();
    after.split_whitespace().next().unwrap().to_owned()
}

#[test]
fn the_demo_records_verifies_and_investigates_the_cat_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = run_demo(dir.path());
    // The model record, 620 decisions, and the alerts the monitor wrote beside them.
    let entries: u64 = stdout
        .split("CHAIN INTEGRITY: ✓ VERIFIED (")
        .nth(1)
        .and_then(|rest| rest.split(" entries, no breaks;").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no verified chain in {stdout}"));
    assert!(entries > 621, "no alert entries: {entries}");
    // The report says what the car saw (the sealed inputs and context, opened with the key
    // store) and explains decisions exactly with the model file beside the ledger.
    assert!(stdout.contains("Inputs: distance_m="), "{stdout}");
    assert!(stdout.contains("Context: object: cat"), "{stdout}");
    assert!(
        stdout.contains("Attribution (tree-shap, toward EMERGENCY_BRAKE)"),
        "{stdout}"
    );
    // The SIL3 profile signs a checkpoint every 256 entries; the demo signs a last one at
    // the end (unless the count fell on a multiple of 256).
    let verified = stdout
        .lines()
        .find(|l| l.starts_with("ledger verified: "))
        .unwrap_or_else(|| panic!("no verification line in {stdout}"));
    let numbers: Vec<u64> = verified
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let [logged, checkpoints] = numbers[..] else {
        panic!("expected entries and checkpoints in {verified:?}")
    };
    assert_eq!(logged, entries);
    assert_eq!(
        checkpoints,
        entries.div_ceil(256),
        "one checkpoint per 256 entries and one at the end: {verified}"
    );
    assert!(
        stdout.contains("yellow alert: MAINTAIN_SPEED decided 100 times in a row"),
        "alerts from the log are anomalies: {stdout}"
    );
    assert!(stdout.contains("signatures verified"), "{stdout}");
    assert!(
        stdout.contains("⚠ ANDON [RED]"),
        "alerts print as they fire: {stdout}"
    );
    // With the model's names: the feature an input was out of distribution on, the class
    // decided again and again.
    assert!(
        stdout.contains("⚠ ANDON [YELLOW] decision 99: MAINTAIN_SPEED decided 100 times in a row"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "closing_speed_mps = 0 out of distribution (z = -1.70, outside the training range)"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.contains("ANDON [YELLOW] decision 280: feature["),
        "{stdout}"
    );
    // The analysis counts what the monitor flagged out of distribution, not only |z| >= 3.
    assert!(
        stdout.contains("Inputs out of distribution against training statistics: ")
            && stdout
                .contains("closing_speed_mps (z -1.7, outside the training range, from T-16.000s)"),
        "{stdout}"
    );
    assert!(!stdout.contains("No input out of distribution"), "{stdout}");
    assert!(stdout.contains("DECISION: EMERGENCY_BRAKE"), "{stdout}");
    assert!(stdout.contains("■ IMPACT"), "{stdout}");
    let html = std::fs::read_to_string(dir.path().join("incident.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("timeline-chart"));

    let ledger = dir.path().join("ledger");
    let public_key = dir.path().join("keys/ledger.pub");
    whyline()
        .arg("verify")
        .arg(&ledger)
        .arg("--public-key")
        .arg(&public_key)
        .assert()
        .success();

    // The investigation can be repeated from the command line, read-only.
    let at = impact_time(&stdout);
    let before = std::fs::read(ledger.join("entries.wls")).unwrap();
    whyline()
        .args(["incident"])
        .arg(&ledger)
        .args([
            "--at",
            &at,
            "--before",
            "30s",
            "--after",
            "1s",
            "--format",
            "json",
            "--public-key",
        ])
        .arg(&public_key)
        .assert()
        .code(1) // the window holds anomalies
        .stdout(predicate::str::contains("\"status\": \"verified\""));
    assert_eq!(
        std::fs::read(ledger.join("entries.wls")).unwrap(),
        before,
        "investigating changed the log"
    );

    // The impact decision's pipeline was recorded as a provenance graph: the report names
    // the command, the HTML page shows the chain, and the command walks it back from the
    // planner to the four sensor inputs.
    let command = stdout
        .lines()
        .find(|l| l.contains("whyline provenance"))
        .unwrap_or_else(|| panic!("no provenance command in {stdout}"));
    let decision = command.split("--decision ").nth(1).unwrap().trim();
    assert!(
        html.contains("<section class=\"provenance\">"),
        "no chain in the HTML"
    );
    assert!(html.contains("sensor_fusion") && html.contains("camera_front"));
    let output = whyline()
        .arg("provenance")
        .arg(&ledger)
        .args(["--decision", decision, "--format", "json"])
        .output()
        .unwrap();
    let path: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<&str> = path["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "input",
            "input",
            "input",
            "input",
            "transform",
            "fusion",
            "inference"
        ]
    );
    assert_eq!(path["duration_ns"], 30_000_000, "capture to decision");
    assert_eq!(path["root_causes"].as_array().unwrap().len(), 4);
}

#[test]
fn a_flipped_byte_fails_verification_and_is_marked_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = run_demo(dir.path());
    let at = impact_time(&stdout);
    let ledger = dir.path().join("ledger");
    let entries = ledger.join("entries.wls");
    let mut bytes = std::fs::read(&entries).unwrap();
    // A byte inside an entry near the end of the log (the frames hold the decisions).
    let position = bytes.len() - bytes.len() / 10;
    bytes[position] ^= 0x01;
    std::fs::write(&entries, &bytes).unwrap();

    whyline()
        .arg("verify")
        .arg(&ledger)
        .arg("--public-key")
        .arg(dir.path().join("keys/ledger.pub"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("entry").or(predicate::str::contains("Entry")));

    let output = whyline()
        .args(["incident"])
        .arg(&ledger)
        .args(["--at", &at])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(
        report.contains("CHAIN INTEGRITY: ✗ BROKEN at entry"),
        "{report}"
    );
    assert!(report.contains("INCIDENT INVESTIGATION REPORT"), "{report}");
}

#[test]
fn bad_logs_and_times_are_clear_errors() {
    whyline()
        .args([
            "incident",
            "/nonexistent/ledger",
            "--at",
            "2026-01-01T00:00:00Z",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is not a whyline ledger: it does not exist",
        ));
    let dir = tempfile::tempdir().unwrap();
    whyline()
        .args(["incident"])
        .arg(dir.path())
        .args(["--at", "2026-01-01T00:00:00Z"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a whyline ledger"));
    whyline()
        .args(["incident", "/tmp", "--at", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read time \"yesterday\""));

    let demo = tempfile::tempdir().unwrap();
    run_demo(demo.path());
    whyline()
        .args(["incident"])
        .arg(demo.path().join("ledger"))
        .args(["--at", "2001-09-09T01:46:40Z"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is outside the log, which runs from",
        ));
}

/// aprender fixtures written by `tools/apr-fixtures`.
fn apr_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures/aprender/0.27.8")
        .join(name)
}

#[test]
fn the_demo_runs_the_cat_scenario_with_an_aprender_tree() {
    let dir = tempfile::tempdir().unwrap();
    let output = whyline()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .arg("--model")
        .arg(apr_fixture("demo_tree.apr"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The aprender model decided, and is named in the log's model record and the report.
    assert!(
        stdout.contains("planner aprender:DecisionTreeClassifier 0.27.8"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Model: aprender:DecisionTreeClassifier 0.27.8"),
        "{stdout}"
    );
    assert!(stdout.contains("CHAIN INTEGRITY: ✓ VERIFIED"), "{stdout}");
    // Its classes are the scenario's actions (the file carries no names: the demo's).
    assert!(stdout.contains("MAINTAIN_SPEED"), "{stdout}");
    // The report explains decisions exactly from the sealed inputs and the model file, and
    // the file left beside the ledger is the recorded one: replay makes every trace again.
    assert!(stdout.contains("Attribution (tree-shap"), "{stdout}");
    whyline()
        .arg("replay")
        .arg(dir.path().join("ledger"))
        .arg("--model")
        .arg(dir.path().join("model.apr"))
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "replayed 620, identical 620, different 0, erased 0\n",
        ));
}

#[test]
fn the_demo_names_a_feature_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    whyline()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .arg("--model")
        .arg(apr_fixture("kmeans.apr"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "the model reads 3 features, the cat scenario has 6",
        ));
}

#[test]
fn the_demo_checks_a_signed_model_against_the_given_key() {
    let dir = tempfile::tempdir().unwrap();
    // A signed 3-feature tree: the signature is checked (and fails with the wrong key) before
    // the feature count.
    whyline()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .arg("--model")
        .arg(apr_fixture("decision_tree_classifier.signed.apr"))
        .arg("--apr-public-key")
        .arg(apr_fixture("other_key.pub.hex"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("signature does not verify"));
}
