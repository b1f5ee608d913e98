//! The Kaizen analyzer on decisions built by hand: planted clusters are recovered, the
//! boundary and outcome counts are exact, drift is found where it was put and not where it
//! was not, and each recommendation carries the evidence it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use whyline_core::Names;
use whyline_forensics::{
    DecisionOutcome, DriftKind, KaizenAnalyzer, KaizenDecision, KaizenSettings, RecommendationKind,
    kmeans, ks_2samp, psi,
};

/// SplitMix64 and Box–Muller: a fixed stream of normal variates.
struct Normal(u64);

impl Normal {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (((z ^ (z >> 31)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn sample(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn names() -> Names {
    Names {
        features: vec![
            "distance".into(),
            "speed".into(),
            "size".into(),
            "light".into(),
        ],
        classes: vec!["GO".into(), "SLOW".into(), "STOP".into()],
    }
}

/// A decision of `class` with the runner-up `other` at `confidence`.
fn decision(
    index: u64,
    class: usize,
    other: usize,
    confidence: f32,
    inputs: Vec<f64>,
) -> KaizenDecision {
    let mut probabilities = vec![0.0f32; 3];
    probabilities[class] = confidence;
    probabilities[other] = 1.0 - confidence;
    KaizenDecision {
        index,
        sequence: index,
        timestamp_ns: 1_000_000_000 + index * 1_000_000,
        class: Some(class),
        confidence,
        probabilities,
        inputs: Some(inputs),
        ..KaizenDecision::default()
    }
}

const CENTRES: [[f64; 4]; 3] = [
    [5.0, 30.0, 0.3, 0.2],
    [40.0, 80.0, 2.0, 0.9],
    [15.0, 50.0, 4.0, 0.5],
];
const SPREAD: [f64; 4] = [1.0, 3.0, 0.1, 0.05];
const SIZES: [usize; 3] = [150, 100, 60];
/// (decided, runner-up) of each planted cluster.
const CLASSES: [(usize, usize); 3] = [(1, 2), (0, 1), (2, 0)];

/// Three planted groups of unsure decisions, then 400 sure ones spread over the same space.
fn planted() -> (Vec<KaizenDecision>, Vec<Vec<u64>>) {
    let mut normal = Normal(7);
    let mut decisions = Vec::new();
    let mut groups = vec![Vec::new(); 3];
    let mut index = 0u64;
    for (g, &size) in SIZES.iter().enumerate() {
        for _ in 0..size {
            let inputs: Vec<f64> = (0..4)
                .map(|j| CENTRES[g][j] + SPREAD[j] * normal.sample())
                .collect();
            let (class, other) = CLASSES[g];
            decisions.push(decision(
                index,
                class,
                other,
                0.5 + 0.15 * normal.uniform() as f32,
                inputs,
            ));
            groups[g].push(index);
            index += 1;
        }
    }
    for _ in 0..400 {
        let inputs = vec![
            normal.uniform() * 60.0,
            normal.uniform() * 100.0,
            normal.uniform() * 5.0,
            normal.uniform(),
        ];
        decisions.push(decision(index, 0, 1, 0.95, inputs));
        index += 1;
    }
    (decisions, groups)
}

#[test]
fn planted_clusters_are_recovered_with_their_centres_and_alternatives() {
    let (decisions, groups) = planted();
    let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
    let (clusters, summary) = analyzer.find_uncertainty_clusters(&names(), &decisions, None);
    assert_eq!(summary.low_confidence, 310);
    assert_eq!(summary.k, 3, "silhouettes {:?}", summary.silhouettes);
    assert!(summary.silhouette.unwrap() > 0.6);
    assert_eq!(clusters.len(), 3);
    for (g, group) in groups.iter().enumerate() {
        // Largest first: cluster g is planted group g (sizes 150, 100, 60), member for member.
        let cluster = &clusters[g];
        let mut members = cluster.members.clone();
        members.sort_unstable();
        assert_eq!(
            &members, group,
            "cluster {} is not planted group {g}",
            cluster.id
        );
        assert_eq!(cluster.size, SIZES[g]);
        for (j, (name, value)) in cluster.centre.iter().enumerate() {
            assert_eq!(name, &names().features[j]);
            // The mean of n normal draws: within 4 standard errors.
            let tolerance = 4.0 * SPREAD[j] / (SIZES[g] as f64).sqrt();
            assert!(
                (value - CENTRES[g][j]).abs() < tolerance,
                "cluster {g} {name}: {value} vs {}",
                CENTRES[g][j]
            );
        }
        let (class, other) = CLASSES[g];
        assert_eq!(
            cluster.decisions,
            vec![(names().classes[class].clone(), SIZES[g])]
        );
        assert_eq!(
            cluster.alternatives,
            vec![(names().classes[other].clone(), SIZES[g])]
        );
        assert!(cluster.examples.iter().all(|e| group.contains(e)));
    }
}

#[test]
fn kmeans_is_deterministic_for_a_seed() {
    let (decisions, _) = planted();
    let points: Vec<Vec<f64>> = decisions
        .iter()
        .map(|d| d.inputs.clone().unwrap())
        .collect();
    let a = kmeans(&points, 4, 11);
    let b = kmeans(&points, 4, 11);
    assert_eq!(a, b);
    assert_eq!(a.labels.len(), points.len());
}

#[test]
fn each_cluster_recommendation_names_its_cluster_size_features_and_examples() {
    let (decisions, _) = planted();
    let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
    let analysis = analyzer.analyze_decisions(&names(), &decisions[..10], &decisions);
    let cluster_recommendations: Vec<_> = analysis
        .recommendations
        .iter()
        .filter(|r| r.kind == RecommendationKind::UncertaintyCluster)
        .collect();
    assert_eq!(cluster_recommendations.len(), 3);
    for r in cluster_recommendations {
        let id = r.evidence.cluster.unwrap();
        let cluster = analysis.clusters.iter().find(|c| c.id == id).unwrap();
        assert_eq!(r.evidence.decisions, cluster.size);
        assert_eq!(r.evidence.examples, cluster.examples);
        let distinguishing: Vec<String> =
            cluster.distinguishing.iter().map(|d| d.0.clone()).collect();
        assert_eq!(r.evidence.features, distinguishing);
        assert!(r.action.contains(&format!("uncertainty cluster {id}")));
    }
}

#[test]
fn boundary_counts_near_calls_flips_and_transitions_exactly() {
    // Classes 0 0 1 1 0 2 2 with margins 0.9 0.04 0.2 0.06 0.9 0.9 0.02.
    let sequence = [
        (0, 1, 0.95),
        (0, 1, 0.52),
        (1, 0, 0.6),
        (1, 2, 0.53),
        (0, 1, 0.95),
        (2, 0, 0.95),
        (2, 1, 0.51),
    ];
    let decisions: Vec<KaizenDecision> = sequence
        .iter()
        .enumerate()
        .map(|(i, &(c, o, p))| decision(i as u64, c, o, p, vec![0.0]))
        .collect();
    let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
    let b = analyzer.analyze_decision_boundaries(&names(), &decisions);
    assert_eq!(b.with_margin, 7);
    assert_eq!(b.near_boundary, 3); // margins 0.04, 0.06, 0.02
    assert_eq!(b.flips, 3); // 0→1, 1→0, 0→2
    assert!((b.flip_rate - 0.5).abs() < 1e-12);
    assert_eq!(b.transitions.classes, names().classes);
    assert_eq!(
        b.transitions.counts,
        vec![vec![1, 1, 1], vec![1, 1, 0], vec![0, 0, 1]]
    );
    let pair = |class: &str, other: &str| {
        b.pairs
            .iter()
            .find(|p| p.class == class && p.other == other)
            .unwrap()
    };
    assert_eq!((pair("GO", "SLOW").near, pair("GO", "SLOW").flips), (1, 1));
    assert_eq!((pair("SLOW", "GO").near, pair("SLOW", "GO").flips), (0, 1));
    assert_eq!(
        (pair("SLOW", "STOP").near, pair("SLOW", "STOP").flips),
        (1, 0)
    );
    assert_eq!((pair("STOP", "GO").near, pair("STOP", "GO").flips), (0, 1));
    assert_eq!(pair("GO", "SLOW").examples, vec![1, 4]);
}

#[test]
fn outcomes_judge_by_class_labels_and_overrides_overall_and_per_cluster() {
    let (mut decisions, groups) = planted();
    let outcome = |index: u64, label: &str, override_action: Option<&str>| DecisionOutcome {
        index,
        label: label.into(),
        by: None,
        override_action: override_action.map(str::to_owned),
        note: None,
    };
    // Group 0 decided SLOW: one right, one wrong by label, one overridden; a confident GO
    // with a label naming no class.
    let (a, b, c) = (groups[0][0], groups[0][1], groups[0][2]);
    decisions[a as usize].outcome = Some(outcome(a, "slow", None));
    decisions[b as usize].outcome = Some(outcome(b, "STOP", None));
    decisions[c as usize].outcome = Some(outcome(c, "cat", Some("STOP")));
    decisions[400].outcome = Some(outcome(400, "cat", None));
    let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
    let analysis = analyzer.analyze_decisions(&names(), &decisions[..10], &decisions);
    let o = &analysis.outcomes;
    assert_eq!(
        (
            o.overall.labelled,
            o.overall.judged,
            o.overall.wrong,
            o.overall.overridden
        ),
        (4, 3, 2, 1)
    );
    assert_eq!(o.overall.wrong_examples, vec![b, c]);
    assert_eq!((o.low_confidence.judged, o.low_confidence.wrong), (3, 2));
    assert_eq!((o.confident.labelled, o.confident.judged), (1, 0));
    assert_eq!(o.unjudged_labels, vec![("cat".to_owned(), 1)]);
    let cluster = &analysis.clusters[0];
    assert_eq!((cluster.outcomes.judged, cluster.outcomes.wrong), (3, 2));
    assert!((cluster.outcomes.error_rate().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    let recommendation = analysis
        .recommendations
        .iter()
        .find(|r| r.kind == RecommendationKind::Outcomes)
        .unwrap();
    assert_eq!(recommendation.evidence.examples, vec![b, c]);
}

#[test]
fn drift_is_found_in_the_shifted_feature_only_with_scipy_statistics() {
    let mut normal = Normal(99);
    let mut make = |shift: f64, from: u64| -> Vec<KaizenDecision> {
        (0..800u64)
            .map(|i| {
                let inputs = vec![
                    normal.sample() + shift,
                    normal.sample(),
                    normal.sample(),
                    normal.sample(),
                ];
                decision(from + i, 0, 1, 0.9, inputs)
            })
            .collect()
    };
    let reference = make(0.0, 0);
    let current = make(1.0, 800);
    let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
    let drift = analyzer.detect_feature_drift(&names(), &reference, &current);
    let inputs: Vec<_> = drift
        .iter()
        .filter(|d| d.kind == DriftKind::Input)
        .collect();
    assert_eq!(inputs.len(), 4);
    for row in &inputs {
        let column = |ds: &[KaizenDecision], name: &str| -> Vec<f64> {
            let j = names().features.iter().position(|f| f == name).unwrap();
            ds.iter().map(|d| d.inputs.as_ref().unwrap()[j]).collect()
        };
        let (before, now) = (
            column(&reference, &row.feature),
            column(&current, &row.feature),
        );
        assert_eq!(row.ks, ks_2samp(&before, &now).unwrap());
        assert_eq!(row.psi, psi(&before, &now).unwrap());
        assert_eq!(row.drifted, row.feature == "distance", "{row:?}");
    }
    assert_eq!(drift[0].feature, "distance");
    assert!(drift[0].ks.p_value < 1e-30);
}

/// The three views of one analysis say the same things: the JSON is the analysis itself, the
/// text and the HTML list each cluster with its size, share, decisions and alternatives, and
/// the HTML is one self-contained page that escapes the names it shows.
#[test]
fn the_text_json_and_html_views_carry_the_analysis_and_the_html_escapes_names() {
    let (decisions, _) = planted();
    let mut names = names();
    names.features[0] = "distance <m> & \"range\"".into();
    let analyzer = KaizenAnalyzer::new(KaizenSettings::default());
    let analysis = analyzer.analyze_decisions(&names, &decisions[..100], &decisions);
    assert_eq!(analysis.clusters.len(), 3);

    let json: serde_json::Value =
        serde_json::from_str(&whyline_forensics::render_kaizen_json(&analysis).unwrap()).unwrap();
    let clusters = json["clusters"].as_array().unwrap();
    let sizes: Vec<u64> = clusters
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = analysis.clusters.iter().map(|c| c.size as u64).collect();
    assert_eq!(sizes, expected);
    assert_eq!(
        json["recommendations"].as_array().unwrap().len(),
        analysis.recommendations.len()
    );

    let text = whyline_forensics::render_kaizen_text(&analysis);
    let html = whyline_forensics::render_kaizen_html(&analysis);
    for c in &analysis.clusters {
        let line = format!(
            "  #{}  {} decisions ({:.0}%), mean confidence {:.0}%",
            c.id,
            c.size,
            c.share * 100.0,
            c.mean_confidence * 100.0
        );
        assert!(text.contains(&line), "{line} not in\n{text}");
        let (decided, count) = &c.decisions[0];
        assert!(
            text.contains(&format!("decided: {decided} ({count})")),
            "{text}"
        );
        let (alternative, count) = &c.alternatives[0];
        assert!(
            text.contains(&format!("alternatives: {alternative} ({count})")),
            "{text}"
        );
    }
    for r in &analysis.recommendations {
        assert!(text.contains(&r.action), "{} not in the text", r.action);
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(
        !html.contains("src=\"http") && !html.contains("<link"),
        "self-contained"
    );
    assert!(
        !html.contains("distance <m>"),
        "the raw name leaks into the HTML"
    );
    assert!(
        html.contains("distance &lt;m&gt; &amp;"),
        "the name, escaped"
    );
}
