//! `read_kaizen_data` over ledgers on disk recorded by the monitor: each decision's class and
//! confidence (against scikit-learn's predictions for the same rows), its opened input and
//! its last outcome, the reference window before the current one or its first half, the
//! model file's training statistics, and every refusal with what the log holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use whyline_core::{
    AnyPath, Context, DecisionTrace, LinearPath, ModelIdentity, ModelRecord, OutcomeRecord,
    RecordOutcome, to_aprt,
};
use whyline_forensics::{
    ForensicsError, KaizenAnalyzer, KaizenDecision, KaizenSettings, KaizenWindow, ReferenceRule,
    read_kaizen_data, render_kaizen_json,
};
use whyline_ledger::seal::{KeyStore, Sealer, append_erasure, append_outcome};
use whyline_ledger::{
    Durability, ENTRIES_FILE, Ledger, LedgerCollector, LedgerError, LedgerOptions, SegmentStore,
};
use whyline_models::Model;
use whyline_monitor::{Andon, AndonRules, InferenceMonitor, InputRecording};

const T0: u64 = 1_763_908_367_000_000_000;
const STEP: u64 = 50_000_000;
const MODEL: &str = "sk_logreg_iris.whyline.json";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../whyline-models/tests/fixtures")
        .join(name)
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

/// scikit-learn's rows, predicted classes and class probabilities for the model.
struct Oracle {
    rows: Vec<Vec<f64>>,
    predict: Vec<usize>,
    proba: Vec<Vec<f64>>,
}

fn oracle() -> Oracle {
    let expected = json("sk_logreg_iris.expected.json");
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    Oracle {
        rows: expected["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect(),
        predict: expected["predict"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap() as usize)
            .collect(),
        proba: expected["proba"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect(),
    }
}

/// Records the first `n` oracle rows through the monitor, `STEP` apart from `T0`, every
/// input sealed, subjects alternating `car-1` (even rows) and `car-2`; returns the
/// decisions' entry indices.
fn record(dir: &Path, n: usize) -> Vec<u64> {
    let store = SegmentStore::open(dir).unwrap();
    let options = LedgerOptions::without_checkpoints("test/kaizen").durability(Durability::None);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    let keys = KeyStore::open_or_create(&KeyStore::default_path(dir)).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    let model = Model::load(fixture(MODEL)).unwrap();
    let mut monitor =
        InferenceMonitor::new(model, collector, Andon::new(AndonRules::default()).unwrap());
    monitor.record_model().unwrap();
    let mut indices = Vec::new();
    for (i, row) in oracle().rows.iter().take(n).enumerate() {
        let row: Vec<f32> = row.iter().map(|&v| v as f32).collect();
        let subject = if i % 2 == 0 { "car-1" } else { "car-2" };
        let context = Context::new().with("frame", i as i64);
        let decision = monitor
            .predict_one_recorded_at(
                &row,
                &InputRecording {
                    subject: Some(subject),
                    context: context.fields(),
                },
                T0 + i as u64 * STEP,
            )
            .unwrap();
        let Some(RecordOutcome::Appended { index, .. }) = decision.recorded else {
            panic!("{:?}", decision.recorded);
        };
        indices.push(index);
    }
    monitor.flush().unwrap();
    indices
}

fn reopen(dir: &Path) -> Ledger<SegmentStore> {
    Ledger::open(
        SegmentStore::open_existing(dir).unwrap(),
        LedgerOptions::without_checkpoints("test/kaizen"),
    )
    .unwrap()
    .0
}

fn outcome(decision_index: u64, label: &str, override_action: Option<&str>) -> OutcomeRecord {
    OutcomeRecord {
        decision_index,
        label: label.into(),
        by: Some("operator".into()),
        override_action: override_action.map(Into::into),
        note: Some("checked".into()),
        recorded_ns: T0 + 3_600_000_000_000,
    }
}

#[test]
fn decisions_carry_class_confidence_opened_inputs_and_their_last_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let indices = record(dir.path(), 10);
    let mut ledger = reopen(dir.path());
    append_outcome(&mut ledger, &outcome(indices[6], "versicolor", None)).unwrap();
    append_outcome(&mut ledger, &outcome(indices[6], "virginica", Some("STOP"))).unwrap();
    let mut keys = KeyStore::open(&KeyStore::default_path(dir.path())).unwrap();
    append_erasure(
        &mut ledger,
        &mut keys,
        "car-2",
        None,
        T0 + 7_200_000_000_000,
    )
    .unwrap();
    drop(ledger);

    // The current window: decisions 6..=9; the reference: the six before.
    let window = KaizenWindow {
        from_ns: Some(T0 + 6 * STEP),
        to_ns: None,
    };
    let data = read_kaizen_data(dir.path(), window, None).unwrap();
    assert_eq!(data.reference_rule, ReferenceRule::BeforeWindow);
    assert_eq!(data.window, (T0 + 6 * STEP, T0 + 9 * STEP));
    assert_eq!(data.reference.len(), 6);
    assert_eq!(data.current.len(), 4);
    assert!(data.notes.is_empty(), "{:?}", data.notes);
    assert_eq!(data.log, dir.path().display().to_string());
    let model = json(MODEL);
    let expected_names: Vec<&str> = model["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(data.names.features, expected_names);
    assert_eq!(data.names.classes, ["setosa", "versicolor", "virginica"]);
    let bytes = std::fs::read(fixture(MODEL)).unwrap();
    assert_eq!(
        data.model.as_ref().unwrap().sha256,
        ModelIdentity::from_bytes(&bytes, "", "").sha256
    );
    assert_eq!(data.training, None, "no model file given");

    let oracle = oracle();
    let all: Vec<&KaizenDecision> = data.reference.iter().chain(&data.current).collect();
    for (i, decision) in all.iter().enumerate() {
        assert_eq!(decision.index, indices[i]);
        assert_eq!(decision.sequence, i as u64);
        assert_eq!(decision.timestamp_ns, T0 + i as u64 * STEP);
        assert_eq!(decision.class, Some(oracle.predict[i]), "row {i}");
        let best = oracle.proba[i].iter().copied().fold(0.0, f64::max);
        assert!(
            (f64::from(decision.confidence) - best).abs() < 1e-5,
            "row {i}: {} vs scikit-learn {best}",
            decision.confidence
        );
        assert_eq!(decision.contributions.len(), 4);
        // car-2 (odd rows) was erased; car-1's inputs open to the rows recorded.
        if i % 2 == 0 {
            let expected: Vec<f64> = oracle.rows[i]
                .iter()
                .map(|&v| f64::from(v as f32))
                .collect();
            assert_eq!(decision.inputs.as_deref(), Some(&expected[..]), "row {i}");
        } else {
            assert_eq!(decision.inputs, None, "row {i} was erased");
        }
    }
    let judged = all[6].outcome.as_ref().unwrap();
    assert_eq!(judged.index, indices[6]);
    assert_eq!(judged.label, "virginica", "the last outcome recorded wins");
    assert_eq!(judged.override_action.as_deref(), Some("STOP"));
    assert_eq!(judged.by.as_deref(), Some("operator"));
    assert_eq!(judged.note.as_deref(), Some("checked"));
    assert_eq!(all.iter().filter(|d| d.outcome.is_some()).count(), 1);
}

#[test]
fn a_model_file_adds_its_training_statistics_and_must_be_the_recorded_model() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 4);
    let data =
        read_kaizen_data(dir.path(), KaizenWindow::default(), Some(&fixture(MODEL))).unwrap();
    let stats = &json(MODEL)["feature_stats"];
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (mean, std) = data.training.unwrap();
    assert_eq!(mean, floats(&stats["mean"]));
    assert_eq!(std, floats(&stats["std"]));

    let other = fixture("sk_logreg_breast_cancer.whyline.json");
    let error = read_kaizen_data(dir.path(), KaizenWindow::default(), Some(&other)).unwrap_err();
    let ForensicsError::ModelMismatch {
        path,
        expected,
        found,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(path, &other);
    assert_eq!(
        expected,
        &ModelIdentity::from_bytes(&std::fs::read(fixture(MODEL)).unwrap(), "", "").sha256
    );
    assert_eq!(
        found,
        &ModelIdentity::from_bytes(&std::fs::read(&other).unwrap(), "", "").sha256
    );
    let missing = dir.path().join("no-such-model.json");
    let error = read_kaizen_data(dir.path(), KaizenWindow::default(), Some(&missing)).unwrap_err();
    assert!(
        matches!(&error, ForensicsError::ModelFile { path, source }
            if path == &missing && source.kind() == std::io::ErrorKind::NotFound),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("cannot read model file {}", missing.display())
    );
}

/// A decision of the model in `MODEL`'s shape, made by hand.
fn decision(sequence: u64) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: T0 + sequence * STEP,
        sequence,
        input_hash: 0,
        output: (sequence % 3) as f32,
        latency_ns: 1_000,
        path: AnyPath::Linear(LinearPath {
            contributions: vec![0.1, 0.2, 0.3, 0.4],
            intercept: 0.0,
            logit: 1.0,
            prediction: (sequence % 3) as f32,
            probability: Some(0.8),
        }),
    }
}

fn ledger_at(dir: &Path) -> Ledger<SegmentStore> {
    let options = LedgerOptions::without_checkpoints("test/kaizen").durability(Durability::None);
    Ledger::open(SegmentStore::open(dir).unwrap(), options)
        .unwrap()
        .0
}

#[test]
fn without_decisions_before_the_window_its_first_half_is_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = ledger_at(dir.path());
    for sequence in 0..7 {
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
    }
    ledger.commit().unwrap();
    drop(ledger);
    let data = read_kaizen_data(dir.path(), KaizenWindow::default(), None).unwrap();
    assert_eq!(data.reference_rule, ReferenceRule::FirstHalf);
    let sequences = |d: &[KaizenDecision]| d.iter().map(|d| d.sequence).collect::<Vec<_>>();
    assert_eq!(sequences(&data.reference), vec![0, 1, 2]);
    assert_eq!(sequences(&data.current), vec![3, 4, 5, 6]);
    // The current window starts at its first decision, the second half's.
    assert_eq!(data.window, (T0 + 3 * STEP, T0 + 6 * STEP));
    // No model record: no names and no model.
    assert!(data.names.features.is_empty() && data.names.classes.is_empty());
    assert_eq!(data.model, None);
    // A binary-shaped path: class 1 at 0.8 is [0.2, 0.8]; class 2 knows only its own.
    assert_eq!(data.reference[1].class, Some(1));
    assert_eq!(data.reference[1].probabilities, vec![1.0 - 0.8, 0.8]);
    assert_eq!(data.reference[2].probabilities, vec![0.0, 0.0, 0.8]);
    assert_eq!(data.reference[1].runner_up(), Some((0, 1.0 - 0.8)));
    assert!((data.reference[1].margin().unwrap() - 0.6).abs() < 1e-6);
    // A model file needs a model record to be checked against.
    let model = fixture(MODEL);
    let error = read_kaizen_data(dir.path(), KaizenWindow::default(), Some(&model)).unwrap_err();
    assert!(
        matches!(&error, ForensicsError::NoModelRecord { path } if path == &model),
        "{error:?}"
    );
}

#[test]
fn a_model_record_without_names_takes_them_from_the_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture(MODEL)).unwrap();
    let mut ledger = ledger_at(dir.path());
    let record = ModelRecord {
        identity: ModelIdentity::from_bytes(&bytes, "logistic_regression", "1"),
        feature_names: Vec::new(),
        class_names: Vec::new(),
        recorded_ns: T0,
        input_digest: Default::default(),
    };
    ledger.append(&record.to_bytes()).unwrap();
    for sequence in 0..4 {
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
    }
    ledger.commit().unwrap();
    drop(ledger);
    let data =
        read_kaizen_data(dir.path(), KaizenWindow::default(), Some(&fixture(MODEL))).unwrap();
    assert_eq!(data.names.features.len(), 4);
    assert_eq!(data.names.features[0], "sepal length (cm)");
    assert_eq!(data.names.classes, ["setosa", "versicolor", "virginica"]);
    assert_eq!(data.model.unwrap().model_type, "logistic_regression");
}

#[test]
fn windows_that_hold_no_decision_or_run_backwards_are_refused_with_the_logs_span() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = ledger_at(dir.path());
    for sequence in [0, 1, 8, 9] {
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
    }
    ledger.commit().unwrap();
    drop(ledger);
    // --from after --to: refused before the log is opened.
    let backwards = KaizenWindow {
        from_ns: Some(T0 + STEP),
        to_ns: Some(T0),
    };
    let error = read_kaizen_data(&dir.path().join("nowhere"), backwards, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the window starts at 2025-11-23T14:32:47.050000000Z, after its end 2025-11-23T14:32:47.000000000Z: give --from before --to"
    );
    // --from after the last decision, with no --to: the window ends at the last decision.
    let late = KaizenWindow {
        from_ns: Some(T0 + 20 * STEP),
        to_ns: None,
    };
    assert!(matches!(
        read_kaizen_data(dir.path(), late, None),
        Err(ForensicsError::BadRange { .. })
    ));
    // A window in the gap between decisions 1 and 8.
    let gap = KaizenWindow {
        from_ns: Some(T0 + 2 * STEP),
        to_ns: Some(T0 + 7 * STEP),
    };
    let error = read_kaizen_data(dir.path(), gap, None).unwrap_err();
    assert!(
        matches!(error, ForensicsError::EmptyWindow { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "no decision between 2025-11-23T14:32:47.100000000Z and 2025-11-23T14:32:47.350000000Z; the log's decisions run from 2025-11-23T14:32:47.000000000Z to 2025-11-23T14:32:47.450000000Z"
    );
}

#[test]
fn a_log_without_decisions_or_without_a_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let error = read_kaizen_data(dir.path(), KaizenWindow::default(), None).unwrap_err();
    assert!(
        matches!(
            error,
            ForensicsError::Ledger(LedgerError::NotALedger { .. })
        ),
        "{error:?}"
    );
    let mut ledger = ledger_at(dir.path());
    let record = ModelRecord {
        identity: ModelIdentity::from_bytes(b"m", "tree", "1"),
        feature_names: Vec::new(),
        class_names: Vec::new(),
        recorded_ns: T0,
        input_digest: Default::default(),
    };
    ledger.append(&record.to_bytes()).unwrap();
    ledger.commit().unwrap();
    drop(ledger);
    let error = read_kaizen_data(dir.path(), KaizenWindow::default(), None).unwrap_err();
    assert!(
        matches!(&error, ForensicsError::EmptyLog { path } if path == dir.path()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("the log at {} holds no decisions", dir.path().display())
    );
}

#[test]
fn an_entry_that_is_no_known_kind_is_refused_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = ledger_at(dir.path());
    ledger.append(&to_aprt(&decision(0))).unwrap();
    ledger.append(b"not a decision at all").unwrap();
    ledger.commit().unwrap();
    drop(ledger);
    let error = read_kaizen_data(dir.path(), KaizenWindow::default(), None).unwrap_err();
    assert!(
        matches!(error, ForensicsError::BadEntry { index: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "entry 1 is not a decision trace");
}

#[test]
fn what_the_reader_could_not_do_is_noted_not_hidden() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 4);
    // The key store is gone: the inputs stay sealed, and the notes say why.
    std::fs::remove_file(KeyStore::default_path(dir.path())).unwrap();
    // Half a frame past the last entry: a torn tail.
    let entries = dir.path().join(ENTRIES_FILE);
    let length = std::fs::metadata(&entries).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&entries)
        .unwrap();
    std::io::Write::write_all(&mut file, &[9, 0, 0, 0, 1]).unwrap();
    drop(file);
    let data = read_kaizen_data(dir.path(), KaizenWindow::default(), None).unwrap();
    assert_eq!(data.reference.len() + data.current.len(), 4);
    assert!(
        data.reference
            .iter()
            .chain(&data.current)
            .all(|d| d.inputs.is_none())
    );
    assert_eq!(data.notes.len(), 2, "{:?}", data.notes);
    assert!(
        data.notes[0].starts_with(&format!("the log could not be read past byte {length} (")),
        "{:?}",
        data.notes
    );
    assert!(data.notes[0].ends_with("); whyline verify says more"));
    assert_eq!(
        data.notes[1],
        format!(
            "the log holds sealed inputs but no key store at {}: inputs unreadable",
            KeyStore::default_path(dir.path()).display()
        )
    );
}

#[test]
fn analyzing_a_log_is_analyzing_what_it_reads_under_the_settings_given() {
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), 12);
    let settings = KaizenSettings {
        low_confidence: 0.95,
        ..KaizenSettings::default()
    };
    let analyzer = KaizenAnalyzer::new(settings);
    assert_eq!(analyzer.settings().low_confidence, 0.95);
    let window = KaizenWindow {
        from_ns: Some(T0 + 6 * STEP),
        to_ns: None,
    };
    let analysis = analyzer
        .analyze_log(dir.path(), window, Some(&fixture(MODEL)))
        .unwrap();
    let data = read_kaizen_data(dir.path(), window, Some(&fixture(MODEL))).unwrap();
    assert_eq!(
        render_kaizen_json(&analysis).unwrap(),
        render_kaizen_json(&analyzer.analyze(&data)).unwrap()
    );
    assert_eq!(
        (analysis.reference_decisions, analysis.current_decisions),
        (6, 6)
    );
    assert_eq!(analysis.with_inputs, 6);
    assert!(matches!(
        analyzer.analyze_log(&dir.path().join("none"), window, None),
        Err(ForensicsError::Ledger(LedgerError::NotALedger { .. }))
    ));
}
