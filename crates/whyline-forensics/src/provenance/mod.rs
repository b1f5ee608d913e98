//! Provenance graphs read back from a log, and the path from an incident back to its root
//! causes (seed spec §9.5, `reconstruct_attack_path`).
//!
//! [`ProvenanceGraph::read`] rebuilds the graph from the log's `WLPN`/`WLPE` entries and
//! checks it again ([`GraphCheck`]: every edge joins nodes recorded before it, cause before
//! effect), so a log written by anyone is refused by entry rather than misread. It also keeps
//! what the anomaly rules need about each decision an inference names: its confidence and
//! the alerts recorded about it.
//!
//! [`ProvenanceGraph::reconstruct_attack_path`] walks backwards from an incident node, breadth
//! first, up to a depth, and returns an [`AttackPath`]: the nodes in causal order (ledger
//! order, which is topological because every edge goes forward), the edges between them,
//! the time span, the root causes and the anomaly points ([`PathAnomaly`]).

mod anomaly;
mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use serde::Serialize;
use whyline_core::provenance::{
    GraphCheck, NodeDetail, NodeId, ProvenanceEdge, ProvenanceNode, ProvenanceRecord,
};
use whyline_core::{AlertRecord, AnyPath, DecisionPath, EntryKind, from_aprt};
use whyline_ledger::{LedgerReader, ReadStop, SegmentStore, Store};

pub use anomaly::{AnomalyThresholds, PathAnomaly, PathAnomalyKind};
pub use render::{render_dot, render_html, render_html_section, render_json, render_text};

use crate::error::{ForensicsError, Result};

/// What the log says about a decision an inference node names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionFacts {
    /// Ledger index of the decision's entry.
    pub index: u64,
    /// The decision's sequence number.
    pub sequence: u64,
    /// The model's output.
    pub output: f32,
    /// The decision path's confidence.
    pub confidence: f32,
    /// Alerts recorded about it (the entries that follow it and name its sequence).
    pub alerts: Vec<AlertRecord>,
}

/// A provenance graph read back from a log.
#[derive(Clone, Debug, Default)]
pub struct ProvenanceGraph {
    check: GraphCheck,
    nodes: BTreeMap<NodeId, ProvenanceNode>,
    edges: Vec<ProvenanceEdge>,
    incoming: HashMap<NodeId, Vec<usize>>,
    decisions: HashMap<u64, DecisionFacts>,
    /// The latest decision entry of each sequence, so alerts find theirs.
    by_sequence: HashMap<u64, u64>,
    entries: u64,
    stopped: Option<ReadStop>,
}

/// A path from an incident back to its root causes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttackPath {
    /// The node the walk started from.
    pub incident: NodeId,
    /// The depth asked for (edges walked back at most).
    pub max_depth: usize,
    /// The nodes in causal order (root causes first, the incident last).
    pub nodes: Vec<PathNode>,
    /// The edges joining them, in log order.
    pub edges: Vec<ProvenanceEdge>,
    /// The earliest node time.
    pub start_ns: u64,
    /// The latest node time.
    pub end_ns: u64,
    /// `end_ns - start_ns`.
    pub duration_ns: u64,
    /// Nodes with no cause in the graph: where the chain starts.
    pub root_causes: Vec<NodeId>,
    /// Whether the depth limit cut the walk (some node at the limit has causes not shown).
    pub truncated: bool,
    /// Positions in `nodes` of the nodes with an anomaly.
    pub anomaly_indices: Vec<usize>,
    /// The anomalies, in path order.
    pub anomalies: Vec<PathAnomaly>,
}

/// One node of an [`AttackPath`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathNode {
    /// Its id (ledger index).
    pub id: NodeId,
    /// Edges between it and the incident (0 for the incident).
    pub depth: usize,
    /// The node as recorded.
    pub node: ProvenanceNode,
    /// For an inference: what the log says about its decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionFacts>,
}

impl ProvenanceGraph {
    /// Reads the provenance graph of the ledger in `dir`, changing nothing there: a
    /// directory that holds no ledger (or none at all) is
    /// [`LedgerError::NotALedger`](whyline_ledger::LedgerError::NotALedger).
    pub fn read_dir(dir: &Path) -> Result<ProvenanceGraph> {
        let store = SegmentStore::open_read_only(dir)?;
        ProvenanceGraph::read(&store)
    }

    /// Reads the provenance graph of `store`, streaming the log once.
    pub fn read<S: Store + ?Sized>(store: &S) -> Result<ProvenanceGraph> {
        let reader = LedgerReader::new(store)?;
        let mut graph = ProvenanceGraph::default();
        let stopped = reader.for_each_entry(|entry| graph.push(entry.index, entry.payload))?;
        graph.stopped = stopped;
        Ok(graph)
    }

    /// Takes the log's next entry (in log order): provenance records are checked and kept,
    /// decisions and alerts remembered for the anomaly rules, the rest skipped.
    pub fn push(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        self.entries = self.entries.max(index + 1);
        let bad = |source| ForensicsError::BadProvenance {
            index,
            detail: format!("{source}"),
        };
        match EntryKind::of(payload) {
            EntryKind::ProvenanceNode | EntryKind::ProvenanceEdge => {
                match ProvenanceRecord::from_bytes(payload).map_err(bad)? {
                    ProvenanceRecord::Node(node) => {
                        let id = NodeId(index);
                        self.check.add_node(id, &node).map_err(bad_graph(index))?;
                        if let NodeDetail::Inference { decision_index, .. } = &node.detail
                            && !self.decisions.contains_key(decision_index)
                        {
                            return Err(bad_graph(index)(
                                whyline_core::provenance::ProvenanceError::NotADecision {
                                    node: id,
                                    decision_index: *decision_index,
                                    found: None,
                                },
                            ));
                        }
                        self.nodes.insert(id, node);
                    }
                    ProvenanceRecord::Edge(edge) => {
                        self.check
                            .add_edge(index, &edge)
                            .map_err(bad_graph(index))?;
                        self.incoming
                            .entry(edge.to)
                            .or_default()
                            .push(self.edges.len());
                        self.edges.push(edge);
                    }
                }
            }
            EntryKind::Decision => {
                let trace = from_aprt::<AnyPath>(payload).map_err(bad)?;
                self.by_sequence.insert(trace.sequence, index);
                self.decisions.insert(
                    index,
                    DecisionFacts {
                        index,
                        sequence: trace.sequence,
                        output: trace.output,
                        confidence: trace.path.confidence(),
                        alerts: Vec::new(),
                    },
                );
            }
            EntryKind::Alert => {
                let alert = AlertRecord::from_bytes(payload).map_err(bad)?;
                if let Some(decision) = self
                    .by_sequence
                    .get(&alert.sequence)
                    .and_then(|at| self.decisions.get_mut(at))
                {
                    decision.alerts.push(alert);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Entries read.
    pub fn entries_read(&self) -> u64 {
        self.entries
    }

    /// Where reading stopped early (a torn tail, damage), if it did.
    pub fn stopped(&self) -> Option<&ReadStop> {
        self.stopped.as_ref()
    }

    /// The nodes, by id.
    pub fn nodes(&self) -> &BTreeMap<NodeId, ProvenanceNode> {
        &self.nodes
    }

    /// The edges, in log order.
    pub fn edges(&self) -> &[ProvenanceEdge] {
        &self.edges
    }

    /// The latest inference node that names the decision at ledger index `decision_index`.
    pub fn node_for_decision(&self, decision_index: u64) -> Option<NodeId> {
        self.nodes
            .iter()
            .rev()
            .find(|(_, node)| {
                matches!(node.detail, NodeDetail::Inference { decision_index: d, .. } if d == decision_index)
            })
            .map(|(id, _)| *id)
    }

    /// The incident node for `--node ID` or `--decision INDEX`, with errors that say what
    /// the log holds.
    pub fn resolve(&self, node: Option<u64>, decision: Option<u64>) -> Result<NodeId> {
        if self.nodes.is_empty() {
            return Err(ForensicsError::NoProvenance {
                entries: self.entries,
            });
        }
        match (node, decision) {
            (Some(id), _) => {
                let id = NodeId(id);
                if self.nodes.contains_key(&id) {
                    Ok(id)
                } else {
                    Err(ForensicsError::UnknownNode {
                        id: id.0,
                        nodes: self.nodes.len(),
                        first: self.nodes.keys().next().map_or(0, |n| n.0),
                        last: self.nodes.keys().next_back().map_or(0, |n| n.0),
                    })
                }
            }
            (None, Some(index)) => {
                self.node_for_decision(index)
                    .ok_or(ForensicsError::NoNodeForDecision {
                        index,
                        is_decision: self.decisions.contains_key(&index),
                    })
            }
            (None, None) => Err(ForensicsError::NoNodeForDecision {
                index: 0,
                is_decision: false,
            }),
        }
    }

    /// Walks back from `incident` to its root causes, at most `max_depth` edges (at least
    /// 1), and marks the anomalies by `thresholds`.
    pub fn reconstruct_attack_path(
        &self,
        incident: NodeId,
        max_depth: usize,
        thresholds: &AnomalyThresholds,
    ) -> Result<AttackPath> {
        if max_depth == 0 {
            return Err(ForensicsError::ZeroDepth);
        }
        // An unknown incident is refused with what the log holds.
        self.resolve(Some(incident.0), None)?;
        let mut depth_of: BTreeMap<NodeId, usize> = BTreeMap::new();
        depth_of.insert(incident, 0);
        let mut queue = VecDeque::from([incident]);
        let mut truncated = false;
        while let Some(id) = queue.pop_front() {
            let depth = depth_of.get(&id).copied().unwrap_or(0);
            for &edge in self.incoming.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
                let Some(edge) = self.edges.get(edge) else {
                    continue;
                };
                if depth == max_depth {
                    truncated |= !depth_of.contains_key(&edge.from);
                    continue;
                }
                if let std::collections::btree_map::Entry::Vacant(slot) = depth_of.entry(edge.from)
                {
                    slot.insert(depth + 1);
                    queue.push_back(edge.from);
                }
            }
        }
        let kept: BTreeSet<NodeId> = depth_of.keys().copied().collect();
        let edges: Vec<ProvenanceEdge> = self
            .edges
            .iter()
            .filter(|e| kept.contains(&e.from) && kept.contains(&e.to))
            .copied()
            .collect();
        let nodes: Vec<PathNode> = depth_of
            .iter()
            .filter_map(|(id, depth)| {
                let node = self.nodes.get(id)?.clone();
                let decision = match &node.detail {
                    NodeDetail::Inference { decision_index, .. } => {
                        self.decisions.get(decision_index).cloned()
                    }
                    _ => None,
                };
                Some(PathNode {
                    id: *id,
                    depth: *depth,
                    node,
                    decision,
                })
            })
            .collect();
        let root_causes = nodes
            .iter()
            .filter(|n| self.incoming.get(&n.id).is_none_or(Vec::is_empty))
            .map(|n| n.id)
            .collect();
        let start_ns = nodes.iter().map(|n| n.node.timestamp_ns).min().unwrap_or(0);
        let end_ns = nodes.iter().map(|n| n.node.timestamp_ns).max().unwrap_or(0);
        let mut path = AttackPath {
            incident,
            max_depth,
            nodes,
            edges,
            start_ns,
            end_ns,
            duration_ns: end_ns.saturating_sub(start_ns),
            root_causes,
            truncated,
            anomaly_indices: Vec::new(),
            anomalies: Vec::new(),
        };
        path.anomalies = anomaly::identify(&path, thresholds);
        path.anomaly_indices = path
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| path.anomalies.iter().any(|a| a.node == n.id))
            .map(|(i, _)| i)
            .collect();
        Ok(path)
    }
}

fn bad_graph(index: u64) -> impl Fn(whyline_core::provenance::ProvenanceError) -> ForensicsError {
    move |source| ForensicsError::BadProvenance {
        index,
        detail: source.to_string(),
    }
}
