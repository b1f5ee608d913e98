//! `ProvenanceRecorder`: a pipeline recorded into the ledger reads back as the same graph,
//! bad references append nothing, and random call sequences never leave a cycle or a
//! dangling edge, with reconstruction in causal order.

use proptest::prelude::*;
use whyline::core::LinearPath;
use whyline::core::provenance::{EdgeKind, NodeId, NodeKind, ProvenanceError};
use whyline::forensics::provenance::{AnomalyThresholds, ProvenanceGraph};
use whyline::ledger::{LedgerOptions, MemoryStore};
use whyline::{DecisionTrace, LedgerCollector, ProvenanceRecorder, WhylineError};

fn ledger() -> LedgerCollector<MemoryStore> {
    LedgerCollector::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints("provenance-test"),
    )
    .unwrap()
    .0
}

fn decide(ledger: &LedgerCollector<MemoryStore>, sequence: u64, confidence: f32) -> u64 {
    let trace = DecisionTrace {
        timestamp_ns: 1_000 + sequence,
        sequence,
        input_hash: sequence,
        output: confidence,
        latency_ns: 10,
        path: LinearPath {
            contributions: vec![confidence],
            intercept: 0.0,
            logit: confidence,
            prediction: confidence,
            probability: Some(confidence),
        },
    };
    ledger.append(&trace).unwrap().index
}

fn graph_of(ledger: LedgerCollector<MemoryStore>) -> ProvenanceGraph {
    let store = ledger.into_ledger().unwrap().into_store().unwrap();
    ProvenanceGraph::read(&store).unwrap()
}

fn clock() -> u64 {
    1_700_000_000_000_000_000
}

#[test]
fn a_pipeline_reads_back_as_recorded_in_causal_order() {
    let ledger = ledger();
    let perception_decision = decide(&ledger, 0, 0.95);
    let planner_decision = decide(&ledger, 1, 0.55);
    let mut graph = ProvenanceRecorder::new(&ledger);
    graph.set_time(Some(clock()));
    let camera = graph.input("camera_front", 11).unwrap();
    let lidar = graph.input("lidar", 12).unwrap();
    let crop = graph.transform("crop", &[camera]).unwrap();
    let perception = graph
        .inference_named("perception", "3", perception_decision, &[crop])
        .unwrap();
    let fused = graph.fusion("kalman", &[perception, lidar]).unwrap();
    let planner = graph
        .inference_named("planner", "1", planner_decision, &[fused])
        .unwrap();
    let brake = graph
        .action(
            "EMERGENCY_BRAKE",
            0.55,
            &[("STEER_LEFT".into(), 0.45)],
            &[planner],
        )
        .unwrap();
    let read = graph_of(ledger);
    assert_eq!(read.nodes().len(), 7);
    assert_eq!(read.edges().len(), 6);
    assert_eq!(read.node_for_decision(planner_decision), Some(planner));

    let path = read
        .reconstruct_attack_path(brake, 10, &AnomalyThresholds::default())
        .unwrap();
    let ids: Vec<NodeId> = path.nodes.iter().map(|n| n.id).collect();
    assert_eq!(
        ids,
        vec![camera, lidar, crop, perception, fused, planner, brake]
    );
    assert_eq!(path.root_causes, vec![camera, lidar]);
    assert!(!path.truncated);
    // The planner's decision and the action are below 0.6, and both fell from the
    // perception's 0.95.
    let marked: Vec<(NodeId, &str)> = path
        .anomalies
        .iter()
        .map(|a| (a.node, a.message.as_str()))
        .collect();
    assert_eq!(marked.len(), 4, "{marked:?}");
    assert!(marked.iter().all(|(id, _)| *id == planner || *id == brake));
    assert!(marked.iter().any(|(_, m)| m.contains("fell from 0.95")));

    // Depth 2 from the action stops at the fusion, and says the walk was cut.
    let short = read
        .reconstruct_attack_path(brake, 2, &AnomalyThresholds::default())
        .unwrap();
    let ids: Vec<NodeId> = short.nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids, vec![fused, planner, brake]);
    assert!(short.truncated);
}

#[test]
fn bad_references_are_refused_by_name_and_append_nothing() {
    let ledger = ledger();
    let decision = decide(&ledger, 0, 0.9);
    let mut graph = ProvenanceRecorder::new(&ledger);
    let camera = graph.input("camera", 1).unwrap();
    let crop = graph.transform("crop", &[camera]).unwrap();
    let size = |l: &LedgerCollector<MemoryStore>| l.with_ledger(|l| l.size()).unwrap();
    let before = size(&ledger);

    let unknown = graph.transform("blur", &[NodeId(99)]).unwrap_err();
    assert!(matches!(
        unknown,
        WhylineError::Provenance(ProvenanceError::UnknownNode { id: NodeId(99), .. })
    ));
    // A decision entry is not a node.
    assert!(graph.transform("blur", &[NodeId(decision)]).is_err());
    let cycle = graph.edge(crop, camera, EdgeKind::DataFlow).unwrap_err();
    assert!(matches!(
        cycle,
        WhylineError::Provenance(ProvenanceError::BackwardEdge { .. })
    ));
    assert!(graph.edge(crop, crop, EdgeKind::DataFlow).is_err());
    let not_decision = graph.inference_named("m", "1", camera.0, &[]).unwrap_err();
    assert!(
        not_decision.to_string().contains("is not a decision"),
        "{not_decision}"
    );
    assert!(graph.inference_named("m", "1", 1_000, &[]).is_err());
    assert!(graph.action("BRAKE", 1.5, &[], &[]).is_err());
    assert_eq!(size(&ledger), before, "refusals append nothing");

    // A second recorder over the same log learns the first one's nodes from the log.
    let mut again = ProvenanceRecorder::new(&ledger);
    let edge = again.edge(camera, crop, EdgeKind::Influenced).unwrap();
    assert_eq!(
        (edge.from_kind, edge.to_kind),
        (NodeKind::Input, NodeKind::Transform)
    );
    let read = graph_of(ledger);
    assert_eq!(read.edges().len(), 2);
}

#[test]
fn a_graph_can_only_be_recorded_into_a_ledger() {
    let settings = whyline::MonitorSettings::from_toml(
        "[inference_monitor]\nintegrity_level = \"QM\"\ncollector = \"ring\"\n",
        std::path::Path::new("ring.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let recorder: whyline::Recorder =
        whyline::Recorder::from_settings(&settings, dir.path()).unwrap();
    let refused = ProvenanceRecorder::for_collector(recorder.collector()).unwrap_err();
    assert!(matches!(refused, WhylineError::NeedsLedger { .. }));
}

#[derive(Clone, Debug)]
enum Op {
    Input,
    Decision(f32),
    Transform(Vec<u64>),
    Inference(u64, Vec<u64>),
    Fusion(Vec<u64>),
    Action(f32, Vec<u64>),
    Edge(u64, u64, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let refs = || prop::collection::vec(0u64..48, 0..3);
    prop_oneof![
        Just(Op::Input),
        (0.0f32..1.0).prop_map(Op::Decision),
        refs().prop_map(Op::Transform),
        (0u64..48, refs()).prop_map(|(d, r)| Op::Inference(d, r)),
        refs().prop_map(Op::Fusion),
        (0.0f32..1.0, refs()).prop_map(|(c, r)| Op::Action(c, r)),
        (0u64..48, 0u64..48, 0usize..4).prop_map(|(a, b, k)| Op::Edge(a, b, k)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the calls, what the recorder accepts is exactly what the rules allow (nodes
    /// that exist, cause before effect), the log reads back without a dangling or backward
    /// edge, and every reconstruction lists causes before their effects.
    #[test]
    fn random_recorder_calls_never_make_a_cycle_or_a_dangling_edge(ops in prop::collection::vec(op(), 1..40)) {
        let ledger = ledger();
        let mut nodes: Vec<u64> = Vec::new();
        let mut decisions: Vec<u64> = Vec::new();
        let mut recorder = ProvenanceRecorder::new(&ledger);
        recorder.set_time(Some(clock()));
        let mut sequence = 0;
        for op in ops {
            let size = ledger.with_ledger(|l| l.size()).unwrap();
            let known = |refs: &[u64]| refs.iter().all(|r| nodes.contains(r));
            let (result, expected_ok) = match &op {
                Op::Input => (recorder.input("sensor", 1).map(|id| id.0), true),
                Op::Decision(c) => {
                    sequence += 1;
                    decisions.push(decide(&ledger, sequence, *c));
                    continue;
                }
                Op::Transform(refs) => (
                    recorder.transform("t", &ids(refs)).map(|id| id.0),
                    known(refs),
                ),
                Op::Inference(d, refs) => (
                    recorder.inference_named("m", "1", *d, &ids(refs)).map(|id| id.0),
                    known(refs) && decisions.contains(d),
                ),
                Op::Fusion(refs) => (recorder.fusion("f", &ids(refs)).map(|id| id.0), known(refs)),
                Op::Action(c, refs) => (
                    recorder.action("a", *c, &[], &ids(refs)).map(|id| id.0),
                    known(refs),
                ),
                Op::Edge(a, b, k) => (
                    recorder
                        .edge(NodeId(*a), NodeId(*b), EdgeKind::ALL[*k])
                        .map(|e| e.to.0),
                    nodes.contains(a) && nodes.contains(b) && a < b,
                ),
            };
            prop_assert_eq!(result.is_ok(), expected_ok, "{:?}: {:?}", op, result);
            match result {
                Ok(id) if !matches!(op, Op::Edge(..)) => nodes.push(id),
                Ok(_) => {}
                Err(e) => {
                    prop_assert!(matches!(e, WhylineError::Provenance(_)), "{e}");
                    prop_assert_eq!(ledger.with_ledger(|l| l.size()).unwrap(), size);
                }
            }
        }
        drop(recorder);
        let graph = graph_of(ledger);
        let read: Vec<u64> = graph.nodes().keys().map(|id| id.0).collect();
        prop_assert_eq!(&read, &nodes);
        for edge in graph.edges() {
            prop_assert!(edge.from < edge.to);
            prop_assert!(graph.nodes().contains_key(&edge.from) && graph.nodes().contains_key(&edge.to));
        }
        for &incident in &nodes {
            let path = graph
                .reconstruct_attack_path(NodeId(incident), 64, &AnomalyThresholds::default())
                .unwrap();
            prop_assert_eq!(path.nodes.last().map(|n| n.id), Some(NodeId(incident)));
            let position = |id: NodeId| path.nodes.iter().position(|n| n.id == id);
            for edge in &path.edges {
                prop_assert!(position(edge.from) < position(edge.to), "{:?}", edge);
            }
            // Every node of the path reaches the incident: it is an ancestor or the incident.
            for node in &path.nodes {
                prop_assert!(node.id == path.incident || path.edges.iter().any(|e| e.from == node.id));
            }
        }
    }
}

fn ids(refs: &[u64]) -> Vec<NodeId> {
    refs.iter().copied().map(NodeId).collect()
}

/// What `whyline provenance` prints, from the same path: the text lists the causal order with
/// the root causes and the incident marked and every anomaly; the JSON is the path; the DOT
/// graph has one node per path node and one edge per path edge; the HTML page escapes names.
#[test]
fn an_attack_path_renders_as_text_json_dot_and_html() {
    use whyline::forensics::provenance::{render_dot, render_html, render_json, render_text};

    let ledger = ledger();
    let decision = decide(&ledger, 0, 0.4);
    let mut graph = ProvenanceRecorder::new(&ledger);
    graph.set_time(Some(clock()));
    let camera = graph.input("camera <front>", 11).unwrap();
    let detector = graph
        .inference_named("detector", "2", decision, &[camera])
        .unwrap();
    let brake = graph
        .action("BRAKE", 0.4, &[("GO".into(), 0.35)], &[detector])
        .unwrap();
    let read = graph_of(ledger);
    let path = read
        .reconstruct_attack_path(brake, 10, &AnomalyThresholds::default())
        .unwrap();
    assert_eq!(path.nodes.len(), 3);
    assert!(!path.anomalies.is_empty(), "a 0.4 decision is an anomaly");

    let text = render_text(&path);
    assert!(
        text.starts_with(&format!(
            "Provenance of node {brake} (3 nodes, 2 edges, depth <= 10)"
        )),
        "{text}"
    );
    let order: Vec<usize> = [camera, detector, brake]
        .iter()
        .map(|id| text.find(&format!("{id:>6}  +")).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "causal order\n{text}"
    );
    assert!(
        text.contains("[root cause]") && text.contains("[incident]"),
        "{text}"
    );
    for anomaly in &path.anomalies {
        assert!(
            text.contains(&format!("! node {}: {}", anomaly.node, anomaly.message)),
            "{text}"
        );
    }
    assert!(
        text.ends_with(&format!("Root causes: {camera}\n")),
        "{text}"
    );

    let json: serde_json::Value = serde_json::from_str(&render_json(&path).unwrap()).unwrap();
    assert_eq!(json["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(json["truncated"], serde_json::Value::Bool(false));

    let dot = render_dot(&path);
    assert!(dot.starts_with("digraph provenance {") && dot.trim_end().ends_with('}'));
    let edges = dot
        .lines()
        .filter(|line| line.starts_with("  n") && line.contains(" -> n"))
        .count();
    assert_eq!(edges, 2, "{dot}");
    assert!(
        dot.contains(&format!("  n{camera} -> n{detector} [label=")),
        "{dot}"
    );
    for id in [camera, detector, brake] {
        assert!(dot.contains(&format!("  n{id} [")), "{dot}");
    }

    let html = render_html(&path);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("camera &lt;front&gt;") && !html.contains("camera <front>"));
}

/// A recorder over a profile's ledger records an inference named by the model's identity
/// (type, version and SHA-256), knows the kinds of the nodes it met, and says so in `Debug`.
#[test]
fn an_inference_of_a_recorded_model_carries_its_identity() {
    let settings = whyline::MonitorSettings::from_toml(
        "[inference_monitor]\ncollector = \"ledger\"\n",
        std::path::Path::new("ledger.toml"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let recorder: whyline::Recorder =
        whyline::Recorder::from_settings(&settings, dir.path()).unwrap();
    let collector = recorder.collector();
    let trace = DecisionTrace {
        timestamp_ns: clock(),
        sequence: 0,
        input_hash: 0,
        output: 1.0,
        latency_ns: 10,
        path: whyline::AnyPath::Linear(LinearPath {
            contributions: vec![0.5],
            intercept: 0.0,
            logit: 0.5,
            prediction: 1.0,
            probability: Some(0.7),
        }),
    };
    let decision = match whyline::TraceCollector::record(collector, &trace).unwrap() {
        whyline::RecordOutcome::Appended { index, .. } => index,
        other => panic!("{other:?}"),
    };
    let model = whyline::core::ModelIdentity::from_bytes(b"model bytes", "gradient_boosting", "4");
    let mut graph = ProvenanceRecorder::for_collector(collector).unwrap();
    graph.set_time(Some(clock()));
    let camera = graph.input("camera", 9).unwrap();
    assert_eq!(graph.kind_of(camera), Some(NodeKind::Input));
    assert_eq!(
        graph.kind_of(NodeId(decision)),
        None,
        "a decision is no node"
    );
    let inference = graph.inference(&model, decision, &[camera]).unwrap();
    assert_eq!(graph.kind_of(inference), Some(NodeKind::Inference));
    let shown = format!("{graph:?}");
    assert!(
        shown.starts_with("ProvenanceRecorder { nodes_known: 2"),
        "{shown}"
    );
    drop(graph);
    whyline::TraceCollector::flush(collector).unwrap();
    drop(recorder);

    let read = ProvenanceGraph::read_dir(dir.path()).unwrap();
    let node = &read.nodes()[&inference];
    assert_eq!(
        node.detail,
        whyline::core::provenance::NodeDetail::Inference {
            model_id: "gradient_boosting".into(),
            model_version: "4".into(),
            decision_index: decision,
            model_sha256: Some(model.sha256.clone()),
        }
    );
    assert_eq!(read.edges()[0].kind, EdgeKind::Triggered);
}
