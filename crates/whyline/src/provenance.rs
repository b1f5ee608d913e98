//! [`ProvenanceRecorder`]: records a provenance graph (inputs → transforms → models →
//! fusion → actions) into the same ledger as the decisions, so the graph shares their hash
//! chain, Merkle tree and signed checkpoints.

use whyline_core::provenance::{
    EdgeKind, GraphCheck, NodeDetail, NodeId, NodeKind, ProvenanceEdge, ProvenanceError,
    ProvenanceNode,
};
use whyline_core::{EntryKind, ModelIdentity, now_ns};
use whyline_ledger::{Ledger, LedgerCollector, SegmentStore, Store};

use crate::collector::RecorderCollector;
use crate::error::{Result, WhylineError};

/// Records provenance nodes and edges into a ledger, each as one chained entry.
///
/// Every node method returns the new node's [`NodeId`] (the ledger index of its entry) and
/// takes the nodes it comes from, writing one edge from each (a [`transform`](Self::transform)
/// or [`fusion`](Self::fusion) gets [`EdgeKind::DataFlow`] edges, an
/// [`inference`](Self::inference) [`EdgeKind::Triggered`], an [`action`](Self::action)
/// [`EdgeKind::Caused`]); [`edge`](Self::edge) adds any other link. Every reference is checked
/// under the ledger lock before anything is appended: a node id that is not a node of the log
/// ([`ProvenanceError::UnknownNode`]), an edge whose cause is not recorded before its effect
/// ([`ProvenanceError::BackwardEdge`], which is how a cycle would close), an inference naming
/// an entry that is not a decision ([`ProvenanceError::NotADecision`]). The graph is
/// therefore a DAG by construction.
///
/// A node and its edges are separate entries: a crash between them leaves the node with
/// fewer edges, never an edge to a missing node.
///
/// ```
/// use whyline::core::provenance::{EdgeKind, NodeKind};
/// use whyline::ledger::{LedgerCollector, LedgerOptions, MemoryStore};
/// use whyline::core::LinearPath;
/// use whyline::{DecisionTrace, ProvenanceRecorder};
/// let (ledger, _) = LedgerCollector::open(MemoryStore::new(), LedgerOptions::without_checkpoints("demo"))?;
/// let trace = DecisionTrace { timestamp_ns: 1, sequence: 0, input_hash: 7, output: 0.9,
///     latency_ns: 10, path: LinearPath { contributions: vec![0.9], intercept: 0.0,
///     logit: 0.9, prediction: 0.9, probability: None } };
/// let decision = ledger.append(&trace)?.index;
///
/// let mut graph = ProvenanceRecorder::new(&ledger);
/// let camera = graph.input("camera_front", 7)?;
/// let perception = graph.inference_named("perception", "3", decision, &[camera])?;
/// let brake = graph.action("EMERGENCY_BRAKE", 0.9, &[("STEER_LEFT".into(), 0.1)], &[perception])?;
/// assert!(camera < perception && perception < brake);
/// // Backwards is refused: the graph stays acyclic.
/// assert!(graph.edge(brake, camera, EdgeKind::Influenced).is_err());
/// assert_eq!(graph.kind_of(brake), Some(NodeKind::Action));
/// # Ok::<(), whyline::WhylineError>(())
/// ```
pub struct ProvenanceRecorder<'a, S: Store + 'static = SegmentStore> {
    ledger: &'a LedgerCollector<S>,
    graph: GraphCheck,
    time: Option<u64>,
}

impl<S: Store + 'static> std::fmt::Debug for ProvenanceRecorder<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvenanceRecorder")
            .field("nodes_known", &self.graph.node_count())
            .finish_non_exhaustive()
    }
}

impl<'a> ProvenanceRecorder<'a, Box<dyn Store>> {
    /// A recorder over the ledger of a [`RecorderCollector`] (a profile's collector, or a
    /// monitor's: `monitor.collector()`); [`WhylineError::NeedsLedger`] for a ring or stream.
    pub fn for_collector<P>(collector: &'a RecorderCollector<P>) -> Result<Self> {
        let ledger = collector.as_ledger().ok_or(WhylineError::NeedsLedger {
            operation: "provenance recording",
            found: collector.kind(),
        })?;
        Ok(ProvenanceRecorder::new(ledger))
    }
}

impl<'a, S: Store + 'static> ProvenanceRecorder<'a, S> {
    /// A recorder appending to `ledger`. Nodes already in the log are found when first named.
    pub fn new(ledger: &'a LedgerCollector<S>) -> Self {
        ProvenanceRecorder {
            ledger,
            graph: GraphCheck::new(),
            time: None,
        }
    }

    /// Stamps the records that follow with `timestamp_ns` (a simulation's time, a sensor
    /// frame's capture time); `None` goes back to the system clock. Keep the log in time
    /// order (a time before an earlier entry's widens window proofs; `whyline verify` reports
    /// it): record a decision's inputs before the decision, with earlier times.
    pub fn set_time(&mut self, timestamp_ns: Option<u64>) {
        self.time = timestamp_ns;
    }

    fn now(&self) -> u64 {
        self.time.unwrap_or_else(now_ns)
    }

    /// The kind of node `id`, when this recorder has recorded or met it.
    pub fn kind_of(&self, id: NodeId) -> Option<NodeKind> {
        self.graph.kind_of(id)
    }

    /// Records raw data from `source` (a sensor, a form) with its digest.
    pub fn input(&mut self, source: &str, input_hash: u64) -> Result<NodeId> {
        self.node_from(
            NodeDetail::Input {
                source: source.to_owned(),
                input_hash,
            },
            &[],
            EdgeKind::DataFlow,
        )
    }

    /// Records a preprocessing step applied to `inputs` (one `DataFlow` edge from each).
    pub fn transform(&mut self, operation: &str, inputs: &[NodeId]) -> Result<NodeId> {
        let detail = NodeDetail::Transform {
            operation: operation.to_owned(),
        };
        self.node_from(detail, inputs, EdgeKind::DataFlow)
    }

    /// Records the decision of `model` at ledger index `decision_index` (an APRT entry
    /// already in the log), triggered by `inputs` (one `Triggered` edge from each).
    pub fn inference(
        &mut self,
        model: &ModelIdentity,
        decision_index: u64,
        inputs: &[NodeId],
    ) -> Result<NodeId> {
        let detail = NodeDetail::Inference {
            model_id: model.model_type.clone(),
            model_version: model.version.clone(),
            decision_index,
            model_sha256: Some(model.sha256.clone()),
        };
        self.node_from(detail, inputs, EdgeKind::Triggered)
    }

    /// [`inference`](Self::inference) for a model known by name and version only.
    pub fn inference_named(
        &mut self,
        model_id: &str,
        model_version: &str,
        decision_index: u64,
        inputs: &[NodeId],
    ) -> Result<NodeId> {
        let detail = NodeDetail::Inference {
            model_id: model_id.to_owned(),
            model_version: model_version.to_owned(),
            decision_index,
            model_sha256: None,
        };
        self.node_from(detail, inputs, EdgeKind::Triggered)
    }

    /// Records results of `inputs` combined by `strategy` (one `DataFlow` edge from each).
    pub fn fusion(&mut self, strategy: &str, inputs: &[NodeId]) -> Result<NodeId> {
        let detail = NodeDetail::Fusion {
            strategy: strategy.to_owned(),
        };
        self.node_from(detail, inputs, EdgeKind::DataFlow)
    }

    /// Records an action taken with `confidence` (in `[0, 1]`), the `alternatives` not taken
    /// with their scores, caused by `decided_by` (one `Caused` edge from each).
    pub fn action(
        &mut self,
        action_type: &str,
        confidence: f32,
        alternatives: &[(String, f32)],
        decided_by: &[NodeId],
    ) -> Result<NodeId> {
        let detail = NodeDetail::Action {
            action_type: action_type.to_owned(),
            confidence,
            alternatives: alternatives.to_vec(),
        };
        self.node_from(detail, decided_by, EdgeKind::Caused)
    }

    /// Records `node` as given (its own timestamp) and returns its id.
    pub fn node(&mut self, node: &ProvenanceNode) -> Result<NodeId> {
        let Self { ledger, graph, .. } = self;
        let id = ledger.append_checked(|ledger, index| {
            let id = NodeId(index);
            graph.check_node(id, node)?;
            if let NodeDetail::Inference { decision_index, .. } = &node.detail {
                check_decision(ledger, id, *decision_index)?;
            }
            Ok::<_, WhylineError>(node.to_bytes())
        })??;
        let id = NodeId(id.index);
        self.graph.add_node(id, node)?;
        Ok(id)
    }

    /// Records the edge `from → to` of `kind`: both must be nodes of the log, `from`
    /// recorded first. Returns the edge as recorded (with both ends' kinds).
    pub fn edge(&mut self, from: NodeId, to: NodeId, kind: EdgeKind) -> Result<ProvenanceEdge> {
        let timestamp_ns = self.now();
        let Self { ledger, graph, .. } = self;
        let mut recorded = None;
        let receipt = ledger.append_checked(|ledger, _| {
            for id in [from, to] {
                learn(graph, ledger, id)?;
            }
            let edge = graph.edge(from, to, kind, timestamp_ns)?;
            recorded = Some(edge);
            Ok::<_, WhylineError>(edge.to_bytes())
        })??;
        // `recorded` is set whenever the append went through.
        let edge = recorded.ok_or(ProvenanceError::UnknownNode {
            id: from,
            role: "cause",
        })?;
        self.graph.add_edge(receipt.index, &edge)?;
        Ok(edge)
    }

    fn node_from(&mut self, detail: NodeDetail, from: &[NodeId], kind: EdgeKind) -> Result<NodeId> {
        // Check every source before the node is written, so a bad id appends nothing.
        self.ledger.with_ledger(|ledger| {
            from.iter()
                .try_for_each(|&id| learn(&mut self.graph, ledger, id).map_err(WhylineError::from))
        })??;
        let id = self.node(&ProvenanceNode::new(self.now(), detail))?;
        for &source in from {
            self.edge(source, id, kind)?;
        }
        Ok(id)
    }
}

/// Makes sure the graph knows node `id`, reading it from the log when it was recorded by
/// someone else (or before this recorder).
fn learn<S: Store>(
    graph: &mut GraphCheck,
    ledger: &Ledger<S>,
    id: NodeId,
) -> std::result::Result<(), ProvenanceError> {
    if graph.kind_of(id).is_some() {
        return Ok(());
    }
    let unknown = ProvenanceError::UnknownNode { id, role: "source" };
    if id.0 >= ledger.size() {
        return Err(unknown);
    }
    let Ok(entry) = ledger.read_entry(id.0) else {
        return Err(unknown);
    };
    match ProvenanceNode::from_bytes(&entry.payload) {
        Ok(node) => {
            graph.remember(id, node.kind());
            Ok(())
        }
        Err(_) => Err(unknown),
    }
}

fn check_decision<S: Store>(
    ledger: &Ledger<S>,
    node: NodeId,
    decision_index: u64,
) -> std::result::Result<(), ProvenanceError> {
    let found = if decision_index >= ledger.size() {
        Some(format!("beyond the log's {} entries", ledger.size()))
    } else {
        match ledger.read_entry(decision_index) {
            Ok(entry) => match EntryKind::of(&entry.payload) {
                EntryKind::Decision => None,
                other => Some(format!("{other:?}")),
            },
            Err(e) => Some(format!("unreadable: {e}")),
        }
    };
    match found {
        None => Ok(()),
        Some(found) => Err(ProvenanceError::NotADecision {
            node,
            decision_index,
            found: Some(found),
        }),
    }
}
