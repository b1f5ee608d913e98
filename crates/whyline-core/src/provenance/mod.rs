//! Provenance graphs: how a decision came from its inputs through transforms, models and
//! fusion to an action, kept in the log as chained entries (seed spec §9.5).
//!
//! A graph is two kinds of ledger entry. A **node** ([`ProvenanceNode`], magic `WLPN`) is an
//! input, a transform, a model inference (naming the decision's ledger index), a fusion or an
//! action; its [`NodeId`] is the ledger index of its entry. An **edge** ([`ProvenanceEdge`],
//! magic `WLPE`) links a cause to an effect with an [`EdgeKind`], and repeats both ends'
//! [`NodeKind`]s so a stream consumer sees a typed edge without a lookup.
//!
//! # A DAG by construction
//!
//! An edge may only join nodes already in the log, and only forwards: its cause was recorded
//! before its effect (`from < to`). Every edge therefore goes from a smaller ledger index to a
//! larger one, so no sequence of edges can come back to where it started, and the ledger
//! order is a topological order. [`GraphCheck`] enforces the rules, for the writer before it
//! appends and for the reader again when it rebuilds a graph from a log someone else wrote;
//! a violation is a typed [`ProvenanceError`].
//!
//! ```
//! use whyline_core::provenance::{EdgeKind, GraphCheck, NodeDetail, NodeId, ProvenanceNode};
//!
//! let mut graph = GraphCheck::new();
//! let camera = ProvenanceNode::new(10, NodeDetail::Input { source: "camera".into(), input_hash: 7 });
//! graph.add_node(NodeId(0), &camera)?;
//! let perception = ProvenanceNode::new(11, NodeDetail::Inference {
//!     model_id: "perception".into(), model_version: "1".into(), decision_index: 1, model_sha256: None });
//! graph.add_node(NodeId(2), &perception)?;
//! let edge = graph.edge(NodeId(0), NodeId(2), EdgeKind::Triggered, 12)?;
//! graph.add_edge(3, &edge)?;
//! // Backwards (effect before cause) is how a cycle would close: refused.
//! assert!(graph.edge(NodeId(2), NodeId(0), EdgeKind::DataFlow, 13).is_err());
//! # Ok::<(), whyline_core::provenance::ProvenanceError>(())
//! ```

mod graph;
mod record;
mod types;

pub use graph::{GraphCheck, ProvenanceError};
pub use record::{
    PROVENANCE_EDGE_MAGIC, PROVENANCE_NODE_MAGIC, ProvenanceRecord, is_provenance_record,
};
pub use types::{EdgeKind, NodeDetail, NodeId, NodeKind, ProvenanceEdge, ProvenanceNode};
