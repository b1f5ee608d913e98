//! Incident investigation over a decision ledger: "every decision in the 30 s before 14:32:47,
//! proof that the log is intact, and why each was taken".
//!
//! # Overview
//!
//! An [`IncidentQuery`] names a time and a window around it. The decisions of the window,
//! decoded from the ledger's APRT entries, become a timeline ([`TimelineEntry`]: time relative
//! to the incident, the decision with its class name, confidence, alternatives with their
//! probabilities, the rationale from the decision path), the window is scanned for
//! [`Anomaly`]s (low or falling confidence, decision changes, latency spikes), and the log's
//! [`Integrity`] and the window's [`Completeness`] (a window proof) are stated. What the
//! model saw ([`DecisionInputs`], z-scores against training statistics), exact attributions
//! from the model file ([`ExactAttribution`], [`WhyChanged`] where a decision flips),
//! outcomes and overrides ([`DecisionOutcome`]) come in through [`Investigation`], and the
//! report sums them up in an [`Analysis`] with a root cause and recommendations.
//! [`read_window`] reads an [`IncidentWindow`] from a ledger without
//! changing it; [`IncidentReport::from_window`] builds the report from it once, and
//! [`render_text`], [`render_json`] and [`render_html`] each present that one report
//! ([`investigate`] does the first two steps).
//!
//! Beyond one incident, [`KaizenAnalyzer`] reads a whole log for what to improve: uncertainty
//! clusters, drift ([`psi`], [`ks_2samp`] with scipy's p-value), decision boundaries,
//! outcome error rates and [`RetrainingRecommendation`]s with their evidence
//! (docs/kaizen.md).
//!
//! # Example
//!
//! ```
//! use whyline_core::{AnyPath, DecisionTrace, LinearPath, Names};
//! use whyline_forensics::{
//!     AnomalyRules, Completeness, DecisionEvidence, IncidentQuery, IncidentReport,
//!     IncidentWindow, Integrity, render_text,
//! };
//!
//! let decision = |seq: u64, ms: u64, class: f32, p: f32| DecisionTrace {
//!     timestamp_ns: 1_000_000_000 + ms * 1_000_000,
//!     sequence: seq,
//!     input_hash: 0,
//!     output: class,
//!     latency_ns: 20_000,
//!     path: AnyPath::from(LinearPath { contributions: vec![0.5, -0.2], intercept: 0.1, logit: 0.4,
//!         prediction: class, probability: Some(p) }),
//! };
//! let names = Names { features: vec!["distance".into(), "speed".into()],
//!                     classes: vec!["MAINTAIN_SPEED".into(), "BRAKE".into()] };
//! let window = IncidentWindow {
//!     query: IncidentQuery { time_ns: 1_500_000_000, lookback_ns: 1_000_000_000, lookahead_ns: 0 },
//!     log: "demo".into(),
//!     traces: vec![decision(0, 100, 0.0, 0.95), decision(1, 400, 1.0, 0.55)],
//!     alerts: Vec::new(),
//!     names,
//!     model: None,
//!     integrity: Integrity::Verified { entries: 2, root: "00".into(), checkpoints: 1, signatures_checked: true, crash_residue_bytes: 0 },
//!     log_entries: 2,
//!     completeness: Completeness::Unproven { reason: "assembled by hand".into() },
//!     evidence: DecisionEvidence::default(),
//! };
//! let report = IncidentReport::from_window(window, &AnomalyRules::default());
//! assert_eq!(report.timeline[1].decision, "BRAKE");
//! assert_eq!(report.timeline[1].alternatives[0].0, "MAINTAIN_SPEED");
//! assert!(render_text(&report).contains("CHAIN INTEGRITY: ✓ VERIFIED"));
//! assert_eq!(report.anomalies.len(), 3); // low confidence, falling confidence, decision change
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod analysis;
mod anomaly;
mod attribute;
mod completeness;
mod error;
mod inputs;
mod investigate;
mod kaizen;
pub mod provenance;
mod render;
mod replay;
mod report;
mod sealed;
mod time;
mod timeline;

pub use analysis::{Analysis, OUT_OF_DISTRIBUTION_Z, OutOfDistribution};
pub use anomaly::{Anomaly, AnomalyKind, AnomalyRules};
pub use completeness::{Boundary, Completeness};
pub use error::{ForensicsError, Result};
pub use inputs::{
    AttributionShift, DecisionEvidence, DecisionInputs, DecisionOutcome, ExactAttribution,
    InputValue, WhyChanged, ZScoreBasis,
};
pub use investigate::{Investigation, investigate, read_window, read_window_from};
pub use kaizen::{
    BoundaryAnalysis, BoundaryPair, ClusterSummary, DriftKind, Evidence, FeatureDrift, KMeans,
    KS_EXACT_MAX_N, KaizenAnalysis, KaizenAnalyzer, KaizenData, KaizenDecision, KaizenSettings,
    KaizenWindow, KsMethod, KsTest, OutcomeCount, OutcomeRates, PSI_BINS, PSI_FLOOR,
    RecommendationKind, ReferenceRule, RetrainingRecommendation, SILHOUETTE_SAMPLE,
    TransitionTable, UncertaintyCluster, kmeans, ks_2samp, psi, read_kaizen_data,
    render_kaizen_html, render_kaizen_json, render_kaizen_text, silhouette,
};
pub use render::{render_html, render_json, render_text};
pub use replay::{
    CHUNK_BYTES, ReplayDifference, ReplayOptions, ReplayReport, ReplayShift, replay,
    replay_entries, replay_with_chunk,
};
pub use report::{IncidentQuery, IncidentReport, IncidentWindow, Integrity};
pub use sealed::{decision_evidence, read_decision_evidence, read_decision_evidence_from};
pub use time::{format_time_ns, parse_duration_ns, parse_time_ns};
pub use timeline::TimelineEntry;
