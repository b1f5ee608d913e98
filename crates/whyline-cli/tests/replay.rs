//! The evidence commands on the demo's ledger: every decision replays byte-identical from its
//! sealed input; outcomes link only to decisions; `erase` destroys the vehicle's key, the log
//! still verifies, and replay counts the inputs as erased.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

fn stdout_of(command: &mut Command) -> (i32, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// The demo model with only its first `trees` trees: a different model (another SHA-256)
/// that decides some frames differently.
fn smaller_forest(model: &Path, trees: usize, out: &Path) {
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model).unwrap()).unwrap();
    json["model"]["trees"]
        .as_array_mut()
        .unwrap()
        .truncate(trees);
    std::fs::write(out, serde_json::to_string(&json).unwrap()).unwrap();
}

#[test]
fn the_demo_replays_identically_then_takes_outcomes_and_an_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let output = whyline()
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let demo = String::from_utf8(output.stdout).unwrap();
    assert!(demo.contains("sealed under subject AV-2847-XK"), "{demo}");
    let ledger = dir.path().join("ledger");
    let model = dir.path().join("model.json");
    assert!(ledger.join("keys/subjects.wks").is_file());

    // Same model: all 620 traces byte-identical.
    whyline()
        .arg("replay")
        .arg(&ledger)
        .arg("--model")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "replayed 620, identical 620, different 0, erased 0\n",
        ));
    let (code, json) = stdout_of(
        whyline()
            .arg("replay")
            .arg(&ledger)
            .arg("--model")
            .arg(&model)
            .args(["--format", "json"]),
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(json["type"], "replay");
    assert_eq!(json["identical"], 620);

    // Another model: the decisions that change, exit 1.
    let smaller = dir.path().join("smaller.json");
    smaller_forest(&model, 3, &smaller);
    let (code, text) = stdout_of(
        whyline()
            .arg("replay")
            .arg(&ledger)
            .arg("--model")
            .arg(&smaller),
    );
    assert_eq!(code, 1, "{text}");
    let changed: u64 = text
        .split("changed ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no changed count in {text}"));
    assert!(changed > 0 && changed < 620, "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(" changes: output "))
            .count() as u64,
        changed
    );

    // Outcomes: entry 1 is the first decision, its sealed input in the same entry; entry 0
    // is the model record, not a decision.
    whyline()
        .arg("outcome")
        .arg(&ledger)
        .args(["--index", "1", "--label", "cat", "--by", "investigator"])
        .args(["--override", "EMERGENCY_BRAKE", "--note", "seen late"])
        .assert()
        .success()
        .stdout(predicate::str::contains("of decision 1 recorded as entry"));
    whyline()
        .arg("outcome")
        .arg(&ledger)
        .args(["--index", "0", "--label", "cat"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("entry 0 is not a decision"));

    // Erasure: the key goes, the log still verifies, replay counts the inputs as erased.
    let key_store = std::fs::read_to_string(ledger.join("keys/subjects.wks")).unwrap();
    whyline()
        .arg("erase")
        .arg(&ledger)
        .args(["--subject", "AV-2847-XK", "--by", "dpo"])
        .assert()
        .success()
        .stdout(predicate::str::contains("erased subject"));
    let after = std::fs::read_to_string(ledger.join("keys/subjects.wks")).unwrap();
    assert_ne!(key_store, after);
    whyline()
        .arg("verify")
        .arg(&ledger)
        .arg("--public-key")
        .arg(dir.path().join("keys/ledger.pub"))
        .assert()
        .success()
        .stdout(predicate::str::contains("intact"));
    whyline()
        .arg("replay")
        .arg(&ledger)
        .arg("--model")
        .arg(&model)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "replayed 0, identical 0, different 0, erased 620\n",
        ));
    whyline()
        .arg("erase")
        .arg(&ledger)
        .args(["--subject", "AV-2847-XK"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("was erased"));
}

#[test]
fn replay_without_a_key_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    whyline()
        .args(["append"])
        .arg(dir.path())
        .write_stdin("")
        .assert()
        .success();
    whyline()
        .arg("replay")
        .arg(dir.path())
        .arg("--model")
        .arg(dir.path().join("none.json"))
        .assert()
        .code(2);
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo_model.json");
    whyline()
        .arg("replay")
        .arg(dir.path())
        .arg("--model")
        .arg(&model)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no key store"));
}

/// The `--at` time the demo prints for investigating again.
fn impact_time(demo_stdout: &str) -> String {
    demo_stdout
        .split("--at ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no --at in the demo's output: {demo_stdout}"))
        .to_owned()
}

#[test]
fn the_incident_report_shows_what_the_car_saw_its_outcomes_and_then_the_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let (code, demo) = stdout_of(whyline().args(["demo", "--dir"]).arg(dir.path()));
    assert_eq!(code, 0, "{demo}");
    let at = impact_time(&demo);
    let ledger = dir.path().join("ledger");
    let model = dir.path().join("model.json");
    let incident = |extra: &[&str]| {
        let (code, json) = stdout_of(
            whyline()
                .arg("incident")
                .arg(&ledger)
                .args(["--at", &at, "--before", "1s", "--after", "0s", "--model"])
                .arg(&model)
                .args(["--format", "json"])
                .args(extra),
        );
        assert!(code == 0 || code == 1, "{json}");
        serde_json::from_str::<serde_json::Value>(json.trim()).unwrap()
    };

    // The sealed inputs are read from the log with its key store: every decision of the
    // window shows the six sensor values and its context.
    let report = incident(&[]);
    let timeline = report["timeline"].as_array().unwrap();
    assert!(timeline.len() >= 20, "{report}");
    let header: Vec<String> = timeline[0]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["feature"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(header.len(), 6);
    let mut csv = header.join(",") + "\n";
    for decision in timeline {
        let values: Vec<String> = decision["inputs"]
            .as_array()
            .unwrap_or_else(|| panic!("no inputs: {decision}"))
            .iter()
            .map(|i| format!("{:?}", i["value"].as_f64().unwrap()))
            .collect();
        csv += &(values.join(",") + "\n");
        assert!(decision["context"].as_array().unwrap().len() >= 6);
        assert!(decision["attribution"].is_object(), "{decision}");
    }
    // Oracle: the model run again on the shown inputs (`whyline explain`, another path)
    // gives each decision's recorded confidence, so the inputs are what the model saw.
    let rows = dir.path().join("seen.csv");
    std::fs::write(&rows, csv).unwrap();
    let (code, explained) = stdout_of(
        whyline()
            .args(["explain", "--model"])
            .arg(&model)
            .arg("--input")
            .arg(&rows)
            .args(["--format", "json"]),
    );
    assert_eq!(code, 0, "{explained}");
    let explained: Vec<serde_json::Value> = explained
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(explained.len(), timeline.len());
    for (again, decision) in explained.iter().zip(timeline) {
        let recorded = decision["confidence"].as_f64().unwrap();
        let remade = again["path"]["probability"].as_f64().unwrap();
        assert!((recorded - remade).abs() < 1e-6, "{recorded} vs {remade}");
    }

    // An outcome recorded later shows beside its decision and in the analysis.
    let last = timeline.last().unwrap()["index"].as_u64().unwrap();
    whyline()
        .arg("outcome")
        .arg(&ledger)
        .args(["--index", &last.to_string(), "--label", "cat"])
        .args(["--by", "investigator", "--override", "EMERGENCY_BRAKE"])
        .assert()
        .success();
    let report = incident(&[]);
    let decision = report["timeline"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(decision["outcomes"][0]["label"], "cat", "{decision}");
    assert_eq!(report["analysis"]["overrides"].as_array().unwrap().len(), 1);

    // After the erasure nobody can read the inputs: the report says they were erased.
    whyline()
        .arg("erase")
        .arg(&ledger)
        .args(["--subject", "AV-2847-XK"])
        .assert()
        .success();
    let report = incident(&[]);
    for decision in report["timeline"].as_array().unwrap() {
        assert_eq!(decision["inputs_erased"], true, "{decision}");
        assert!(
            decision.get("inputs").is_none_or(|i| i.is_null()),
            "{decision}"
        );
    }
}
