//! `whyline provenance`: the path back from an incident in every format, and the bad input
//! (an unknown node, a log without a graph, --depth 0, a log whose edge goes backwards).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use whyline::core::provenance::{EdgeKind, NodeId, NodeKind, ProvenanceEdge};
use whyline::core::{AlertRecord, LinearPath};
use whyline::ledger::{Ledger, LedgerOptions};
use whyline::{DecisionTrace, LedgerCollector, ProvenanceRecorder, SegmentStore};

fn whyline() -> Command {
    Command::cargo_bin("whyline").unwrap()
}

const T0: u64 = 1_765_000_000_000_000_000;

fn trace(sequence: u64, confidence: f32) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: T0 + sequence,
        sequence,
        input_hash: sequence,
        output: confidence,
        latency_ns: 10,
        path: LinearPath {
            contributions: vec![confidence],
            intercept: 0.0,
            logit: confidence,
            prediction: confidence,
            probability: Some(confidence),
        },
    }
}

/// A ledger with two decisions (the second alerted out of distribution) and the graph
/// camera → perception (0.92) → fusion ← lidar → planner (0.41) → BRAKE. Returns the node
/// ids in recording order.
fn pipeline_ledger(dir: &Path) -> Vec<NodeId> {
    let store = SegmentStore::open(dir).unwrap();
    let (ledger, _) =
        LedgerCollector::open(store, LedgerOptions::without_checkpoints("test")).unwrap();
    let perception_decision = ledger.append(&trace(0, 0.92)).unwrap().index;
    let planner_decision = ledger
        .append_with_alerts(
            &trace(1, 0.41),
            &[AlertRecord {
                sequence: 1,
                timestamp_ns: T0 + 1,
                level: "yellow".into(),
                kind: "out_of_distribution".into(),
                message: "feature[0] = 0.3 out of distribution".into(),
                details: serde_json::json!({"feature_index": 0}),
            }],
        )
        .unwrap()
        .index;
    let mut graph = ProvenanceRecorder::new(&ledger);
    graph.set_time(Some(T0));
    let camera = graph.input("camera \"front\"", 1).unwrap();
    let lidar = graph.input("lidar", 2).unwrap();
    graph.set_time(Some(T0 + 10_000_000));
    let perception = graph
        .inference_named("perception", "3", perception_decision, &[camera])
        .unwrap();
    let fused = graph.fusion("kalman", &[perception, lidar]).unwrap();
    graph.set_time(Some(T0 + 25_000_000));
    let planner = graph
        .inference_named("planner", "1", planner_decision, &[fused])
        .unwrap();
    let brake = graph
        .action(
            "EMERGENCY_BRAKE",
            0.41,
            &[("SWERVE".into(), 0.39)],
            &[planner],
        )
        .unwrap();
    drop(graph);
    ledger.into_ledger().unwrap().commit().unwrap();
    vec![camera, lidar, perception, fused, planner, brake]
}

fn provenance(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    whyline().arg("provenance").arg(dir).args(args).assert()
}

#[test]
fn the_path_back_from_an_action_is_in_causal_order_with_its_anomalies() {
    let dir = tempfile::tempdir().unwrap();
    let ids = pipeline_ledger(dir.path());
    let brake = ids[5].to_string();
    let output = provenance(dir.path(), &["--node", &brake, "--format", "json"])
        .code(1) // anomalies found
        .get_output()
        .stdout
        .clone();
    let path: Value = serde_json::from_slice(&output).unwrap();
    let order: Vec<u64> = path["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_u64().unwrap())
        .collect();
    assert_eq!(order, ids.iter().map(|id| id.0).collect::<Vec<_>>());
    assert_eq!(path["duration_ns"], 25_000_000);
    assert_eq!(path["root_causes"], serde_json::json!([ids[0].0, ids[1].0]));
    let kinds: Vec<(u64, &str)> = path["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["node"].as_u64().unwrap(), a["kind"].as_str().unwrap()))
        .collect();
    // Both inputs feed the out-of-distribution decision; the planner is low, fell from the
    // perception's 0.92 and has the alert; the action is low and fell too.
    assert_eq!(
        kinds,
        [
            (ids[0].0, "out_of_distribution_input"),
            (ids[1].0, "out_of_distribution_input"),
            (ids[4].0, "low_confidence"),
            (ids[4].0, "falling_confidence"),
            (ids[4].0, "alert"),
            (ids[5].0, "low_confidence"),
            (ids[5].0, "falling_confidence"),
        ]
    );

    // --decision starts from the planner's inference node; the text names the span.
    let text = provenance(dir.path(), &["--decision", "1"]).code(1);
    let text = String::from_utf8(text.get_output().stdout.clone()).unwrap();
    assert!(
        text.starts_with(&format!("Provenance of node {}", ids[4])),
        "{text}"
    );
    assert!(text.contains("(0.025000 s)"), "{text}");
    assert!(text.contains("confidence fell from 0.92"), "{text}");
    assert!(
        !text.contains("EMERGENCY_BRAKE"),
        "the action is downstream: {text}"
    );

    // --depth 1 from the planner reaches the fusion only, and says it was cut.
    let short = provenance(
        dir.path(),
        &["--decision", "1", "--depth", "1", "--format", "json"],
    );
    let short: Value = serde_json::from_slice(&short.get_output().stdout).unwrap();
    assert_eq!(short["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(short["truncated"], true);

    // A path without anomalies exits 0.
    provenance(dir.path(), &["--node", &ids[0].to_string()]).success();
}

/// The DOT output's structure: one statement per line, every edge between declared nodes,
/// labels quoted and escaped; and, where graphviz is installed, `dot` accepts it.
#[test]
fn the_dot_output_is_a_well_formed_digraph() {
    let dir = tempfile::tempdir().unwrap();
    let ids = pipeline_ledger(dir.path());
    let dot = provenance(
        dir.path(),
        &["--node", &ids[5].to_string(), "--format", "dot"],
    )
    .code(1);
    let dot = String::from_utf8(dot.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = dot.lines().collect();
    assert_eq!(lines.first(), Some(&"digraph provenance {"));
    assert_eq!(lines.last(), Some(&"}"));
    let mut declared = Vec::new();
    let mut edges = Vec::new();
    for line in &lines[1..lines.len() - 1] {
        let line = line.trim();
        assert!(line.ends_with(';'), "{line}");
        let words: Vec<&str> = line.split_whitespace().collect();
        if line == "rankdir=LR;" {
            continue;
        }
        if words[1] == "->" {
            edges.push((words[0].to_owned(), words[2].to_owned()));
        } else if words[0] != "node" {
            assert!(words[1].starts_with("[label=\""), "{line}");
            declared.push(words[0].to_owned());
            // Quotes inside labels are escaped: an even number of unescaped quotes.
            let unescaped = line.replace("\\\"", "").matches('"').count();
            assert_eq!(unescaped % 2, 0, "{line}");
        }
    }
    assert_eq!(declared.len(), 6);
    assert_eq!(edges.len(), 5);
    for (from, to) in &edges {
        assert!(
            declared.contains(from) && declared.contains(to),
            "{from} -> {to}"
        );
    }
    assert!(dot.contains("camera \\\"front\\\""), "{dot}");
    assert!(dot.contains(&format!("n{} [", ids[5])) && dot.contains("peripheries=2"));
    if let Ok(mut child) = std::process::Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dot.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "dot refused the graph");
        assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
    }

    let html = provenance(
        dir.path(),
        &["--node", &ids[5].to_string(), "--format", "html"],
    )
    .code(1);
    let html = String::from_utf8(html.get_output().stdout.clone()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("camera &quot;front&quot;"));
    assert_eq!(html.matches("<li class=\"card").count(), 6);
}

fn assert_error(assert: assert_cmd::assert::Assert, parts: &[&str]) {
    let output = assert.code(2).get_output().clone();
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("whyline: error: "), "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let ids = pipeline_ledger(dir.path());
    assert_error(
        provenance(dir.path(), &["--node", "999"]),
        &["no provenance node 999", "6 nodes"],
    );
    // A decision entry is not a node.
    assert_error(
        provenance(dir.path(), &["--node", "0"]),
        &["no provenance node 0"],
    );
    assert_error(
        provenance(dir.path(), &["--decision", "77"]),
        &["no provenance node names decision 77"],
    );
    assert_error(
        provenance(dir.path(), &["--node", &ids[5].to_string(), "--depth", "0"]),
        &["--depth must be at least 1"],
    );
    // --node or --decision, exactly one.
    provenance(dir.path(), &[]).code(2);
    provenance(dir.path(), &["--node", "1", "--decision", "1"]).code(2);
    provenance(dir.path(), &["--node", "1", "--format", "svg"]).code(2);

    // A log with decisions but no graph, an empty log, and no log.
    let plain = tempfile::tempdir().unwrap();
    let store = SegmentStore::open(plain.path()).unwrap();
    let (ledger, _) =
        LedgerCollector::open(store, LedgerOptions::without_checkpoints("test")).unwrap();
    ledger.append(&trace(0, 0.9)).unwrap();
    ledger.into_ledger().unwrap().commit().unwrap();
    assert_error(
        provenance(plain.path(), &["--decision", "0"]),
        &["holds no provenance graph (1 entries"],
    );
    let empty = tempfile::tempdir().unwrap();
    let store = SegmentStore::open(empty.path()).unwrap();
    let (mut ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("t")).unwrap();
    ledger.commit().unwrap();
    drop(ledger);
    assert_error(
        provenance(empty.path(), &["--node", "0"]),
        &["holds no provenance graph (0 entries"],
    );
    assert_error(
        provenance(&dir.path().join("missing"), &["--node", "0"]),
        &["not a ledger directory"],
    );
}

/// A log written by something else than the recorder, whose edge goes backwards (the only
/// way a cycle could close), is refused by the reader, naming the entry.
#[test]
fn a_backward_edge_in_the_log_is_refused_on_reconstruction() {
    let dir = tempfile::tempdir().unwrap();
    let ids = pipeline_ledger(dir.path());
    let store = SegmentStore::open(dir.path()).unwrap();
    let (mut ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("test")).unwrap();
    let backward = ProvenanceEdge {
        from: ids[5],
        to: ids[0],
        kind: EdgeKind::Influenced,
        from_kind: NodeKind::Action,
        to_kind: NodeKind::Input,
        timestamp_ns: T0,
    };
    let at = ledger.append(&backward.to_bytes()).unwrap().index;
    ledger.commit().unwrap();
    drop(ledger);
    provenance(dir.path(), &["--node", &ids[5].to_string()])
        .code(2)
        .stderr(predicate::str::contains(format!("provenance entry {at}")))
        .stderr(predicate::str::contains("free of cycles"));
}
