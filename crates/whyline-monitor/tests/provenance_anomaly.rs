//! The streaming provenance anomaly detector: sketch accuracy against exact shingle vectors,
//! fixed memory, each attack kind detected, no alert on a normal stream, the alert path.

#![allow(clippy::unwrap_used)]

mod support {
    pub(crate) mod provenance_workload;
}

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use support::provenance_workload::{Attack, Rng, Workload, pipeline};
use whyline_core::{AlertRecord, LinearPath};
use whyline_ledger::{LedgerCollector, LedgerOptions};
use whyline_monitor::provenance_anomaly::{
    EdgeLabel, NodeLabel, NodeRef, ObservedEdge, ProvenanceAnomalySettings, ProvenanceBaseline,
    StreamingProvenanceMonitor,
};
use whyline_monitor::{AlertKind, AlertLevel, Andon, AndonRules, ChannelSink, MonitorError};

/// The documented bounds (docs/provenance-anomaly.md) these tests hold the detector to: on
/// 200 graphs of each expected attack (seed 11), recall at least 0.75; on 5 000 normal graphs
/// (seed 3), at most 1 % raise an alert.
const MIN_RECALL: f64 = 0.75;
const MAX_FALSE_POSITIVE_RATE: f64 = 0.01;
/// The angle estimate's standard deviation at the default width (512 bits) when the true
/// angle is θ = p π: π √(p (1 − p) / 512), at most π / (2 √512) = 0.069 rad.
fn angle_standard_deviation(exact_cosine: f64) -> f64 {
    let p = exact_cosine.clamp(-1.0, 1.0).acos() / std::f64::consts::PI;
    std::f64::consts::PI * (p * (1.0 - p) / 512.0).sqrt()
}

/// Six of the largest standard deviations: for a correct sketch a case lands outside with
/// probability 2 × 10⁻⁹, so the property test's 64 random cases fail once in ~10⁷ runs. (At
/// four, the bound this test first had, 3 of 20 000 cases landed outside and CI failed.)
/// How tight the estimate is, is held by the seeded calibration test below, not by this bound.
const ANGLE_TOLERANCE: f64 = 6.0 * std::f64::consts::PI / (2.0 * 22.627_416_997_969_52);

/// The baseline of the documented configuration (default settings, 5 000 normal graphs of
/// seed 1), fitted once for every test of this binary.
fn fitted_monitor() -> StreamingProvenanceMonitor {
    static BASELINE: OnceLock<ProvenanceBaseline> = OnceLock::new();
    let baseline = BASELINE.get_or_init(|| {
        let mut monitor =
            StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
        let mut warmup = Workload::new(1, 16, 0, 0.0, &[]);
        let mut finished = 0;
        while finished < 5_000 {
            let item = warmup.next_edge();
            monitor.learn(&item.edge).unwrap();
            finished += u32::from(item.last);
        }
        monitor.fit_baseline().unwrap();
        monitor.baseline().unwrap()
    });
    StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default())
        .unwrap()
        .with_baseline(baseline)
        .unwrap()
}

/// An edge as the oracle sees it: source id, source label, relation, destination label.
type OracleEdge = (u64, String, String, String);

/// The exact k = 1 shingle vector, computed from strings, independently of the hashing:
/// each node's out-edges in arrival order, cut into chunks of `chunk_length`, each chunk the
/// node's label and the sorted `(relation, destination label)` pairs.
fn exact_shingles(edges: &[OracleEdge], chunk_length: usize) -> HashMap<String, f64> {
    let mut out_edges: HashMap<u64, (String, Vec<String>)> = HashMap::new();
    for (source, source_label, relation, destination_label) in edges {
        let entry = out_edges
            .entry(*source)
            .or_insert_with(|| (source_label.clone(), Vec::new()));
        entry.1.push(format!("{relation}>{destination_label}"));
    }
    let mut counts = HashMap::new();
    for (label, pairs) in out_edges.values() {
        for chunk in pairs.chunks(chunk_length) {
            let mut chunk = chunk.to_vec();
            chunk.sort();
            *counts
                .entry(format!("{label}|{}", chunk.join(",")))
                .or_insert(0.0) += 1.0;
        }
    }
    counts
}

fn exact_cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    let dot: f64 = a.iter().map(|(k, v)| v * b.get(k).unwrap_or(&0.0)).sum();
    let norm = |m: &HashMap<String, f64>| m.values().map(|v| v * v).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b))
}

/// A random graph over a small alphabet of labels: `edges` edges between `nodes` nodes
/// (source id < destination id, so a DAG), as (source, source label, relation, destination
/// label) for the oracle and as observed edges for the monitor.
fn random_graph(
    seed: u64,
    graph: u64,
    nodes: usize,
    edges: usize,
) -> (Vec<OracleEdge>, Vec<ObservedEdge>) {
    let mut rng = Rng::new(seed);
    let kinds = ["input", "transform", "inference", "fusion", "action"];
    let labels: Vec<(String, String)> = (0..nodes)
        .map(|_| {
            (
                kinds[rng.below(kinds.len())].to_owned(),
                format!("r{}", rng.below(3)),
            )
        })
        .collect();
    let relations = ["data_flow", "triggered", "influenced", "caused"];
    let mut oracle = Vec::new();
    let mut observed = Vec::new();
    for _ in 0..edges {
        let source = rng.below(nodes - 1);
        let destination = source + 1 + rng.below(nodes - source - 1);
        let relation = relations[rng.below(relations.len())];
        let (sk, si) = &labels[source];
        let (dk, di) = &labels[destination];
        oracle.push((
            source as u64,
            format!("{sk}:{si}"),
            relation.to_owned(),
            format!("{dk}:{di}"),
        ));
        observed.push(ObservedEdge::new(
            graph,
            NodeRef::new(source as u64, NodeLabel::new(sk, si)),
            EdgeLabel::new(relation),
            NodeRef::new(destination as u64, NodeLabel::new(dk, di)),
            0,
        ));
    }
    (oracle, observed)
}

/// One comparison: two random graphs (the second, when `share`, the same random stream cut
/// at another length, so high similarities are covered as well as unrelated pairs) learned by
/// one monitor. Returns the exact cosine of their shingle vectors and the sketch's estimate.
fn exact_and_estimated_cosine(
    seed_a: u64,
    seed_b: u64,
    nodes: usize,
    edges_a: usize,
    edges_b: usize,
    share: bool,
) -> (f64, f64) {
    let seed_b = if share { seed_a } else { seed_b };
    let settings = ProvenanceAnomalySettings::default();
    let mut monitor = StreamingProvenanceMonitor::new(settings.clone()).unwrap();
    let (oracle_a, observed_a) = random_graph(seed_a, 1, nodes, edges_a);
    let (oracle_b, observed_b) = random_graph(seed_b, 2, nodes, edges_b);
    for edge in observed_a.iter().chain(&observed_b) {
        monitor.learn(edge).unwrap();
    }
    let chunk = settings.chunk_length as usize;
    let exact = exact_cosine(
        &exact_shingles(&oracle_a, chunk),
        &exact_shingles(&oracle_b, chunk),
    );
    (exact, monitor.similarity(1, 2).unwrap())
}

/// The estimated angle minus the exact one, in radians.
fn angle_error(exact: f64, estimated: f64) -> f64 {
    estimated.clamp(-1.0, 1.0).acos() - exact.clamp(-1.0, 1.0).acos()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sketch_similarity_approximates_the_exact_cosine_of_shingle_vectors(
        seed_a in any::<u64>(),
        seed_b in any::<u64>(),
        nodes in 4usize..16,
        edges_a in 5usize..60,
        edges_b in 5usize..60,
        share in any::<bool>(),
    ) {
        let (exact, estimated) =
            exact_and_estimated_cosine(seed_a, seed_b, nodes, edges_a, edges_b, share);
        let error = angle_error(exact, estimated).abs();
        prop_assert!(
            error <= ANGLE_TOLERANCE,
            "exact cosine {exact:.4}, estimated {estimated:.4}, angle error {error:.4} > {ANGLE_TOLERANCE:.4}"
        );
    }
}

/// The sketch's angle errors, each divided by its binomial standard deviation, over 2 000
/// seeded comparisons, have mean 0 and standard deviation 1: the estimate is unbiased and
/// exactly as noisy as sign random projections must be. A biased or noisier sketch (weights
/// not symmetric, a lost shingle, a bit counted twice) moves one of the two by far more than
/// the allowance, which is over four standard errors (0.022 for the mean, 0.016 for the
/// standard deviation); the seed makes the test deterministic.
#[test]
fn angle_errors_have_the_binomial_mean_and_spread() {
    let mut rng = Rng::new(20_261_207);
    let mut scores = Vec::new();
    while scores.len() < 2_000 {
        let (seed_a, seed_b) = (rng.next_u64(), rng.next_u64());
        let nodes = 4 + rng.below(12);
        let (edges_a, edges_b) = (5 + rng.below(55), 5 + rng.below(55));
        let share = rng.below(2) == 1;
        let (exact, estimated) =
            exact_and_estimated_cosine(seed_a, seed_b, nodes, edges_a, edges_b, share);
        let deviation = angle_standard_deviation(exact);
        // Identical or opposite graphs: every bit agrees (or differs); no spread to score.
        if deviation > 0.0 {
            scores.push(angle_error(exact, estimated) / deviation);
        }
    }
    let count = scores.len() as f64;
    let mean = scores.iter().sum::<f64>() / count;
    let spread = (scores.iter().map(|z| (z - mean).powi(2)).sum::<f64>() / count).sqrt();
    assert!(
        mean.abs() < 0.1,
        "mean standardised angle error {mean:.3}, expected 0"
    );
    assert!(
        (0.92..1.08).contains(&spread),
        "standard deviation of standardised angle errors {spread:.3}, expected 1"
    );
}

#[test]
fn memory_does_not_grow_with_the_stream_length() {
    let mut monitor = fitted_monitor();
    let fitted = monitor.memory_bytes();
    let mut stream = Workload::new(5, 16, 1_000_000, 0.1, &Attack::ALL);
    for _ in 0..100_000 {
        monitor.observe(&stream.next_edge().edge).unwrap();
    }
    let short = monitor.memory_bytes();
    for _ in 0..400_000 {
        monitor.observe(&stream.next_edge().edge).unwrap();
    }
    let long = monitor.memory_bytes();
    assert_eq!(fitted, short);
    assert_eq!(short, long);
    // 500 000 edges are about 38 000 graphs: the 1024 slots were reused, and the node table
    // pushed its oldest nodes out.
    assert!(
        monitor.stats().graphs_evicted > 30_000 && monitor.stats().nodes_evicted > 0,
        "{:?}",
        monitor.stats()
    );
}

#[test]
fn each_attack_kind_is_detected_on_a_fixed_seed() {
    let mut monitor = fitted_monitor();
    let mut rng = Rng::new(11);
    for attack in [
        Attack::InputTampering,
        Attack::TransformBypassed,
        Attack::ModelSwapped,
    ] {
        let graphs = 200;
        let mut detected = 0;
        for index in 0..graphs {
            let id = 2_000_000 + 1_000 * attack as u64 + index;
            let spec = pipeline(&mut rng, id, Some(attack));
            let mut alerted = false;
            for edge in &spec.edges {
                let observation = monitor.observe(edge).unwrap();
                if let Some(alert) = observation.alert {
                    alerted = true;
                    assert!(
                        observation.anomalous && observation.distance > observation.threshold,
                        "an alert on an edge whose graph fits: {alert:?}"
                    );
                    assert!(
                        observation.edges >= monitor.settings().min_edges,
                        "an alert after {} edges",
                        observation.edges
                    );
                    assert!(
                        matches!(alert.kind, AlertKind::ProvenanceAnomaly { graph, distance, threshold, .. }
                            if graph == spec.id && distance > threshold),
                        "{alert:?}"
                    );
                }
            }
            detected += u32::from(alerted);
        }
        let recall = f64::from(detected) / graphs as f64;
        assert!(
            recall >= MIN_RECALL,
            "{attack:?}: recall {recall} < {MIN_RECALL}"
        );
    }
}

#[test]
fn a_normal_stream_of_a_fixed_seed_stays_under_the_false_positive_bound() {
    let mut monitor = fitted_monitor();
    let mut stream = Workload::new(3, 16, 1_000_000, 0.0, &[]);
    let mut graphs = 0u32;
    let mut alerts = 0u32;
    while graphs < 5_000 {
        let item = stream.next_edge();
        let observation = monitor.observe(&item.edge).unwrap();
        alerts += u32::from(observation.alert.is_some());
        graphs += u32::from(item.last);
    }
    let rate = f64::from(alerts) / f64::from(graphs);
    assert!(
        rate <= MAX_FALSE_POSITIVE_RATE,
        "false positive rate {rate} ({alerts} of {graphs})"
    );
}

#[test]
fn an_alert_goes_to_the_sinks_and_into_the_ledger() {
    let collector = Arc::new(
        LedgerCollector::in_memory(LedgerOptions::without_checkpoints("test/provenance")).unwrap(),
    );
    let (sink, receiver) = ChannelSink::bounded(4);
    let mut andon = Andon::new(AndonRules::default()).unwrap();
    andon.add_sink(sink);
    let mut monitor = fitted_monitor()
        .with_andon(andon)
        .record_alerts_in::<LinearPath, _>(Arc::clone(&collector));
    let spec = pipeline(&mut Rng::new(3), 77, Some(Attack::ModelSwapped));
    let mut raised = Vec::new();
    for edge in &spec.edges {
        raised.extend(monitor.observe(edge).unwrap().alert);
    }
    assert_eq!(raised.len(), 1, "one alert per graph: {raised:?}");
    let delivered = receiver.try_recv().unwrap();
    assert_eq!(delivered, raised[0]);
    assert_eq!(delivered.level, AlertLevel::Yellow);
    assert_eq!(monitor.andon().stats().yellow, 1);
    drop(monitor);
    let ledger = Arc::try_unwrap(collector)
        .ok()
        .unwrap()
        .into_ledger()
        .unwrap();
    let records: Vec<AlertRecord> = (0..ledger.size())
        .map(|i| ledger.read_entry(i).unwrap().payload)
        .filter(|p| AlertRecord::is_alert_record(p))
        .map(|p| AlertRecord::from_bytes(&p).unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].kind, "provenance_anomaly");
    assert_eq!(records[0].details["graph"], 77);
    assert_eq!(
        records[0].details["cluster"],
        match raised[0].kind {
            AlertKind::ProvenanceAnomaly { cluster, .. } => cluster,
            _ => usize::MAX,
        }
    );
}

#[test]
fn an_edge_before_the_baseline_is_refused() {
    let mut monitor =
        StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
    let edge = pipeline(&mut Rng::new(1), 5, None).edges[0];
    let error = monitor.observe(&edge).err();
    assert!(
        matches!(error, Some(MonitorError::BaselineNotFitted { graph: 5 })),
        "{error:?}"
    );
    assert!(matches!(
        monitor.fit_baseline(),
        Err(MonitorError::EmptyBaseline)
    ));
}

#[test]
fn every_out_of_range_setting_is_refused_by_name_with_what_it_accepts() {
    let base = ProvenanceAnomalySettings::default;
    let cases = [
        (
            ProvenanceAnomalySettings {
                sketch_width: 16_384,
                ..base()
            },
            "sketch_width",
            "16384",
            "a multiple of 64 in [64, 8192]",
        ),
        (
            ProvenanceAnomalySettings {
                chunk_length: 0,
                ..base()
            },
            "chunk_length",
            "0",
            "at least 1",
        ),
        (
            ProvenanceAnomalySettings {
                max_graphs: 0,
                ..base()
            },
            "max_graphs",
            "0",
            "at least 1",
        ),
        (
            ProvenanceAnomalySettings {
                node_slots: 3,
                ..base()
            },
            "node_slots",
            "3",
            "a power of two, at least 2",
        ),
        (
            ProvenanceAnomalySettings {
                node_slots: 1,
                ..base()
            },
            "node_slots",
            "1",
            "a power of two, at least 2",
        ),
        (
            ProvenanceAnomalySettings {
                clusters: 0,
                ..base()
            },
            "clusters",
            "0",
            "at least 1",
        ),
        (
            ProvenanceAnomalySettings {
                threshold_z: f64::NAN,
                ..base()
            },
            "threshold_z",
            "NaN",
            "a finite number >= 0",
        ),
        (
            ProvenanceAnomalySettings {
                threshold_z: -1.0,
                ..base()
            },
            "threshold_z",
            "-1",
            "a finite number >= 0",
        ),
        (
            ProvenanceAnomalySettings {
                min_threshold: 2.5,
                ..base()
            },
            "min_threshold",
            "2.5",
            "a distance in [0, 2]",
        ),
        (
            ProvenanceAnomalySettings {
                max_baseline_points: 0,
                ..base()
            },
            "max_baseline_points",
            "0",
            "at least 1",
        ),
    ];
    // The bounds themselves are taken: two node slots, one cluster, one baseline point.
    assert!(
        StreamingProvenanceMonitor::new(ProvenanceAnomalySettings {
            node_slots: 2,
            clusters: 1,
            max_baseline_points: 1,
            chunk_length: 1,
            max_graphs: 1,
            ..base()
        })
        .is_ok()
    );
    for (settings, field, shown, accepted) in cases {
        let error = StreamingProvenanceMonitor::new(settings).err();
        let described = error.as_ref().map(ToString::to_string);
        assert!(
            matches!(
                &error,
                Some(whyline_monitor::MonitorError::InvalidSetting { file: None, setting, value, expected })
                    if *setting == format!("provenance_anomaly.{field}") && value == shown && expected == accepted
            ),
            "{field}: {error:?}"
        );
        assert_eq!(
            described.as_deref(),
            Some(
                format!(
                    "invalid setting provenance_anomaly.{field} = {shown}: expected {accepted}"
                )
                .as_str()
            )
        );
    }
}

#[test]
fn a_baseline_is_shared_only_between_monitors_of_its_sketch_width() {
    let fitted = fitted_monitor();
    assert!(fitted.is_fitted());
    let baseline = fitted.baseline().unwrap();
    assert!(baseline.clusters() >= 1);
    assert_eq!(baseline.sketch_width(), 512);
    let fresh = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
    assert!(!fresh.is_fitted());
    assert!(fresh.baseline().is_none());
    assert!(format!("{fresh:?}").contains("fitted: false"));
    let shared = fresh.with_baseline(&baseline).unwrap();
    assert!(shared.is_fitted());
    assert_eq!(shared.settings().sketch_width, 512);
    let narrow = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings {
        sketch_width: 256,
        ..ProvenanceAnomalySettings::default()
    })
    .unwrap();
    let error = narrow.with_baseline(&baseline).err();
    assert_eq!(
        error.map(|e| e.to_string()).as_deref(),
        Some(
            "invalid setting provenance_anomaly.sketch_width = 256: expected 512 bits, the width of the baseline"
        )
    );
}

/// What the monitor reports about itself and about a graph while it streams: the baseline's
/// clusters, the edges seen of a graph, its score against every cluster (never worse than the
/// margin of the cluster its observation names), nothing for a graph never seen, and a
/// memory figure of the size the settings fix.
#[test]
fn the_accessors_report_the_clusters_a_graphs_edges_and_its_score() {
    let mut monitor = fitted_monitor();
    let settings = ProvenanceAnomalySettings::default();
    let clusters = monitor.baseline().unwrap().clusters();
    assert!(
        (2..=settings.clusters).contains(&clusters),
        "{clusters} clusters of at most {}",
        settings.clusters
    );
    let mut rng = Rng::new(23);
    let spec = pipeline(&mut rng, 3_000_000, Some(Attack::ModelSwapped));
    assert!(spec.edges.len() >= 3);
    assert_eq!(monitor.graph_edges(spec.id), None);
    assert_eq!(monitor.score(spec.id), None);
    let mut alerts = 0;
    for (i, edge) in spec.edges.iter().enumerate() {
        let observation = monitor.observe(edge).unwrap();
        alerts += u64::from(observation.alert.is_some());
        let seen = i as u64 + 1;
        assert_eq!(observation.edges, seen);
        assert_eq!(monitor.graph_edges(spec.id), Some(seen));
        let score = monitor.score(spec.id).expect("a tracked graph has a score");
        assert!(
            score <= observation.distance - observation.threshold + 1e-12,
            "edge {seen}: score {score} above the observed margin {}",
            observation.distance - observation.threshold
        );
    }
    assert_eq!(monitor.graph_edges(spec.id + 1), None);
    // Every edge observed is counted, and every alert raised.
    let stats = monitor.stats();
    assert_eq!(stats.edges_observed, spec.edges.len() as u64);
    assert_eq!(stats.alerts, alerts);
    assert_eq!(alerts, 1, "the swapped model is found, once");
    // Graph slots, node table, clusters and reservoir: megabytes at the defaults, not the
    // product of its parts.
    let bytes = monitor.memory_bytes();
    assert!(
        (64 << 10..64 << 20).contains(&bytes),
        "{bytes} bytes at the default settings"
    );
}

/// The memory figure counts the fitted clusters: the same stream fitted into more clusters
/// holds more medoid sketches.
#[test]
fn memory_counts_the_clusters_of_the_baseline() {
    let fitted = |clusters: usize| {
        let mut monitor = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings {
            clusters,
            ..ProvenanceAnomalySettings::default()
        })
        .unwrap();
        let mut warmup = Workload::new(1, 16, 0, 0.0, &[]);
        let mut finished = 0;
        while finished < 300 {
            let item = warmup.next_edge();
            monitor.learn(&item.edge).unwrap();
            finished += u32::from(item.last);
        }
        monitor.fit_baseline().unwrap();
        monitor
    };
    let (few, many) = (fitted(2), fitted(8));
    let (k_few, k_many) = (
        few.baseline().unwrap().clusters(),
        many.baseline().unwrap().clusters(),
    );
    assert!(k_many > k_few, "{k_few} and {k_many} clusters");
    let width_bytes = few.baseline().unwrap().sketch_width() / 8;
    assert!(
        many.memory_bytes() >= few.memory_bytes() + (k_many - k_few) * width_bytes,
        "{} bytes with {k_many} clusters, {} with {k_few}",
        many.memory_bytes(),
        few.memory_bytes()
    );
}
