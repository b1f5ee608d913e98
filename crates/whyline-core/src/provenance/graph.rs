//! [`GraphCheck`]: the rules that keep a provenance graph a DAG whose every reference
//! resolves, applied by the writer before it appends and by the reader again.

use std::collections::HashMap;

use super::types::{EdgeKind, NodeDetail, NodeId, NodeKind, ProvenanceEdge, ProvenanceNode};

/// Why a node or an edge cannot join a provenance graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// An edge names a node that is not in the log (or not yet).
    #[error(
        "no provenance node {id} to use as the edge's {role}: an edge may only join nodes already in the log (node ids are the ledger indices of node entries)"
    )]
    UnknownNode {
        /// The id named.
        id: NodeId,
        /// `"cause"` (`from`) or `"effect"` (`to`).
        role: &'static str,
    },
    /// An edge goes from a node to itself or to a node recorded before its cause: a cycle
    /// could only be closed by such an edge, so none is accepted.
    #[error(
        "edge {from} -> {to} refused: a cause must be recorded before its effect (from < to), which is what keeps the graph free of cycles"
    )]
    BackwardEdge {
        /// The cause named.
        from: NodeId,
        /// The effect named.
        to: NodeId,
    },
    /// An edge repeats a node kind that is not the recorded node's.
    #[error("edge says node {id} is {claimed}, but it was recorded as {recorded}")]
    KindMismatch {
        /// The node.
        id: NodeId,
        /// Its recorded kind.
        recorded: NodeKind,
        /// The kind the edge claims.
        claimed: NodeKind,
    },
    /// An inference node names a decision that is not an earlier entry of the log.
    #[error(
        "inference node {node} names decision {decision_index}, which is not a decision recorded before it{}",
        found.as_deref().map(|f| format!(" (entry {decision_index} is {f})")).unwrap_or_default()
    )]
    NotADecision {
        /// The node (its would-be index when refused at record time).
        node: NodeId,
        /// The decision index named.
        decision_index: u64,
        /// What the entry is, when it exists.
        found: Option<String>,
    },
    /// An action's confidence or an alternative's score is not a number in `[0, 1]`.
    #[error("action node {node}: {what} {value} is not in [0, 1]")]
    InvalidScore {
        /// The node.
        node: NodeId,
        /// `"confidence"` or `"alternative <name>"`.
        what: String,
        /// The value.
        value: f32,
    },
    /// Records were offered out of log order.
    #[error("provenance entry {index} offered after entry {last}: entries must come in log order")]
    OutOfOrder {
        /// The entry offered.
        index: u64,
        /// The last entry accepted.
        last: u64,
    },
}

/// The nodes of one log's provenance graph, by id, and the rules for adding to it.
#[derive(Clone, Debug, Default)]
pub struct GraphCheck {
    kinds: HashMap<NodeId, NodeKind>,
    last: Option<u64>,
    edges: u64,
}

impl GraphCheck {
    /// An empty graph.
    pub fn new() -> Self {
        GraphCheck::default()
    }

    /// The kind of node `id`, when it is in the graph.
    pub fn kind_of(&self, id: NodeId) -> Option<NodeKind> {
        self.kinds.get(&id).copied()
    }

    /// Nodes accepted.
    pub fn node_count(&self) -> usize {
        self.kinds.len()
    }

    /// Edges accepted.
    pub fn edge_count(&self) -> u64 {
        self.edges
    }

    /// Adds node `id` of `kind` read back from the log, where it was checked when written
    /// (a writer that continues a log learns its earlier nodes this way, in any order).
    pub fn remember(&mut self, id: NodeId, kind: NodeKind) {
        self.kinds.insert(id, kind);
    }

    /// Checks `node` as the entry at `id` (its ledger index): entries in log order, an
    /// inference's decision before it, an action's scores in `[0, 1]`. Does not add it.
    pub fn check_node(&self, id: NodeId, node: &ProvenanceNode) -> Result<(), ProvenanceError> {
        self.check_order(id.0)?;
        match &node.detail {
            NodeDetail::Inference { decision_index, .. } if *decision_index >= id.0 => {
                Err(ProvenanceError::NotADecision {
                    node: id,
                    decision_index: *decision_index,
                    found: None,
                })
            }
            NodeDetail::Action {
                confidence,
                alternatives,
                ..
            } => {
                check_score(id, "confidence", *confidence)?;
                for (name, score) in alternatives {
                    check_score(id, &format!("alternative {name}"), *score)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Checks and adds `node`, recorded at ledger index `id`.
    pub fn add_node(&mut self, id: NodeId, node: &ProvenanceNode) -> Result<(), ProvenanceError> {
        self.check_node(id, node)?;
        self.kinds.insert(id, node.kind());
        self.last = Some(id.0);
        Ok(())
    }

    /// The edge `from → to` of `kind` at `timestamp_ns`, with both kinds filled in from the
    /// graph, checked ([`check_edge`](Self::check_edge)).
    pub fn edge(
        &self,
        from: NodeId,
        to: NodeId,
        kind: EdgeKind,
        timestamp_ns: u64,
    ) -> Result<ProvenanceEdge, ProvenanceError> {
        let from_kind = self.known(from, "cause")?;
        let to_kind = self.known(to, "effect")?;
        let edge = ProvenanceEdge {
            from,
            to,
            kind,
            from_kind,
            to_kind,
            timestamp_ns,
        };
        self.check_edge(&edge)?;
        Ok(edge)
    }

    /// Checks `edge`: both ends are nodes of the graph, with the kinds the edge repeats, and
    /// the cause comes first in the log.
    pub fn check_edge(&self, edge: &ProvenanceEdge) -> Result<(), ProvenanceError> {
        for (id, claimed, role) in [
            (edge.from, edge.from_kind, "cause"),
            (edge.to, edge.to_kind, "effect"),
        ] {
            let recorded = self.known(id, role)?;
            if recorded != claimed {
                return Err(ProvenanceError::KindMismatch {
                    id,
                    recorded,
                    claimed,
                });
            }
        }
        if edge.from >= edge.to {
            return Err(ProvenanceError::BackwardEdge {
                from: edge.from,
                to: edge.to,
            });
        }
        Ok(())
    }

    /// Checks and adds `edge`, recorded at ledger index `index`.
    pub fn add_edge(&mut self, index: u64, edge: &ProvenanceEdge) -> Result<(), ProvenanceError> {
        self.check_order(index)?;
        self.check_edge(edge)?;
        self.last = Some(index);
        self.edges += 1;
        Ok(())
    }

    fn known(&self, id: NodeId, role: &'static str) -> Result<NodeKind, ProvenanceError> {
        self.kind_of(id)
            .ok_or(ProvenanceError::UnknownNode { id, role })
    }

    fn check_order(&self, index: u64) -> Result<(), ProvenanceError> {
        match self.last {
            Some(last) if index <= last => Err(ProvenanceError::OutOfOrder { index, last }),
            _ => Ok(()),
        }
    }
}

fn check_score(node: NodeId, what: &str, value: f32) -> Result<(), ProvenanceError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ProvenanceError::InvalidScore {
            node,
            what: what.to_owned(),
            value,
        })
    }
}
