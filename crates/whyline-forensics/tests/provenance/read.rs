//! Reading a graph back: from a directory, up to a damaged tail, and the refusals of a
//! graph that breaks the rules or of a request the graph cannot answer.

use whyline_core::provenance::{
    EdgeKind, NodeDetail, NodeId, NodeKind, ProvenanceEdge, ProvenanceNode,
};
use whyline_core::{AlertRecord, DecisionTrace, LinearPath, to_aprt};
use whyline_forensics::ForensicsError;
use whyline_forensics::provenance::{AnomalyThresholds, ProvenanceGraph};
use whyline_ledger::{
    Durability, ENTRIES_FILE, Ledger, LedgerError, LedgerOptions, MemoryStore, SegmentStore,
};

use crate::support::{Log, T0, inference, input, pipeline};

#[test]
fn a_node_or_decision_the_graph_lacks_is_refused_with_what_the_log_holds() {
    let (graph, ids) = pipeline();
    let error = graph.resolve(Some(3), None).unwrap_err();
    assert!(
        matches!(error, ForensicsError::UnknownNode { id: 3, nodes: 7, first, last }
            if first == ids.camera.0 && last == ids.brake.0),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "no provenance node 3: node ids are ledger indices of node entries; this log has 7 nodes, from {} to {}",
            ids.camera.0, ids.brake.0
        )
    );
    // An unknown incident is refused the same way.
    let error = graph
        .reconstruct_attack_path(NodeId(999), 3, &AnomalyThresholds::default())
        .unwrap_err();
    assert!(
        matches!(error, ForensicsError::UnknownNode { id: 999, .. }),
        "{error:?}"
    );
    // A decision no node names, then an entry that is no decision at all.
    let mut log = Log::new();
    let named = log.decision(0, 0.9);
    let unnamed = log.decision(1, 0.9);
    log.node(0, inference("m", "1", named), &[], EdgeKind::DataFlow);
    let graph = log.read();
    let error = graph.resolve(None, Some(unnamed)).unwrap_err();
    assert!(
        matches!(error, ForensicsError::NoNodeForDecision { index, is_decision: true } if index == unnamed),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!("no provenance node names decision {unnamed}")
    );
    let error = graph.resolve(None, Some(2)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no provenance node names decision 2; entry 2 is not a decision of this log either"
    );
    // Neither a node nor a decision asked for.
    let error = graph.resolve(None, None).unwrap_err();
    assert!(
        matches!(
            error,
            ForensicsError::NoNodeForDecision {
                index: 0,
                is_decision: false
            }
        ),
        "{error:?}"
    );
    let error = graph
        .reconstruct_attack_path(NodeId(2), 0, &AnomalyThresholds::default())
        .unwrap_err();
    assert!(matches!(error, ForensicsError::ZeroDepth), "{error:?}");
    assert_eq!(
        error.to_string(),
        "--depth must be at least 1 (edges to walk back from the incident)"
    );
}

#[test]
fn a_log_without_provenance_says_so_with_its_entry_count() {
    let mut log = Log::new();
    log.decision(0, 0.9);
    log.decision(1, 0.8);
    let graph = log.read();
    assert!(graph.nodes().is_empty());
    assert_eq!(graph.entries_read(), 2);
    let error = graph.resolve(Some(0), None).unwrap_err();
    assert!(
        matches!(error, ForensicsError::NoProvenance { entries: 2 }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the log holds no provenance graph (2 entries, no provenance node"),
        "{error}"
    );
}

/// Reads a log whose entries are `payloads`, appended as they are (no rule checked).
fn read_raw(payloads: &[Vec<u8>]) -> Result<ProvenanceGraph, ForensicsError> {
    let options = LedgerOptions::without_checkpoints("test/raw");
    let mut ledger = Ledger::open(MemoryStore::new(), options).unwrap().0;
    for payload in payloads {
        ledger.append(payload).unwrap();
    }
    ProvenanceGraph::read(&ledger.into_store().unwrap())
}

fn bad_provenance(payloads: &[Vec<u8>]) -> (u64, String) {
    match read_raw(payloads) {
        Err(ForensicsError::BadProvenance { index, detail }) => (index, detail),
        other => panic!("expected BadProvenance, got {other:?}"),
    }
}

#[test]
fn a_log_that_breaks_the_graphs_rules_is_refused_by_entry() {
    let camera = ProvenanceNode::new(T0, input("camera")).to_bytes();
    let crop = ProvenanceNode::new(
        T0,
        NodeDetail::Transform {
            operation: "crop".into(),
        },
    )
    .to_bytes();
    let edge = |from: u64, to: u64, from_kind: NodeKind, to_kind: NodeKind| {
        ProvenanceEdge {
            from: NodeId(from),
            to: NodeId(to),
            kind: EdgeKind::DataFlow,
            from_kind,
            to_kind,
            timestamp_ns: T0,
        }
        .to_bytes()
    };
    // An edge to a node that is not in the log.
    let (index, detail) = bad_provenance(&[
        camera.clone(),
        edge(0, 5, NodeKind::Input, NodeKind::Transform),
    ]);
    assert_eq!(index, 1);
    assert!(
        detail.starts_with("no provenance node 5 to use as the edge's effect"),
        "{detail}"
    );
    // A backward edge, the only way a cycle could close.
    let (index, detail) = bad_provenance(&[
        camera.clone(),
        crop.clone(),
        edge(1, 0, NodeKind::Transform, NodeKind::Input),
    ]);
    assert_eq!(index, 2);
    assert!(detail.starts_with("edge 1 -> 0 refused"), "{detail}");
    // An edge that says a node is of another kind than recorded.
    let (index, detail) = bad_provenance(&[
        camera.clone(),
        crop,
        edge(0, 1, NodeKind::Fusion, NodeKind::Transform),
    ]);
    assert_eq!(index, 2);
    assert_eq!(
        detail,
        "edge says node 0 is fusion, but it was recorded as input"
    );
    // An inference naming an earlier entry that is a node, not a decision.
    let named_node = ProvenanceNode::new(T0, inference("m", "1", 0)).to_bytes();
    let (index, detail) = bad_provenance(&[camera, named_node]);
    assert_eq!(index, 1);
    assert_eq!(
        detail,
        "inference node 1 names decision 0, which is not a decision recorded before it"
    );
    // An action whose confidence is not a probability.
    let action = ProvenanceNode::new(
        T0,
        NodeDetail::Action {
            action_type: "go".into(),
            confidence: 1.5,
            alternatives: Vec::new(),
        },
    )
    .to_bytes();
    let (index, detail) = bad_provenance(&[action]);
    assert_eq!(index, 0);
    assert_eq!(detail, "action node 0: confidence 1.5 is not in [0, 1]");
}

#[test]
fn malformed_records_are_refused_by_entry_with_the_decoders_complaint() {
    let node = ProvenanceNode::new(T0, input("camera")).to_bytes();
    // A node record whose JSON is cut.
    let cut = node[..node.len() - 3].to_vec();
    let (index, detail) = bad_provenance(&[cut]);
    assert_eq!(index, 0);
    assert!(detail.contains("EOF while parsing"), "{detail}");
    // A decision that is not a whole APRT record.
    let mut log = Log::new();
    log.decision(0, 0.9);
    let aprt = log.ledger.read_entry(0).unwrap().payload;
    let (index, detail) = bad_provenance(&[node.clone(), aprt[..aprt.len() - 1].to_vec()]);
    assert_eq!(index, 1);
    assert!(!detail.is_empty());
    // An alert record that does not decode.
    let alert = AlertRecord {
        sequence: 0,
        timestamp_ns: T0,
        level: "red".into(),
        kind: "drift".into(),
        message: "m".into(),
        details: serde_json::json!({}),
    }
    .to_bytes();
    let (index, _) = bad_provenance(&[node.clone(), alert[..alert.len() - 2].to_vec()]);
    assert_eq!(index, 1);
    // Entries of other kinds (unknown bytes here) are skipped.
    let graph = read_raw(&[node, b"something else".to_vec()]).unwrap();
    assert_eq!(graph.nodes().len(), 1);
    assert_eq!(graph.entries_read(), 2);
}

#[test]
fn a_graph_is_read_from_a_ledger_directory_and_a_damaged_tail_is_where_reading_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let store = SegmentStore::open(dir.path()).unwrap();
    let options = LedgerOptions::without_checkpoints("test/dir").durability(Durability::None);
    let mut ledger = Ledger::open(store, options).unwrap().0;
    let trace = DecisionTrace {
        timestamp_ns: T0,
        sequence: 0,
        input_hash: 0,
        output: 1.0,
        latency_ns: 1,
        path: LinearPath {
            contributions: vec![0.1],
            intercept: 0.0,
            logit: 0.1,
            prediction: 1.0,
            probability: Some(0.8),
        },
    };
    let decision = ledger.append(&to_aprt(&trace)).unwrap().index;
    let node = ProvenanceNode::new(T0, inference("m", "1", decision));
    let id = NodeId(ledger.append(&node.to_bytes()).unwrap().index);
    ledger.commit().unwrap();
    drop(ledger);

    let graph = ProvenanceGraph::read_dir(dir.path()).unwrap();
    assert_eq!(graph.nodes().len(), 1);
    assert_eq!(graph.node_for_decision(decision), Some(id));
    assert!(graph.stopped().is_none());

    // Half a frame after the last entry: the graph holds what comes before it.
    let entries = dir.path().join(ENTRIES_FILE);
    let length = std::fs::metadata(&entries).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&entries)
        .unwrap();
    std::io::Write::write_all(&mut file, &[7, 0, 0, 0, 1, 2]).unwrap();
    drop(file);
    let graph = ProvenanceGraph::read_dir(dir.path()).unwrap();
    assert_eq!(graph.nodes().len(), 1);
    let stop = graph.stopped().expect("reading stopped at the torn tail");
    assert_eq!(stop.offset, length);
}

/// Reading is not writing: a directory that holds no ledger is refused as one, and
/// reading it creates nothing there (it used to create an empty ledger and then say the
/// log held no provenance graph).
#[test]
fn reading_a_directory_without_a_ledger_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let error = ProvenanceGraph::read_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            error,
            ForensicsError::Ledger(LedgerError::NotALedger { ref path, .. }) if path == dir.path()
        ),
        "{error:?}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing created"
    );
    let missing = dir.path().join("missing");
    assert!(matches!(
        ProvenanceGraph::read_dir(&missing),
        Err(ForensicsError::Ledger(LedgerError::NotALedger { .. }))
    ));
    assert!(!missing.exists(), "no directory created");
}
