//! The demo's pipeline as a provenance graph: for each decision of the last seconds before
//! the impact, the sensor inputs (camera, lidar, radar, the vehicle bus), perception, sensor
//! fusion, the planner's decision and the action taken, recorded into the same ledger as
//! the decisions (`whyline::ProvenanceRecorder`).

use whyline::RecordOutcome;
use whyline::core::digest::fnv1a_features;
use whyline::core::provenance::NodeId;
use whyline::{Decision, ModelInfo, ProvenanceRecorder, RecorderCollector};
use whyline_core::ModelIdentity;

use super::scenario::Frame;

/// Milliseconds before the impact from which each decision's pipeline is recorded.
pub(super) const PIPELINE_FROM_MS: i64 = -1_500;

/// How long before the decision the sensors captured its inputs, perception ran, and fusion
/// ran (a 50 ms frame budget).
const CAPTURE_NS: u64 = 30_000_000;
const PERCEPTION_NS: u64 = 20_000_000;
const FUSION_NS: u64 = 10_000_000;
/// How long after the decision the action is commanded.
const ACTUATION_NS: u64 = 2_000_000;

/// Records the frame's sensing before the decision (so the log stays in time order): the
/// four sensor inputs, perception and fusion. Returns the fusion node.
pub(super) fn sense<P>(
    collector: &RecorderCollector<P>,
    frame: &Frame,
    at_ns: u64,
) -> anyhow::Result<NodeId> {
    let [distance, closing, size, detection, lateral, ego] = frame.features;
    let mut graph = ProvenanceRecorder::for_collector(collector)?;
    graph.set_time(Some(at_ns.saturating_sub(CAPTURE_NS)));
    let camera = graph.input("camera_front", fnv1a_features(&[size, detection, lateral]))?;
    let lidar = graph.input("lidar", fnv1a_features(&[distance]))?;
    let radar = graph.input("radar", fnv1a_features(&[closing]))?;
    let bus = graph.input("vehicle_bus", fnv1a_features(&[ego]))?;
    graph.set_time(Some(at_ns.saturating_sub(PERCEPTION_NS)));
    let perception = graph.transform(
        &format!(
            "perception: {} at {:.0}% detection confidence",
            frame.object,
            detection * 100.0
        ),
        &[camera],
    )?;
    graph.set_time(Some(at_ns.saturating_sub(FUSION_NS)));
    Ok(graph.fusion("sensor_fusion", &[perception, lidar, radar, bus])?)
}

/// What the decision half of a frame's pipeline needs.
pub(super) struct Step<'a> {
    /// The frame's time, Unix nanoseconds.
    pub(super) at_ns: u64,
    /// The fusion node [`sense`] recorded.
    pub(super) fused: NodeId,
    /// The planner's decision.
    pub(super) decision: &'a Decision,
    /// The class probabilities, by class index.
    pub(super) probabilities: &'a [f64],
}

/// Records the planner's inference (triggered by the fusion) and the action it caused;
/// returns the decision's ledger index, or `None` when it was not appended to a ledger.
pub(super) fn decide<P>(
    collector: &RecorderCollector<P>,
    model: &ModelIdentity,
    info: &ModelInfo,
    step: &Step<'_>,
) -> anyhow::Result<Option<u64>> {
    let Some(RecordOutcome::Appended { index, .. }) = step.decision.recorded else {
        return Ok(None);
    };
    let mut graph = ProvenanceRecorder::for_collector(collector)?;
    graph.set_time(Some(step.at_ns));
    let planner = graph.inference(model, index, &[step.fused])?;
    let class = step.decision.output as usize;
    let name = |c: usize| {
        info.names
            .classes
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("class {c}"))
    };
    let alternatives: Vec<(String, f32)> = step
        .probabilities
        .iter()
        .enumerate()
        .filter(|(c, _)| *c != class)
        .map(|(c, p)| (name(c), *p as f32))
        .collect();
    let confidence = step
        .decision
        .confidence
        .or_else(|| step.probabilities.get(class).map(|p| *p as f32))
        .unwrap_or(1.0)
        .clamp(0.0, 1.0);
    graph.set_time(Some(step.at_ns + ACTUATION_NS));
    graph.action(&name(class), confidence, &alternatives, &[planner])?;
    Ok(Some(index))
}
