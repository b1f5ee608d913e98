//! Timelines, anomalies and the three renderers, over hand-built windows.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use whyline_core::{
    AnyPath, DecisionTrace, LeafInfo, LinearPath, Names, SplitTest, TreePath, TreeSplit,
};
use whyline_forensics::{
    AnomalyKind, AnomalyRules, Completeness, DecisionEvidence, DecisionInputs, ForensicsError,
    IncidentQuery, IncidentReport, IncidentWindow, Integrity, ZScoreBasis, format_time_ns,
    parse_duration_ns, parse_time_ns, render_html, render_json, render_text,
};

const T0: u64 = 1_763_908_367_000_000_000; // 2025-11-23T14:32:47Z

fn names() -> Names {
    Names {
        features: vec![
            "distance_m".into(),
            "speed_kmh".into(),
            "object_size_m".into(),
        ],
        classes: vec![
            "MAINTAIN_SPEED".into(),
            "SLOW_DOWN".into(),
            "EMERGENCY_BRAKE".into(),
            "SWERVE".into(),
        ],
    }
}

fn tree_decision(
    sequence: u64,
    ms_before: u64,
    class: usize,
    distribution: [f32; 4],
    latency_us: u64,
) -> DecisionTrace<AnyPath> {
    DecisionTrace {
        timestamp_ns: T0 - ms_before * 1_000_000,
        sequence,
        input_hash: sequence,
        output: class as f32,
        latency_ns: latency_us * 1_000,
        path: AnyPath::from(TreePath {
            splits: vec![TreeSplit {
                node_index: 0,
                feature_index: 0,
                threshold: 5.0,
                test: SplitTest::LessOrEqual,
                went_left: class != 0,
                n_samples: 1000,
                ..TreeSplit::default()
            }],
            leaf: LeafInfo {
                node_index: 1 + class as u32,
                prediction: class as f32,
                n_samples: 100,
                class_distribution: Some(distribution.to_vec()),
            },
            impurity_path: vec![],
        }),
    }
}

fn window() -> Vec<DecisionTrace<AnyPath>> {
    let mut traces: Vec<_> = (0..10)
        .map(|i| tree_decision(i, 3_000 - i * 100, 0, [94.0, 4.0, 1.0, 1.0], 20))
        .collect();
    traces.push(tree_decision(10, 847, 0, [78.0, 18.0, 4.0, 0.0], 22));
    traces.push(tree_decision(11, 412, 1, [0.0, 55.0, 41.0, 4.0], 1_500));
    traces.push(tree_decision(12, 156, 2, [0.0, 3.0, 89.0, 8.0], 21));
    traces
}

fn report(integrity: Integrity) -> IncidentReport {
    let query = IncidentQuery {
        time_ns: T0,
        lookback_ns: 30_000_000_000,
        lookahead_ns: 1_000_000_000,
    };
    let window = IncidentWindow {
        query,
        log: "demo/ledger".into(),
        traces: window(),
        alerts: Vec::new(),
        names: names(),
        model: None,
        integrity,
        log_entries: 13,
        completeness: Completeness::Unproven {
            reason: "assembled by hand".into(),
        },
        evidence: DecisionEvidence::default(),
    };
    IncidentReport::from_window(window, &AnomalyRules::default())
}

fn verified() -> Integrity {
    Integrity::Verified {
        entries: 13,
        root: "ab".repeat(32),
        checkpoints: 2,
        signatures_checked: true,
        crash_residue_bytes: 0,
    }
}

#[test]
fn the_timeline_names_decisions_and_ranks_alternatives() {
    let report = report(verified());
    let brake = report.timeline.iter().find(|e| e.sequence == 12).unwrap();
    assert_eq!(brake.decision, "EMERGENCY_BRAKE");
    assert_eq!(brake.class, Some(2));
    assert!((brake.confidence - 0.89).abs() < 1e-6);
    assert!((brake.relative_ms + 156.0).abs() < 1e-9);
    assert_eq!(brake.alternatives[0].0, "SWERVE");
    assert!((brake.alternatives[0].1 - 0.08).abs() < 1e-6);
    assert_eq!(brake.alternatives[1].0, "SLOW_DOWN");
    assert_eq!(brake.rationale, "distance_m <= 5 → leaf 3");
    let first = &report.timeline[0];
    assert_eq!(first.rationale, "distance_m > 5 → leaf 1");
}

#[test]
fn anomalies_flag_low_and_falling_confidence_flips_and_latency_spikes() {
    let report = report(verified());
    let of = |seq: u64| {
        report
            .anomalies_of(seq)
            .map(|a| a.kind.clone())
            .collect::<Vec<_>>()
    };
    assert!(of(3).is_empty());
    assert!(
        matches!(of(10)[..], [AnomalyKind::FallingConfidence { .. }]),
        "{:?}",
        of(10)
    );
    let at_11 = of(11);
    assert!(at_11.iter().any(|k| matches!(k, AnomalyKind::ClassFlip { from, to } if from == "MAINTAIN_SPEED" && to == "SLOW_DOWN")));
    assert!(
        at_11
            .iter()
            .any(|k| matches!(k, AnomalyKind::LowConfidence { .. }))
    );
    assert!(
        at_11
            .iter()
            .any(|k| matches!(k, AnomalyKind::FallingConfidence { .. }))
    );
    assert!(at_11.iter().any(|k| matches!(
        k,
        AnomalyKind::LatencySpike {
            latency_us: 1_500,
            median_us: 20
        }
    )));
    assert!(
        of(12)
            .iter()
            .any(|k| matches!(k, AnomalyKind::ClassFlip { .. }))
    );
}

#[test]
fn the_text_report_follows_the_seed_layout_and_folds_quiet_runs() {
    let text = render_text(&report(verified()));
    assert!(text.contains("INCIDENT INVESTIGATION REPORT"));
    assert!(text.contains(&format!("Timestamp: {}", format_time_ns(T0))));
    assert!(text.contains(
        "CHAIN INTEGRITY: ✓ VERIFIED (13 entries, no breaks; 2 checkpoints, signatures verified)"
    ));
    assert!(
        text.contains("T-3.000s .. T-2.100s │ DECISION: MAINTAIN_SPEED ×10 (confidence 94–94%)"),
        "{text}"
    );
    assert!(
        text.contains("T-0.412s │ DECISION: SLOW_DOWN ⚠ ANOMALY  [#11]"),
        "{text}"
    );
    assert!(
        text.contains("│ Alternatives: EMERGENCY_BRAKE (41%), SWERVE (4%)"),
        "{text}"
    );
    assert!(
        text.contains("Last decision before the incident: EMERGENCY_BRAKE at T-0.156s"),
        "{text}"
    );
}

#[test]
fn a_broken_chain_is_stated_first() {
    let broken = Integrity::Broken {
        index: 7,
        offset: 1234,
        kind: "content changed".into(),
        torn_tail: false,
        message: "frame checksum mismatch".into(),
    };
    let report = report(broken);
    let text = render_text(&report);
    assert!(
        text.contains("CHAIN INTEGRITY: ✗ BROKEN at entry 7 (byte 1234): content changed"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&render_json(&report).unwrap()).unwrap();
    assert_eq!(json["integrity"]["status"], "broken");
    assert_eq!(json["integrity"]["index"], 7);
    assert_eq!(json["integrity"]["torn_tail"], false);
    assert!(
        text.contains("Decisions after this point cannot be trusted."),
        "{text}"
    );
    assert!(render_html(&report).contains("✗ Chain broken at entry 7"));
}

#[test]
fn json_carries_the_whole_timeline() {
    let json: serde_json::Value =
        serde_json::from_str(&render_json(&report(verified())).unwrap()).unwrap();
    assert_eq!(json["timeline"].as_array().unwrap().len(), 13);
    assert_eq!(json["timeline"][12]["decision"], "EMERGENCY_BRAKE");
    assert_eq!(json["integrity"]["status"], "verified");
    assert_eq!(json["query"]["time_ns"], T0);
    assert!(
        json["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "latency_spike")
    );
}

#[test]
fn the_html_report_is_self_contained_and_escapes_text() {
    let mut names = names();
    names.classes[0] = "<script>alert(1)</script>".into();
    let query = IncidentQuery {
        time_ns: T0,
        lookback_ns: 30_000_000_000,
        lookahead_ns: 1_000_000_000,
    };
    let report = IncidentReport::from_window(
        IncidentWindow {
            query,
            log: "log".into(),
            traces: window(),
            alerts: Vec::new(),
            names,
            model: None,
            integrity: verified(),
            log_entries: 13,
            completeness: Completeness::Unproven {
                reason: "assembled by hand".into(),
            },
            evidence: DecisionEvidence::default(),
        },
        &AnomalyRules::default(),
    );
    let html = render_html(&report);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        !html.contains("<script"),
        "no scripts, and names are escaped"
    );
    assert!(html.contains("&lt;script&gt;"));
    for external in ["src=", "<link", "@import", "url("] {
        assert!(
            !html.contains(external),
            "external resource marker {external:?} in the page"
        );
    }
    assert!(html.contains("<svg id=\"timeline-chart\""));
    assert_eq!(html.matches("<circle").count(), 13);
    assert!(html.contains("id=\"decision-12\""));
}

#[test]
fn contribution_bars_appear_for_additive_paths() {
    let trace = DecisionTrace {
        timestamp_ns: T0,
        sequence: 0,
        input_hash: 0,
        output: 1.0,
        latency_ns: 1_000,
        path: AnyPath::from(LinearPath {
            contributions: vec![0.8, -0.4, 0.0],
            intercept: 0.1,
            logit: 0.5,
            prediction: 1.0,
            probability: Some(0.62),
        }),
    };
    let query = IncidentQuery {
        time_ns: T0,
        lookback_ns: 1,
        lookahead_ns: 1,
    };
    let report = IncidentReport::from_window(
        IncidentWindow {
            query,
            log: "log".into(),
            traces: vec![trace],
            alerts: Vec::new(),
            names: names(),
            model: None,
            integrity: verified(),
            log_entries: 1,
            completeness: Completeness::Unproven {
                reason: "assembled by hand".into(),
            },
            evidence: DecisionEvidence::default(),
        },
        &AnomalyRules::default(),
    );
    let entry = &report.timeline[0];
    assert_eq!(
        entry.contributions,
        vec![
            ("distance_m".to_owned(), 0.8),
            ("speed_kmh".to_owned(), -0.4)
        ]
    );
    assert_eq!(
        entry.alternatives,
        vec![("MAINTAIN_SPEED".to_owned(), 1.0 - 0.62)]
    );
    let html = render_html(&report);
    assert!(
        html.contains("width:200px"),
        "largest contribution gets the full bar"
    );
    assert!(html.contains("width:100px"));
}

#[test]
fn times_and_durations_parse_or_say_what_was_expected() {
    assert_eq!(parse_time_ns(&format_time_ns(T0)).unwrap(), T0);
    assert_eq!(parse_time_ns("2025-11-23T14:32:47Z").unwrap(), T0);
    assert!(matches!(
        parse_time_ns("yesterday"),
        Err(ForensicsError::BadTime { .. })
    ));
    assert_eq!(parse_duration_ns("250us").unwrap(), 250_000);
    assert_eq!(parse_duration_ns("2m").unwrap(), 120_000_000_000);
    let error = parse_duration_ns("30").unwrap_err();
    assert!(error.to_string().contains("like 30s"), "{error}");
    assert!(parse_duration_ns("-1s").is_err());
}

#[test]
fn identical_quiet_decisions_fold_into_one_details_element_and_events_stand_alone() {
    let report = report(verified());
    let html = render_html(&report);
    // Decisions 0..=9 are the same, unremarkable decision; 10..=12 each carry an anomaly.
    assert_eq!(html.matches("<details class=\"run\">").count(), 1, "{html}");
    assert!(
        html.contains("MAINTAIN_SPEED</span> ×10 (no anomaly)</summary>"),
        "{html}"
    );
    assert_eq!(html.matches("</details>").count(), 1);
    let fold_end = html.find("</details>").unwrap();
    assert!(html.find("id=\"decision-9\"").unwrap() < fold_end);
    assert!(html.find("id=\"decision-10\"").unwrap() > fold_end);
    // Every decision keeps its card (the chart still has a point per decision).
    assert_eq!(html.matches("<circle").count(), 13);
}

#[test]
fn without_training_statistics_z_scores_are_against_the_window_and_say_so() {
    let query = IncidentQuery {
        time_ns: T0,
        lookback_ns: 30_000_000_000,
        lookahead_ns: 1_000_000_000,
    };
    // Decision 12 saw distance 0.5 m where the others saw 10 m: its z-score against the
    // window's 13 rows is (0.5 - mean) / std, computed here by hand.
    let mut inputs = std::collections::BTreeMap::new();
    for sequence in 0..13u64 {
        let distance = if sequence == 12 { 0.5 } else { 10.0 };
        inputs.insert(
            sequence,
            DecisionInputs {
                values: vec![distance, 35.0, 0.3],
                context: Vec::new(),
                erased: sequence == 3,
            },
        );
    }
    let rows: Vec<f64> = (0..13)
        .filter(|&s| s != 3)
        .map(|s| if s == 12 { 0.5 } else { 10.0 })
        .collect();
    let mean = rows.iter().sum::<f64>() / rows.len() as f64;
    let std = (rows.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rows.len() as f64).sqrt();
    let report = IncidentReport::from_window(
        IncidentWindow {
            query,
            log: "log".into(),
            traces: window(),
            alerts: Vec::new(),
            names: names(),
            model: None,
            integrity: verified(),
            log_entries: 13,
            completeness: Completeness::Unproven {
                reason: "assembled by hand".into(),
            },
            evidence: DecisionEvidence {
                inputs,
                ..DecisionEvidence::default()
            },
        },
        &AnomalyRules::default(),
    );
    assert_eq!(report.z_score_basis, Some(ZScoreBasis::Window));
    let brake = report.timeline.iter().find(|e| e.sequence == 12).unwrap();
    let z = brake.inputs[0].z_score.unwrap();
    assert!((z - (0.5 - mean) / std).abs() < 1e-12, "{z}");
    assert!(z < -3.0);
    // The speed never varied: no z-score rather than a division by zero.
    assert_eq!(brake.inputs[1].z_score, None);
    let erased = report.timeline.iter().find(|e| e.sequence == 3).unwrap();
    assert!(erased.inputs_erased);
    let ood = &report.analysis.out_of_distribution;
    assert_eq!(ood.len(), 1);
    assert_eq!(ood[0].feature, "distance_m");
    let text = render_text(&report);
    assert!(
        text.contains("against the window's own mean and spread"),
        "{text}"
    );
    // Decision 3 sits in a folded run in the text; the JSON carries it.
    let json: serde_json::Value = serde_json::from_str(&render_json(&report).unwrap()).unwrap();
    let third = json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sequence"] == 3)
        .unwrap();
    assert_eq!(third["inputs_erased"], true);
    assert!(
        report
            .analysis
            .recommendations
            .iter()
            .any(|r| r.contains("distance_m near 0.5")),
        "{:?}",
        report.analysis.recommendations
    );
}

#[test]
fn the_root_cause_names_the_change_in_force_at_the_incident_and_what_warned_of_it() {
    let report = report(verified());
    let facts = &report.analysis;
    // First anomaly: decision 10's confidence fell 94% → 78% at T-0.847s; the first change
    // (to SLOW_DOWN) came at T-0.412s.
    let (first_at, _) = facts.first_anomaly.clone().unwrap();
    assert!((first_at + 847.0).abs() < 1e-3, "{first_at}");
    assert!((facts.anomaly_to_change_ms.unwrap() - 435.0).abs() < 1e-3);
    // The decision in force at T-0 came from SLOW_DOWN → EMERGENCY_BRAKE at T-0.156s; no
    // warning lies strictly between the change before it (T-0.412s) and it.
    assert!(
        facts.root_cause.iter().any(|c| c.starts_with(
            "The decision changed from SLOW_DOWN to EMERGENCY_BRAKE at T-0.156s with no warning"
        )),
        "{:?}",
        facts.root_cause
    );
    assert!(render_text(&report).contains("ROOT CAUSE:\n  • The decision changed from SLOW_DOWN"));
}
