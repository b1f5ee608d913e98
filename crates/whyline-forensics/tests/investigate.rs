//! `investigate` over a ledger on disk: the monitor's alerts in the log become anomalies,
//! named with the log's model record.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use whyline_core::{
    AlertRecord, AnyPath, DecisionTrace, LinearPath, ModelIdentity, ModelRecord, to_aprt,
};
use whyline_forensics::{
    AnomalyKind, AnomalyRules, IncidentQuery, IncidentReport, investigate, render_text,
};
use whyline_ledger::{Durability, Ledger, LedgerOptions, SegmentStore};

const T0: u64 = 1_763_908_367_000_000_000;
const STEP: u64 = 100_000_000;

fn decision(sequence: u64) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: T0 + sequence * STEP,
        sequence,
        input_hash: sequence,
        output: 1.0,
        latency_ns: 40_000,
        path: AnyPath::Linear(LinearPath {
            contributions: vec![0.5, 0.25],
            intercept: 0.25,
            logit: 1.0,
            prediction: 1.0,
            probability: Some(0.9),
        }),
    }
}

/// An alert about decision `sequence`, stamped with its time.
fn alert(
    sequence: u64,
    level: &str,
    kind: &str,
    message: &str,
    details: serde_json::Value,
) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: T0 + sequence * STEP,
        level: level.into(),
        kind: kind.into(),
        message: message.into(),
        details,
    }
}

fn open_ledger(dir: &Path) -> Ledger<SegmentStore> {
    let store = SegmentStore::open(dir).unwrap();
    let options = LedgerOptions::without_checkpoints("test/forensics").durability(Durability::None);
    Ledger::open(store, options).unwrap().0
}

/// The report of the 2 s before decision 9 (the window holds decisions 0..=9).
fn investigate_last_two_seconds(dir: &Path) -> IncidentReport {
    let query = IncidentQuery {
        time_ns: T0 + 9 * STEP,
        lookback_ns: 2_000_000_000,
        lookahead_ns: 0,
    };
    investigate(dir, query, None, None, &AnomalyRules::default()).unwrap()
}

#[test]
fn alerts_in_the_log_become_anomalies_named_by_the_model_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open_ledger(dir.path());
    let model = ModelRecord {
        identity: ModelIdentity::from_bytes(b"model", "logistic_regression", "1"),
        feature_names: vec!["speed_mps".into(), "distance_m".into()],
        class_names: vec!["GO".into(), "BRAKE".into()],
        recorded_ns: T0,
        input_digest: Default::default(),
    };
    ledger.append(&model.to_bytes()).unwrap();
    for sequence in 0..10 {
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
        if sequence == 5 {
            let ood = alert(
                sequence,
                "red",
                "out_of_distribution",
                "feature[1] = 99 out of distribution (z = 7.50)",
                serde_json::json!({
                    "feature_index": 1, "value": 99.0, "z_score": 7.5, "outside_range": true
                }),
            );
            ledger.append(&ood.to_bytes()).unwrap();
            // Already visible in the trace itself: not repeated as an anomaly.
            let low = AlertRecord {
                kind: "low_confidence".into(),
                level: "yellow".into(),
                message: "low confidence".into(),
                details: serde_json::json!({}),
                ..ood
            };
            ledger.append(&low.to_bytes()).unwrap();
        }
        if sequence == 8 {
            let drift = alert(
                sequence,
                "red",
                "drift",
                "adwin detected drift in confidence",
                serde_json::json!({"detector": "adwin", "signal": "confidence"}),
            );
            ledger.append(&drift.to_bytes()).unwrap();
        }
    }
    ledger.commit().unwrap();
    drop(ledger);

    let report = investigate_last_two_seconds(dir.path());
    assert_eq!(report.timeline.len(), 10, "alerts are not decisions");
    let kinds: Vec<(u64, &AnomalyKind)> = report
        .anomalies
        .iter()
        .map(|a| (a.sequence, &a.kind))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(
        kinds[0],
        (
            5,
            &AnomalyKind::OutOfDistribution {
                feature: "distance_m".into(),
                value: Some(99.0),
                z_score: Some(7.5),
                outside_range: true,
                level: "red".into(),
            }
        )
    );
    assert!(matches!(
        kinds[1],
        (8, AnomalyKind::AndonAlert { rule, .. }) if rule == "drift"
    ));
    assert_eq!(report.anomalies[0].relative_ms, -400.0);
    let text = render_text(&report);
    assert!(
        text.contains("distance_m = 99 out of the training distribution (z = 7.50)"),
        "{text}"
    );
    assert!(
        text.contains("adwin detected drift in confidence"),
        "{text}"
    );
}

#[test]
fn a_run_under_the_same_out_of_distribution_alert_is_folded_in_the_text_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open_ledger(dir.path());
    for sequence in 0..10 {
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
        if (2..=6).contains(&sequence) {
            let ood = alert(
                sequence,
                "yellow",
                "out_of_distribution",
                "",
                serde_json::json!({"feature_index": 0, "value": 0.0}),
            );
            ledger.append(&ood.to_bytes()).unwrap();
        }
    }
    ledger.commit().unwrap();
    drop(ledger);
    let report = investigate_last_two_seconds(dir.path());
    assert_eq!(report.anomalies.len(), 5);
    let text = render_text(&report);
    assert!(
        text.contains("DECISION: class 1 ×5 (confidence 90–90%) ⚠ feature[0] out of distribution"),
        "{text}"
    );
}

#[test]
fn the_model_in_force_is_the_last_model_record_before_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open_ledger(dir.path());
    let model = |version: &str, feature: &str| ModelRecord {
        identity: ModelIdentity::from_bytes(version.as_bytes(), "logistic_regression", version),
        feature_names: vec!["speed_mps".into(), feature.into()],
        class_names: vec!["GO".into(), "BRAKE".into()],
        recorded_ns: T0,
        input_digest: Default::default(),
    };
    let old = model("1", "distance_m");
    let new = model("2", "gap_m");
    ledger.append(&old.to_bytes()).unwrap();
    for sequence in 0..10 {
        if sequence == 5 {
            // The monitor restarted with an upgraded model.
            ledger.append(&new.to_bytes()).unwrap();
        }
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
        if sequence == 7 {
            let ood = alert(
                sequence,
                "yellow",
                "out_of_distribution",
                "",
                serde_json::json!({"feature_index": 1}),
            );
            ledger.append(&ood.to_bytes()).unwrap();
        }
    }
    ledger.commit().unwrap();
    drop(ledger);
    // The window holds decisions 6..=9: the upgraded model decided them.
    let query = IncidentQuery {
        time_ns: T0 + 9 * STEP,
        lookback_ns: 300_000_000,
        lookahead_ns: 0,
    };
    let report = investigate(dir.path(), query, None, None, &AnomalyRules::default()).unwrap();
    assert_eq!(report.timeline.len(), 4);
    assert_eq!(report.model, Some(new.identity));
    assert!(matches!(
        &report.anomalies[0].kind,
        AnomalyKind::OutOfDistribution { feature, .. } if feature == "gap_m"
    ));
    // A window of the old model's decisions still names the old model.
    let query = IncidentQuery {
        time_ns: T0 + 3 * STEP,
        lookback_ns: 300_000_000,
        lookahead_ns: 0,
    };
    let report = investigate(dir.path(), query, None, None, &AnomalyRules::default()).unwrap();
    assert_eq!(report.model, Some(old.identity));
}

#[test]
fn a_crash_cut_append_is_residue_of_a_verified_log_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = open_ledger(dir.path());
    let mut frame_start = 0;
    for sequence in 0..10 {
        if sequence == 9 {
            frame_start = std::fs::metadata(dir.path().join("entries.wls"))
                .map(|m| m.len())
                .unwrap_or(0);
        }
        ledger.append(&to_aprt(&decision(sequence))).unwrap();
        ledger.commit().unwrap();
    }
    drop(ledger.into_store().unwrap());
    let path = dir.path().join("entries.wls");
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 5).unwrap();
    let report = investigate_last_two_seconds(dir.path());
    // The cut frame is the tenth entry's: what is left of it is residue, not damage.
    let residue = len - 5 - frame_start;
    assert!(
        matches!(
            &report.integrity,
            whyline_forensics::Integrity::Verified {
                entries: 9,
                crash_residue_bytes,
                ..
            } if *crash_residue_bytes == residue
        ),
        "{:?}",
        report.integrity
    );
    assert_eq!(report.log_entries, 9);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len - 5);
    let text = render_text(&report);
    assert!(text.contains("VERIFIED (9 entries"), "{text}");
    assert!(
        text.contains(&format!(
            "A crash cut the last append short: {residue} bytes past entry 8"
        )),
        "{text}"
    );
}

#[test]
fn a_directory_without_a_ledger_is_the_ledger_crates_not_a_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let query = IncidentQuery {
        time_ns: T0,
        lookback_ns: 1,
        lookahead_ns: 1,
    };
    let error = investigate(dir.path(), query, None, None, &AnomalyRules::default()).unwrap_err();
    assert!(
        matches!(
            &error,
            whyline_forensics::ForensicsError::Ledger(whyline_ledger::LedgerError::NotALedger {
                reason: whyline_ledger::NotALedgerReason::NoEntryLog,
                ..
            })
        ),
        "{error:?}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
