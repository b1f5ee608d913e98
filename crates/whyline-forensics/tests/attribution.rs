//! Exact attributions for the families beyond trees (`tests/evidence.rs` checks TreeSHAP
//! against `shap`): LinearSHAP against the coefficients scikit-learn fitted (each value is
//! `coef · (x − reference)`, the reference being the training mean, or the window's mean
//! when the model file has no statistics), integrated gradients adding up to the MLP's
//! output, and the note that says where no attribution could be made.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use whyline_core::{Explainable, ModelIdentity, to_aprt};
use whyline_forensics::{
    DecisionInputs, IncidentQuery, IncidentReport, Investigation, render_html, render_text,
};
use whyline_ledger::{Durability, Ledger, LedgerOptions, MemoryStore};
use whyline_models::Model;

const T0: u64 = 1_763_908_367_000_000_000;
const STEP: u64 = 100_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(name)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The first `n` rows of `name`'s scikit-learn fixture.
fn rows(name: &str, n: usize) -> Vec<Vec<f64>> {
    json(&fixture(&format!("{name}.expected.json")))["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .take(n)
        .map(floats)
        .collect()
}

/// Records `rows` as decisions of the model in `file` (made by the model itself), after its
/// model record, and investigates them with their inputs and the model file; `edit` may
/// change the inputs handed to the investigation.
fn investigate(
    file: &Path,
    rows: &[Vec<f64>],
    edit: impl FnOnce(&mut BTreeMap<u64, DecisionInputs>),
) -> IncidentReport {
    let model = Model::load(file).unwrap();
    let options =
        LedgerOptions::without_checkpoints("test/attribution").durability(Durability::None);
    let mut ledger = Ledger::open(MemoryStore::new(), options).unwrap().0;
    ledger
        .append(&model.model_record(T0).unwrap().to_bytes())
        .unwrap();
    let mut inputs = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let floats: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        let (output, path) = model.explain_one(&floats).unwrap();
        let trace = whyline_core::DecisionTrace {
            timestamp_ns: T0 + i as u64 * STEP,
            sequence: i as u64,
            input_hash: 0,
            output,
            latency_ns: 10_000,
            path,
        };
        let index = ledger.append(&to_aprt(&trace)).unwrap().index;
        inputs.insert(
            index,
            DecisionInputs {
                values: floats.iter().map(|&v| f64::from(v)).collect(),
                context: Vec::new(),
                erased: false,
            },
        );
    }
    edit(&mut inputs);
    let store = ledger.into_store().unwrap();
    let query = IncidentQuery {
        time_ns: T0 + (rows.len() as u64 - 1) * STEP,
        lookback_ns: 60_000_000_000,
        lookahead_ns: 0,
    };
    Investigation::new("log", query)
        .store(&store)
        .inputs(inputs)
        .model_file(file)
        .run()
        .unwrap()
}

/// Checks each decision's LinearSHAP values against `coef[class] · (x − reference)`, its
/// base value against `coef[class] · reference + intercept[class]` and its prediction
/// against the class's margin, with scikit-learn's coefficients from the model file.
fn check_linear(report: &IncidentReport, model: &serde_json::Value, reference: &[f64]) {
    let coef = floats(&model["model"]["coef"]);
    let intercept = floats(&model["model"]["intercept"]);
    let width = reference.len();
    assert!(!report.timeline.is_empty());
    for entry in &report.timeline {
        let attribution = entry.attribution.as_ref().unwrap();
        assert_eq!(attribution.method, "linear-shap");
        let class = entry.class.unwrap();
        let row = &coef[class * width..(class + 1) * width];
        let x: Vec<f64> = entry.inputs.iter().map(|i| i.value).collect();
        assert_eq!(attribution.values.len(), width);
        for (j, (name, value)) in attribution.values.iter().enumerate() {
            let expected = row[j] * (x[j] - reference[j]);
            assert!(
                (value - expected).abs() < 1e-3 * (1.0 + expected.abs()),
                "{name}: {value} vs coef·(x − reference) {expected}"
            );
        }
        let dot = |v: &[f64]| row.iter().zip(v).map(|(c, v)| c * v).sum::<f64>();
        let base = dot(reference) + intercept[class];
        let margin = dot(&x) + intercept[class];
        assert!(
            (attribution.base_value - base).abs() < 1e-3,
            "{attribution:?}"
        );
        assert!(
            (attribution.prediction - margin).abs() < 1e-3,
            "{attribution:?}"
        );
        assert!(attribution.residual < 1e-3);
    }
}

#[test]
fn linear_attributions_are_scikit_learns_coefficients_times_the_distance_from_the_training_mean() {
    let file = fixture("sk_logreg_iris.whyline.json");
    let report = investigate(&file, &rows("sk_logreg_iris", 8), |_| {});
    let model = json(&file);
    check_linear(&report, &model, &floats(&model["feature_stats"]["mean"]));
    assert_eq!(report.attribution_note, None);
    // Where the decision changes, the previous inputs are explained toward the new class.
    let mut changes = 0;
    for pair in report.timeline.windows(2) {
        if pair[0].decision != pair[1].decision {
            let why = pair[1].why_changed.as_ref().unwrap();
            assert_eq!(why.from, pair[0].decision);
            assert_eq!(why.from_sequence, pair[0].sequence);
            assert_eq!(why.output, pair[1].attribution.as_ref().unwrap().output);
            changes += 1;
        } else {
            assert!(pair[1].why_changed.is_none());
        }
    }
    assert!(changes > 0, "the rows change class");
}

#[test]
fn without_training_statistics_the_reference_is_the_windows_mean_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = json(&fixture("sk_logreg_iris.whyline.json"));
    model.as_object_mut().unwrap().remove("feature_stats");
    let file = dir.path().join("no_stats.whyline.json");
    std::fs::write(&file, serde_json::to_vec(&model).unwrap()).unwrap();
    let rows = rows("sk_logreg_iris", 6);
    let report = investigate(&file, &rows, |_| {});
    let mean: Vec<f64> = (0..4)
        .map(|j| rows.iter().map(|r| f64::from(r[j] as f32)).sum::<f64>() / rows.len() as f64)
        .collect();
    check_linear(&report, &model, &mean);
}

#[test]
fn integrated_gradients_add_up_to_the_networks_output() {
    let file = fixture("sk_mlp_clf_wine.whyline.json");
    let report = investigate(&file, &rows("sk_mlp_clf_wine", 4), |_| {});
    for entry in &report.timeline {
        let attribution = entry.attribution.as_ref().unwrap();
        assert_eq!(attribution.method, "integrated-gradients");
        assert_eq!(attribution.values.len(), 13);
        let sum: f64 = attribution.values.iter().map(|(_, v)| v).sum();
        assert!(
            (attribution.base_value + sum - attribution.prediction).abs()
                <= attribution.residual + 1e-9,
            "{attribution:?}"
        );
        assert!(attribution.residual < 0.05 * (1.0 + attribution.prediction.abs()));
        assert_eq!(
            attribution.output, entry.decision,
            "the class decided is explained"
        );
    }
}

#[test]
fn a_family_without_an_exact_method_is_named_in_the_note() {
    let file = fixture("sk_knn_clf_iris.whyline.json");
    let report = investigate(&file, &rows("sk_knn_clf_iris", 3), |_| {});
    assert!(report.timeline.iter().all(|e| e.attribution.is_none()));
    let first = report.timeline[0].index.unwrap();
    assert_eq!(
        report.attribution_note.as_deref(),
        Some(&*format!(
            "decision {first}: KNN models have no exact attribution method"
        ))
    );
    // Both reports say so.
    let note = format!("decision {first}: KNN models have no exact attribution method");
    assert!(render_text(&report).contains(&format!("Attributions: {note}")));
    assert!(render_html(&report).contains(&format!("<li>Attributions: {note}</li>")));
}

#[test]
fn an_input_the_model_refuses_is_noted_and_the_other_decisions_keep_theirs() {
    let file = fixture("sk_logreg_iris.whyline.json");
    let mut short = 0;
    let report = investigate(&file, &rows("sk_logreg_iris", 4), |inputs| {
        let (&index, input) = inputs.iter_mut().nth(2).unwrap();
        input.values.truncate(3);
        short = index;
    });
    let note = report.attribution_note.as_deref().unwrap();
    assert!(note.starts_with(&format!("decision {short}: ")), "{note}");
    for entry in &report.timeline {
        assert_eq!(
            entry.attribution.is_none(),
            entry.index == Some(short),
            "decision {:?}",
            entry.index
        );
    }
}

#[test]
fn decisions_whose_inputs_are_erased_or_missing_get_no_attribution() {
    let file = fixture("sk_logreg_iris.whyline.json");
    let report = investigate(&file, &rows("sk_logreg_iris", 4), |inputs| {
        for input in inputs.values_mut() {
            input.erased = true;
            input.values.clear();
        }
    });
    assert!(report.timeline.iter().all(|e| e.attribution.is_none()));
    assert!(report.timeline.iter().all(|e| e.why_changed.is_none()));
    // Only the first decision readable: nothing to compare a change with.
    let report = investigate(&file, &rows("sk_logreg_iris", 4), |inputs| {
        for input in inputs.values_mut().skip(1) {
            input.values.clear();
        }
    });
    assert!(report.timeline[0].attribution.is_some());
    assert!(report.timeline[1..].iter().all(|e| e.attribution.is_none()));
    assert!(report.timeline.iter().all(|e| e.why_changed.is_none()));
    let record = ModelIdentity::from_bytes(&std::fs::read(&file).unwrap(), "", "");
    assert_eq!(report.model.unwrap().sha256, record.sha256);
}
