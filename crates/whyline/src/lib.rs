//! whyline makes every decision of a machine-learning model explainable at the moment it is
//! made and provable long after. This crate is the one to depend on: it re-exports the parts
//! and builds a running monitor from a safety profile.
//!
//! # Overview
//!
//! - [`Model`] loads scikit-learn (through whyline's exporter), XGBoost, LightGBM and aprender
//!   models, and predicts with each decision's native path ([`models`]).
//! - [`MonitorSettings`] is a safety profile: a [`SafetyIntegrityLevel`] (QM, SIL1–SIL4) and
//!   the overrides of a TOML file (`examples/config/*.toml`).
//! - [`Recorder::from_settings`] builds what the profile names: the collector (ring, stream or
//!   ledger, as a [`RecorderCollector`]), its [`Durability`], the checkpoint signing key (read,
//!   or made and written beside the log), the checkpoint interval, the input digest key, the
//!   Andon rules and drift detectors, the alert webhook.
//! - [`Recorder::monitor`] wraps a model in an [`InferenceMonitor`]: each prediction is traced,
//!   recorded and checked, and the model record goes first.
//! - Decisions recorded elsewhere (other services, other languages) are appended with
//!   [`RecorderCollector::ingest`] ([`parse_batch`] reads JSON lines or APRT bodies, all or
//!   nothing, into the canonical records; one [`Receipt`] per entry once durable).
//! - The log is followed by transparency-log tooling through C2SP tlog-tiles:
//!   [`RecorderCollector::latest_checkpoint`] and [`RecorderCollector::read_tile`]
//!   ([`parse_tile_path`], a [`TileCache`] kept between requests).
//! - [`ProvenanceRecorder`] records how decisions chain (sensor inputs → perception →
//!   fusion → planner → action) as a provenance graph in the same ledger;
//!   [`forensics::provenance`] reconstructs the path back from an incident.
//! - The log is read back with [`LedgerReader`], verified with [`verify_store`], and
//!   investigated with [`investigate`]; explanations (TreeSHAP, KernelSHAP, LIME, ...) are in
//!   [`explain`].
//!
//! The crates themselves are here as modules: [`core`], [`models`], [`explain`], [`ledger`],
//! [`monitor`], [`forensics`].
//!
//! # Example
//!
//! A SIL3 profile: a ledger with every append durable and signed checkpoints every 256
//! entries. The recorder makes the Ed25519 key, since the directory has none.
//!
//! ```
//! use std::path::Path;
//! use whyline::{
//!     AnyPath, LedgerReader, Model, MonitorSettings, Recorder, SegmentStore, from_aprt,
//! };
//!
//! # let dir = tempfile::tempdir().map_err(|e| whyline::WhylineError::Io {
//! #     operation: "creating", path: std::env::temp_dir(), source: e })?;
//! # let dir = dir.path();
//! # let model_file = concat!(env!("CARGO_MANIFEST_DIR"),
//! #     "/../whyline-models/tests/fixtures/sk_logreg_iris.whyline.json");
//! let settings = MonitorSettings::from_toml(
//!     "[inference_monitor]\nintegrity_level = \"SIL3\"\n",
//!     Path::new("profile.toml"),
//! )?;
//! let recorder = Recorder::from_settings(&settings, dir)?;
//! assert!(dir.join("ledger.key").is_file() && dir.join("ledger.pub").is_file());
//!
//! let model = Model::load(model_file)?;
//! let mut monitor = recorder.monitor(model)?; // the model record is entry 0
//! let decision = monitor.predict_one(&[5.1, 3.5, 1.4, 0.2])?;
//! monitor.flush()?;
//!
//! let (_, collector, _) = monitor.into_parts();
//! drop(collector); // closes the ledger
//! let store = SegmentStore::open(dir)?;
//! let read = LedgerReader::new(&store)?.entries_between(0, u64::MAX)?;
//! let trace = read
//!     .entries
//!     .iter()
//!     .find_map(|entry| from_aprt::<AnyPath>(&entry.payload).ok())
//!     .expect("the decision is in the log");
//! assert_eq!(trace.output, decision.output);
//! # Ok::<(), whyline::WhylineError>(())
//! ```
//!
//! # Guarantees
//!
//! - A profile builds what it names or is refused: every setting either acts or is an
//!   [`MonitorError::InvalidSetting`] naming it (a key the chosen collector would not use, a
//!   synchronous stream).
//! - Secret keys are written with mode 0600 and never logged; an existing key of the wrong kind
//!   is an error ([`WhylineError::WrongKeyKind`]), never replaced.
//! - Everything else is the parts' guarantees: see each crate.
//!
//! # Features
//!
//! - `postgres`: ledgers in PostgreSQL ([`LogLocation`]'s `Postgres`, opened through
//!   `whyline-store-postgres`), for [`RecorderBuilder::build_at`] and read-only views.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod collector;
mod error;
mod evidence;
mod keys;
mod location;
mod provenance;
mod recorder;

pub use collector::RecorderCollector;
pub use error::{Result, WhylineError};
pub use evidence::{Erasure, erase_subject, record_outcome};
pub use location::{LogLocation, is_postgres_url};
pub use provenance::ProvenanceRecorder;
pub use recorder::{
    DEFAULT_ORIGIN, Recorder, RecorderBuilder, SharedRecorder, SharedSegmentOpener,
    training_statistics,
};

/// Traces, paths, the APRT and JSON codecs, digests, and the collector trait.
pub use whyline_core as core;
/// Explanations: TreeSHAP, LinearSHAP, KernelSHAP, LIME, gradients, counterfactuals.
pub use whyline_explain as explain;
/// Incident windows, timelines, anomalies and reports.
pub use whyline_forensics as forensics;
/// Ring, stream and ledger collectors; the tamper-evident ledger and its proofs.
pub use whyline_ledger as ledger;
/// Model families and importers.
pub use whyline_models as models;
/// The inference monitor, Andon rules, drift and OOD detectors, safety profiles.
pub use whyline_monitor as monitor;

pub use whyline_core::{
    AnyPath, DecisionPath, DecisionTrace, Durability, Explainable, RecordOutcome, StreamFormat,
    TraceCollector, from_aprt, to_aprt,
};
pub use whyline_forensics::{
    IncidentQuery, IncidentReport, KaizenAnalysis, KaizenAnalyzer, KaizenSettings, KaizenWindow,
    investigate,
};
pub use whyline_ledger::{
    IngestBatch, IngestErrorKind, IngestFormat, Ledger, LedgerCollector, LedgerOptions,
    LedgerReader, NoteSigner, NoteVerifier, Receipt, SegmentStore, TileCache, TileErrorKind,
    TilePath, VerifyOutcome, parse_batch, parse_tile_path, verify_store,
};
pub use whyline_models::{LoadOptions, Model, ModelInfo};
pub use whyline_monitor::{
    Alert, AlertLevel, Andon, AndonRules, CollectorChoice, Decision, InferenceMonitor,
    MonitorError, MonitorSettings, ProvenanceAnomalySettings, SafetyIntegrityLevel, SigningChoice,
    StreamingProvenanceMonitor,
};
