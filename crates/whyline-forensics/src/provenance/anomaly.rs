//! The anomaly points of an attack path: low confidence, confidence falling along the chain,
//! alerts recorded about the decisions involved, and inputs of decisions the monitor found
//! out of distribution.

use std::collections::HashMap;

use serde::Serialize;
use whyline_core::provenance::{NodeDetail, NodeId, NodeKind};

use super::AttackPath;

/// When a confidence is an anomaly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AnomalyThresholds {
    /// Inference or action confidence below this is low (default 0.6).
    pub low_confidence: f32,
    /// A confidence at least this far below the highest confidence upstream of it is
    /// falling (default 0.2).
    pub confidence_drop: f32,
}

impl Default for AnomalyThresholds {
    fn default() -> Self {
        AnomalyThresholds {
            low_confidence: 0.6,
            confidence_drop: 0.2,
        }
    }
}

/// What kind of anomaly a node shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathAnomalyKind {
    /// An inference's decision or an action with confidence below the threshold.
    LowConfidence,
    /// Confidence fell along the chain: well below a confidence upstream of it.
    FallingConfidence,
    /// The monitor recorded an alert about the inference's decision.
    Alert,
    /// An input feeding a decision the monitor found out of distribution.
    OutOfDistributionInput,
}

/// One anomaly point of a path.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathAnomaly {
    /// The node.
    pub node: NodeId,
    /// What kind.
    pub kind: PathAnomalyKind,
    /// What, for people.
    pub message: String,
}

/// The node's confidence: an action's own, an inference's decision's.
fn confidence(node: &super::PathNode) -> Option<f32> {
    match &node.node.detail {
        NodeDetail::Action { confidence, .. } => Some(*confidence),
        NodeDetail::Inference { .. } => node.decision.as_ref().map(|d| d.confidence),
        _ => None,
    }
}

pub(super) fn identify(path: &AttackPath, thresholds: &AnomalyThresholds) -> Vec<PathAnomaly> {
    let mut found = Vec::new();
    let mut causes: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for edge in &path.edges {
        causes.entry(edge.to).or_default().push(edge.from);
    }
    // Highest confidence upstream of each node, with the node that had it; nodes are in
    // causal order, so every cause is settled before its effects.
    let mut upstream: HashMap<NodeId, (f32, NodeId)> = HashMap::new();
    let mut own: HashMap<NodeId, f32> = HashMap::new();
    for node in &path.nodes {
        let mut best: Option<(f32, NodeId)> = None;
        for cause in causes.get(&node.id).map(Vec::as_slice).unwrap_or(&[]) {
            for candidate in [
                own.get(cause).map(|c| (*c, *cause)),
                upstream.get(cause).copied(),
            ]
            .into_iter()
            .flatten()
            {
                if best.is_none_or(|(b, _)| candidate.0 > b) {
                    best = Some(candidate);
                }
            }
        }
        if let Some(best) = best {
            upstream.insert(node.id, best);
        }
        let Some(c) = confidence(node) else {
            continue;
        };
        own.insert(node.id, c);
        let what = if node.node.kind() == NodeKind::Action {
            "action"
        } else {
            "decision"
        };
        if c < thresholds.low_confidence {
            found.push(PathAnomaly {
                node: node.id,
                kind: PathAnomalyKind::LowConfidence,
                message: format!(
                    "{what} confidence {c:.2} is below {:.2}",
                    thresholds.low_confidence
                ),
            });
        }
        if let Some((up, at)) = best
            && up - c >= thresholds.confidence_drop
        {
            found.push(PathAnomaly {
                node: node.id,
                kind: PathAnomalyKind::FallingConfidence,
                message: format!("confidence fell from {up:.2} (node {at}) to {c:.2}"),
            });
        }
    }
    for node in &path.nodes {
        let Some(decision) = &node.decision else {
            continue;
        };
        for alert in &decision.alerts {
            found.push(PathAnomaly {
                node: node.id,
                kind: PathAnomalyKind::Alert,
                message: format!(
                    "{} alert {} on decision {}: {}",
                    alert.level, alert.kind, decision.index, alert.message
                ),
            });
            if alert.kind == "out_of_distribution" {
                for input in ancestors(node.id, &causes)
                    .into_iter()
                    .filter(|id| kind_of(path, *id) == Some(NodeKind::Input))
                {
                    found.push(PathAnomaly {
                        node: input,
                        kind: PathAnomalyKind::OutOfDistributionInput,
                        message: format!(
                            "feeds decision {} (node {}), found out of distribution: {}",
                            decision.index, node.id, alert.message
                        ),
                    });
                }
            }
        }
    }
    let order: HashMap<NodeId, usize> = path
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id, i))
        .collect();
    found.sort_by_key(|a| order.get(&a.node).copied().unwrap_or(usize::MAX));
    found
}

fn kind_of(path: &AttackPath, id: NodeId) -> Option<NodeKind> {
    path.nodes
        .iter()
        .find(|n| n.id == id)
        .map(|n| n.node.kind())
}

fn ancestors(from: NodeId, causes: &HashMap<NodeId, Vec<NodeId>>) -> Vec<NodeId> {
    let mut seen = Vec::new();
    let mut stack = vec![from];
    while let Some(id) = stack.pop() {
        for cause in causes.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
            if !seen.contains(cause) {
                seen.push(*cause);
                stack.push(*cause);
            }
        }
    }
    seen.sort();
    seen
}
