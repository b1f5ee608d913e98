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

/// The wall clock of the clock-step test, moved by the test (one test uses it).
static WALL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn scripted_wall() -> u64 {
    WALL.load(std::sync::atomic::Ordering::SeqCst)
}

/// The wall clock steps back an hour, then forward two: the recorded timestamps never
/// decrease, and each step is raised once as a `ClockStep` alert with the next decision,
/// saying by how much.
#[test]
fn a_wall_clock_step_keeps_timestamps_in_order_and_is_raised_as_an_alert() {
    use std::sync::atomic::Ordering::SeqCst;
    use whyline_monitor::AlertKind;
    const SECOND: u64 = 1_000_000_000;
    WALL.store(1_780_000_000 * SECOND, SeqCst);
    let (ticks, mock) = whyline_monitor::quanta::Clock::mock();
    let advance = |ns: u64| {
        mock.increment(ns);
        WALL.fetch_add(ns, SeqCst);
    };
    let alerts = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&alerts);
    let mut andon = Andon::new(AndonRules::default()).unwrap();
    andon.add_sink(CallbackSink::new(move |alert| {
        seen.lock().unwrap().push(alert.clone())
    }));
    let mut monitor = InferenceMonitor::new(Difference::new(), Keeper::default(), andon)
        .with_wall_clock(ticks, scripted_wall);
    let decide = |monitor: &mut InferenceMonitor<Difference, Keeper>| {
        advance(400_000_000);
        monitor.predict_one(&[3.0, 1.0]).unwrap()
    };
    for _ in 0..6 {
        decide(&mut monitor);
    }
    assert!(
        alerts.lock().unwrap().is_empty(),
        "ordinary time raises nothing"
    );

    WALL.fetch_sub(3600 * SECOND, SeqCst);
    for _ in 0..6 {
        decide(&mut monitor);
    }
    WALL.fetch_add(7200 * SECOND, SeqCst);
    for _ in 0..6 {
        decide(&mut monitor);
    }

    let traces = monitor.collector().traces.lock().unwrap();
    let stamps: Vec<u64> = traces.iter().map(|t| t.timestamp_ns).collect();
    assert!(
        stamps.windows(2).all(|w| w[0] <= w[1]),
        "timestamps never decrease: {stamps:?}"
    );
    assert_eq!(
        *stamps.last().unwrap(),
        scripted_wall(),
        "after the step forward they follow the wall clock"
    );
    let alerts = alerts.lock().unwrap();
    let steps: Vec<i64> = alerts
        .iter()
        .filter_map(|alert| match alert.kind {
            AlertKind::ClockStep { step_ns, .. } => Some(step_ns),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len(), 2, "each step raised once: {alerts:?}");
    let tolerance = 500_000_000;
    assert!(
        (steps[0] + 3600 * SECOND as i64).abs() < tolerance,
        "{steps:?}"
    );
    assert!(
        (steps[1] - 7200 * SECOND as i64).abs() < tolerance,
        "{steps:?}"
    );
    assert!(alerts.iter().all(|a| a.level == AlertLevel::Yellow));
    assert!(
        alerts[0].to_string().contains("stepped back 3600"),
        "{}",
        alerts[0]
    );
}

/// A simulation's clock is never re-anchored to the machine's: after more than a second of
/// simulated time (when a real clock would re-anchor), every timestamp is the start plus
/// exactly how far the simulation moved its clock.
#[test]
fn a_simulated_clock_stays_on_simulated_time_past_the_re_anchoring_second() {
    const START: u64 = 1_600_000_000_000_000_000;
    let (ticks, mock) = whyline_monitor::quanta::Clock::mock();
    let mut monitor = InferenceMonitor::new(
        Difference::new(),
        Keeper::default(),
        Andon::new(AndonRules::default()).unwrap(),
    )
    .with_clock(ticks, START);
    for _ in 0..5 {
        mock.increment(700_000_000);
        monitor.predict_one(&[3.0, 1.0]).unwrap();
    }
    let traces = monitor.collector().traces.lock().unwrap();
    let stamps: Vec<u64> = traces.iter().map(|t| t.timestamp_ns).collect();
    let expected: Vec<u64> = (1..=5).map(|k| START + k * 700_000_000).collect();
    assert_eq!(stamps, expected);
}
