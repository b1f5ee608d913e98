//! The node and edge types.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A node's identity: the ledger index of the entry that recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a node is, without its fields: what a stream consumer types its shingles by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// Raw sensor or request data.
    Input,
    /// A preprocessing step.
    Transform,
    /// A model's decision.
    Inference,
    /// Several results combined into one.
    Fusion,
    /// What the system did.
    Action,
}

impl NodeKind {
    /// Every kind, in declaration order.
    pub const ALL: [NodeKind; 5] = [
        NodeKind::Input,
        NodeKind::Transform,
        NodeKind::Inference,
        NodeKind::Fusion,
        NodeKind::Action,
    ];

    /// The kind's name in snake case, as in the JSON (`input`, `inference`, ...).
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Input => "input",
            NodeKind::Transform => "transform",
            NodeKind::Inference => "inference",
            NodeKind::Fusion => "fusion",
            NodeKind::Action => "action",
        }
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The causal relation an edge records, from cause to effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Data flowed from the source to the sink (input → transform → fusion).
    DataFlow,
    /// The source triggered an inference (input → model).
    Triggered,
    /// The source influenced a decision without being its data (context, a rule, a prior).
    Influenced,
    /// A decision caused an action.
    Caused,
}

impl EdgeKind {
    /// Every kind, in declaration order.
    pub const ALL: [EdgeKind; 4] = [
        EdgeKind::DataFlow,
        EdgeKind::Triggered,
        EdgeKind::Influenced,
        EdgeKind::Caused,
    ];

    /// The kind's name in snake case, as in the JSON (`data_flow`, `caused`, ...).
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::DataFlow => "data_flow",
            EdgeKind::Triggered => "triggered",
            EdgeKind::Influenced => "influenced",
            EdgeKind::Caused => "caused",
        }
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A node's own fields, by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeDetail {
    /// Raw sensor or request data.
    Input {
        /// Where it came from (`camera_front`, `lidar`, `loan_form`).
        source: String,
        /// Digest of the data (the input digest of the model record's algorithm, or any
        /// 64-bit digest the caller names in `source`).
        input_hash: u64,
    },
    /// A preprocessing step.
    Transform {
        /// What it did (`normalize`, `crop`, `feature_extract`).
        operation: String,
    },
    /// A model's decision.
    Inference {
        /// The model's name or id.
        model_id: String,
        /// Its version.
        model_version: String,
        /// Ledger index of the decision's APRT entry (recorded before this node).
        decision_index: u64,
        /// SHA-256 of the model file, lowercase hex, when known
        /// ([`ModelIdentity`](crate::ModelIdentity)`::sha256`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_sha256: Option<String>,
    },
    /// Several results combined.
    Fusion {
        /// How (`kalman`, `max_confidence`, `rules_override`).
        strategy: String,
    },
    /// What the system did.
    Action {
        /// The action (`EMERGENCY_BRAKE`, `approve`).
        action_type: String,
        /// Confidence in it, in `[0, 1]`.
        confidence: f32,
        /// The actions not taken, with their scores.
        alternatives: Vec<(String, f32)>,
    },
}

impl NodeDetail {
    /// The node's kind.
    pub fn kind(&self) -> NodeKind {
        match self {
            NodeDetail::Input { .. } => NodeKind::Input,
            NodeDetail::Transform { .. } => NodeKind::Transform,
            NodeDetail::Inference { .. } => NodeKind::Inference,
            NodeDetail::Fusion { .. } => NodeKind::Fusion,
            NodeDetail::Action { .. } => NodeKind::Action,
        }
    }

    /// A short label for people: the source, operation, model, strategy or action.
    pub fn label(&self) -> String {
        match self {
            NodeDetail::Input { source, .. } => source.clone(),
            NodeDetail::Transform { operation } => operation.clone(),
            NodeDetail::Inference {
                model_id,
                model_version,
                ..
            } if !model_version.is_empty() => format!("{model_id} v{model_version}"),
            NodeDetail::Inference { model_id, .. } => model_id.clone(),
            NodeDetail::Fusion { strategy } => strategy.clone(),
            NodeDetail::Action { action_type, .. } => action_type.clone(),
        }
    }
}

/// A node of a provenance graph, as the log keeps it. Its [`NodeId`] is its entry's index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceNode {
    /// When the node's event happened, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// Its kind and fields.
    #[serde(flatten)]
    pub detail: NodeDetail,
}

impl ProvenanceNode {
    /// A node of `detail` at `timestamp_ns`.
    pub fn new(timestamp_ns: u64, detail: NodeDetail) -> Self {
        ProvenanceNode {
            timestamp_ns,
            detail,
        }
    }

    /// The node's kind.
    pub fn kind(&self) -> NodeKind {
        self.detail.kind()
    }
}

/// A directed edge from a cause to its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenanceEdge {
    /// The cause (recorded before `to`).
    pub from: NodeId,
    /// The effect.
    pub to: NodeId,
    /// The relation.
    pub kind: EdgeKind,
    /// The cause's kind, repeated from its node so a stream consumer needs no lookup.
    pub from_kind: NodeKind,
    /// The effect's kind.
    pub to_kind: NodeKind,
    /// When the edge was recorded, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
}
