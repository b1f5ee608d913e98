//! Watching decisions as they happen: [`InferenceMonitor`] wraps a model so every decision is
//! traced, recorded and checked by Andon rules; drift detectors and out-of-distribution checks
//! feed the rules.
//!
//! # Overview
//!
//! - [`InferenceMonitor`] calls the model's [`Explainable::explain_into`], builds the
//!   [`DecisionTrace`](whyline_core::DecisionTrace) (wall-clock time, sequence, input digest,
//!   output, latency, native path), hands it to a
//!   [`TraceCollector`](whyline_core::TraceCollector), then checks it with the [`Andon`].
//! - [`AndonRules`] (a plain config struct) become an [`Andon`] holding [`AlertSink`]s:
//!   [`CallbackSink`], [`ChannelSink`], [`TracingSink`]. Alerts are yellow (warn) or red (stop the
//!   line: the red handler runs, and `predict` returns [`MonitorError::LineStopped`] when
//!   `halt_on_red` is set).
//! - [`TrainingStatistics`] (per-feature mean, std, min, max, exported with the model) drive the
//!   out-of-distribution rules.
//! - [`drift`] holds the drift detectors.
//! - [`provenance_anomaly`] holds the [`StreamingProvenanceMonitor`]: StreamSpot-style
//!   detection of anomalous provenance graphs, raising `provenance_anomaly` alerts.
//!
//! # Guarantees
//!
//! - A decision's trace is recorded before Andon runs, so a decision that stops the line is in
//!   the log; a collector error is returned, never swallowed.
//! - Without a collector (or with a disabled one) and with Andon off, the monitor calls the
//!   model's path-free `predict_one` and adds only a sequence number and a clock read.
//! - Inputs are stored as digests, keyed when a key is set (design invariant 7).
//!
//! [`Explainable::explain_into`]: whyline_core::Explainable::explain_into
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod alert;
mod andon;
mod audit;
pub mod drift;
mod error;
mod monitor;
mod ood;
mod profile;
pub mod provenance_anomaly;
mod sink;
mod webhook;

pub use alert::{Alert, AlertKind, AlertLevel, NamedAlert};
pub use andon::{AlertLevelSetting, Andon, AndonRules, AndonStats, DecisionFacts, DriftSignal};
pub use audit::{AuditRecord, LatencyBreakdown, QualityChecks};
pub use error::{MonitorError, Result};
pub use monitor::{Decision, InferenceMonitor, InputRecording};
pub use ood::{FeatureStatistics, OodFinding, TrainingStatistics};
pub use profile::{
    CollectorChoice, DriftRule, MonitorSettings, SafetyIntegrityLevel, SigningChoice,
};
pub use provenance_anomaly::{ProvenanceAnomalySettings, StreamingProvenanceMonitor};
/// The clock crate behind [`InferenceMonitor::with_clock`], for simulations' mock clocks.
pub use quanta;
pub use sink::{AlertSink, CallbackSink, ChannelSink, Delivery, TracingSink};
pub use webhook::{WebhookOptions, WebhookSink, WebhookStats};
/// The durability and stream-format words of profiles; defined once in `whyline-core` and
/// shared with the ledger.
pub use whyline_core::{Backpressure, Durability, StreamFormat};
