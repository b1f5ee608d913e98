//! The report's reading of a window: the first warning before a change of decision (an
//! input out of distribution, an alert of the monitor), inputs out of distribution counted
//! per feature, non-finite outputs, and the monitor's alerts named with the model's words.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use whyline_core::{AlertRecord, AnyPath, DecisionTrace, LinearPath, Names};
use whyline_forensics::{
    AnomalyKind, AnomalyRules, Completeness, DecisionEvidence, DecisionInputs, IncidentQuery,
    IncidentReport, IncidentWindow, Integrity, render_html, render_text,
};

const T0: u64 = 1_763_908_367_000_000_000;
const MS: u64 = 1_000_000;

fn names() -> Names {
    Names {
        features: vec!["distance".into(), "speed".into()],
        classes: vec!["GO".into(), "BRAKE".into()],
    }
}

/// Decision `sequence` at `ms` before the incident, class `class` at `p`.
fn decision(sequence: u64, ms_before: u64, class: f32, p: f32) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: T0 - ms_before * MS,
        sequence,
        input_hash: 0,
        output: class,
        latency_ns: 20_000,
        path: AnyPath::Linear(LinearPath {
            contributions: vec![0.5, -0.25],
            intercept: 0.0,
            logit: 0.25,
            prediction: class,
            probability: Some(p),
        }),
    }
}

fn alert(sequence: u64, ms_before: u64, kind: &str, details: serde_json::Value) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: T0 - ms_before * MS,
        level: "red".into(),
        kind: kind.into(),
        message: format!("the monitor's {kind} message"),
        details,
    }
}

fn window(
    traces: Vec<DecisionTrace<AnyPath>>,
    alerts: Vec<AlertRecord>,
    evidence: DecisionEvidence,
) -> IncidentReport {
    let window = IncidentWindow {
        query: IncidentQuery {
            time_ns: T0,
            lookback_ns: 1_000 * MS,
            lookahead_ns: 0,
        },
        log: "hand-made".into(),
        traces,
        alerts,
        names: names(),
        model: None,
        integrity: Integrity::Verified {
            entries: 3,
            root: "00".into(),
            checkpoints: 0,
            signatures_checked: false,
            crash_residue_bytes: 0,
        },
        log_entries: 3,
        completeness: Completeness::Unproven {
            reason: "assembled by hand".into(),
        },
        evidence,
    };
    IncidentReport::from_window(window, &AnomalyRules::default())
}

fn inputs(values: Vec<f64>) -> DecisionInputs {
    DecisionInputs {
        values,
        context: Vec::new(),
        erased: false,
    }
}

/// GO, GO, BRAKE at -300, -200 and -100 ms, all sure; decisions 0 and 1 saw a distance far
/// out of the training distribution (mean 10, std 1).
fn out_of_distribution_then_change(alerts: Vec<AlertRecord>) -> IncidentReport {
    let mut by_key = BTreeMap::new();
    by_key.insert(100, inputs(vec![15.0, 1.0]));
    by_key.insert(101, inputs(vec![2.0, 1.0]));
    by_key.insert(102, inputs(vec![10.5, 1.0]));
    window(
        vec![
            decision(0, 300, 0.0, 0.95),
            decision(1, 200, 0.0, 0.95),
            decision(2, 100, 1.0, 0.95),
        ],
        alerts,
        DecisionEvidence {
            positions: vec![100, 101, 102],
            inputs: by_key,
            training: Some((vec![10.0, 1.0], vec![1.0, 1.0])),
            ..DecisionEvidence::default()
        },
    )
}

#[test]
fn an_input_out_of_distribution_before_a_change_is_its_first_warning() {
    let report = out_of_distribution_then_change(Vec::new());
    let causes = report.analysis.root_cause.join("\n");
    assert!(
        causes.contains(
            "The decision changed from GO to BRAKE at T-0.100s, 200 ms after the first warning: \
             distance = 15 out of distribution at T-0.300s"
        ),
        "{causes}"
    );
    let advice = report.analysis.recommendations.join("\n");
    assert!(
        advice.contains(
            "RECOMMENDATION: act on the first warning: distance = 15 out of distribution came 200 ms \
             before the change to BRAKE"
        ),
        "{advice}"
    );
    // The feature is out of distribution in two decisions; its worst is the second (z = -8).
    let ood = &report.analysis.out_of_distribution;
    assert_eq!(ood.len(), 1, "{ood:?}");
    assert_eq!(ood[0].feature, "distance");
    assert_eq!(ood[0].decisions, 2);
    assert_eq!(ood[0].worst_z, -8.0);
    assert_eq!(ood[0].worst_value, 2.0);
    assert_eq!(ood[0].first_relative_ms, -300.0);
    let html = render_html(&report);
    assert!(
        html.contains(
            "<li>distance out of distribution from T-0.300s (z -8.0 at 2, 2 decisions)</li>"
        ),
        "{html}"
    );
}

#[test]
fn an_earlier_alert_of_the_monitor_is_the_first_warning_but_a_repeated_decision_is_not() {
    // A drift alert stamped at -350 ms, before the input out of distribution at -300 ms.
    let drift = alert(0, 350, "drift", serde_json::json!({"detector": "adwin"}));
    let repeated = alert(
        0,
        400,
        "repetitive_decision",
        serde_json::json!({"decision": 0.0, "count": 12}),
    );
    let report = out_of_distribution_then_change(vec![drift, repeated]);
    let causes = report.analysis.root_cause.join("\n");
    assert!(
        causes.contains("at T-0.100s, 250 ms after the first warning: ")
            && causes.contains("at T-0.350s"),
        "{causes}"
    );
    // The repeated decision is named by its class.
    let named: Vec<String> = report
        .anomalies
        .iter()
        .filter_map(|a| match &a.kind {
            AnomalyKind::AndonAlert { rule, message, .. } if rule == "repetitive_decision" => {
                Some(message.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(named, ["GO decided 12 times in a row"]);
}

#[test]
fn a_repeated_decision_without_a_class_name_keeps_the_monitors_message() {
    let report = window(
        vec![decision(0, 100, 0.0, 0.95)],
        vec![
            alert(
                0,
                100,
                "repetitive_decision",
                serde_json::json!({"decision": 7.0, "count": 3}),
            ),
            alert(
                0,
                100,
                "repetitive_decision",
                serde_json::json!({"decision": 0.5, "count": 3}),
            ),
            alert(
                0,
                100,
                "out_of_distribution",
                serde_json::json!({"value": 3.0}),
            ),
        ],
        DecisionEvidence::default(),
    );
    let kinds: Vec<String> = report
        .anomalies
        .iter()
        .map(|a| a.kind.to_string())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.contains("the monitor's repetitive_decision message"))
            .count(),
        2,
        "{kinds:?}"
    );
    let ood = report
        .anomalies
        .iter()
        .find_map(|a| match &a.kind {
            AnomalyKind::OutOfDistribution { feature, value, .. } => {
                Some((feature.clone(), *value))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(
        ood,
        ("a feature".to_owned(), Some(3.0)),
        "no feature index given"
    );
}

#[test]
fn a_non_finite_output_is_an_anomaly_and_a_warning() {
    let report = window(
        vec![
            decision(0, 300, 0.0, 0.95),
            decision(1, 200, f32::NAN, 0.95),
            decision(2, 100, 1.0, 0.95),
        ],
        Vec::new(),
        DecisionEvidence::default(),
    );
    let non_finite: Vec<&AnomalyKind> = report
        .anomalies
        .iter()
        .filter(|a| matches!(a.kind, AnomalyKind::NonFiniteOutput))
        .map(|a| &a.kind)
        .collect();
    assert_eq!(non_finite.len(), 1);
    assert_eq!(non_finite[0].to_string(), "non-finite output");
    assert!(render_text(&report).contains("non-finite output"));
}

/// The monitor's out-of-distribution alert for a value outside the training range, at
/// decision 2 (speed = 0 against a training mean of 1, z = -1.7).
fn outside_range_alert(sequence: u64, ms_before: u64) -> AlertRecord {
    alert(
        sequence,
        ms_before,
        "out_of_distribution",
        serde_json::json!({"feature_index": 1, "value": 0.0, "z_score": -1.7, "outside_range": true}),
    )
}

#[test]
fn a_value_the_monitor_found_outside_the_training_range_is_out_of_distribution_at_any_z() {
    // Every input is within |z| 3 of the training statistics (mean 10 and 1, std 1 and 1),
    // but the monitor flagged decision 2's speed as outside the training range.
    let mut by_key = BTreeMap::new();
    by_key.insert(100, inputs(vec![10.5, 1.0]));
    by_key.insert(101, inputs(vec![10.2, 1.0]));
    by_key.insert(102, inputs(vec![10.1, 0.0]));
    let report = window(
        vec![
            decision(0, 300, 0.0, 0.95),
            decision(1, 200, 0.0, 0.95),
            decision(2, 100, 1.0, 0.95),
        ],
        vec![outside_range_alert(2, 100)],
        DecisionEvidence {
            positions: vec![100, 101, 102],
            inputs: by_key,
            training: Some((vec![10.0, 1.0], vec![1.0, 1.0])),
            ..DecisionEvidence::default()
        },
    );
    let ood = &report.analysis.out_of_distribution;
    assert_eq!(ood.len(), 1, "{ood:?}");
    assert_eq!(ood[0].feature, "speed");
    assert_eq!(ood[0].decisions, 1);
    assert_eq!(ood[0].worst_z, -1.7);
    assert_eq!(ood[0].worst_value, 0.0);
    assert_eq!(ood[0].first_relative_ms, -100.0);
    assert!(ood[0].outside_range);
    let text = render_text(&report);
    assert!(
        text.contains(
            "Inputs out of distribution against training statistics: speed (z -1.7, outside the \
             training range, from T-0.100s)"
        ),
        "{text}"
    );
    assert!(!text.contains("No input out of distribution"), "{text}");
    let causes = report.analysis.root_cause.join("\n");
    assert!(
        causes.contains(
            "speed was outside the training range (z = -1.7 at value 0, against the training \
             statistics) from T-0.100s, in 1 decision(s)"
        ),
        "{causes}"
    );
    let advice = report.analysis.recommendations.join("\n");
    assert!(
        advice.contains("covering speed near 0 (outside the training range or beyond |z| 3"),
        "{advice}"
    );
    let html = render_html(&report);
    assert!(
        html.contains(
            "<li>speed out of distribution from T-0.100s (z -1.7 at 0, 1 decisions, outside the \
             training range)</li>"
        ),
        "{html}"
    );
}

#[test]
fn a_decision_found_by_its_z_and_by_the_monitor_counts_once() {
    // Decision 1's distance (z = -8) is also the subject of a monitor alert, which says it was
    // outside the training range: still two decisions, the worst z the input's.
    let flagged = alert(
        1,
        200,
        "out_of_distribution",
        serde_json::json!({"feature_index": 0, "value": 2.0, "z_score": -8.0, "outside_range": true}),
    );
    let report = out_of_distribution_then_change(vec![flagged]);
    let ood = &report.analysis.out_of_distribution;
    assert_eq!(ood.len(), 1, "{ood:?}");
    assert_eq!(ood[0].feature, "distance");
    assert_eq!(ood[0].decisions, 2);
    assert_eq!(ood[0].worst_z, -8.0);
    assert_eq!(ood[0].first_relative_ms, -300.0);
    assert!(ood[0].outside_range);
}

#[test]
fn with_no_input_and_no_alert_the_report_says_nothing_was_out_of_distribution() {
    let mut by_key = BTreeMap::new();
    by_key.insert(100, inputs(vec![10.5, 1.0]));
    let report = window(
        vec![decision(0, 100, 0.0, 0.95)],
        Vec::new(),
        DecisionEvidence {
            positions: vec![100],
            inputs: by_key,
            training: Some((vec![10.0, 1.0], vec![1.0, 1.0])),
            ..DecisionEvidence::default()
        },
    );
    assert!(report.analysis.out_of_distribution.is_empty());
    let text = render_text(&report);
    assert!(
        text.contains(
            "No input out of distribution (|z| < 3 against training statistics, and no alert of \
             the monitor)"
        ),
        "{text}"
    );
}

#[test]
fn without_inputs_the_report_still_names_what_the_monitor_flagged() {
    let report = window(
        vec![decision(2, 100, 1.0, 0.95)],
        vec![outside_range_alert(2, 100)],
        DecisionEvidence::default(),
    );
    let text = render_text(&report);
    assert!(
        text.contains("Inputs not available: the report cannot say what the model saw"),
        "{text}"
    );
    assert!(
        text.contains(
            "The monitor flagged inputs out of distribution: speed (z -1.7, outside the training \
             range, from T-0.100s)"
        ),
        "{text}"
    );
}
