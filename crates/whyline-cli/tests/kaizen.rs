//! `whyline kaizen` end to end: on the demo's ledger in the three formats (with and without
//! the model file), with outcomes recorded by `whyline outcome`, and on bad input (an empty
//! window, --from after --to, an unknown model file, a directory that is no ledger, a log
//! that holds no inputs), each with its message and exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

/// The demo's directory (ledger, keys, model), made once for the whole file.
fn demo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kaizen-demo");
        let _ = std::fs::remove_dir_all(&dir);
        whyline()
            .args(["demo", "--dir"])
            .arg(&dir)
            .assert()
            .success();
        dir
    })
}

/// Copies a directory tree (the demo's), so a test can append to its own ledger.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs `whyline kaizen LOG --format json ARGS`; returns the exit code and the document.
fn kaizen_json(log: &Path, args: &[&str]) -> (i32, Value) {
    let output = whyline()
        .arg("kaizen")
        .arg(log)
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = output.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "kaizen failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (code, serde_json::from_slice(&output.stdout).unwrap())
}

#[test]
fn kaizen_on_the_demo_ledger_finds_the_uncertain_scenarios_in_every_format() {
    let log = demo().join("ledger");
    let (code, json) = kaizen_json(&log, &[]);
    // The demo's 620 decisions, halved into reference and current (nothing precedes them).
    assert_eq!(json["reference_rule"], "first_half");
    assert_eq!(
        json["reference_decisions"].as_u64().unwrap() + json["current_decisions"].as_u64().unwrap(),
        620
    );
    assert_eq!(json["with_inputs"], json["current_decisions"]);
    // The cat scenario's hesitations form clusters; each names its centre by feature.
    let clusters = json["clusters"].as_array().unwrap();
    assert!(!clusters.is_empty(), "{json:#}");
    let sizes: u64 = clusters.iter().map(|c| c["size"].as_u64().unwrap()).sum();
    assert_eq!(
        sizes,
        json["cluster_summary"]["with_inputs"].as_u64().unwrap()
    );
    for cluster in clusters {
        let features: Vec<&str> = cluster["centre"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[0].as_str().unwrap())
            .collect();
        assert_eq!(features[0], "distance_m");
        assert_eq!(features.len(), 6);
        assert!(!cluster["alternatives"].as_array().unwrap().is_empty());
    }
    // Every consecutive pair of the window is in the transition table.
    let counts: u64 = json["boundary"]["transitions"]["counts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|n| n.as_u64().unwrap()))
        .sum();
    assert_eq!(counts + 1, json["current_decisions"].as_u64().unwrap());
    // Six inputs, six path contributions and the confidence are compared.
    assert_eq!(json["drift"].as_array().unwrap().len(), 13);
    // It recommends retraining on the clusters, each with its evidence: exit 1.
    let recommendations = json["recommendations"].as_array().unwrap();
    let on_clusters: Vec<&Value> = recommendations
        .iter()
        .filter(|r| r["kind"] == "uncertainty_cluster")
        .collect();
    assert!(!on_clusters.is_empty(), "{json:#}");
    for r in on_clusters {
        let id = r["evidence"]["cluster"].as_u64().unwrap();
        let cluster = clusters.iter().find(|c| c["id"] == id).unwrap();
        assert_eq!(r["evidence"]["decisions"], cluster["size"]);
        assert_eq!(r["evidence"]["examples"], cluster["examples"]);
        assert!(
            r["action"]
                .as_str()
                .unwrap()
                .starts_with("Augment training data")
        );
    }
    assert_eq!(code, 1);

    let text = whyline().arg("kaizen").arg(&log).output().unwrap();
    assert_eq!(text.status.code(), Some(1));
    let text = String::from_utf8(text.stdout).unwrap();
    for heading in [
        "KAIZEN ANALYSIS",
        "UNCERTAINTY CLUSTERS",
        "DRIFT",
        "DECISION BOUNDARY",
        "OUTCOMES",
        "RECOMMENDATIONS",
    ] {
        assert!(text.contains(heading), "no {heading} in {text}");
    }
    assert!(text.contains("evidence: cluster #1;"), "{text}");

    let page = demo().join("kaizen.html");
    let html = whyline()
        .arg("kaizen")
        .arg(&log)
        .args(["--format", "html", "--out"])
        .arg(&page)
        .output()
        .unwrap();
    assert_eq!(html.status.code(), Some(1));
    assert!(html.stdout.is_empty());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<h2>Uncertainty clusters</h2>") && html.contains("Augment training data")
    );
}

#[test]
fn kaizen_with_the_model_file_measures_clusters_against_training_statistics() {
    let log = demo().join("ledger");
    let model = demo().join("model.json");
    let (_, without) = kaizen_json(&log, &[]);
    let (_, with) = kaizen_json(&log, &["--model", model.to_str().unwrap()]);
    // Same clusters, but the distinguishing z-scores are taken against the training data.
    assert_eq!(
        with["clusters"].as_array().unwrap().len(),
        without["clusters"].as_array().unwrap().len()
    );
    assert_eq!(
        with["clusters"][0]["centre"],
        without["clusters"][0]["centre"]
    );
    assert_ne!(
        with["clusters"][0]["distinguishing"],
        without["clusters"][0]["distinguishing"]
    );
}

#[test]
fn kaizen_from_to_takes_the_decisions_before_the_window_as_reference() {
    let log = demo().join("ledger");
    let (_, all) = kaizen_json(&log, &[]);
    // The current window from the first half's last decision on: the reference is what
    // comes before it.
    let from = all["window"][0].as_str().unwrap().to_owned();
    let (_, json) = kaizen_json(&log, &["--from", &from]);
    assert_eq!(json["reference_rule"], "before_window");
    assert_eq!(json["current_decisions"], all["current_decisions"]);
    assert_eq!(json["reference_decisions"], all["reference_decisions"]);
}

#[test]
fn outcomes_recorded_with_whyline_outcome_give_error_rates_and_a_recommendation() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(demo(), dir.path());
    let log = dir.path().join("ledger");
    let (_, before) = kaizen_json(&log, &[]);
    let example = |c: usize, i: usize| before["clusters"][c]["examples"][i].as_u64().unwrap();
    let (overridden, labelled) = (example(0, 0), example(0, 1));
    whyline()
        .arg("outcome")
        .arg(&log)
        .args([
            "--index",
            &overridden.to_string(),
            "--label",
            "cat",
            "--override",
            "SWERVE",
        ])
        .assert()
        .success();
    whyline()
        .arg("outcome")
        .arg(&log)
        .args(["--index", &labelled.to_string(), "--label", "cat"])
        .assert()
        .success();
    let (code, json) = kaizen_json(&log, &[]);
    assert_eq!(code, 1);
    let overall = &json["outcomes"]["overall"];
    assert_eq!(overall["labelled"], 2);
    assert_eq!(overall["judged"], 1);
    assert_eq!(overall["wrong"], 1);
    assert_eq!(overall["overridden"], 1);
    assert_eq!(
        json["outcomes"]["unjudged_labels"],
        serde_json::json!([["cat", 1]])
    );
    assert_eq!(json["clusters"][0]["outcomes"]["wrong"], 1);
    let recommendation = json["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "outcomes")
        .unwrap();
    assert_eq!(
        recommendation["evidence"]["examples"],
        serde_json::json!([overridden])
    );
}

/// Runs kaizen expecting exit 2 and a message naming the problem.
fn refused(args: &[&std::ffi::OsStr], message: &str) {
    let output = whyline().arg("kaizen").args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("whyline: error: "), "{stderr}");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn bad_input_is_refused_with_exit_2_and_a_message_that_says_what_to_fix() {
    let log = demo().join("ledger");
    let log = log.as_os_str();
    refused(
        &[
            log,
            "--from".as_ref(),
            "2000-01-01T00:00:00Z".as_ref(),
            "--to".as_ref(),
            "2000-01-02T00:00:00Z".as_ref(),
        ],
        "no decision between 2000-01-01T00:00:00",
    );
    refused(
        &[
            log,
            "--from".as_ref(),
            "2000-01-02T00:00:00Z".as_ref(),
            "--to".as_ref(),
            "2000-01-01T00:00:00Z".as_ref(),
        ],
        "after its end",
    );
    refused(
        &[log, "--from".as_ref(), "yesterday".as_ref()],
        "cannot read time \"yesterday\"",
    );
    let missing = demo().join("no-such-model.json");
    refused(
        &[log, "--model".as_ref(), missing.as_os_str()],
        "cannot read model file",
    );
    let tmp = tempfile::tempdir().unwrap();
    refused(&[tmp.path().as_os_str()], "not a whyline ledger");
    refused(&[log, "--format".as_ref(), "dot".as_ref()], "dot");
}

#[test]
fn a_log_without_inputs_is_analysed_for_what_it_holds_and_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("ledger");
    // 60 linear decisions, no sealed inputs: probabilities fall in the second half.
    let lines: String = (0..60u64)
        .map(|i| {
            let p = if i < 30 { 0.95 } else { 0.55 + (i % 5) as f64 * 0.02 };
            format!(
                "{{\"version\":\"1.0\",\"trace\":{{\"timestamp_ns\":{},\"sequence\":{i},\"input_hash\":\"0x{:016x}\",\"output\":1.0,\"latency_ns\":1000,\"path\":{{\"type\":\"LinearPath\",\"contributions\":[{},{}],\"intercept\":0.1,\"logit\":1.0,\"prediction\":1.0,\"probability\":{p}}}}}}}\n",
                1_700_000_000_000_000_000u64 + i * 1_000_000,
                i,
                0.1 + (i % 7) as f64 * 0.01,
                -0.2 + (i % 3) as f64 * 0.05
            )
        })
        .collect();
    whyline()
        .arg("append")
        .arg(&log)
        .args(["--durability", "none"])
        .write_stdin(lines)
        .assert()
        .success();
    let output = whyline()
        .arg("kaizen")
        .arg(&log)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no readable inputs"), "{stderr}");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["with_inputs"], 0);
    assert_eq!(json["clusters"], serde_json::json!([]));
    assert!(
        json["cluster_summary"]["note"]
            .as_str()
            .unwrap()
            .contains("no readable inputs")
    );
    // What is there is still analysed: the attributions and the confidence drift.
    let kinds: Vec<&str> = json["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.contains(&"input"));
    assert_eq!(kinds.iter().filter(|k| **k == "attribution").count(), 2);
    let confidence = json["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "confidence")
        .unwrap();
    assert_eq!(confidence["drifted"], true);
    assert_eq!(confidence["ks"]["statistic"], 1.0);
    // The fall in confidence is the finding, and the advice is to record the inputs: exit 1.
    let recommendations = json["recommendations"].as_array().unwrap();
    assert_eq!(recommendations.len(), 1, "{json:#}");
    assert_eq!(recommendations[0]["kind"], "confidence_drift");
    assert!(
        recommendations[0]["action"]
            .as_str()
            .unwrap()
            .contains("record the decisions' inputs")
    );
    assert_eq!(output.status.code(), Some(1));
}
