//! The types every part of whyline speaks: decision traces, decision paths, the APRT binary
//! record and the JSON view, input digests, and the traits between models and collectors.
//!
//! # Overview
//!
//! A model implementing [`Explainable`] returns, with each output, a [`DecisionPath`] in its
//! own terms: [`LinearPath`] (per-feature contributions), [`TreePath`] (the splits taken),
//! [`ForestPath`] (each tree's path and the ensemble's agreement), [`KnnPath`] (neighbours and
//! votes), [`NeuralPath`] (gradients) or [`ClusterPath`] (distances to centroids and the margin
//! between the two nearest). A [`DecisionTrace`] wraps the path with the time,
//! sequence number, input digest, output and latency of the decision, and goes to a
//! [`TraceCollector`]. [`AnyPath`] reads logs whose path types are not known in advance.
//!
//! The canonical form of a trace is its APRT record ([`encode_aprt`], [`decode_aprt_prefix`]):
//! what ledgers hash and store. The JSON view ([`to_json`], [`from_json`]) is for people and
//! tools, and is lossless for everything APRT carries.
//!
//! # Example
//!
//! ```
//! use whyline_core::{DecisionTrace, LinearPath, DecisionPath, digest, to_aprt, from_aprt};
//!
//! let row = [3.5f32, 7.0];
//! let trace = DecisionTrace {
//!     timestamp_ns: 1_710_512_347_123_456_789,
//!     sequence: 42,
//!     input_hash: digest::fnv1a_features(&row),
//!     output: 0.87,
//!     latency_ns: 2_000,
//!     path: LinearPath {
//!         contributions: vec![0.42, 0.28],
//!         intercept: 0.17,
//!         logit: 0.87,
//!         prediction: 0.87,
//!         probability: None,
//!     },
//! };
//! let bytes = to_aprt(&trace);
//! assert_eq!(&bytes[..4], b"APRT");
//! let back: DecisionTrace<LinearPath> = from_aprt(&bytes)?;
//! assert_eq!(back, trace);
//! assert_eq!(back.path.top_features(1), vec![(0, 0.42)]);
//! assert!(back.path.explain().contains("feature[0]: +0.42"));
//! # Ok::<(), whyline_core::CoreError>(())
//! ```
//!
//! # Guarantees
//!
//! - Deterministic bytes: the same trace always encodes to the same APRT bytes.
//! - No panics on input: decoders return a [`CoreError`] naming the problem and its byte
//!   offset for any bytes, truncated, random or hostile; counts are checked against the bytes
//!   left before anything is allocated.
//! - No raw inputs: traces carry a digest of the input ([`digest`]), keyed when asked.
//!
//! # Format
//!
//! APRT v1 is documented field by field in `docs/aprt-format.md` and on each path type.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod aggregate;
mod alert_record;
mod batch;
mod codec;
mod collector;
pub mod digest;
mod error;
mod evidence;
mod explainable;
mod identity;
mod model_record;
mod path;
mod policy;
pub mod provenance;
mod tagged;
mod trace;

pub use aggregate::{AggregationBackend, TraceStatistics, aggregate_traces, aggregate_traces_with};
pub use alert_record::{ALERT_RECORD_MAGIC, AlertRecord};
pub use batch::BatchTrace;
pub use codec::aprt::{
    APRT_HEADER_LEN, APRT_MAGIC, APRT_VERSION, AprtHeader, AprtRecords, decode_aprt_prefix,
    encode_aprt, from_aprt, latency_ns_to_us, to_aprt,
};
pub use codec::json::{
    JSON_VERSION, encode_json, encode_json_reference, from_json, from_json_slice, to_json,
};
pub use collector::{CollectorStats, InputEvidence, NoCollector, RecordOutcome, TraceCollector};
pub use digest::DigestAlgorithm;
pub use error::{CoreError, Result};
pub use evidence::{
    AEGIS_256_KEY_LABEL, AES_GCM_KEY_LABEL, Context, ContextValue, DecisionInput,
    ERASURE_RECORD_MAGIC, EntryKind, ErasureRecord, MAX_CONTEXT_DEPTH, NONCE_LEN,
    OUTCOME_RECORD_MAGIC, OutcomeRecord, SEALED_INPUT_HEADER_LEN, SEALED_INPUT_MAGIC,
    SEALED_TRAILER_AAD_LEN, SEALED_TRAILER_HEADER_LEN, SealAlgorithm, SealedHeader, SealedInput,
    SealedLayout, TAG_LEN, decode_input, encode_input, encode_input_f64, parse_subject_digest,
    split_decision_entry, trailer_aad,
};
pub use explainable::{Explainable, check_batch, check_finite_row};
pub use identity::ModelIdentity;
pub use model_record::{MODEL_RECORD_MAGIC, ModelRecord};
pub use path::{
    Aggregation, AnyPath, ClusterPath, DecisionPath, ForestPath, KnnPath, LeafInfo, LinearPath,
    Names, NeuralPath, PathType, SplitTest, TreePath, TreeSplit,
};
pub use policy::{Backpressure, Durability, StreamFormat};
pub use trace::{DecisionTrace, now_ns};
