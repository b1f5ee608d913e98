//! A provenance log written entry by entry, and the seed spec's pipeline in it.

use std::collections::HashMap;

use whyline_core::provenance::{
    EdgeKind, NodeDetail, NodeId, NodeKind, ProvenanceEdge, ProvenanceNode,
};
use whyline_core::{AlertRecord, DecisionTrace, LinearPath, to_aprt};
use whyline_forensics::provenance::{AnomalyThresholds, AttackPath, ProvenanceGraph};
use whyline_ledger::{Ledger, LedgerOptions, MemoryStore};

/// 2025-11-23T14:32:47Z.
pub(crate) const T0: u64 = 1_763_908_367_000_000_000;
pub(crate) const MS: u64 = 1_000_000;

/// A log being written, with the node kinds it holds so far (edges repeat them).
pub(crate) struct Log {
    pub(crate) ledger: Ledger<MemoryStore>,
    kinds: HashMap<NodeId, NodeKind>,
}

impl Log {
    pub(crate) fn new() -> Log {
        let options = LedgerOptions::without_checkpoints("test/provenance");
        Log {
            ledger: Ledger::open(MemoryStore::new(), options).unwrap().0,
            kinds: Default::default(),
        }
    }

    /// A decision of sequence `sequence` whose probability (its confidence) is `confidence`.
    pub(crate) fn decision(&mut self, sequence: u64, confidence: f32) -> u64 {
        let trace = DecisionTrace {
            timestamp_ns: T0 + sequence * MS,
            sequence,
            input_hash: sequence,
            output: 1.0,
            latency_ns: 10_000,
            path: LinearPath {
                contributions: vec![confidence],
                intercept: 0.0,
                logit: confidence,
                prediction: 1.0,
                probability: Some(confidence),
            },
        };
        self.ledger.append(&to_aprt(&trace)).unwrap().index
    }

    pub(crate) fn alert(&mut self, sequence: u64, kind: &str, message: &str) {
        let alert = AlertRecord {
            sequence,
            timestamp_ns: T0 + sequence * MS,
            level: "red".into(),
            kind: kind.into(),
            message: message.into(),
            details: serde_json::json!({}),
        };
        self.ledger.append(&alert.to_bytes()).unwrap();
    }

    /// A node at `T0 + ms` with edges of `kind` from each of `from`.
    pub(crate) fn node(
        &mut self,
        ms: u64,
        detail: NodeDetail,
        from: &[NodeId],
        kind: EdgeKind,
    ) -> NodeId {
        let node = ProvenanceNode::new(T0 + ms * MS, detail);
        let id = NodeId(self.ledger.append(&node.to_bytes()).unwrap().index);
        self.kinds.insert(id, node.kind());
        for &cause in from {
            self.edge(cause, id, kind);
        }
        id
    }

    pub(crate) fn edge(&mut self, from: NodeId, to: NodeId, kind: EdgeKind) {
        let edge = ProvenanceEdge {
            from,
            to,
            kind,
            from_kind: self.kinds[&from],
            to_kind: self.kinds[&to],
            timestamp_ns: T0,
        };
        self.ledger.append(&edge.to_bytes()).unwrap();
    }

    pub(crate) fn read(self) -> ProvenanceGraph {
        ProvenanceGraph::read(&self.ledger.into_store().unwrap()).unwrap()
    }
}

pub(crate) fn input(source: &str) -> NodeDetail {
    NodeDetail::Input {
        source: source.into(),
        input_hash: 0xabcd,
    }
}

pub(crate) fn inference(model_id: &str, version: &str, decision_index: u64) -> NodeDetail {
    NodeDetail::Inference {
        model_id: model_id.into(),
        model_version: version.into(),
        decision_index,
        model_sha256: None,
    }
}

/// The ids of the seed spec's pipeline: two sensors, a crop, a perception model, a fusion,
/// a planner and the action it caused.
pub(crate) struct Pipeline {
    pub(crate) camera: NodeId,
    pub(crate) lidar: NodeId,
    pub(crate) crop: NodeId,
    pub(crate) perception: NodeId,
    pub(crate) fused: NodeId,
    pub(crate) planner: NodeId,
    pub(crate) brake: NodeId,
    pub(crate) perception_decision: u64,
    pub(crate) planner_decision: u64,
}

/// The perception decides at 0.95, the planner at 0.55 with an out-of-distribution alert,
/// and the action brakes at 0.55 (steering left was 0.45).
pub(crate) fn pipeline() -> (ProvenanceGraph, Pipeline) {
    let mut log = Log::new();
    let perception_decision = log.decision(0, 0.95);
    let planner_decision = log.decision(1, 0.55);
    log.alert(1, "out_of_distribution", "feature[0] = 99 (z = 7.50)");
    log.alert(
        7,
        "drift",
        "an alert about no decision of the log is kept by none",
    );
    let camera = log.node(0, input("camera_front"), &[], EdgeKind::DataFlow);
    let lidar = log.node(1, input("lidar"), &[], EdgeKind::DataFlow);
    let crop = log.node(
        2,
        NodeDetail::Transform {
            operation: "crop".into(),
        },
        &[camera],
        EdgeKind::DataFlow,
    );
    let perception = log.node(
        5,
        inference("perception", "3", perception_decision),
        &[crop],
        EdgeKind::Triggered,
    );
    let fused = log.node(
        6,
        NodeDetail::Fusion {
            strategy: "kalman".into(),
        },
        &[perception, lidar],
        EdgeKind::DataFlow,
    );
    let planner = log.node(
        9,
        inference("planner", "", planner_decision),
        &[fused],
        EdgeKind::Influenced,
    );
    let brake = log.node(
        12,
        NodeDetail::Action {
            action_type: "EMERGENCY_BRAKE".into(),
            confidence: 0.55,
            alternatives: vec![("STEER_LEFT".into(), 0.45)],
        },
        &[planner],
        EdgeKind::Caused,
    );
    let ids = Pipeline {
        camera,
        lidar,
        crop,
        perception,
        fused,
        planner,
        brake,
        perception_decision,
        planner_decision,
    };
    (log.read(), ids)
}

pub(crate) fn full_path() -> (AttackPath, Pipeline) {
    let (graph, ids) = pipeline();
    let path = graph
        .reconstruct_attack_path(ids.brake, 10, &AnomalyThresholds::default())
        .unwrap();
    (path, ids)
}
