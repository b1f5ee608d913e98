//! What the model saw and why it changed (issue 10 §6), over a ledger on disk: exact
//! attributions against the `shap` package's TreeExplainer values (committed fixture), the
//! attribution shift where a decision flips, z-scores against the model file's training
//! statistics, the window proven complete, outcomes and overrides in the analysis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use whyline_core::{Explainable, ModelRecord, to_aprt};
use whyline_forensics::{
    Completeness, DecisionInputs, DecisionOutcome, ForensicsError, IncidentQuery, IncidentReport,
    Investigation, ZScoreBasis, render_html, render_json, render_text,
};
use whyline_ledger::{Durability, Ledger, LedgerOptions, NoteSigner, SegmentStore};
use whyline_models::Model;

const T0: u64 = 1_763_908_367_000_000_000;
const STEP: u64 = 100_000_000;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn model_path() -> PathBuf {
    fixture("whyline-models/tests/fixtures/sk_tree_clf_iris.whyline.json")
}

/// The oracle: `shap.TreeExplainer` on scikit-learn's tree (values[row][class][feature]).
fn shap() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(
        "whyline-explain/tests/fixtures/sk_tree_clf_iris.shap.json",
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A ledger with the model record, then one decision per row of the shap fixture, 100 ms
/// apart, made by the model itself; returns the signer and the inputs by log index.
fn ledger(dir: &Path) -> (NoteSigner, BTreeMap<u64, DecisionInputs>, Vec<usize>) {
    let model = Model::from_bytes(&std::fs::read(model_path()).unwrap(), model_path()).unwrap();
    let signer = NoteSigner::generate_ed25519("test.forensics").unwrap();
    let options = LedgerOptions::signed("test.forensics", signer.clone())
        .durability(Durability::None)
        .checkpoint_every(0);
    let (mut ledger, _) = Ledger::open(SegmentStore::open(dir).unwrap(), options).unwrap();
    let record: ModelRecord = model.model_record(T0).unwrap();
    ledger.append(&record.to_bytes()).unwrap();
    let mut inputs = BTreeMap::new();
    let mut classes = Vec::new();
    for (i, row) in shap()["rows"].as_array().unwrap().iter().enumerate() {
        let row: Vec<f64> = row
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let floats: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        let (output, path) = model.explain_one(&floats).unwrap();
        classes.push(output as usize);
        let trace = whyline_core::DecisionTrace {
            timestamp_ns: T0 + i as u64 * STEP,
            sequence: i as u64,
            input_hash: 0,
            output,
            latency_ns: 20_000,
            path,
        };
        let receipt = ledger.append(&to_aprt(&trace)).unwrap();
        inputs.insert(
            receipt.index,
            DecisionInputs {
                values: row,
                context: vec![("object".into(), serde_json::json!(format!("flower {i}")))],
                erased: false,
            },
        );
    }
    ledger.checkpoint().unwrap();
    (signer, inputs, classes)
}

fn query() -> IncidentQuery {
    IncidentQuery {
        time_ns: T0 + 7 * STEP,
        lookback_ns: 10 * STEP,
        lookahead_ns: 0,
    }
}

fn report(dir: &Path) -> (IncidentReport, Vec<usize>) {
    let (signer, inputs, classes) = ledger(dir);
    let verifier = signer.verifier();
    let outcome = DecisionOutcome {
        index: 8,
        label: "versicolor".into(),
        by: Some("botanist".into()),
        override_action: Some("re-label".into()),
        note: Some("checked by hand".into()),
    };
    let report = Investigation::new(dir, query())
        .verifier(&verifier)
        .inputs(inputs)
        .outcomes(vec![outcome])
        .model_file(model_path())
        .run()
        .unwrap();
    (report, classes)
}

#[test]
fn attributions_are_shaps_values_and_a_flip_names_the_features_that_moved() {
    let dir = tempfile::tempdir().unwrap();
    let (report, classes) = report(dir.path());
    let oracle = shap();
    let value = |row: usize, class: usize, feature: usize| {
        oracle["values"][row][class][feature].as_f64().unwrap()
    };
    assert_eq!(report.timeline.len(), 8);
    for (row, entry) in report.timeline.iter().enumerate() {
        assert_eq!(
            entry.index,
            Some(row as u64 + 1),
            "the model record is entry 0"
        );
        let attribution = entry
            .attribution
            .as_ref()
            .expect("every decision is attributed");
        assert_eq!(attribution.method, "tree-shap");
        let class = classes[row];
        for (feature, (_, v)) in attribution.values.iter().enumerate() {
            assert!(
                (v - value(row, class, feature)).abs() < 1e-6,
                "row {row} class {class} feature {feature}: {v} vs shap {}",
                value(row, class, feature)
            );
        }
        let base = oracle["expected_value"][class].as_f64().unwrap();
        assert!((attribution.base_value - base).abs() < 1e-6);
        let sum: f64 = attribution.values.iter().map(|(_, v)| v).sum();
        assert!((attribution.base_value + sum - attribution.prediction).abs() < 1e-9);
    }
    // Every step but 6 → 7 changes the decision; each says why, toward its new class.
    for row in 1..8 {
        let why = &report.timeline[row].why_changed;
        if classes[row] == classes[row - 1] {
            assert!(why.is_none(), "row {row} did not change");
            continue;
        }
        let why = why.as_ref().unwrap();
        let class = classes[row];
        let top = why.shifts.first().unwrap();
        let feature = (0..4)
            .max_by(|&a, &b| {
                let da = (value(row, class, a) - value(row - 1, class, a)).abs();
                let db = (value(row, class, b) - value(row - 1, class, b)).abs();
                da.total_cmp(&db)
            })
            .unwrap();
        let names = [
            "sepal length (cm)",
            "sepal width (cm)",
            "petal length (cm)",
            "petal width (cm)",
        ];
        assert_eq!(top.feature, names[feature], "row {row}");
        assert!((top.before - value(row - 1, class, feature)).abs() < 1e-6);
        assert!((top.after - value(row, class, feature)).abs() < 1e-6);
    }
}

#[test]
fn inputs_carry_z_scores_against_the_training_statistics_and_their_context() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = report(dir.path());
    assert_eq!(report.z_score_basis, Some(ZScoreBasis::Training));
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_path()).unwrap()).unwrap();
    let stats = &model["feature_stats"];
    let entry = &report.timeline[2];
    for (j, input) in entry.inputs.iter().enumerate() {
        let mean = stats["mean"][j].as_f64().unwrap();
        let std = stats["std"][j].as_f64().unwrap();
        let z = input.z_score.unwrap();
        assert!((z - (input.value - mean) / std).abs() < 1e-12, "{input:?}");
    }
    assert_eq!(entry.inputs[2].feature, "petal length (cm)");
    assert_eq!(
        entry.context,
        vec![("object".to_owned(), serde_json::json!("flower 2"))]
    );
}

#[test]
fn the_report_proves_the_window_complete_and_grounds_its_root_cause_in_the_facts() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _) = report(dir.path());
    let Completeness::Complete {
        first_index,
        end_index,
        before,
        after,
        signature_checked,
        ..
    } = &report.completeness
    else {
        panic!("expected a complete window: {:?}", report.completeness);
    };
    // The window starts before the log: the range runs from the log's start (the model
    // record included) to the checkpoint's end.
    assert_eq!((*first_index, *end_index), (0, 9));
    assert!(before.is_none() && after.is_none() && *signature_checked);

    let facts = &report.analysis;
    let (first_change_ms, from, _) = facts.first_change.clone().unwrap();
    assert_eq!(from, report.timeline[0].decision);
    assert!((first_change_ms - report.timeline[1].relative_ms).abs() < 1e-9);
    assert_eq!(facts.overrides.len(), 1);
    assert!(
        facts.overrides[0].contains("botanist overrode"),
        "{:?}",
        facts.overrides
    );
    let driver = &report.timeline[1].why_changed.as_ref().unwrap().shifts[0].feature;
    assert!(
        facts
            .root_cause
            .iter()
            .any(|c| c.contains("was driven by") && c.contains(driver.as_str())),
        "{:?}",
        facts.root_cause
    );
    assert!(
        facts
            .recommendations
            .iter()
            .any(|r| r.contains("1 human override"))
    );

    let text = render_text(&report);
    for expected in [
        "WINDOW COMPLETENESS: COMPLETE",
        "ROOT CAUSE:",
        "Why it changed",
        "Attribution (tree-shap",
        "Context: object: flower 2",
        "OVERRIDE: re-label",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    let html = render_html(&report);
    let summary = html.find("id=\"summary\"").unwrap();
    assert!(
        summary < html.find("id=\"timeline-chart\"").unwrap(),
        "the page leads with the summary"
    );
    assert!(html.contains("id=\"completeness\""));
    let json: serde_json::Value = serde_json::from_str(&render_json(&report).unwrap()).unwrap();
    assert_eq!(json["completeness"]["status"], "complete");
    assert_eq!(json["completeness"]["proof"]["type"], "window");
    assert_eq!(json["timeline"][1]["attribution"]["method"], "tree-shap");
}

#[test]
fn a_model_file_that_is_not_the_recorded_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, inputs, _) = ledger(dir.path());
    let other = fixture("whyline-models/tests/fixtures/sk_gb_clf_iris.whyline.json");
    let error = Investigation::new(dir.path(), query())
        .inputs(inputs)
        .model_file(&other)
        .run()
        .unwrap_err();
    assert!(
        matches!(error, ForensicsError::ModelMismatch { .. }),
        "{error:?}"
    );
}
