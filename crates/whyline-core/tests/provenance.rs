//! Provenance records: round trips, damage refused, and the graph rules (unknown nodes,
//! backward edges that could close a cycle, kind mismatches, decisions after their node).

use proptest::prelude::*;
use whyline_core::EntryKind;
use whyline_core::provenance::{
    EdgeKind, GraphCheck, NodeDetail, NodeId, NodeKind, ProvenanceEdge, ProvenanceError,
    ProvenanceNode, ProvenanceRecord,
};

fn detail() -> impl Strategy<Value = NodeDetail> {
    prop_oneof![
        (".{0,10}", any::<u64>())
            .prop_map(|(source, input_hash)| NodeDetail::Input { source, input_hash }),
        ".{0,10}".prop_map(|operation| NodeDetail::Transform { operation }),
        (
            ".{0,10}",
            ".{0,4}",
            any::<u64>(),
            prop::option::of("[0-9a-f]{64}")
        )
            .prop_map(|(model_id, model_version, decision_index, model_sha256)| {
                NodeDetail::Inference {
                    model_id,
                    model_version,
                    decision_index,
                    model_sha256,
                }
            }),
        ".{0,10}".prop_map(|strategy| NodeDetail::Fusion { strategy }),
        (
            ".{0,10}",
            0.0f32..=1.0,
            prop::collection::vec((".{0,6}", 0.0f32..=1.0), 0..3)
        )
            .prop_map(
                |(action_type, confidence, alternatives)| NodeDetail::Action {
                    action_type,
                    confidence,
                    alternatives,
                }
            ),
    ]
}

fn node_kind() -> impl Strategy<Value = NodeKind> {
    prop::sample::select(NodeKind::ALL.to_vec())
}

fn edge() -> impl Strategy<Value = ProvenanceEdge> {
    (
        any::<u64>(),
        any::<u64>(),
        prop::sample::select(EdgeKind::ALL.to_vec()),
        node_kind(),
        node_kind(),
        any::<u64>(),
    )
        .prop_map(
            |(from, to, kind, from_kind, to_kind, timestamp_ns)| ProvenanceEdge {
                from: NodeId(from),
                to: NodeId(to),
                kind,
                from_kind,
                to_kind,
                timestamp_ns,
            },
        )
}

/// Whether a flip of `was` into `now` may leave the JSON body's value as it was: both are
/// digits (a score's decimal text written to its shortest round trip can have a neighbour
/// with the same `f32`), both are the exponent letter (`e`, `E`), or the same hexadecimal
/// letter in the other case (the digits of a `\u001a` escape, which serde_json writes for
/// control characters, read the same as `\u001A`). Any other damage must be refused or
/// decode differently; the ledger's hashes catch every changed byte in any case.
fn same_number(was: u8, now: u8) -> bool {
    (was.is_ascii_digit() && now.is_ascii_digit())
        || (matches!(was, b'e' | b'E') && matches!(now, b'e' | b'E'))
        || (was.is_ascii_hexdigit() && was != now && was.eq_ignore_ascii_case(&now))
}

proptest! {
    #[test]
    fn a_node_record_round_trips_and_refuses_damage(
        ts in any::<u64>(), detail in detail(), at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let node = ProvenanceNode::new(ts, detail);
        let bytes = node.to_bytes();
        prop_assert_eq!(EntryKind::of(&bytes), EntryKind::ProvenanceNode);
        prop_assert!(EntryKind::of(&bytes).is_stamped() && EntryKind::of(&bytes).is_evidence());
        prop_assert_eq!(&ProvenanceNode::from_bytes(&bytes).unwrap(), &node);
        prop_assert_eq!(
            ProvenanceRecord::from_bytes(&bytes).unwrap(),
            ProvenanceRecord::Node(node.clone())
        );
        for len in 0..bytes.len() {
            prop_assert!(ProvenanceNode::from_bytes(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut flipped = bytes.clone();
        let at = at.index(bytes.len());
        flipped[at] ^= 1 << bit;
        if let Ok(back) = ProvenanceNode::from_bytes(&flipped) {
            prop_assert!(
                back != node || same_number(bytes[at], flipped[at]),
                "byte {} flipped, decoded as the same node", at
            );
        }
    }

    #[test]
    fn an_edge_record_round_trips_and_refuses_damage(
        edge in edge(), at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let bytes = edge.to_bytes();
        prop_assert_eq!(EntryKind::of(&bytes), EntryKind::ProvenanceEdge);
        prop_assert_eq!(ProvenanceEdge::from_bytes(&bytes).unwrap(), edge);
        prop_assert_eq!(ProvenanceRecord::from_bytes(&bytes).unwrap(), ProvenanceRecord::Edge(edge));
        prop_assert!(ProvenanceNode::from_bytes(&bytes).is_err());
        for len in 0..bytes.len() {
            prop_assert!(ProvenanceEdge::from_bytes(&bytes[..len]).is_err(), "cut at {len}");
        }
        let mut flipped = bytes.clone();
        let at = at.index(bytes.len());
        flipped[at] ^= 1 << bit;
        if let Ok(back) = ProvenanceEdge::from_bytes(&flipped) {
            prop_assert!(
                back != edge || same_number(bytes[at], flipped[at]),
                "byte {} flipped, decoded as the same edge", at
            );
        }
    }

    /// Random offers of nodes and edges: whatever is accepted joins known nodes forwards,
    /// so the accepted edges form a DAG whose log order is topological.
    #[test]
    fn accepted_edges_always_join_known_nodes_forwards(
        ops in prop::collection::vec((any::<bool>(), 0u64..40, 0u64..40), 1..80),
    ) {
        let mut graph = GraphCheck::new();
        let mut nodes = Vec::new();
        for (index, (is_node, a, b)) in (0u64..).zip(ops) {
            if is_node {
                let node = ProvenanceNode::new(index, NodeDetail::Transform { operation: "t".into() });
                graph.add_node(NodeId(index), &node).unwrap();
                nodes.push(index);
            } else {
                match graph.edge(NodeId(a), NodeId(b), EdgeKind::DataFlow, index) {
                    Ok(edge) => {
                        prop_assert!(nodes.contains(&a) && nodes.contains(&b) && a < b);
                        graph.add_edge(index, &edge).unwrap();
                    }
                    Err(ProvenanceError::UnknownNode { id, .. }) => {
                        prop_assert!(!nodes.contains(&id.0));
                    }
                    Err(ProvenanceError::BackwardEdge { from, to }) => {
                        prop_assert!(from >= to);
                    }
                    Err(other) => prop_assert!(false, "unexpected {other}"),
                }
            }
        }
    }
}

fn input(ts: u64) -> ProvenanceNode {
    ProvenanceNode::new(
        ts,
        NodeDetail::Input {
            source: "camera".into(),
            input_hash: 1,
        },
    )
}

#[test]
fn an_edge_to_an_unknown_or_earlier_node_is_refused_by_name() {
    let mut graph = GraphCheck::new();
    graph.add_node(NodeId(0), &input(1)).unwrap();
    graph.add_node(NodeId(1), &input(2)).unwrap();
    assert_eq!(
        graph.edge(NodeId(0), NodeId(9), EdgeKind::DataFlow, 3),
        Err(ProvenanceError::UnknownNode {
            id: NodeId(9),
            role: "effect"
        })
    );
    let back = graph.edge(NodeId(1), NodeId(0), EdgeKind::DataFlow, 3);
    assert_eq!(
        back,
        Err(ProvenanceError::BackwardEdge {
            from: NodeId(1),
            to: NodeId(0)
        })
    );
    let message = back.unwrap_err().to_string();
    assert!(message.contains("free of cycles"), "{message}");
    // The error names the nodes by their ledger indices, so the user can find them.
    assert!(message.starts_with("edge 1 -> 0 refused"), "{message}");
    let unknown = graph
        .edge(NodeId(0), NodeId(9), EdgeKind::DataFlow, 3)
        .unwrap_err()
        .to_string();
    assert!(
        unknown.starts_with("no provenance node 9 to use as the edge's effect"),
        "{unknown}"
    );
    assert_eq!(NodeId(1_234).to_string(), "1234");
    assert!(matches!(
        graph.edge(NodeId(1), NodeId(1), EdgeKind::DataFlow, 3),
        Err(ProvenanceError::BackwardEdge { .. })
    ));
    let edge = graph
        .edge(NodeId(0), NodeId(1), EdgeKind::DataFlow, 3)
        .unwrap();
    assert_eq!(
        (edge.from_kind, edge.to_kind),
        (NodeKind::Input, NodeKind::Input)
    );
    assert_eq!(
        graph.add_edge(1, &edge),
        Err(ProvenanceError::OutOfOrder { index: 1, last: 1 })
    );
    graph.add_edge(2, &edge).unwrap();
    assert_eq!(graph.edge_count(), 1);
}

#[test]
fn an_edge_that_lies_about_a_kind_is_refused() {
    let mut graph = GraphCheck::new();
    graph.add_node(NodeId(0), &input(1)).unwrap();
    graph.add_node(NodeId(1), &input(2)).unwrap();
    let mut edge = graph
        .edge(NodeId(0), NodeId(1), EdgeKind::Caused, 3)
        .unwrap();
    edge.to_kind = NodeKind::Action;
    assert_eq!(
        graph.check_edge(&edge),
        Err(ProvenanceError::KindMismatch {
            id: NodeId(1),
            recorded: NodeKind::Input,
            claimed: NodeKind::Action
        })
    );
}

#[test]
fn an_inference_must_name_an_earlier_decision_and_an_action_a_valid_confidence() {
    let graph = GraphCheck::new();
    let inference = |decision_index| {
        ProvenanceNode::new(
            5,
            NodeDetail::Inference {
                model_id: "planner".into(),
                model_version: "2".into(),
                decision_index,
                model_sha256: Some("ab".repeat(32)),
            },
        )
    };
    assert!(graph.check_node(NodeId(4), &inference(3)).is_ok());
    assert!(matches!(
        graph.check_node(NodeId(4), &inference(4)),
        Err(ProvenanceError::NotADecision {
            decision_index: 4,
            ..
        })
    ));
    let action = |confidence: f32| {
        ProvenanceNode::new(
            5,
            NodeDetail::Action {
                action_type: "BRAKE".into(),
                confidence,
                alternatives: vec![("STEER".into(), 0.2)],
            },
        )
    };
    assert!(graph.check_node(NodeId(0), &action(0.9)).is_ok());
    for bad in [f32::NAN, 1.5, -0.1] {
        assert!(matches!(
            graph.check_node(NodeId(0), &action(bad)),
            Err(ProvenanceError::InvalidScore { .. })
        ));
    }
}

#[test]
fn the_json_body_names_kinds_in_snake_case() {
    let edge = ProvenanceEdge {
        from: NodeId(3),
        to: NodeId(7),
        kind: EdgeKind::DataFlow,
        from_kind: NodeKind::Input,
        to_kind: NodeKind::Transform,
        timestamp_ns: 9,
    };
    let bytes = edge.to_bytes();
    assert_eq!(
        std::str::from_utf8(&bytes[16..]).unwrap(),
        r#"{"from":3,"to":7,"kind":"data_flow","from_kind":"input","to_kind":"transform","timestamp_ns":9}"#
    );
    assert_eq!(&bytes[8..16], &9u64.to_le_bytes());
}

#[test]
fn kinds_print_their_json_names_and_nodes_their_labels() {
    let node_names: Vec<String> = NodeKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        node_names,
        ["input", "transform", "inference", "fusion", "action"]
    );
    let edge_names: Vec<String> = EdgeKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        edge_names,
        ["data_flow", "triggered", "influenced", "caused"]
    );
    // The names are the serde names.
    for kind in NodeKind::ALL {
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            format!("\"{}\"", kind.name())
        );
    }
    for kind in EdgeKind::ALL {
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            format!("\"{}\"", kind.name())
        );
    }
    let details = [
        (
            NodeDetail::Input {
                source: "lidar".into(),
                input_hash: 7,
            },
            NodeKind::Input,
            "lidar",
        ),
        (
            NodeDetail::Transform {
                operation: "normalise".into(),
            },
            NodeKind::Transform,
            "normalise",
        ),
        (
            NodeDetail::Inference {
                model_id: "detector".into(),
                model_version: "3".into(),
                decision_index: 1,
                model_sha256: None,
            },
            NodeKind::Inference,
            "detector v3",
        ),
        (
            NodeDetail::Inference {
                model_id: "detector".into(),
                model_version: String::new(),
                decision_index: 1,
                model_sha256: None,
            },
            NodeKind::Inference,
            "detector",
        ),
        (
            NodeDetail::Fusion {
                strategy: "kalman".into(),
            },
            NodeKind::Fusion,
            "kalman",
        ),
        (
            NodeDetail::Action {
                action_type: "brake".into(),
                confidence: 0.9,
                alternatives: vec![("steer".into(), 0.1)],
            },
            NodeKind::Action,
            "brake",
        ),
    ];
    for (detail, kind, label) in details {
        assert_eq!(detail.kind(), kind);
        assert_eq!(detail.label(), label);
        assert_eq!(ProvenanceNode::new(1, detail).kind(), kind);
    }
}

#[test]
fn a_record_reads_back_by_its_magic_and_keeps_its_time() {
    let node = ProvenanceNode::new(
        11,
        NodeDetail::Transform {
            operation: "crop".into(),
        },
    );
    let edge = ProvenanceEdge {
        from: NodeId(1),
        to: NodeId(2),
        kind: EdgeKind::DataFlow,
        from_kind: NodeKind::Input,
        to_kind: NodeKind::Transform,
        timestamp_ns: 12,
    };
    for (record, time) in [
        (ProvenanceRecord::Node(node.clone()), 11),
        (ProvenanceRecord::Edge(edge), 12),
    ] {
        let bytes = record.to_bytes();
        assert!(whyline_core::provenance::is_provenance_record(&bytes));
        assert_eq!(record.timestamp_ns(), time);
        assert_eq!(ProvenanceRecord::from_bytes(&bytes).unwrap(), record);
    }
    assert!(!whyline_core::provenance::is_provenance_record(b"WLAL...."));
    assert!(!whyline_core::provenance::is_provenance_record(b"WL"));
    // An edge record read as a node is refused by its magic.
    assert!(ProvenanceNode::from_bytes(&edge.to_bytes()).is_err());
}

#[test]
fn a_graph_counts_what_it_accepted_and_remembers_nodes_read_back() {
    let mut graph = GraphCheck::new();
    assert_eq!((graph.node_count(), graph.edge_count()), (0, 0));
    assert_eq!(graph.kind_of(NodeId(4)), None);
    graph.remember(NodeId(4), NodeKind::Fusion);
    assert_eq!(graph.kind_of(NodeId(4)), Some(NodeKind::Fusion));
    assert_eq!(graph.node_count(), 1);
}
