//! The attack path: causal order, depths, facts, roots, anomalies and the depth limit.

use whyline_core::provenance::{NodeId, NodeKind};
use whyline_forensics::provenance::{AnomalyThresholds, PathAnomalyKind, render_text};

use crate::support::{MS, T0, full_path, pipeline};

#[test]
fn the_graph_reads_back_with_its_nodes_edges_and_decisions() {
    let (graph, ids) = pipeline();
    assert_eq!(graph.nodes().len(), 7);
    assert_eq!(graph.edges().len(), 6);
    // 2 decisions, 2 alerts, 7 nodes, 6 edges.
    assert_eq!(graph.entries_read(), 17);
    assert!(graph.stopped().is_none());
    assert_eq!(graph.nodes()[&ids.crop].kind(), NodeKind::Transform);
    assert_eq!(
        graph.node_for_decision(ids.planner_decision),
        Some(ids.planner)
    );
    assert_eq!(
        graph.node_for_decision(ids.perception_decision),
        Some(ids.perception)
    );
    assert_eq!(graph.node_for_decision(ids.camera.0), None);
    assert_eq!(graph.resolve(Some(ids.fused.0), None).unwrap(), ids.fused);
    assert_eq!(
        graph.resolve(None, Some(ids.planner_decision)).unwrap(),
        ids.planner
    );
    // --node wins over --decision.
    assert_eq!(
        graph
            .resolve(Some(ids.lidar.0), Some(ids.planner_decision))
            .unwrap(),
        ids.lidar
    );
}

#[test]
fn the_attack_path_lists_causes_first_with_depths_facts_span_and_roots() {
    let (path, ids) = full_path();
    let order: Vec<NodeId> = path.nodes.iter().map(|n| n.id).collect();
    assert_eq!(
        order,
        vec![
            ids.camera,
            ids.lidar,
            ids.crop,
            ids.perception,
            ids.fused,
            ids.planner,
            ids.brake
        ]
    );
    let depths: Vec<usize> = path.nodes.iter().map(|n| n.depth).collect();
    assert_eq!(depths, vec![5, 3, 4, 3, 2, 1, 0]);
    assert_eq!(path.incident, ids.brake);
    assert_eq!(path.max_depth, 10);
    assert_eq!(path.edges.len(), 6);
    assert_eq!(path.root_causes, vec![ids.camera, ids.lidar]);
    assert!(!path.truncated);
    assert_eq!((path.start_ns, path.end_ns), (T0, T0 + 12 * MS));
    assert_eq!(path.duration_ns, 12 * MS);
    let planner = &path.nodes[5];
    let facts = planner.decision.as_ref().unwrap();
    assert_eq!(facts.index, ids.planner_decision);
    assert_eq!(facts.sequence, 1);
    assert_eq!(facts.output, 1.0);
    assert_eq!(facts.confidence, 0.55);
    assert_eq!(facts.alerts.len(), 1, "only the alert naming its sequence");
    assert_eq!(facts.alerts[0].kind, "out_of_distribution");
    assert!(path.nodes[0].decision.is_none(), "an input has no decision");
}

#[test]
fn every_anomaly_kind_is_marked_on_its_node_in_path_order() {
    let (path, ids) = full_path();
    let found: Vec<(NodeId, PathAnomalyKind, &str)> = path
        .anomalies
        .iter()
        .map(|a| (a.node, a.kind, a.message.as_str()))
        .collect();
    let alert = format!(
        "red alert out_of_distribution on decision {}: feature[0] = 99 (z = 7.50)",
        ids.planner_decision
    );
    let feeds = format!(
        "feeds decision {} (node {}), found out of distribution: feature[0] = 99 (z = 7.50)",
        ids.planner_decision, ids.planner
    );
    let fell = format!(
        "confidence fell from 0.95 (node {}) to 0.55",
        ids.perception
    );
    assert_eq!(
        found,
        vec![
            (ids.camera, PathAnomalyKind::OutOfDistributionInput, &*feeds),
            (ids.lidar, PathAnomalyKind::OutOfDistributionInput, &*feeds),
            (
                ids.planner,
                PathAnomalyKind::LowConfidence,
                "decision confidence 0.55 is below 0.60"
            ),
            (ids.planner, PathAnomalyKind::FallingConfidence, &*fell),
            (ids.planner, PathAnomalyKind::Alert, &*alert),
            (
                ids.brake,
                PathAnomalyKind::LowConfidence,
                "action confidence 0.55 is below 0.60"
            ),
            (ids.brake, PathAnomalyKind::FallingConfidence, &*fell),
        ]
    );
    // Positions in `nodes`: camera, lidar, planner, action.
    assert_eq!(path.anomaly_indices, vec![0, 1, 5, 6]);
}

#[test]
fn thresholds_decide_what_is_low_and_what_fell() {
    let (graph, ids) = pipeline();
    let lenient = AnomalyThresholds {
        low_confidence: 0.5,
        confidence_drop: 0.5,
    };
    let path = graph
        .reconstruct_attack_path(ids.brake, 10, &lenient)
        .unwrap();
    let kinds: Vec<PathAnomalyKind> = path.anomalies.iter().map(|a| a.kind).collect();
    // 0.55 is not below 0.5 and 0.95 - 0.55 is under 0.5: only the alert and its inputs.
    assert_eq!(
        kinds,
        vec![
            PathAnomalyKind::OutOfDistributionInput,
            PathAnomalyKind::OutOfDistributionInput,
            PathAnomalyKind::Alert
        ]
    );
    // From the perception alone nothing is anomalous.
    let quiet = graph
        .reconstruct_attack_path(ids.perception, 10, &AnomalyThresholds::default())
        .unwrap();
    assert!(quiet.anomalies.is_empty(), "{:?}", quiet.anomalies);
    assert!(quiet.anomaly_indices.is_empty());
    assert_eq!(quiet.root_causes, vec![ids.camera]);
    assert!(render_text(&quiet).contains("\nAnomalies: none\n"));
}

#[test]
fn a_depth_limit_cuts_the_walk_and_says_so() {
    let (graph, ids) = pipeline();
    let path = graph
        .reconstruct_attack_path(ids.brake, 2, &AnomalyThresholds::default())
        .unwrap();
    let order: Vec<NodeId> = path.nodes.iter().map(|n| n.id).collect();
    assert_eq!(order, vec![ids.fused, ids.planner, ids.brake]);
    assert!(path.truncated);
    assert_eq!(path.edges.len(), 2, "only edges between kept nodes");
    // The fusion has causes in the graph, cut off here: it is no root cause.
    assert!(path.root_causes.is_empty(), "{:?}", path.root_causes);
    let text = render_text(&path);
    assert!(
        text.starts_with(&format!(
            "Provenance of node {} (3 nodes, 2 edges, depth <= 2; cut at the depth limit, --depth N shows more)\n",
            ids.brake
        )),
        "{text}"
    );
    // Depth 1 from a root cause: nothing to cut.
    let root = graph
        .reconstruct_attack_path(ids.camera, 1, &AnomalyThresholds::default())
        .unwrap();
    assert_eq!(root.nodes.len(), 1);
    assert!(!root.truncated);
    assert_eq!(root.duration_ns, 0);
}
