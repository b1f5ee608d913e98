//! What the monitor digests and when it reads the clock: XXH3-64 by default, FNV-1a on
//! request, the algorithm named in the model record; no digest and no clock without a
//! collector, except the time an alert needs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;

use whyline_core::digest::{DigestAlgorithm, fnv1a_features, xxh3_features};
use whyline_core::{
    CollectorStats, DecisionTrace, Explainable, LinearPath, ModelIdentity, ModelRecord,
    NoCollector, RecordOutcome, TraceCollector,
};
use whyline_monitor::{AlertLevel, Andon, AndonRules, CallbackSink, InferenceMonitor};

/// y = x0 - x1 as a probability-free linear model, with an identity so it writes a model
/// record; its confidence is 1.
struct Difference {
    identity: ModelIdentity,
}

impl Difference {
    fn new() -> Self {
        Self {
            identity: ModelIdentity::from_bytes(b"difference", "linear_regression", "1"),
        }
    }
}

impl Explainable for Difference {
    type Path = LinearPath;
    fn n_features(&self) -> usize {
        2
    }
    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        whyline_core::check_finite_row(row, 2, &[])?;
        path.contributions.clear();
        path.contributions.extend([row[0], -row[1]]);
        path.intercept = 0.0;
        path.logit = row[0] - row[1];
        path.prediction = path.logit;
        path.probability = Some(0.55);
        Ok(path.logit)
    }
    fn identity(&self) -> Option<&ModelIdentity> {
        Some(&self.identity)
    }
}

/// Keeps traces and model records (as their bytes, the way a ledger writes them).
#[derive(Default)]
struct Keeper {
    traces: Mutex<Vec<DecisionTrace<LinearPath>>>,
    models: Mutex<Vec<Vec<u8>>>,
}

impl TraceCollector<LinearPath> for Keeper {
    fn record(&self, trace: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
        self.traces.lock().unwrap().push(trace.clone());
        Ok(RecordOutcome::Stored)
    }
    fn record_model(&self, model: &ModelRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        self.models.lock().unwrap().push(model.to_bytes());
        Ok(Some(RecordOutcome::Stored))
    }
    fn flush(&self) -> whyline_core::Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        self.traces.lock().unwrap().len() as u64
    }
    fn stats(&self) -> CollectorStats {
        CollectorStats::default()
    }
}

#[test]
fn a_new_monitor_digests_with_xxh3_and_names_it_in_the_model_record() {
    let mut monitor =
        InferenceMonitor::new(Difference::new(), Keeper::default(), Andon::disabled());
    assert_eq!(monitor.digest_algorithm(), DigestAlgorithm::Xxh3_64);
    monitor.predict_one(&[3.0, 1.0]).unwrap();
    let trace = monitor.last_trace().unwrap();
    assert_eq!(trace.input_hash, xxh3_features(&[3.0, 1.0]));
    assert_ne!(trace.input_hash, fnv1a_features(&[3.0, 1.0]));
    let models = monitor.collector().models.lock().unwrap();
    assert_eq!(models.len(), 1);
    let record = ModelRecord::from_bytes(&models[0]).unwrap();
    assert_eq!(record.input_digest, DigestAlgorithm::Xxh3_64);
    assert_eq!(record.identity, Difference::new().identity);
}

#[test]
fn the_spec_fnv1a_and_the_keyed_digest_are_named_too() {
    let mut fnv = InferenceMonitor::new(Difference::new(), Keeper::default(), Andon::disabled())
        .with_digest(DigestAlgorithm::Fnv1a64);
    fnv.predict_one(&[3.0, 1.0]).unwrap();
    assert_eq!(
        fnv.last_trace().unwrap().input_hash,
        fnv1a_features(&[3.0, 1.0])
    );
    let models = fnv.collector().models.lock().unwrap();
    let record = ModelRecord::from_bytes(&models[0]).unwrap();
    assert_eq!(record.input_digest, DigestAlgorithm::Fnv1a64);

    // HMAC needs a key: asked for without one, the digest stays as it was.
    let unchanged = InferenceMonitor::new(Difference::new(), Keeper::default(), Andon::disabled())
        .with_digest(DigestAlgorithm::HmacSha256_64);
    assert_eq!(unchanged.digest_algorithm(), DigestAlgorithm::Xxh3_64);
    let mut keyed = InferenceMonitor::new(Difference::new(), Keeper::default(), Andon::disabled())
        .with_digest_key(b"key");
    keyed.predict_one(&[3.0, 1.0]).unwrap();
    let models = keyed.collector().models.lock().unwrap();
    let record = ModelRecord::from_bytes(&models[0]).unwrap();
    assert_eq!(record.input_digest, DigestAlgorithm::HmacSha256_64);
}

#[test]
fn without_a_collector_nothing_is_digested_or_timed_unless_an_alert_needs_a_time() {
    let rules = AndonRules {
        yellow_confidence: Some(0.6),
        ..AndonRules::default()
    };
    let stamps = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&stamps);
    let mut andon = Andon::new(rules).unwrap();
    andon.add_sink(CallbackSink::new(move |alert| {
        seen.lock().unwrap().push(alert.timestamp_ns)
    }));
    assert!(!andon.needs_latency());
    let mut monitor = InferenceMonitor::new(Difference::new(), NoCollector, andon);
    let before = whyline_core::now_ns();
    let decision = monitor.predict_one(&[3.0, 1.0]).unwrap();
    let after = whyline_core::now_ns();
    assert_eq!(
        decision.alert,
        Some(AlertLevel::Yellow),
        "confidence 0.55 < 0.6"
    );
    assert_eq!(
        decision.latency_ns, 0,
        "no latency rule: the model is not timed"
    );
    let trace = monitor.last_trace().unwrap();
    assert_eq!(trace.input_hash, 0, "no collector: no digest");
    let stamps = stamps.lock().unwrap().clone();
    assert_eq!(stamps.len(), 1);
    // The alert reads the clock once, when raised; the trace carries the same time.
    assert!(
        stamps[0] + 1_000_000 >= before && stamps[0] <= after + 1_000_000,
        "{} not in [{before}, {after}]",
        stamps[0]
    );
    assert_eq!(trace.timestamp_ns, stamps[0]);

    // A replayed decision keeps its recorded time.
    let replayed = monitor.predict_one_at(&[3.0, 1.0], 42).unwrap();
    assert_eq!(replayed.alert, Some(AlertLevel::Yellow));
    assert_eq!(monitor.last_trace().unwrap().timestamp_ns, 42);
}

#[test]
fn a_latency_rule_times_the_model_without_a_collector() {
    let andon = Andon::new(AndonRules {
        max_latency_ms: Some(1000.0),
        ..AndonRules::default()
    })
    .unwrap();
    assert!(andon.needs_latency());
    assert!(!Andon::disabled().needs_latency());
    let mut monitor = InferenceMonitor::new(Difference::new(), NoCollector, andon);
    let decision = monitor.predict_one(&[3.0, 1.0]).unwrap();
    assert_eq!(decision.alert, None);
    assert_eq!(
        monitor.last_trace().unwrap().latency_ns,
        decision.latency_ns
    );
    assert_eq!(monitor.last_trace().unwrap().input_hash, 0);
}
