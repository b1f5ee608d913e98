//! `Investigation` set up step by step: a store the caller opened, names and anomaly rules
//! given, outcomes read from the log, a damaged log reported rather than refused, and the
//! refusals of a window outside the log, a log without decisions, an entry that is no
//! decision and a model file that does not load.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use whyline_core::{
    AnyPath, DecisionTrace, LinearPath, ModelIdentity, ModelRecord, Names, OutcomeRecord, to_aprt,
};
use whyline_forensics::{
    AnomalyKind, AnomalyRules, Completeness, ForensicsError, IncidentQuery, Integrity,
    Investigation,
};
use whyline_ledger::seal::append_outcome;
use whyline_ledger::{Durability, Ledger, LedgerOptions, MemoryStore, Store};

const T0: u64 = 1_763_908_367_000_000_000;
const STEP: u64 = 100_000_000;

/// Decision `sequence` at `T0 + sequence * STEP`, class `sequence % 2` at `confidence`.
fn decision(sequence: u64, confidence: f32) -> DecisionTrace<AnyPath> {
    let class = (sequence % 2) as f32;
    DecisionTrace {
        timestamp_ns: T0 + sequence * STEP,
        sequence,
        input_hash: sequence,
        output: class,
        latency_ns: 40_000,
        path: AnyPath::Linear(LinearPath {
            contributions: vec![0.5, -0.25],
            intercept: 0.0,
            logit: 0.25,
            prediction: class,
            probability: Some(confidence),
        }),
    }
}

fn ledger() -> Ledger<MemoryStore> {
    let options =
        LedgerOptions::without_checkpoints("test/investigation").durability(Durability::None);
    Ledger::open(MemoryStore::new(), options).unwrap().0
}

/// The second before decision `last`.
fn query(last: u64) -> IncidentQuery {
    IncidentQuery {
        time_ns: T0 + last * STEP,
        lookback_ns: 1_000_000_000,
        lookahead_ns: 0,
    }
}

fn names() -> Names {
    Names {
        features: vec!["gap_m".into(), "speed_mps".into()],
        classes: vec!["KEEP".into(), "CHANGE_LANE".into()],
    }
}

#[test]
fn a_store_the_caller_opened_is_read_with_the_names_rules_and_outcomes_given_to_it() {
    let mut ledger = ledger();
    let mut indices = Vec::new();
    for sequence in 0..6 {
        indices.push(
            ledger
                .append(&to_aprt(&decision(sequence, 0.7)))
                .unwrap()
                .index,
        );
    }
    // An outcome stamped inside the window: evidence, not a decision.
    let outcome = OutcomeRecord {
        decision_index: indices[3],
        label: "KEEP".into(),
        by: Some("driver".into()),
        override_action: Some("KEEP".into()),
        note: None,
        recorded_ns: T0 + 4 * STEP + 1,
    };
    append_outcome(&mut ledger, &outcome).unwrap();
    let store = ledger.into_store().unwrap();
    let names = names();

    let mut investigation = Investigation::new("fleet/car-7", query(5));
    investigation.store(&store).names(&names);
    let debug = format!("{investigation:?}");
    assert!(
        debug.contains(&format!("Store({:?})", store.location())),
        "{debug}"
    );
    let report = investigation.run().unwrap();
    // Named by the store it read, not by the directory given.
    assert_eq!(report.log, store.location().display().to_string());
    assert_eq!(report.timeline.len(), 6, "the outcome is no decision");
    let decisions: Vec<&str> = report
        .timeline
        .iter()
        .map(|e| e.decision.as_str())
        .collect();
    assert_eq!(
        decisions,
        [
            "KEEP",
            "CHANGE_LANE",
            "KEEP",
            "CHANGE_LANE",
            "KEEP",
            "CHANGE_LANE"
        ]
    );
    let judged = &report.timeline[3].outcomes;
    assert_eq!(
        judged.len(),
        1,
        "the log's outcome is linked to its decision"
    );
    assert_eq!(judged[0].by.as_deref(), Some("driver"));
    assert!(matches!(
        report.integrity,
        Integrity::Verified { entries: 7, .. }
    ));
    assert_eq!(
        report.attribution_note.as_deref(),
        Some("no model file given (incident --model FILE): no exact attributions")
    );
    // Confidence 0.7 is not low by default, and every decision flips.
    let low = |report: &whyline_forensics::IncidentReport| {
        report
            .anomalies
            .iter()
            .filter(|a| matches!(a.kind, AnomalyKind::LowConfidence { .. }))
            .count()
    };
    assert_eq!(low(&report), 0);
    let strict = investigation
        .rules(AnomalyRules {
            low_confidence: 0.8,
            ..AnomalyRules::default()
        })
        .run()
        .unwrap();
    assert_eq!(low(&strict), 6, "the rules given decide what is low");
}

#[test]
fn a_window_outside_the_log_is_refused_with_the_logs_span() {
    let mut ledger = ledger();
    for sequence in 0..3 {
        ledger.append(&to_aprt(&decision(sequence, 0.9))).unwrap();
    }
    let store = ledger.into_store().unwrap();
    let mut investigation = Investigation::new("log", query(100));
    let error = investigation.store(&store).run().unwrap_err();
    assert!(
        matches!(error, ForensicsError::TimeOutsideLog { .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "2025-11-23T14:32:57.000000000Z is outside the log, which runs from \
         2025-11-23T14:32:47.000000000Z to 2025-11-23T14:32:47.200000000Z"
    );
}

#[test]
fn a_log_without_a_stamped_entry_is_an_empty_log() {
    let mut ledger = ledger();
    let record = ModelRecord {
        identity: ModelIdentity::from_bytes(b"model", "tree", "1"),
        feature_names: Vec::new(),
        class_names: Vec::new(),
        recorded_ns: T0,
        input_digest: Default::default(),
    };
    ledger.append(&record.to_bytes()).unwrap();
    let store = ledger.into_store().unwrap();
    let error = Investigation::new("log", query(0))
        .store(&store)
        .run()
        .unwrap_err();
    assert!(
        matches!(&error, ForensicsError::EmptyLog { path } if path == store.location()),
        "{error:?}"
    );
}

#[test]
fn an_entry_in_the_window_that_is_no_decision_is_refused_by_index() {
    let mut ledger = ledger();
    ledger.append(&to_aprt(&decision(0, 0.9))).unwrap();
    // A whole APRT header, stamped in the window, naming a path type no build knows.
    let mut bogus = to_aprt(&decision(1, 0.9));
    bogus[5] = 0x7f;
    ledger.append(&bogus).unwrap();
    let store = ledger.into_store().unwrap();
    let error = Investigation::new("log", query(1))
        .store(&store)
        .run()
        .unwrap_err();
    assert!(
        matches!(error, ForensicsError::BadEntry { index: 1, .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "entry 1 is not a decision trace");
}

#[test]
fn damage_in_the_middle_is_stated_and_the_window_left_unproven() {
    let mut ledger = ledger();
    for sequence in 0..6 {
        ledger.append(&to_aprt(&decision(sequence, 0.9))).unwrap();
    }
    let fourth = ledger.read_entry(3).unwrap();
    let mut store = ledger.into_store().unwrap();
    // Flip a byte inside the fourth entry's frame.
    let at = fourth.offset as usize + 20;
    store.entry_bytes_mut()[at] ^= 0x40;
    let report = Investigation::new("log", query(5))
        .store(&store)
        .run()
        .unwrap();
    let Integrity::Broken {
        index,
        offset,
        torn_tail,
        message,
        kind,
    } = &report.integrity
    else {
        panic!("{:?}", report.integrity);
    };
    assert_eq!(*index, 3);
    assert_eq!(*offset, fourth.offset);
    assert!(!torn_tail, "damage before the last frame is no torn tail");
    assert_eq!(message, &format!("entry 3 at byte {offset}: {kind}"));
    assert_eq!(report.log_entries, 3, "the entries before the damage");
    assert_eq!(
        report.completeness,
        Completeness::Unproven {
            reason: "the log failed verification".into()
        }
    );
}

#[test]
fn a_model_file_with_the_recorded_digest_that_does_not_load_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.json");
    std::fs::write(&file, b"{\"not\": \"a model\"}").unwrap();
    let mut ledger = ledger();
    let record = ModelRecord {
        identity: ModelIdentity::from_bytes(&std::fs::read(&file).unwrap(), "tree", "1"),
        feature_names: vec!["gap_m".into(), "speed_mps".into()],
        class_names: vec!["KEEP".into(), "CHANGE_LANE".into()],
        recorded_ns: T0,
        input_digest: Default::default(),
    };
    ledger.append(&record.to_bytes()).unwrap();
    ledger.append(&to_aprt(&decision(0, 0.9))).unwrap();
    let store = ledger.into_store().unwrap();
    let error = Investigation::new("log", query(0))
        .store(&store)
        .model_file(&file)
        .run()
        .unwrap_err();
    assert!(
        matches!(&error, ForensicsError::Model { path, .. } if path == &file),
        "{error:?}"
    );
    assert_eq!(error.to_string(), format!("model file {}", file.display()));
    assert!(
        std::error::Error::source(&error).is_some(),
        "the importer's error is kept"
    );
}
