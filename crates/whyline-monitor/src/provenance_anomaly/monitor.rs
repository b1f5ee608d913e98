//! [`StreamingProvenanceMonitor`]: the graphs in flight, the baseline, and the alert path.
//!
//! The life of an edge under [`observe`](StreamingProvenanceMonitor::observe): find its
//! graph's slot (the graph slots are four-way set-associative on the graph id: a new graph
//! takes a free slot of its set, else evicts the least recently updated graph of the set;
//! no map, no allocation); the node table
//! says which shingle of the source changes; the graph's projection moves by the two weight
//! vectors and its sign bits are refreshed; the sketch is placed against the clusters; a graph
//! that fits none, has at least `min_edges` edges and has not alerted yet raises one
//! `provenance_anomaly` alert through the [`Andon`] (sinks, red handler, counters) and into
//! the log when a collector that keeps alerts is attached. Nothing is allocated for an edge
//! that raises nothing.

use std::marker::PhantomData;
use std::sync::Arc;

use whyline_core::{AlertRecord, DecisionPath, TraceCollector};

use super::clusters::{BaselinePoints, BaselineSummary, Clusters};
use super::edge::ObservedEdge;
use super::settings::ProvenanceAnomalySettings;
use super::shingles::ShingleTable;
use super::sketch::{GraphSketch, MAX_SKETCH_EDGES, distance, mix64};
use crate::alert::{Alert, AlertKind};
use crate::andon::{Andon, AndonRules, DecisionFacts};
use crate::error::{MonitorError, Result};

/// What one observed edge did to its graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The graph.
    pub graph: u64,
    /// Its edges so far (this one included).
    pub edges: u64,
    /// Sketch distance to a cluster the graph fits (the first found, trying the one of its
    /// previous edge first), or, when it fits none, to the cluster it misses by the least
    /// (smallest `distance − threshold`, on hamming counts).
    /// [`StreamingProvenanceMonitor::score`] gives the best margin over every cluster.
    pub distance: f64,
    /// That cluster's threshold.
    pub threshold: f64,
    /// That cluster's index.
    pub cluster: usize,
    /// Whether the graph fits no cluster after this edge.
    pub anomalous: bool,
    /// The alert this edge raised: the first edge after which the graph fits no cluster
    /// (and has at least `min_edges` edges). One alert per graph.
    pub alert: Option<Alert>,
}

/// A fitted baseline (the clusters: medoid sketches and thresholds), shared cheaply between
/// monitors ([`StreamingProvenanceMonitor::baseline`],
/// [`StreamingProvenanceMonitor::with_baseline`]).
#[derive(Clone, Debug)]
pub struct ProvenanceBaseline(Arc<Clusters>);

impl ProvenanceBaseline {
    /// Number of clusters.
    pub fn clusters(&self) -> usize {
        self.0.len()
    }

    /// Sketch width in bits.
    pub fn sketch_width(&self) -> usize {
        self.0.width()
    }
}

/// Counters of a [`StreamingProvenanceMonitor`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProvenanceMonitorStats {
    /// Edges fed to `learn`.
    pub edges_learned: u64,
    /// Edges fed to `observe`.
    pub edges_observed: u64,
    /// Graphs evicted to make room for new ones.
    pub graphs_evicted: u64,
    /// Nodes pushed out of the node table (their next out-edge opens a new shingle).
    pub nodes_evicted: u64,
    /// `provenance_anomaly` alerts raised.
    pub alerts: u64,
    /// Edges of graphs past 2^23 edges, whose sketch is frozen (not counted in it).
    pub frozen_edges: u64,
}

/// Where raised alerts are written: a collector that keeps alerts.
trait AlertLog: Send + Sync {
    fn record_alert(&self, alert: &AlertRecord) -> whyline_core::Result<()>;
}

struct CollectorLog<C, P> {
    collector: C,
    path: PhantomData<fn() -> P>,
}

impl<P: DecisionPath, C: TraceCollector<P>> AlertLog for CollectorLog<C, P> {
    fn record_alert(&self, alert: &AlertRecord) -> whyline_core::Result<()> {
        self.collector.record_alert(alert).map(|_| ())
    }
}

#[derive(Debug)]
struct GraphState {
    id: u64,
    live: bool,
    /// Edge count of the monitor when this graph last received an edge.
    last_used: u64,
    edges: u64,
    alerted: bool,
    /// The cluster the graph was placed in at its previous edge (the pruning reference of
    /// the next placement).
    last_cluster: usize,
    sketch: GraphSketch,
}

/// StreamSpot-style detector of anomalous provenance graphs, in fixed memory and O(1) per
/// edge. See the [module documentation](super) for the method and an example.
pub struct StreamingProvenanceMonitor {
    settings: ProvenanceAnomalySettings,
    shingles: ShingleTable,
    graphs: Vec<GraphState>,
    /// Edges learned or observed: the clock of the graph slots.
    clock: u64,
    baseline: BaselinePoints,
    clusters: Option<Arc<Clusters>>,
    andon: Andon,
    log: Option<Box<dyn AlertLog>>,
    stats: ProvenanceMonitorStats,
}

impl std::fmt::Debug for StreamingProvenanceMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingProvenanceMonitor")
            .field("settings", &self.settings)
            .field("fitted", &self.clusters.is_some())
            .field("stats", &self.stats)
            .finish()
    }
}

impl StreamingProvenanceMonitor {
    /// A monitor with validated `settings`, learning (no baseline yet), raising alerts
    /// through an [`Andon`] with no sinks.
    pub fn new(settings: ProvenanceAnomalySettings) -> Result<Self> {
        settings.validate()?;
        let slots = settings.max_graphs.next_multiple_of(WAYS);
        let graphs = (0..slots)
            .map(|_| GraphState {
                id: 0,
                live: false,
                last_used: 0,
                edges: 0,
                alerted: false,
                last_cluster: 0,
                sketch: GraphSketch::new(settings.sketch_width),
            })
            .collect();
        Ok(Self {
            shingles: ShingleTable::new(settings.node_slots, settings.chunk_length),
            graphs,
            clock: 0,
            baseline: new_baseline(&settings),
            clusters: None,
            andon: Andon::new(AndonRules::default())?,
            log: None,
            stats: ProvenanceMonitorStats::default(),
            settings,
        })
    }

    /// Raises alerts through `andon` (its sinks, red handler and counters).
    pub fn with_andon(mut self, andon: Andon) -> Self {
        self.andon = andon;
        self
    }

    /// Writes every alert raised into `collector` too, when it keeps alerts (a ledger), so
    /// the log holds it like any other alert.
    pub fn record_alerts_in<P, C>(mut self, collector: C) -> Self
    where
        P: DecisionPath + 'static,
        C: TraceCollector<P> + 'static,
    {
        self.log = (collector.enabled() && collector.keeps_alerts()).then(|| {
            Box::new(CollectorLog {
                collector,
                path: PhantomData,
            }) as Box<dyn AlertLog>
        });
        self
    }

    /// The Andon alerts go through.
    pub fn andon(&self) -> &Andon {
        &self.andon
    }

    /// The Andon, to add sinks or a red handler.
    pub fn andon_mut(&mut self) -> &mut Andon {
        &mut self.andon
    }

    /// The settings in force.
    pub fn settings(&self) -> &ProvenanceAnomalySettings {
        &self.settings
    }

    /// Counters so far.
    pub fn stats(&self) -> ProvenanceMonitorStats {
        ProvenanceMonitorStats {
            nodes_evicted: self.shingles.evictions(),
            ..self.stats
        }
    }

    /// Whether a baseline has been fitted (so [`observe`](Self::observe) works).
    pub fn is_fitted(&self) -> bool {
        self.clusters.is_some()
    }

    /// Feeds one edge of a normal graph to the baseline: the graph's sketch after it is a
    /// baseline snapshot. Learning after a fit starts a new baseline for the next fit.
    pub fn learn(&mut self, edge: &ObservedEdge) -> Result<()> {
        let slot = self.update(edge);
        self.stats.edges_learned += 1;
        if let Some(graph) = self.graphs.get(slot) {
            self.baseline.offer(graph.sketch.bits());
        }
        Ok(())
    }

    /// Clusters the learned snapshots into the baseline, then forgets every learned graph
    /// and the snapshots (their memory is freed). Errors with
    /// [`MonitorError::EmptyBaseline`] when nothing was learned.
    pub fn fit_baseline(&mut self) -> Result<BaselineSummary> {
        let (clusters, summaries) = Clusters::fit(
            &self.baseline,
            self.settings.clusters,
            self.settings.threshold_z,
            self.settings.min_threshold,
        )?;
        let summary = BaselineSummary {
            snapshots_offered: self.baseline.offered(),
            snapshots_clustered: self.baseline.len(),
            clusters: summaries,
        };
        tracing::debug!(
            snapshots = summary.snapshots_clustered,
            clusters = clusters.len(),
            "provenance baseline fitted"
        );
        self.clusters = Some(Arc::new(clusters));
        self.baseline = new_baseline(&self.settings);
        self.forget_graphs();
        Ok(summary)
    }

    /// The fitted baseline, to share with other monitors of the same settings
    /// ([`with_baseline`](Self::with_baseline)); `None` before a fit.
    pub fn baseline(&self) -> Option<ProvenanceBaseline> {
        self.clusters.clone().map(ProvenanceBaseline)
    }

    /// Uses a baseline fitted by another monitor, forgetting the graphs in flight. Errors
    /// with [`MonitorError::InvalidSetting`] when its sketch width differs from this
    /// monitor's.
    pub fn with_baseline(mut self, baseline: &ProvenanceBaseline) -> Result<Self> {
        if baseline.0.width() != self.settings.sketch_width {
            return Err(MonitorError::invalid_setting(
                "provenance_anomaly.sketch_width",
                self.settings.sketch_width,
                format!("{} bits, the width of the baseline", baseline.0.width()),
            ));
        }
        self.clusters = Some(Arc::clone(&baseline.0));
        self.forget_graphs();
        Ok(self)
    }

    /// Adds one edge to its graph and places the graph against the baseline; raises a
    /// `provenance_anomaly` alert the first time the graph fits no cluster. Errors with
    /// [`MonitorError::BaselineNotFitted`] before a fit, and with
    /// [`MonitorError::Collector`] when the attached log fails to record an alert (the alert
    /// was raised and delivered to the sinks).
    pub fn observe(&mut self, edge: &ObservedEdge) -> Result<Observation> {
        if self.clusters.is_none() {
            return Err(MonitorError::BaselineNotFitted { graph: edge.graph });
        }
        let sequence = self.stats.edges_observed;
        self.stats.edges_observed += 1;
        let slot = self.update(edge);
        let (Some(clusters), Some(graph)) = (&self.clusters, self.graphs.get_mut(slot)) else {
            return Err(MonitorError::BaselineNotFitted { graph: edge.graph });
        };
        let placement = clusters.place_near(graph.sketch.bits(), graph.last_cluster);
        graph.last_cluster = placement.cluster;
        let mut observation = Observation {
            graph: edge.graph,
            edges: graph.edges,
            distance: placement.distance,
            threshold: placement.threshold,
            cluster: placement.cluster,
            anomalous: !placement.fits,
            alert: None,
        };
        if placement.fits || graph.alerted || graph.edges < self.settings.min_edges {
            return Ok(observation);
        }
        graph.alerted = true;
        self.stats.alerts += 1;
        let facts = DecisionFacts {
            sequence,
            timestamp_ns: edge.timestamp_ns,
            row: &[],
            output: placement.distance as f32,
            confidence: 1.0,
            latency_ns: 0,
        };
        let kind = AlertKind::ProvenanceAnomaly {
            graph: edge.graph,
            distance: placement.distance as f32,
            threshold: placement.threshold as f32,
            cluster: placement.cluster,
            edges: observation.edges,
        };
        let alert = self
            .andon
            .raise_external(&facts, self.settings.alert_level.into(), kind);
        if let Some(log) = &self.log {
            log.record_alert(&alert.to_record())
                .map_err(|source| MonitorError::Collector { sequence, source })?;
        }
        observation.alert = Some(alert);
        Ok(observation)
    }

    /// The estimated cosine similarity of two live graphs' shingle-count vectors,
    /// `cos(π × hamming / width)`; `None` unless both are tracked.
    pub fn similarity(&self, a: u64, b: u64) -> Option<f64> {
        let a = self.graphs.get(self.find(a)?)?;
        let b = self.graphs.get(self.find(b)?)?;
        Some(1.0 - distance(a.sketch.bits(), b.sketch.bits()))
    }

    /// How far a live graph is from fitting the baseline: the smallest `distance −
    /// threshold` over the clusters (positive: it fits none), scanning every cluster.
    /// `None` before a fit or when the graph is not tracked. The anomaly score of the
    /// evaluation's ROC curves.
    pub fn score(&self, graph: u64) -> Option<f64> {
        let placement = self
            .clusters
            .as_ref()?
            .place(self.graphs.get(self.find(graph)?)?.sketch.bits());
        Some(placement.distance - placement.threshold)
    }

    /// Edges seen of a live graph; `None` when it is not tracked (never seen, or evicted).
    pub fn graph_edges(&self, graph: u64) -> Option<u64> {
        Some(self.graphs.get(self.find(graph)?)?.edges)
    }

    /// Heap and inline bytes the monitor holds: graph slots, node table, clusters and the baseline reservoir. Fixed by the settings once the baseline is
    /// fitted, whatever the stream's length.
    pub fn memory_bytes(&self) -> usize {
        let graphs = self.graphs.capacity() * size_of::<GraphState>()
            + self
                .graphs
                .iter()
                .map(|graph| graph.sketch.heap_bytes())
                .sum::<usize>();
        size_of::<Self>()
            + graphs
            + self.shingles.heap_bytes()
            + self.baseline.heap_bytes()
            + self
                .clusters
                .as_ref()
                .map_or(0, |clusters| clusters.heap_bytes())
    }

    /// Adds `edge` to its graph's shingles and sketch; returns the graph's slot.
    #[inline]
    fn update(&mut self, edge: &ObservedEdge) -> usize {
        let slot = self.slot_of(edge.graph);
        let change = self
            .shingles
            .extend(edge.graph, edge.source, edge.relation, edge.destination);
        if let Some(graph) = self.graphs.get_mut(slot) {
            if graph.edges < MAX_SKETCH_EDGES {
                graph.sketch.replace(change.removed, change.added);
            } else {
                self.stats.frozen_edges += 1;
            }
            graph.edges += 1;
        }
        slot
    }

    /// The first slot of `graph`'s set.
    fn set_of(&self, graph: u64) -> usize {
        let sets = (self.graphs.len() / WAYS).max(1);
        (mix64(graph ^ GRAPH_SEED) % sets as u64) as usize * WAYS
    }

    /// The slot of a live `graph`.
    fn find(&self, graph: u64) -> Option<usize> {
        let set = self.set_of(graph);
        (set..set + WAYS).find(|slot| {
            self.graphs
                .get(*slot)
                .is_some_and(|state| state.live && state.id == graph)
        })
    }

    /// The slot of `graph`; a new graph takes a free slot of its set, else the least recently
    /// updated one (evicting that graph).
    fn slot_of(&mut self, graph: u64) -> usize {
        self.clock += 1;
        let slot = match self.find(graph) {
            Some(slot) => slot,
            None => {
                let set = self.set_of(graph);
                let victim = (set..set + WAYS)
                    .min_by_key(|slot| {
                        self.graphs.get(*slot).map_or(u64::MAX, |state| {
                            if state.live { state.last_used } else { 0 }
                        })
                    })
                    .unwrap_or(set);
                if let Some(state) = self.graphs.get_mut(victim) {
                    if state.live {
                        self.stats.graphs_evicted += 1;
                    }
                    state.id = graph;
                    state.live = true;
                    state.edges = 0;
                    state.alerted = false;
                    state.last_cluster = 0;
                    state.sketch.clear();
                }
                victim
            }
        };
        if let Some(state) = self.graphs.get_mut(slot) {
            state.last_used = self.clock;
        }
        slot
    }

    fn forget_graphs(&mut self) {
        for graph in &mut self.graphs {
            graph.live = false;
            graph.edges = 0;
            graph.alerted = false;
            graph.sketch.clear();
        }
        self.shingles.clear();
    }
}

/// Graph slots per set.
const WAYS: usize = 4;
const GRAPH_SEED: u64 = 0xa409_3822_299f_31d0;

fn new_baseline(settings: &ProvenanceAnomalySettings) -> BaselinePoints {
    BaselinePoints::new(
        settings.sketch_width / 64,
        settings.max_baseline_points,
        settings.seed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance_anomaly::{EdgeLabel, NodeLabel, NodeRef};

    fn edge(graph: u64, source: u64, destination: u64) -> ObservedEdge {
        let label = NodeLabel::new("sensor", "camera");
        ObservedEdge::new(
            graph,
            NodeRef::new(source, label),
            EdgeLabel::new("feeds"),
            NodeRef::new(destination, label),
            0,
        )
    }

    /// Learns twenty two-edge graphs (1 → 2 → a node of their own), as a baseline to fit.
    fn learn_twenty_graphs(monitor: &mut StreamingProvenanceMonitor) {
        for graph in 0..20 {
            monitor.learn(&edge(graph, 1, 2)).unwrap();
            monitor.learn(&edge(graph, 2, graph + 3)).unwrap();
        }
    }

    /// Edges of the same nodes under different relations are different edges: their graphs'
    /// sketches differ. The counters count what was learned.
    #[test]
    fn relations_tell_edges_apart_and_learning_is_counted() {
        let mut monitor =
            StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
        let label = NodeLabel::new("sensor", "camera");
        let related = |graph, relation: &str| {
            ObservedEdge::new(
                graph,
                NodeRef::new(1, label),
                EdgeLabel::new(relation),
                NodeRef::new(2, label),
                0,
            )
        };
        monitor.learn(&related(1, "feeds")).unwrap();
        monitor.learn(&related(2, "controls")).unwrap();
        monitor.learn(&related(3, "feeds")).unwrap();
        let projection = |monitor: &StreamingProvenanceMonitor, graph| {
            let slot = monitor.find(graph).unwrap();
            monitor.graphs[slot].sketch.projection().to_vec()
        };
        assert_ne!(projection(&monitor, 1), projection(&monitor, 2));
        assert_eq!(projection(&monitor, 1), projection(&monitor, 3));
        assert_eq!(monitor.stats().edges_learned, 3);
        assert_eq!(monitor.stats().edges_observed, 0);
        // The memory figure holds at least every part it names.
        let parts = monitor.shingles.heap_bytes()
            + monitor.baseline.heap_bytes()
            + monitor.graphs.len() * size_of::<GraphState>();
        assert!(
            monitor.memory_bytes() > parts,
            "{} <= {parts}",
            monitor.memory_bytes()
        );
        // ...exactly: the monitor itself, its graph slots (by capacity) and their
        // sketches, the node table, the baseline and the clusters (none before a fit)...
        let sketches: usize = monitor.graphs.iter().map(|g| g.sketch.heap_bytes()).sum();
        assert_eq!(
            monitor.memory_bytes(),
            size_of::<StreamingProvenanceMonitor>()
                + monitor.graphs.capacity() * size_of::<GraphState>()
                + sketches
                + monitor.shingles.heap_bytes()
                + monitor.baseline.heap_bytes()
        );
        assert!(monitor.clusters.is_none());
        // ...and so, with the monitor itself and its graphs' sketches, well under twice the
        // parts and a megabyte.
        assert!(
            monitor.memory_bytes() < 2 * parts + (1 << 20),
            "{} for parts of {parts}",
            monitor.memory_bytes()
        );
    }

    /// A fit starts the stream afresh: the graphs learned before it are forgotten, so the
    /// first edge observed after it starts its graph at one edge.
    #[test]
    fn fitting_forgets_the_graphs_in_flight() {
        let mut monitor =
            StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
        learn_twenty_graphs(&mut monitor);
        assert_eq!(monitor.graph_edges(7), Some(2));
        monitor.fit_baseline().unwrap();
        assert_eq!(monitor.graph_edges(7), None);
        let observation = monitor.observe(&edge(7, 1, 2)).unwrap();
        assert_eq!(observation.edges, 1);
    }

    /// A fit forgets the node table too: a graph observed after it is scored as by a
    /// monitor that only ever saw the baseline, even where its nodes were learned before
    /// (their open shingles do not carry over).
    #[test]
    fn fitting_forgets_the_nodes_open_shingles() {
        let mut learned =
            StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
        learn_twenty_graphs(&mut learned);
        learned.fit_baseline().unwrap();
        let mut fresh = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default())
            .unwrap()
            .with_baseline(&learned.baseline().unwrap())
            .unwrap();
        for (source, destination) in [(1, 2), (2, 9), (9, 4)] {
            let a = learned.observe(&edge(7, source, destination)).unwrap();
            let b = fresh.observe(&edge(7, source, destination)).unwrap();
            assert_eq!(
                (a.edges, a.distance.to_bits(), a.cluster),
                (b.edges, b.distance.to_bits(), b.cluster)
            );
        }
    }

    /// A graph that fits no cluster alerts once it has `min_edges` edges, not before: its
    /// first edges are reported anomalous without an alert, and the alert comes once.
    #[test]
    fn an_anomalous_graph_alerts_at_min_edges_once() {
        let mut monitor = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings {
            min_edges: 3,
            ..ProvenanceAnomalySettings::default()
        })
        .unwrap();
        learn_twenty_graphs(&mut monitor);
        monitor.fit_baseline().unwrap();
        let label = NodeLabel::new("actuator", "brake");
        let strange = |source, destination| {
            ObservedEdge::new(
                99,
                NodeRef::new(source, label),
                EdgeLabel::new("overrides"),
                NodeRef::new(destination, label),
                0,
            )
        };
        let observed: Vec<(u64, bool, bool)> = (0..5)
            .map(|i| {
                let observation = monitor.observe(&strange(10 + i, 20 + i)).unwrap();
                (
                    observation.edges,
                    observation.anomalous,
                    observation.alert.is_some(),
                )
            })
            .collect();
        assert_eq!(
            observed,
            [
                (1, true, false),
                (2, true, false),
                (3, true, true),
                (4, true, false),
                (5, true, false)
            ]
        );
    }

    /// The graph slots are used as the sets say: 400 graphs at once in 1024 slots (256 sets
    /// of four) evict only where more than four land in one set, not one graph in three.
    #[test]
    fn graphs_spread_over_every_set_of_slots() {
        let mut monitor = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings {
            max_graphs: 1024,
            ..ProvenanceAnomalySettings::default()
        })
        .unwrap();
        for graph in 0..400 {
            monitor.learn(&edge(graph, 1, 2)).unwrap();
        }
        let evicted = monitor.stats().graphs_evicted;
        assert!(evicted < 40, "{evicted} of 400 graphs evicted");
        let tracked = (0..400)
            .filter(|g| monitor.graph_edges(*g).is_some())
            .count();
        assert_eq!(tracked as u64, 400 - evicted);
    }

    /// A graph past 2^23 edges keeps its sketch as it was and counts each further edge as
    /// frozen (reaching that many edges takes seconds in a release build; the count is set).
    #[test]
    fn edges_past_the_sketch_limit_are_counted_frozen_and_leave_the_sketch_alone() {
        let mut monitor =
            StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default()).unwrap();
        monitor.learn(&edge(7, 1, 2)).unwrap();
        let slot = monitor.slot_of(7);
        let graph = monitor.graphs.get_mut(slot).unwrap();
        graph.edges = MAX_SKETCH_EDGES - 1;
        let before = graph.sketch.projection().to_vec();
        // The last edge the sketch takes, then two it does not.
        monitor.learn(&edge(7, 2, 3)).unwrap();
        let last_counted = monitor.graphs[slot].sketch.projection().to_vec();
        assert_ne!(
            last_counted, before,
            "the 2^23-th edge still changes the sketch"
        );
        assert_eq!(monitor.stats().frozen_edges, 0);
        monitor.learn(&edge(7, 3, 4)).unwrap();
        monitor.learn(&edge(7, 4, 5)).unwrap();
        assert_eq!(monitor.stats().frozen_edges, 2);
        assert_eq!(monitor.graphs[slot].sketch.projection(), &last_counted[..]);
        assert_eq!(monitor.graphs[slot].edges, MAX_SKETCH_EDGES + 2);
    }
}
