//! Streaming provenance anomaly detection in the spirit of StreamSpot (Manzoor, Milajerdi and
//! Akoglu, KDD 2016): every provenance edge updates its graph's shingle counts in a sketch of
//! fixed size, and a graph whose sketch moves away from every baseline cluster raises an Andon
//! alert ([`AlertKind::ProvenanceAnomaly`](crate::AlertKind::ProvenanceAnomaly)).
//!
//! # Overview
//!
//! - [`ObservedEdge`]: one edge of one provenance graph as the monitor sees it: graph id,
//!   source and destination ([`NodeRef`]: id and [`NodeLabel`]), relation ([`EdgeLabel`]),
//!   time. A label is the node's kind together with what identifies its role (the sensor a
//!   reading came from, the operation of a transform, the model identity of an inference), so
//!   a swapped model is a different label.
//! - `shingles`: the k = 1 shingle of a node is its label with the multiset of
//!   `(relation, destination label)` of its out-edges, cut into chunks of at most
//!   `chunk_length` out-edges (the cap on shingle length). A new edge changes exactly one
//!   shingle of its graph: the source's open chunk loses its old form and gains the new one.
//! - `sketch`: StreamHash. Each shingle hashes to a pseudo-random weight vector; a graph keeps
//!   the sum of its shingles' weights (the projection, `width` integers) and its sign bits
//!   (the sketch). The angle between two count vectors is estimated as `π × hamming / width`
//!   (sign random projections), so `distance = 1 − cos(π × hamming / width)`.
//! - `clusters`: the baseline. Sketches of normal graphs (every prefix, so a graph still being
//!   built is compared with graphs at the same stage) are clustered with k-medoids on the
//!   sketch distance; each cluster's threshold is `mean + z × std` of its members' distance to
//!   its medoid, with a floor.
//! - [`StreamingProvenanceMonitor`]: learns the baseline ([`learn`](StreamingProvenanceMonitor::learn),
//!   [`fit_baseline`](StreamingProvenanceMonitor::fit_baseline)), then
//!   [`observe`](StreamingProvenanceMonitor::observe)s the stream: an edge costs two weight
//!   vectors, `width` additions and `clusters × width / 64` popcounts, whatever the stream
//!   length. A graph that fits no cluster raises one alert through the monitor's [`Andon`]
//!   (sinks, red handler, counters) and, when a collector keeps alerts, into the log.
//!
//! # Memory
//!
//! Fixed at construction: `max_graphs` graph slots (rounded up to a multiple of 4; a
//! projection and a sketch each), four-way set-associative on the graph id (a new graph
//! evicts the least recently updated graph of its set when the set is full), a two-way set-associative node table of
//! `node_slots` entries (a node pushed out keeps its shingles counted; its next edge opens a
//! new chunk) and the clusters. [`memory_bytes`](StreamingProvenanceMonitor::memory_bytes)
//! reports it; it does not grow with the stream.
//!
//! # Example
//!
//! ```
//! use whyline_monitor::provenance_anomaly::{
//!     EdgeLabel, NodeLabel, NodeRef, ObservedEdge, ProvenanceAnomalySettings,
//!     StreamingProvenanceMonitor,
//! };
//!
//! let camera = NodeLabel::new("input", "camera");
//! let resize = NodeLabel::new("transform", "resize");
//! let model = NodeLabel::new("inference", "perception@v3");
//! let flow = EdgeLabel::new("data_flow");
//! let pipeline = |graph: u64, model: NodeLabel| {
//!     vec![
//!         ObservedEdge::new(graph, NodeRef::new(1, camera), flow, NodeRef::new(2, resize), 0),
//!         ObservedEdge::new(graph, NodeRef::new(2, resize), flow, NodeRef::new(3, model), 1),
//!     ]
//! };
//! let mut monitor = StreamingProvenanceMonitor::new(ProvenanceAnomalySettings::default())?;
//! for graph in 0..4 {
//!     for edge in pipeline(graph, model) {
//!         monitor.learn(&edge)?;
//!     }
//! }
//! monitor.fit_baseline()?;
//! let swapped = NodeLabel::new("inference", "perception@unknown");
//! let mut alerts = 0;
//! for edge in pipeline(100, swapped) {
//!     alerts += usize::from(monitor.observe(&edge)?.alert.is_some());
//! }
//! assert_eq!(alerts, 1);
//! # Ok::<(), whyline_monitor::MonitorError>(())
//! ```

mod clusters;
mod edge;
mod monitor;
mod settings;
mod shingles;
mod sketch;

pub use clusters::{BaselineSummary, ClusterSummary};
pub use edge::{EdgeLabel, NodeLabel, NodeRef, ObservedEdge};
pub use monitor::{
    Observation, ProvenanceBaseline, ProvenanceMonitorStats, StreamingProvenanceMonitor,
};
pub use settings::ProvenanceAnomalySettings;
