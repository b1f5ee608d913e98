//! A Kaizen analysis of what a log gave (`KaizenData`) without readable inputs: contributions
//! and confidence that moved between two fully separated windows are drift (KS D = 1), each
//! drift becomes the recommendation it supports, outcomes are counted against the class
//! names, and the text, JSON and HTML views carry it all with the reader's notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use whyline_core::{ModelIdentity, Names};
use whyline_forensics::{
    DecisionOutcome, DriftKind, KaizenAnalysis, KaizenAnalyzer, KaizenData, KaizenDecision,
    KaizenSettings, RecommendationKind, ReferenceRule, render_kaizen_html, render_kaizen_json,
    render_kaizen_text,
};

const T0: u64 = 1_763_908_367_000_000_000;

fn names() -> Names {
    Names {
        features: vec!["distance".into(), "speed".into()],
        classes: vec!["GO".into(), "STOP".into()],
    }
}

/// Decision `index` of class GO at `confidence`, its contributions `[distance, 0.5]`.
fn decision(index: u64, confidence: f32, distance: f32) -> KaizenDecision {
    KaizenDecision {
        index,
        sequence: index,
        timestamp_ns: T0 + index * 1_000_000,
        class: Some(0),
        confidence,
        probabilities: vec![confidence, 1.0 - confidence],
        contributions: vec![distance, 0.5],
        ..KaizenDecision::default()
    }
}

/// Sixty sure decisions (0.90..0.98) whose distance contributions are near 0.1, then sixty
/// unsure ones (0.51..0.59) near 2.0: the two windows do not overlap.
fn data(notes: Vec<String>) -> KaizenData {
    let reference: Vec<KaizenDecision> = (0..60)
        .map(|i| decision(i, 0.90 + (i % 5) as f32 * 0.02, 0.1 + i as f32 * 0.001))
        .collect();
    let current: Vec<KaizenDecision> = (60..120)
        .map(|i| decision(i, 0.51 + (i % 5) as f32 * 0.02, 2.0 + i as f32 * 0.001))
        .collect();
    KaizenData {
        log: "fleet <7> & co".into(),
        names: names(),
        model: Some(ModelIdentity::from_bytes(b"model", "random_forest", "3")),
        training: None,
        window: (T0 + 60_000_000, T0 + 119_000_000),
        reference,
        current,
        reference_rule: ReferenceRule::FirstHalf,
        notes,
    }
}

fn analysis() -> KaizenAnalysis {
    KaizenAnalyzer::new(KaizenSettings::default()).analyze(&data(vec![
        "the log could not be read past byte 99 (torn tail)".into(),
    ]))
}

#[test]
fn separated_windows_drift_in_attribution_and_confidence_but_not_elsewhere() {
    let analysis = analysis();
    let find = |kind: DriftKind, feature: &str| {
        analysis
            .drift
            .iter()
            .find(|d| d.kind == kind && d.feature == feature)
            .unwrap_or_else(|| panic!("no {kind:?} {feature}: {:?}", analysis.drift))
    };
    let distance = find(DriftKind::Attribution, "distance");
    assert!(distance.drifted);
    assert_eq!(
        distance.ks.statistic, 1.0,
        "no value of one window in the other's range"
    );
    assert_eq!((distance.reference_n, distance.current_n), (60, 60));
    let speed = find(DriftKind::Attribution, "speed");
    assert!(!speed.drifted);
    assert_eq!(speed.ks.statistic, 0.0);
    assert_eq!(speed.psi, 0.0);
    let confidence = analysis
        .drift
        .iter()
        .find(|d| d.kind == DriftKind::Confidence)
        .unwrap();
    assert!(confidence.drifted);
    assert_eq!(confidence.ks.statistic, 1.0);
    assert!((confidence.reference_mean - 0.94).abs() < 1e-6);
    assert!((confidence.current_mean - 0.55).abs() < 1e-6);
    assert!(
        analysis.drift.iter().all(|d| d.kind != DriftKind::Input),
        "no inputs, no input drift"
    );
}

#[test]
fn each_drift_becomes_the_recommendation_it_supports() {
    let analysis = analysis();
    let kinds: Vec<RecommendationKind> = analysis.recommendations.iter().map(|r| r.kind).collect();
    assert!(
        kinds.contains(&RecommendationKind::AttributionDrift),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&RecommendationKind::ConfidenceDrift),
        "{kinds:?}"
    );
    let attribution = analysis
        .recommendations
        .iter()
        .find(|r| r.kind == RecommendationKind::AttributionDrift)
        .unwrap();
    assert_eq!(
        attribution.action,
        "Check what the model now relies on: the contributions of distance changed; confirm the change is wanted before the next retraining"
    );
    assert_eq!(attribution.evidence.features, ["distance"]);
    assert_eq!(attribution.evidence.decisions, 60);
    assert!(
        attribution.evidence.facts[0].starts_with("distance: PSI ")
            && attribution.evidence.facts[0].contains("KS D 1.000")
            && attribution.evidence.facts[0].ends_with("mean contribution 0.1295 → 2.0895"),
        "{:?}",
        attribution.evidence.facts
    );
    let confidence = analysis
        .recommendations
        .iter()
        .find(|r| r.kind == RecommendationKind::ConfidenceDrift)
        .unwrap();
    assert_eq!(
        confidence.action,
        "Find out why the model became less sure (mean confidence 94% → 55%): record the decisions' inputs \
         (record_inputs in the profile) so that the next analysis can say in which scenarios, and investigate \
         the least confident decisions (whyline incident)"
    );
    assert!(confidence.evidence.facts[0].ends_with("over 60 reference and 60 current decisions"));
    assert!(!confidence.evidence.examples.is_empty());
}

#[test]
fn the_views_carry_the_model_the_reference_rule_the_drift_and_the_notes() {
    let analysis = analysis();
    assert_eq!(
        analysis.notes,
        [
            "the log could not be read past byte 99 (torn tail)".to_owned(),
            "the current window holds no readable inputs: no uncertainty clusters and no input drift; \
             record inputs (record_inputs in the profile) and keep the key store beside the log"
                .to_owned()
        ]
    );
    let text = render_kaizen_text(&analysis);
    assert!(text.contains("KAIZEN ANALYSIS: fleet <7> & co\n"), "{text}");
    assert!(text.contains("\nModel: "), "{text}");
    assert!(text.contains(
        "Reference window: the first 60 decisions of the window (nothing precedes it; the current window is its second half)"
    ));
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("attribution") && l.contains("distance")),
        "{text}"
    );
    assert!(text.contains("\nNOTES\n  • the log could not be read past byte 99 (torn tail)\n"));
    assert!(text.contains("  1. "), "numbered recommendations");

    let html = render_kaizen_html(&analysis);
    assert!(html.contains("<title>Kaizen analysis fleet &lt;7&gt; &amp; co</title>"));
    assert!(html.contains("<br>Model: "));
    assert!(html.contains("<td>attribution</td><td>distance</td>"));
    assert!(html.contains("<span class=\"bad\">drifted</span>"));
    assert!(
        html.contains(
            "<h2>Notes</h2><ul><li>the log could not be read past byte 99 (torn tail)</li>"
        )
    );
    assert!(!html.contains("<7>"), "the log's name is escaped");

    let json: serde_json::Value =
        serde_json::from_str(&render_kaizen_json(&analysis).unwrap()).unwrap();
    assert_eq!(json["reference_rule"], "first_half");
    assert_eq!(json["current_decisions"], 60);
    assert_eq!(json["with_inputs"], 0);
    let kinds: Vec<&str> = json["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"attribution_drift") && kinds.contains(&"confidence_drift"),
        "{kinds:?}"
    );
}

#[test]
fn a_quiet_analysis_says_it_measured_nothing_and_recommends_nothing() {
    let mut data = data(Vec::new());
    data.reference.clear();
    data.current.truncate(3);
    for decision in &mut data.current {
        decision.confidence = 0.99;
        decision.probabilities = vec![0.99, 0.01];
    }
    data.model = None;
    let analysis = KaizenAnalyzer::new(KaizenSettings::default()).analyze(&data);
    assert!(analysis.drift.is_empty());
    assert!(analysis.recommendations.is_empty());
    assert!(
        analysis
            .notes
            .contains(&"the reference window is empty: no drift measured".to_owned())
    );
    let text = render_kaizen_text(&analysis);
    assert!(!text.contains("\nModel: "));
    assert!(
        text.contains("\nDRIFT (reference → current; PSI, two-sample KS)\n  nothing measured\n"),
        "{text}"
    );
    assert!(text.contains(
        "\nRECOMMENDATIONS\n  none: no cluster, drift, boundary or outcome finding calls for retraining\n"
    ));
    assert!(text.contains(
        "  no outcome recorded for the window's decisions (whyline outcome LOG --index N --label L)"
    ));
    let html = render_kaizen_html(&analysis);
    assert!(html.contains("<h2>Recommendations</h2><p>None.</p>"));
    assert!(!html.contains("Model: "));
}

#[test]
fn outcomes_are_counted_against_the_class_names_and_shown_with_error_rates() {
    let mut data = data(Vec::new());
    let outcome = |index: u64, label: &str, override_action: Option<&str>| DecisionOutcome {
        index,
        label: label.into(),
        by: None,
        override_action: override_action.map(Into::into),
        note: None,
    };
    // Every current decision chose GO (unsure, below 0.7); the reference ones are sure.
    data.current[0].outcome = Some(outcome(60, "GO", None));
    data.current[1].outcome = Some(outcome(61, "STOP", None));
    data.current[2].outcome = Some(outcome(62, "STOP", Some("braked")));
    data.current[3].outcome = Some(outcome(63, "pedestrian", None));
    let analysis = KaizenAnalyzer::new(KaizenSettings::default()).analyze(&data);
    let overall = &analysis.outcomes.overall;
    assert_eq!(
        (
            overall.labelled,
            overall.judged,
            overall.wrong,
            overall.overridden
        ),
        (4, 3, 2, 1)
    );
    assert_eq!(
        analysis.outcomes.unjudged_labels,
        [("pedestrian".to_owned(), 1)]
    );
    let text = render_kaizen_text(&analysis);
    assert!(
        text.contains(
            "\nOUTCOMES\n  overall: 4 labelled, 3 judged, 2 wrong (66.7%), 1 overridden\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("  low confidence: 4 labelled, 3 judged, 2 wrong (66.7%), 1 overridden\n")
    );
    assert!(
        text.contains(
            "  confident: 0 labelled, none judged (no label names a class, no override)\n"
        )
    );
    assert!(text.contains("  labels naming no class: pedestrian (1)\n"));
    let html = render_kaizen_html(&analysis);
    assert!(
        html.contains(
            "<h2>Outcomes</h2><p>4 labelled, 3 judged, 2 wrong (66.7%), 1 overridden</p>"
        )
    );
}
