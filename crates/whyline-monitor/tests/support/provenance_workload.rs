//! Synthetic provenance workloads for the provenance anomaly tests, bench and evaluation
//! (`examples/provenance_eval.rs`): autonomous-vehicle pipelines (sensor → transform →
//! perception → fusion → planner → action) with natural variation, and the injected attacks.
//! Deterministic: a splitmix64 generator seeded by the caller.
//!
//! A normal graph (one decision's provenance):
//! - 1 to 3 camera frames, each `input:camera_front → transform:undistort` (80 %) or
//!   `→ transform:resize`, then `→ inference:perception_cam@v3`;
//! - a lidar sweep (70 %): `input:lidar → transform:voxelize → inference:perception_lidar@v2`;
//! - 1 or 2 radar returns: `input:radar → transform:track_filter → fusion:kalman`;
//! - a GPS fix (50 %): `input:gps → fusion:kalman` (no transform: normal);
//! - each perception `→ fusion:kalman` (influenced); `fusion:kalman → inference:planner@v5`
//!   (triggered); a map tile (20 %) `input:map_tile → inference:planner@v5`;
//!   `inference:planner@v5 → action:{brake, maintain, steer_left, steer_right}` (caused).
//!
//! Sensor chains are interleaved at random (each chain in causal order), then the fusion
//! inputs in random order, then the planner and the action. Graphs run concurrently: the
//! stream interleaves the edges of `concurrent` graphs.
//!
//! Attacks (one per attacked graph):
//! - `InputTampering`: an extra `input:debug_port → inference:perception_cam@v3` edge;
//! - `TransformBypassed`: one camera frame flows straight into perception;
//! - `ModelSwapped`: the camera perception node is `inference:perception_cam@tampered`;
//! - `SpoofedKnownSource`: an extra camera frame from a second `input:camera_front` node
//!   through its own `transform:undistort`: every label is a normal one (expected to be
//!   missed: it is the natural variation in frame count).

#![allow(dead_code, unreachable_pub)]

use whyline_monitor::provenance_anomaly::{EdgeLabel, NodeLabel, NodeRef, ObservedEdge};

/// The attacks injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attack {
    /// An extra input edge from an unexpected source.
    InputTampering,
    /// A transform bypassed.
    TransformBypassed,
    /// An inference node of another model identity.
    ModelSwapped,
    /// An extra input from a source whose label is a normal one.
    SpoofedKnownSource,
}

impl Attack {
    /// Every attack, in report order.
    pub const ALL: [Attack; 4] = [
        Attack::InputTampering,
        Attack::TransformBypassed,
        Attack::ModelSwapped,
        Attack::SpoofedKnownSource,
    ];

    /// Name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Attack::InputTampering => "input tampering (unexpected source)",
            Attack::TransformBypassed => "transform bypassed",
            Attack::ModelSwapped => "model swapped",
            Attack::SpoofedKnownSource => "spoofed input, known source label",
        }
    }
}

/// splitmix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

/// One generated graph.
#[derive(Clone, Debug)]
pub struct GraphSpec {
    pub id: u64,
    pub attack: Option<Attack>,
    /// Edges in arrival order (timestamps filled when streamed).
    pub edges: Vec<ObservedEdge>,
    /// Index in `edges` of the first edge the attack added or changed.
    pub first_attack_edge: Option<usize>,
}

struct Builder {
    graph: u64,
    next_node: u64,
}

impl Builder {
    fn node(&mut self, kind: &str, identity: &str) -> NodeRef {
        self.next_node += 1;
        NodeRef::new(self.next_node, NodeLabel::new(kind, identity))
    }

    fn edge(&self, source: NodeRef, relation: &str, destination: NodeRef) -> ObservedEdge {
        ObservedEdge::new(self.graph, source, EdgeLabel::new(relation), destination, 0)
    }
}

/// Merges chains at random, each chain keeping its order; returns the edges and, for each,
/// whether it was tagged.
fn interleave(
    rng: &mut Rng,
    mut chains: Vec<Vec<(ObservedEdge, bool)>>,
) -> Vec<(ObservedEdge, bool)> {
    for chain in &mut chains {
        chain.reverse();
    }
    let mut out = Vec::new();
    loop {
        let open: Vec<usize> = (0..chains.len())
            .filter(|i| !chains[*i].is_empty())
            .collect();
        if open.is_empty() {
            return out;
        }
        let pick = open[rng.below(open.len())];
        if let Some(edge) = chains[pick].pop() {
            out.push(edge);
        }
    }
}

fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i + 1));
    }
}

/// One pipeline graph, normal or attacked.
pub fn pipeline(rng: &mut Rng, id: u64, attack: Option<Attack>) -> GraphSpec {
    let mut b = Builder {
        graph: id,
        next_node: 0,
    };
    let cam_model = if attack == Some(Attack::ModelSwapped) {
        "perception_cam@tampered"
    } else {
        "perception_cam@v3"
    };
    let swapped = attack == Some(Attack::ModelSwapped);
    let perception_cam = b.node("inference", cam_model);
    let fusion = b.node("fusion", "kalman");
    let planner = b.node("inference", "planner@v5");
    let mut chains: Vec<Vec<(ObservedEdge, bool)>> = Vec::new();
    let frames = 1 + rng.below(3);
    let bypassed = (attack == Some(Attack::TransformBypassed)).then(|| rng.below(frames));
    for frame in 0..frames {
        let camera = b.node("input", "camera_front");
        if bypassed == Some(frame) {
            chains.push(vec![(b.edge(camera, "data_flow", perception_cam), true)]);
            continue;
        }
        let op = if rng.chance(0.8) {
            "undistort"
        } else {
            "resize"
        };
        let transform = b.node("transform", op);
        chains.push(vec![
            (b.edge(camera, "data_flow", transform), false),
            (b.edge(transform, "data_flow", perception_cam), swapped),
        ]);
    }
    if attack == Some(Attack::SpoofedKnownSource) {
        let camera = b.node("input", "camera_front");
        let transform = b.node("transform", "undistort");
        chains.push(vec![
            (b.edge(camera, "data_flow", transform), true),
            (b.edge(transform, "data_flow", perception_cam), true),
        ]);
    }
    if attack == Some(Attack::InputTampering) {
        let debug = b.node("input", "debug_port");
        chains.push(vec![(b.edge(debug, "data_flow", perception_cam), true)]);
    }
    let lidar = rng.chance(0.7);
    let perception_lidar = b.node("inference", "perception_lidar@v2");
    if lidar {
        let sweep = b.node("input", "lidar");
        let voxelize = b.node("transform", "voxelize");
        chains.push(vec![
            (b.edge(sweep, "data_flow", voxelize), false),
            (b.edge(voxelize, "data_flow", perception_lidar), false),
        ]);
    }
    let mut fusion_inputs = vec![(b.edge(perception_cam, "influenced", fusion), swapped)];
    if lidar {
        fusion_inputs.push((b.edge(perception_lidar, "influenced", fusion), false));
    }
    for _ in 0..1 + rng.below(2) {
        let radar = b.node("input", "radar");
        let filter = b.node("transform", "track_filter");
        chains.push(vec![
            (b.edge(radar, "data_flow", filter), false),
            (b.edge(filter, "data_flow", fusion), false),
        ]);
    }
    if rng.chance(0.5) {
        let gps = b.node("input", "gps");
        fusion_inputs.push((b.edge(gps, "data_flow", fusion), false));
    }
    let mut tagged = interleave(rng, chains);
    shuffle(rng, &mut fusion_inputs);
    tagged.extend(fusion_inputs);
    if rng.chance(0.2) {
        let map = b.node("input", "map_tile");
        tagged.push((b.edge(map, "data_flow", planner), false));
    }
    tagged.push((b.edge(fusion, "triggered", planner), false));
    let action = ["brake", "maintain", "steer_left", "steer_right"][rng.below(4)];
    let act = b.node("action", action);
    tagged.push((b.edge(planner, "caused", act), false));
    let first_attack_edge = tagged.iter().position(|(_, tag)| *tag);
    GraphSpec {
        id,
        attack,
        edges: tagged.into_iter().map(|(edge, _)| edge).collect(),
        first_attack_edge,
    }
}

/// One streamed edge with what the evaluation needs to know about it.
#[derive(Clone, Copy, Debug)]
pub struct Streamed {
    pub edge: ObservedEdge,
    /// Index of the edge within its graph.
    pub position: usize,
    /// Whether it is its graph's last edge.
    pub last: bool,
    pub attack: Option<Attack>,
    pub first_attack_edge: Option<usize>,
}

/// A stream of interleaved graphs.
pub struct Workload {
    rng: Rng,
    attack_rate: f64,
    attacks: Vec<Attack>,
    active: Vec<(GraphSpec, usize)>,
    next_id: u64,
    timestamp_ns: u64,
}

impl Workload {
    /// `concurrent` graphs at a time, graph ids from `first_id`; each new graph is attacked
    /// with probability `attack_rate`, by one of `attacks` chosen uniformly.
    pub fn new(
        seed: u64,
        concurrent: usize,
        first_id: u64,
        attack_rate: f64,
        attacks: &[Attack],
    ) -> Self {
        let mut workload = Self {
            rng: Rng::new(seed),
            attack_rate,
            attacks: attacks.to_vec(),
            active: Vec::with_capacity(concurrent),
            next_id: first_id,
            timestamp_ns: 1_700_000_000_000_000_000,
        };
        for _ in 0..concurrent {
            let graph = workload.new_graph();
            workload.active.push((graph, 0));
        }
        workload
    }

    fn new_graph(&mut self) -> GraphSpec {
        let attack = (!self.attacks.is_empty() && self.rng.chance(self.attack_rate))
            .then(|| self.attacks[self.rng.below(self.attacks.len())]);
        let id = self.next_id;
        self.next_id += 1;
        pipeline(&mut self.rng, id, attack)
    }

    /// The next edge of the stream.
    pub fn next_edge(&mut self) -> Streamed {
        let pick = self.rng.below(self.active.len());
        self.timestamp_ns += 1_000 + self.rng.below(1_000) as u64;
        let (graph, position) = &mut self.active[pick];
        let mut edge = graph.edges[*position];
        edge.timestamp_ns = self.timestamp_ns;
        let streamed = Streamed {
            edge,
            position: *position,
            last: *position + 1 == graph.edges.len(),
            attack: graph.attack,
            first_attack_edge: graph.first_attack_edge,
        };
        *position += 1;
        if streamed.last {
            let next = self.new_graph();
            self.active[pick] = (next, 0);
        }
        streamed
    }
}
