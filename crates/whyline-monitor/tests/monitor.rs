//! InferenceMonitor and Andon end to end, with a small linear model and a memory collector.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use whyline_core::digest::{InputDigester, fnv1a_features, xxh3_features};
use whyline_core::{
    CollectorStats, CoreError, DecisionTrace, Explainable, LinearPath, NoCollector, RecordOutcome,
    TraceCollector, check_finite_row,
};
use whyline_monitor::{
    AlertKind, AlertLevel, AlertLevelSetting, Andon, AndonRules, CallbackSink, ChannelSink,
    DecisionFacts, FeatureStatistics, InferenceMonitor, MonitorError, TrainingStatistics,
};

/// Logistic regression over two features: p = σ(w·x + b); output is the class.
struct Logistic {
    weights: [f32; 2],
    bias: f32,
    explained: AtomicU64,
    predicted: AtomicU64,
    sleep: Option<std::time::Duration>,
}

impl Logistic {
    fn new() -> Self {
        Self {
            weights: [2.0, -1.0],
            bias: 0.0,
            explained: AtomicU64::new(0),
            predicted: AtomicU64::new(0),
            sleep: None,
        }
    }
}

impl Explainable for Logistic {
    type Path = LinearPath;

    fn n_features(&self) -> usize {
        2
    }

    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        check_finite_row(row, 2, &[])?;
        self.explained.fetch_add(1, Ordering::Relaxed);
        if let Some(d) = self.sleep {
            std::thread::sleep(d);
        }
        path.contributions.clear();
        path.contributions
            .extend(row.iter().zip(self.weights).map(|(x, w)| x * w));
        path.intercept = self.bias;
        path.logit = self.bias + path.contributions.iter().sum::<f32>();
        let p1 = 1.0 / (1.0 + (-path.logit).exp());
        let class = if p1 >= 0.5 { 1.0 } else { 0.0 };
        path.prediction = class;
        path.probability = Some(if class == 1.0 { p1 } else { 1.0 - p1 });
        Ok(class)
    }

    fn predict_one(&self, row: &[f32]) -> whyline_core::Result<f32> {
        check_finite_row(row, 2, &[])?;
        self.predicted.fetch_add(1, Ordering::Relaxed);
        let logit = self.bias + row[0] * self.weights[0] + row[1] * self.weights[1];
        Ok(if logit >= 0.0 { 1.0 } else { 0.0 })
    }
}

/// Keeps every trace in memory.
#[derive(Default)]
struct MemoryCollector {
    traces: Mutex<Vec<DecisionTrace<LinearPath>>>,
}

impl TraceCollector<LinearPath> for MemoryCollector {
    fn record(&self, trace: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
        self.traces.lock().unwrap().push(trace.clone());
        Ok(RecordOutcome::Stored)
    }
    fn flush(&self) -> whyline_core::Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        self.traces.lock().unwrap().len() as u64
    }
    fn stats(&self) -> CollectorStats {
        CollectorStats {
            recorded: self.len(),
            ..CollectorStats::default()
        }
    }
}

/// A collector whose storage has failed.
struct BrokenCollector;

impl TraceCollector<LinearPath> for BrokenCollector {
    fn record(&self, trace: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
        Err(CoreError::collector(
            "broken",
            Some(trace.sequence),
            "disk full",
        ))
    }
    fn flush(&self) -> whyline_core::Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        0
    }
    fn stats(&self) -> CollectorStats {
        CollectorStats::default()
    }
}

fn rules() -> AndonRules {
    AndonRules::default()
}

#[test]
fn every_row_is_recorded_with_sequence_digest_time_and_path() {
    let before = whyline_core::now_ns();
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        MemoryCollector::default(),
        Andon::new(rules()).unwrap(),
    )
    .with_first_sequence(100);
    let batch = [1.0, 0.5, -1.0, 2.0, 0.25, 0.0];
    let outputs = monitor.predict(&batch).unwrap();
    assert_eq!(outputs, vec![1.0, 0.0, 1.0]);
    let traces = monitor.collector().traces.lock().unwrap();
    assert_eq!(traces.len(), 3);
    let after = whyline_core::now_ns();
    for (i, trace) in traces.iter().enumerate() {
        assert_eq!(trace.sequence, 100 + i as u64);
        // New monitors digest with XXH3-64.
        assert_eq!(trace.input_hash, xxh3_features(&batch[i * 2..i * 2 + 2]));
        assert_eq!(trace.output, outputs[i]);
        assert!(
            trace.timestamp_ns >= before.saturating_sub(1_000_000)
                && trace.timestamp_ns <= after + 1_000_000
        );
        let sum: f32 = trace.path.contributions.iter().sum::<f32>() + trace.path.intercept;
        assert_eq!(sum, trace.path.logit);
    }
    assert!(
        traces
            .windows(2)
            .all(|w| w[0].timestamp_ns <= w[1].timestamp_ns)
    );
    assert_eq!(monitor.next_sequence(), 103);
}

#[test]
fn a_digest_key_makes_input_hashes_keyed() {
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        MemoryCollector::default(),
        Andon::disabled(),
    )
    .with_digest_key(b"deployment key");
    monitor.predict_one(&[1.0, 2.0]).unwrap();
    let trace = monitor.last_trace().unwrap();
    assert_eq!(
        trace.input_hash,
        InputDigester::keyed(b"deployment key").digest(&[1.0, 2.0])
    );
    assert_ne!(trace.input_hash, fnv1a_features(&[1.0, 2.0]));
}

#[test]
fn without_collector_and_andon_the_path_free_prediction_runs() {
    let mut monitor = InferenceMonitor::new(Logistic::new(), NoCollector, Andon::disabled());
    let decision = monitor.predict_one(&[1.0, 0.0]).unwrap();
    assert_eq!(decision.output, 1.0);
    assert_eq!(decision.confidence, None);
    assert_eq!(monitor.model().predicted.load(Ordering::Relaxed), 1);
    assert_eq!(monitor.model().explained.load(Ordering::Relaxed), 0);
    assert!(monitor.last_trace().is_none());
}

#[test]
fn low_confidence_raises_yellow_then_red() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    let mut andon = Andon::new(AndonRules {
        yellow_confidence: Some(0.9),
        red_confidence: Some(0.6),
        ..rules()
    })
    .unwrap();
    andon.add_sink(CallbackSink::new(move |alert| {
        sink_seen.lock().unwrap().push(alert.clone())
    }));
    let mut monitor = InferenceMonitor::new(Logistic::new(), MemoryCollector::default(), andon);
    // logit 4: p = 0.982, no alert. logit 1: p = 0.731, yellow. logit 0.2: p = 0.55, red.
    assert_eq!(monitor.predict_one(&[2.0, 0.0]).unwrap().alert, None);
    assert_eq!(
        monitor.predict_one(&[0.5, 0.0]).unwrap().alert,
        Some(AlertLevel::Yellow)
    );
    assert_eq!(
        monitor.predict_one(&[0.1, 0.0]).unwrap().alert,
        Some(AlertLevel::Red)
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert!(matches!(seen[0].kind, AlertKind::LowConfidence { threshold, .. } if threshold == 0.9));
    assert_eq!(seen[1].sequence, 2);
    assert!(matches!(seen[1].kind, AlertKind::LowConfidence { threshold, .. } if threshold == 0.6));
    assert_eq!(monitor.andon().stats().yellow, 1);
    assert_eq!(monitor.andon().stats().red, 1);
}

#[test]
fn halt_on_red_stops_the_line_after_recording_the_trace() {
    let red_calls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&red_calls);
    let mut andon = Andon::new(AndonRules {
        red_confidence: Some(0.6),
        halt_on_red: true,
        ..rules()
    })
    .unwrap();
    andon.on_red(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let mut monitor = InferenceMonitor::new(Logistic::new(), MemoryCollector::default(), andon);
    let error = monitor.predict_one(&[0.1, 0.0]).unwrap_err();
    assert!(
        matches!(&error, MonitorError::LineStopped { alert } if alert.sequence == 0),
        "{error:?}"
    );
    assert_eq!(red_calls.load(Ordering::Relaxed), 1);
    assert_eq!(
        monitor.collector().len(),
        1,
        "the decision that stopped the line is in the log"
    );
}

#[test]
fn channel_sink_counts_what_a_full_channel_drops() {
    let (mut monitor, receiver) = alerting(
        Logistic::new(),
        AndonRules {
            yellow_confidence: Some(0.99),
            ..rules()
        },
        1,
    );
    for _ in 0..3 {
        monitor.predict_one(&[0.5, 0.0]).unwrap();
    }
    assert_eq!(receiver.len(), 1);
    assert_eq!(monitor.andon().stats().undelivered, 2);
    assert_eq!(receiver.recv().unwrap().sequence, 0);
}

#[test]
fn a_non_finite_output_is_red_by_default() {
    struct NanModel;
    impl Explainable for NanModel {
        type Path = LinearPath;
        fn n_features(&self) -> usize {
            1
        }
        fn explain_into(&self, _: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
            *path = LinearPath {
                logit: f32::NAN,
                prediction: f32::NAN,
                ..LinearPath::default()
            };
            Ok(f32::NAN)
        }
    }
    let (sink, receiver) = ChannelSink::bounded(4);
    let mut andon = Andon::new(rules()).unwrap();
    andon.add_sink(sink);
    let mut monitor = InferenceMonitor::new(NanModel, NoCollector, andon);
    assert_eq!(
        monitor.predict_one(&[1.0]).unwrap().alert,
        Some(AlertLevel::Red)
    );
    let alert = receiver.try_recv().unwrap();
    assert!(matches!(alert.kind, AlertKind::NonFiniteOutput { output } if output.is_nan()));
}

/// Feature 0: mean 0, std 1, range ±3; feature 1: mean 10, std 2, range 4..16.
fn two_feature_statistics() -> TrainingStatistics {
    TrainingStatistics::new(vec![
        FeatureStatistics {
            mean: 0.0,
            std: 1.0,
            min: -3.0,
            max: 3.0,
        },
        FeatureStatistics {
            mean: 10.0,
            std: 2.0,
            min: 4.0,
            max: 16.0,
        },
    ])
    .unwrap()
}

#[test]
fn out_of_distribution_inputs_name_the_worst_feature() {
    let statistics = two_feature_statistics();
    let (sink, receiver) = ChannelSink::bounded(8);
    let mut andon = Andon::new(AndonRules {
        ood_z_score: Some(2.5),
        ood_range: Some(AlertLevelSetting::Red),
        ..rules()
    })
    .unwrap();
    andon.add_sink(sink).set_training_statistics(statistics);
    let mut monitor = InferenceMonitor::new(Logistic::new(), NoCollector, andon);
    assert_eq!(monitor.predict_one(&[0.5, 11.0]).unwrap().alert, None);
    // z = 2.6 on feature 0, inside its range: yellow.
    assert_eq!(
        monitor.predict_one(&[2.6, 10.0]).unwrap().alert,
        Some(AlertLevel::Yellow)
    );
    // feature 1 = 20: z = 5, outside [4, 16]: red, and it is the worst feature.
    assert_eq!(
        monitor.predict_one(&[2.6, 20.0]).unwrap().alert,
        Some(AlertLevel::Red)
    );
    let first = receiver.try_recv().unwrap();
    assert!(matches!(
        first.kind,
        AlertKind::OutOfDistribution {
            feature_index: 0,
            outside_range: false,
            ..
        }
    ));
    let second = receiver.try_recv().unwrap();
    match second.kind {
        AlertKind::OutOfDistribution {
            feature_index,
            z_score,
            outside_range,
            ..
        } => {
            assert_eq!(feature_index, 1);
            assert_eq!(z_score, 5.0);
            assert!(outside_range);
        }
        other => panic!("expected an out-of-distribution alert, got {other:?}"),
    }
}

#[test]
fn a_repeated_decision_alerts_once_per_run() {
    let (mut monitor, receiver) = alerting(
        Logistic::new(),
        AndonRules {
            repetitive_decisions: Some(3),
            ..rules()
        },
        8,
    );
    let levels: Vec<_> = [
        [1.0, 0.0],
        [1.0, 0.0],
        [1.0, 0.0],
        [1.0, 0.0],
        [-1.0, 0.0],
        [1.0, 0.0],
    ]
    .iter()
    .map(|row| monitor.predict_one(row).unwrap().alert)
    .collect();
    assert_eq!(
        levels,
        vec![None, None, Some(AlertLevel::Yellow), None, None, None]
    );
    assert!(matches!(
        receiver.try_recv().unwrap().kind,
        AlertKind::RepetitiveDecision { count: 3, .. }
    ));
}

/// A monitor with no collector over `model` under `rules`, its alerts sent to a channel of
/// `capacity`, and that channel's receiver.
fn alerting(
    model: Logistic,
    rules: AndonRules,
    capacity: usize,
) -> (
    InferenceMonitor<Logistic, NoCollector>,
    crossbeam_channel::Receiver<whyline_monitor::Alert>,
) {
    let (sink, receiver) = ChannelSink::bounded(capacity);
    let mut andon = Andon::new(rules).unwrap();
    andon.add_sink(sink);
    (InferenceMonitor::new(model, NoCollector, andon), receiver)
}

/// [`alerting`] over a model that takes `ms` milliseconds a decision, with a 1 ms budget.
fn slow_monitor(
    ms: u64,
) -> (
    InferenceMonitor<Logistic, NoCollector>,
    crossbeam_channel::Receiver<whyline_monitor::Alert>,
) {
    let mut model = Logistic::new();
    model.sleep = Some(std::time::Duration::from_millis(ms));
    let rules = AndonRules {
        max_latency_ms: Some(1.0),
        ..rules()
    };
    alerting(model, rules, 4)
}

#[test]
fn latency_over_budget_is_reported_with_both_figures() {
    let (mut monitor, receiver) = slow_monitor(3);
    let decision = monitor.predict_one(&[1.0, 0.0]).unwrap();
    assert!(decision.latency_ns >= 3_000_000);
    let alert = receiver.try_recv().unwrap();
    assert!(
        matches!(alert.kind, AlertKind::LatencyOverBudget { budget_ns: 1_000_000, latency_ns } if latency_ns == decision.latency_ns)
    );
}

/// A confident, finite decision that took `latency_ns`.
fn confident_facts(latency_ns: u64) -> DecisionFacts<'static> {
    DecisionFacts {
        sequence: 1,
        timestamp_ns: 1,
        row: &[1.0, 0.0],
        output: 1.0,
        confidence: 1.0,
        latency_ns,
    }
}

/// Each latency budget is exceeded only above it: a latency at the red budget is yellow
/// (over the yellow budget), one nanosecond more is red, with the budget it passed.
#[test]
fn a_latency_at_the_red_budget_is_yellow_and_above_it_red() {
    let levels = |latency_ns: u64| {
        let mut andon = Andon::new(AndonRules {
            max_latency_ms: Some(1.0),
            red_latency_ms: Some(2.0),
            ..rules()
        })
        .unwrap();
        andon
            .check(&confident_facts(latency_ns))
            .map(|alert| match alert.kind {
                AlertKind::LatencyOverBudget { budget_ns, .. } => (alert.level, budget_ns),
                other => panic!("{other:?}"),
            })
    };
    assert_eq!(levels(1_000_000), None);
    assert_eq!(levels(1_000_001), Some((AlertLevel::Yellow, 1_000_000)));
    assert_eq!(levels(2_000_000), Some((AlertLevel::Yellow, 1_000_000)));
    assert_eq!(levels(2_000_001), Some((AlertLevel::Red, 2_000_000)));
}

/// Andon counts every decision it checks, alert or not.
#[test]
fn andon_counts_the_decisions_it_checks() {
    let mut andon = Andon::new(AndonRules {
        max_latency_ms: Some(1.0),
        ..rules()
    })
    .unwrap();
    for latency_ns in [10, 2_000_000, 20] {
        andon.check(&confident_facts(latency_ns));
    }
    let stats = andon.stats();
    assert_eq!((stats.checked, stats.yellow, stats.red), (3, 1, 0));
}

/// An alert carries the time its decision began, not the time the model finished: with no
/// collector a slow decision's latency alert is stamped at its start.
#[test]
fn an_alert_is_stamped_with_the_time_its_decision_began() {
    let (mut monitor, receiver) = slow_monitor(40);
    let before = whyline_core::now_ns();
    monitor.predict_one(&[1.0, 0.0]).unwrap();
    let after = whyline_core::now_ns();
    assert!(after - before >= 40_000_000);
    let alert = receiver.try_recv().unwrap();
    assert!(
        alert.timestamp_ns >= before.saturating_sub(5_000_000)
            && alert.timestamp_ns < before + 20_000_000,
        "stamped {} ns after the call began, the call took {} ns",
        alert.timestamp_ns as i128 - before as i128,
        after - before
    );
}

#[test]
fn alternating_decisions_never_raise_a_repetition_alert() {
    let (mut monitor, receiver) = alerting(
        Logistic::new(),
        AndonRules {
            repetitive_decisions: Some(3),
            ..rules()
        },
        16,
    );
    // Class 1 and class 0 in turn, ten times: no run reaches three.
    for i in 0..10 {
        let row = if i % 2 == 0 { [1.0, 0.0] } else { [-1.0, 0.0] };
        monitor.predict_one(&row).unwrap();
    }
    let repeated: Vec<_> = receiver
        .try_iter()
        .filter(|a| matches!(a.kind, AlertKind::RepetitiveDecision { .. }))
        .collect();
    assert!(repeated.is_empty(), "{repeated:?}");
}

#[test]
fn model_and_collector_errors_reach_the_caller() {
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        MemoryCollector::default(),
        Andon::disabled(),
    );
    let error = monitor.predict(&[1.0, 2.0, f32::NAN, 0.0]).unwrap_err();
    assert!(
        matches!(
            &error,
            MonitorError::Model {
                row: 1,
                source: CoreError::NonFiniteInput {
                    feature_index: 0,
                    ..
                }
            }
        ),
        "{error:?}"
    );
    let error = monitor.predict(&[1.0, 2.0, 3.0]).unwrap_err();
    assert!(
        matches!(
            &error,
            MonitorError::Model {
                source: CoreError::InputShape {
                    expected: 2,
                    found: 3
                },
                ..
            }
        ),
        "{error:?}"
    );

    let mut broken = InferenceMonitor::new(Logistic::new(), BrokenCollector, Andon::disabled());
    let error = broken.predict_one(&[1.0, 2.0]).unwrap_err();
    assert!(
        matches!(&error, MonitorError::Collector { sequence: 0, .. }),
        "{error:?}"
    );
}

#[test]
fn red_and_yellow_confidence_bars_may_be_the_same() {
    // "At most yellow": equal bars are consistent (every low decision is red).
    assert!(
        Andon::new(AndonRules {
            yellow_confidence: Some(0.6),
            red_confidence: Some(0.6),
            ..rules()
        })
        .is_ok()
    );
}

/// Without a latency rule the model is not timed, and an alert is stamped with the clock
/// read when it is raised: not the clock's anchor (the monitor's start, or the last
/// re-anchoring), which would put it in the past.
#[test]
fn an_untimed_decisions_alert_is_stamped_now() {
    let (mut monitor, receiver) = alerting(
        Logistic::new(),
        AndonRules {
            yellow_confidence: Some(0.99),
            ..rules()
        },
        4,
    );
    std::thread::sleep(std::time::Duration::from_millis(30));
    let before = whyline_core::now_ns();
    monitor.predict_one(&[0.5, 0.0]).unwrap();
    let alert = receiver.try_recv().unwrap();
    assert!(
        alert.timestamp_ns >= before,
        "stamped {} ns before the decision",
        before - alert.timestamp_ns
    );
}

/// Of two alerts of the same level, the first raised is the one returned (the rules run in
/// a fixed order: confidence before latency).
#[test]
fn of_two_yellow_alerts_the_first_raised_is_returned() {
    let mut andon = Andon::new(AndonRules {
        yellow_confidence: Some(0.9),
        max_latency_ms: Some(1.0),
        ..rules()
    })
    .unwrap();
    let alert = andon
        .check(&DecisionFacts {
            confidence: 0.5,
            ..confident_facts(2_000_000)
        })
        .unwrap();
    assert_eq!(alert.level, AlertLevel::Yellow);
    assert!(
        matches!(alert.kind, AlertKind::LowConfidence { .. }),
        "{alert:?}"
    );
    assert_eq!(andon.stats().yellow, 2);
}

/// Latency budgets are positive: 0 ms is refused.
#[test]
fn a_latency_budget_of_zero_is_refused() {
    for rules in [
        AndonRules {
            max_latency_ms: Some(0.0),
            ..rules()
        },
        AndonRules {
            red_latency_ms: Some(0.0),
            ..rules()
        },
    ] {
        assert!(Andon::new(rules).is_err());
    }
}

/// A run of repeated decisions needs two at least: 1 is refused, 2 taken.
#[test]
fn a_repetition_rule_needs_a_run_of_two_at_least() {
    let with_run = |run| {
        Andon::new(AndonRules {
            repetitive_decisions: Some(run),
            ..rules()
        })
    };
    for run in [0, 1] {
        let error = with_run(run).unwrap_err();
        assert!(
            error.to_string().contains("andon.repetitive_decisions"),
            "{run}: {error}"
        );
    }
    assert!(with_run(2).is_ok());
    assert!(with_run(3).is_ok());
}

/// A confidence at the red bar is below the yellow one only: yellow; just below it, red.
#[test]
fn a_confidence_at_the_red_bar_is_yellow_and_below_it_red() {
    let level = |confidence: f32| {
        let mut andon = Andon::new(AndonRules {
            yellow_confidence: Some(0.6),
            red_confidence: Some(0.3),
            ..rules()
        })
        .unwrap();
        andon
            .check(&DecisionFacts {
                confidence,
                ..confident_facts(10)
            })
            .map(|alert| alert.level)
    };
    assert_eq!(level(0.6), None);
    assert_eq!(level(0.599), Some(AlertLevel::Yellow));
    assert_eq!(level(0.3), Some(AlertLevel::Yellow));
    assert_eq!(level(0.299), Some(AlertLevel::Red));
}

#[test]
fn inconsistent_rules_name_the_field() {
    let error = Andon::new(AndonRules {
        yellow_confidence: Some(0.5),
        red_confidence: Some(0.7),
        ..rules()
    })
    .unwrap_err();
    assert!(
        matches!(&error, MonitorError::InvalidSetting { setting, .. } if setting == "andon.red_confidence"),
        "{error:?}"
    );
    let error = Andon::new(AndonRules {
        max_latency_ms: Some(-1.0),
        ..rules()
    })
    .unwrap_err();
    assert!(
        error.to_string().contains("andon.max_latency_ms"),
        "{error}"
    );
    // An out-of-distribution bar must be a positive, finite z.
    for z in [-1.0, 0.0, f32::NAN, f32::INFINITY] {
        let error = Andon::new(AndonRules {
            ood_z_score: Some(z),
            ..rules()
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("andon.ood_z_score"),
            "z {z}: {error}"
        );
    }
    assert!(
        Andon::new(AndonRules {
            ood_z_score: Some(2.5),
            ..rules()
        })
        .is_ok()
    );
    let error = TrainingStatistics::new(vec![FeatureStatistics {
        mean: 0.0,
        std: -1.0,
        min: 0.0,
        max: 1.0,
    }])
    .unwrap_err();
    assert!(
        error.to_string().contains("training_statistics[0]"),
        "{error}"
    );
}

#[test]
fn an_audited_request_carries_identity_digests_timings_and_warnings() {
    struct Identified(Logistic, whyline_core::ModelIdentity);
    impl Explainable for Identified {
        type Path = LinearPath;
        fn n_features(&self) -> usize {
            2
        }
        fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
            self.0.explain_into(row, path)
        }
        fn identity(&self) -> Option<&whyline_core::ModelIdentity> {
            Some(&self.1)
        }
    }
    let identity =
        whyline_core::ModelIdentity::from_bytes(b"model bytes", "logistic_regression", "1");
    let andon = Andon::new(AndonRules {
        yellow_confidence: Some(0.9),
        ..rules()
    })
    .unwrap();
    let mut monitor = InferenceMonitor::new(
        Identified(Logistic::new(), identity.clone()),
        MemoryCollector::default(),
        andon,
    )
    .with_digest_key(b"k");
    let (decision, record) = monitor
        .predict_audited(&[0.5, 0.0], "req-42", Some(b"client-7"))
        .unwrap();
    assert_eq!(record.request_id, "req-42");
    assert_eq!(record.sequence, decision.sequence);
    assert_eq!(record.model.as_ref(), Some(&identity));
    assert_eq!(
        record.client_id_hash,
        Some(InputDigester::keyed(b"k").digest_bytes(b"client-7"))
    );
    assert_eq!(
        record.input_hash,
        InputDigester::keyed(b"k").digest(&[0.5, 0.0])
    );
    assert_eq!(record.input_dims, [1, 2]);
    assert_eq!(record.prediction, 1.0);
    assert!(record.quality.output_finite);
    assert!(!record.quality.confidence_ok, "p = 0.731 < 0.9");
    assert_eq!(
        record.warnings,
        vec![
            "confidence 0.731 below 0.9".to_owned(),
            "YELLOW alert raised".to_owned()
        ]
    );
    assert_eq!(record.latency.inference_ns, decision.latency_ns);
    let trace = monitor.last_trace().unwrap();
    assert_eq!(record.timestamp_ns, trace.timestamp_ns);
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json["model"]["model_type"], "logistic_regression");
    assert_eq!(json["input_hash"], format!("{:#018x}", record.input_hash));
}

/// Without a collector the monitor keeps an unfinished trace (no digest, no time): an audit
/// record digests the row and reads the clock itself rather than take them from it.
#[test]
fn an_audit_record_without_a_collector_digests_the_row_itself() {
    let mut monitor =
        InferenceMonitor::new(Logistic::new(), NoCollector, Andon::new(rules()).unwrap())
            .with_digest_key(b"k");
    let before = whyline_core::now_ns();
    let (decision, record) = monitor.predict_audited(&[0.5, 0.0], "req-1", None).unwrap();
    assert_eq!(record.sequence, decision.sequence);
    assert_eq!(
        record.input_hash,
        InputDigester::keyed(b"k").digest(&[0.5, 0.0])
    );
    assert!(
        record.timestamp_ns >= before,
        "{} < {before}",
        record.timestamp_ns
    );
}

/// With Andon off the monitor takes its fastest path, and sequences still advance.
#[test]
fn sequences_advance_with_andon_off() {
    let mut monitor = InferenceMonitor::new(Logistic::new(), NoCollector, Andon::disabled())
        .with_first_sequence(100);
    let sequences: Vec<u64> = (0..3)
        .map(|_| monitor.predict_one(&[0.5, 0.0]).unwrap().sequence)
        .collect();
    assert_eq!(sequences, [100, 101, 102]);
    assert_eq!(monitor.next_sequence(), 103);
    // And Andon says what it is, in its Debug form.
    let debug = format!("{:?}", Andon::new(rules()).unwrap());
    assert!(
        debug.starts_with("Andon") && debug.contains("rules"),
        "{debug}"
    );
}

#[test]
fn a_drift_detector_on_confidence_raises_a_named_red_alert_after_the_shift() {
    use whyline_monitor::DriftSignal;
    use whyline_monitor::drift::{PageHinkley, PageHinkleyConfig};
    let (sink, receiver) = ChannelSink::bounded(64);
    let mut andon = Andon::new(rules()).unwrap();
    andon.add_sink(sink).add_drift_detector(
        DriftSignal::Confidence,
        PageHinkley::new(PageHinkleyConfig::default()).unwrap(),
    );
    let mut monitor = InferenceMonitor::new(Logistic::new(), NoCollector, andon);
    // 300 confident decisions (p = 0.982), then 300 hesitant ones (p = 0.55).
    for _ in 0..300 {
        assert_eq!(
            monitor.predict_one(&[2.0, 0.0]).unwrap().alert,
            None,
            "no drift while stable"
        );
    }
    let mut first_red = None;
    for i in 0..300 {
        if monitor.predict_one(&[0.1, 0.0]).unwrap().alert == Some(AlertLevel::Red)
            && first_red.is_none()
        {
            first_red = Some(i);
        }
    }
    let first_red = first_red.expect("Page-Hinkley detects the drop in confidence");
    // River's defaults (threshold 50) need a while to accumulate a 0.43 drop: 145 here.
    assert!(
        first_red > 0,
        "not on the first shifted decision: {first_red}"
    );
    let alert = receiver
        .try_iter()
        .find(|a| matches!(a.kind, AlertKind::Drift { .. }))
        .unwrap();
    match &alert.kind {
        AlertKind::Drift { detector, signal } => {
            assert_eq!(signal, "confidence");
            assert!(
                detector.contains("PageHinkley") || detector.contains("Page-Hinkley"),
                "{detector}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(alert.sequence >= 300);
}

/// The test model with an identity, as a model loaded from a file has.
struct Identified {
    model: Logistic,
    identity: whyline_core::ModelIdentity,
}

impl Explainable for Identified {
    type Path = LinearPath;

    fn n_features(&self) -> usize {
        2
    }

    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        self.model.explain_into(row, path)
    }

    fn identity(&self) -> Option<&whyline_core::ModelIdentity> {
        Some(&self.identity)
    }
}

#[test]
fn the_model_identity_is_the_first_entry_of_the_ledger_and_is_written_once() {
    use whyline_ledger::{LedgerCollector, LedgerOptions};
    let identity =
        whyline_core::ModelIdentity::from_bytes(b"model file bytes", "logistic_regression", "1");
    let model = Identified {
        model: Logistic::new(),
        identity: identity.clone(),
    };
    let collector =
        LedgerCollector::in_memory(LedgerOptions::without_checkpoints("test/monitor")).unwrap();
    let mut monitor = InferenceMonitor::new(model, collector, Andon::new(rules()).unwrap());
    monitor.predict(&[1.0, 0.0, 0.0, 1.0, 2.0, 2.0]).unwrap();
    // Asked again after the first decision wrote it: nothing more is written.
    assert_eq!(monitor.record_model().unwrap(), None);
    let (_, collector, _) = monitor.into_parts();
    let ledger = collector.into_ledger().unwrap();
    assert_eq!(ledger.size(), 4, "one model record and three decisions");
    let first = ledger.read_entry(0).unwrap();
    let record = whyline_core::ModelRecord::from_bytes(&first.payload).unwrap();
    assert_eq!(record.identity, identity);
    for sequence in 1..4 {
        let entry = ledger.read_entry(sequence).unwrap();
        assert!(!whyline_core::ModelRecord::is_model_record(&entry.payload));
        let trace: DecisionTrace<LinearPath> = whyline_core::from_aprt(&entry.payload).unwrap();
        assert_eq!(trace.sequence, sequence - 1);
    }
}

#[test]
fn a_collector_without_model_records_and_a_model_without_identity_record_nothing() {
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        MemoryCollector::default(),
        Andon::new(rules()).unwrap(),
    );
    assert_eq!(monitor.record_model().unwrap(), None);
    monitor.predict_one(&[1.0, 0.0]).unwrap();
    assert_eq!(monitor.collector().traces.lock().unwrap().len(), 1);
}

#[test]
fn every_raised_alert_is_written_into_the_ledger_after_its_decision() {
    use whyline_core::AlertRecord;
    use whyline_ledger::{LedgerCollector, LedgerOptions};
    let statistics = two_feature_statistics();
    // Out of distribution (red) and low confidence (yellow) on the same decision: `check`
    // returns only the red one; the log keeps both.
    let mut andon = Andon::new(AndonRules {
        ood_z_score: Some(2.5),
        ood_range: Some(AlertLevelSetting::Red),
        yellow_confidence: Some(0.99),
        ..rules()
    })
    .unwrap();
    andon.set_training_statistics(statistics);
    let collector =
        LedgerCollector::in_memory(LedgerOptions::without_checkpoints("test/alerts")).unwrap();
    let mut monitor = InferenceMonitor::new(Logistic::new(), collector, andon);
    monitor.predict_one(&[0.5, 11.0]).unwrap();
    // Both features far out (feature 0 the worst, z = 10), and the logit 2·10 − 20 = 0 gives
    // confidence 0.5.
    let decision = monitor.predict_one(&[10.0, 20.0]).unwrap();
    assert_eq!(decision.alert, Some(AlertLevel::Red));
    let (_, collector, _) = monitor.into_parts();
    let ledger = collector.into_ledger().unwrap();
    let payloads: Vec<Vec<u8>> = (0..ledger.size())
        .map(|i| ledger.read_entry(i).unwrap().payload)
        .collect();
    let alerts: Vec<AlertRecord> = payloads
        .iter()
        .filter(|p| AlertRecord::is_alert_record(p))
        .map(|p| AlertRecord::from_bytes(p).unwrap())
        .collect();
    let kinds: Vec<(u64, &str, &str)> = alerts
        .iter()
        .map(|a| (a.sequence, a.level.as_str(), a.kind.as_str()))
        .collect();
    assert!(
        kinds.contains(&(1, "red", "out_of_distribution")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(1, "yellow", "low_confidence")),
        "{kinds:?}"
    );
    let ood = alerts
        .iter()
        .find(|a| a.kind == "out_of_distribution")
        .unwrap();
    assert_eq!(ood.details["feature_index"], 0);
    assert_eq!(ood.details["z_score"], 10.0);
    assert!(ood.message.contains("feature[0] = 10"), "{}", ood.message);
    // Each alert follows its decision's trace.
    let first_alert_of_1 = payloads
        .iter()
        .position(|p| {
            AlertRecord::is_alert_record(p) && AlertRecord::from_bytes(p).unwrap().sequence == 1
        })
        .unwrap();
    let trace_1 = payloads
        .iter()
        .position(|p| {
            !AlertRecord::is_alert_record(p)
                && whyline_core::from_aprt::<LinearPath>(p).unwrap().sequence == 1
        })
        .unwrap();
    assert!(trace_1 < first_alert_of_1);
}

/// An entry-log file that counts fsyncs, through itself and through its sync handle.
struct CountingFile {
    inner: std::fs::File,
    syncs: Arc<AtomicU64>,
}

impl whyline_ledger::SyncHandle for CountingFile {
    fn sync_data(&self) -> std::io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync_data()
    }
}

impl whyline_ledger::SegmentFile for CountingFile {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        std::io::Write::write_all(&mut self.inner, bytes)
    }
    fn sync_data(&mut self) -> std::io::Result<()> {
        whyline_ledger::SyncHandle::sync_data(self)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.inner, buf, offset)
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.inner.set_len(len)
    }
    fn file_len(&self) -> std::io::Result<u64> {
        Ok(self.inner.metadata()?.len())
    }
    fn sync_handle(&self) -> std::io::Result<Arc<dyn whyline_ledger::SyncHandle>> {
        Ok(Arc::new(CountingFile {
            inner: self.inner.try_clone()?,
            syncs: Arc::clone(&self.syncs),
        }))
    }
}

#[test]
fn an_alert_storm_under_sync_costs_one_fsync_per_decision_not_one_per_alert() {
    use whyline_core::AlertRecord;
    use whyline_ledger::{
        Durability, LedgerCollector, LedgerOptions, SegmentFile, SegmentOpener, SegmentOptions,
        SegmentStore,
    };
    let dir = tempfile::tempdir().unwrap();
    let syncs = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&syncs);
    let opener: SegmentOpener = Box::new(move |path: &std::path::Path| {
        let inner = std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        Ok(Box::new(CountingFile {
            inner,
            syncs: Arc::clone(&counter),
        }) as Box<dyn SegmentFile>)
    });
    let store = SegmentStore::open_with(dir.path(), SegmentOptions::default(), opener).unwrap();
    let options = LedgerOptions::without_checkpoints("test/storm").durability(Durability::Sync);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    // Out of distribution (red) and low confidence (yellow) on the same decision.
    let mut andon = Andon::new(AndonRules {
        ood_z_score: Some(2.5),
        ood_range: Some(AlertLevelSetting::Red),
        yellow_confidence: Some(0.99),
        ..rules()
    })
    .unwrap();
    andon.set_training_statistics(two_feature_statistics());
    let mut monitor = InferenceMonitor::new(Logistic::new(), collector, andon);
    monitor.predict_one(&[0.5, 11.0]).unwrap(); // the model record and a first decision
    let before = syncs.load(Ordering::SeqCst);
    let decision = monitor.predict_one(&[10.0, 20.0]).unwrap();
    assert_eq!(decision.alert, Some(AlertLevel::Red));
    assert_eq!(
        syncs.load(Ordering::SeqCst) - before,
        1,
        "one fsync for the decision and its alerts"
    );
    let (_, collector, _) = monitor.into_parts();
    assert_eq!(
        collector.durable_size(),
        collector.with_ledger(|l| l.size()).unwrap()
    );
    let ledger = collector.into_ledger().unwrap();
    let alerts = (0..ledger.size())
        .map(|i| ledger.read_entry(i).unwrap().payload)
        .filter(|p| AlertRecord::is_alert_record(p))
        .map(|p| AlertRecord::from_bytes(&p).unwrap())
        .filter(|a| a.sequence == 1)
        .count();
    assert!(alerts >= 2, "the storm raised {alerts} alerts");
}

/// A ledger collector in memory whose key store lives in `dir`.
fn sealing_ledger(dir: &std::path::Path) -> whyline_ledger::LedgerCollector {
    use whyline_ledger::seal::{KeyStore, Sealer};
    let collector = whyline_ledger::LedgerCollector::in_memory(
        whyline_ledger::LedgerOptions::without_checkpoints("test/log"),
    )
    .unwrap();
    let keys = KeyStore::create(&dir.join("subjects.wks")).unwrap();
    collector.set_sealer(Sealer::new(keys).unwrap()).unwrap();
    collector
}

#[test]
fn a_recorded_input_is_sealed_at_the_end_of_its_decisions_entry() {
    use whyline_core::{Context, EntryKind, SealedInput, SealedLayout, split_decision_entry};
    use whyline_ledger::RecordedInput;
    use whyline_ledger::seal::{KeyStore, open_sealed};
    use whyline_monitor::InputRecording;

    let dir = tempfile::tempdir().unwrap();
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        sealing_ledger(dir.path()),
        Andon::new(AndonRules::default()).unwrap(),
    );
    let context = Context::new().with("object", "cat").with("distance_m", 3.5);
    let decision = monitor
        .predict_one_recorded_at(
            &[0.25, -1.5],
            &InputRecording {
                subject: Some("AV-2847-XK"),
                context: context.fields(),
            },
            77,
        )
        .unwrap();
    let RecordOutcome::Appended { index, leaf_hash } = decision.recorded.unwrap() else {
        panic!("{:?}", decision.recorded);
    };
    let (_, collector, _) = monitor.into_parts();
    let ledger = collector.into_ledger().unwrap();
    assert_eq!(
        ledger.size(),
        index + 1,
        "one entry for the decision and its input"
    );
    let payload = ledger.read_entry(index).unwrap().payload;
    assert_eq!(EntryKind::of(&payload), EntryKind::Decision);
    assert_eq!(whyline_ledger::leaf_hash(&payload), leaf_hash);
    let (_, trailer) = split_decision_entry(&payload).unwrap();
    let header = SealedInput::split_trailer(trailer.unwrap(), 77).unwrap().0;
    assert_eq!(
        (header.decision_index, header.layout, header.timestamp_ns),
        (index, SealedLayout::Trailer, 77)
    );
    let keys = KeyStore::open(&dir.path().join("subjects.wks")).unwrap();
    assert_eq!(
        header.subject_digest,
        Some(keys.subject_digest("AV-2847-XK"))
    );
    let (decision_index, input) = open_sealed(&keys, &payload).unwrap();
    assert_eq!(decision_index, index);
    assert_eq!(
        input,
        RecordedInput::Sealed {
            values: vec![0.25, -1.5],
            context: context.fields().to_vec(),
        }
    );
}

#[test]
fn record_inputs_seals_every_decision_under_the_log_key() {
    use whyline_core::EntryKind;
    use whyline_ledger::RecordedInput;
    use whyline_ledger::seal::KeyStore;
    let dir = tempfile::tempdir().unwrap();
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        sealing_ledger(dir.path()),
        Andon::new(AndonRules::default()).unwrap(),
    )
    .with_input_recording(true);
    monitor.predict(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let (_, collector, _) = monitor.into_parts();
    let ledger = collector.into_ledger().unwrap();
    let kinds: Vec<EntryKind> = (0..ledger.size())
        .map(|i| EntryKind::of(&ledger.read_entry(i).unwrap().payload))
        .collect();
    assert_eq!(
        kinds,
        [EntryKind::Decision].repeat(3),
        "the test model has no identity, so no model record"
    );
    let keys = KeyStore::open(&dir.path().join("subjects.wks")).unwrap();
    for i in 0..3 {
        let payload = ledger.read_entry(i).unwrap().payload;
        let (index, input) = whyline_ledger::seal::open_sealed(&keys, &payload).unwrap();
        assert_eq!(index, i);
        let RecordedInput::Sealed { values, .. } = input else {
            panic!("{input:?}");
        };
        assert_eq!(values, [2.0 * i as f64 + 1.0, 2.0 * i as f64 + 2.0]);
    }
}

#[test]
fn an_input_no_collector_keeps_is_an_error_not_a_silent_loss() {
    use whyline_monitor::InputRecording;
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        NoCollector,
        Andon::new(AndonRules::default()).unwrap(),
    );
    let error = monitor
        .predict_one_recorded(&[1.0, 2.0], &InputRecording::default())
        .unwrap_err();
    assert!(
        matches!(error, MonitorError::InputsNotKept { sequence: 0 }),
        "{error}"
    );
    // A ledger without a key store keeps no inputs either.
    let collector = whyline_ledger::LedgerCollector::in_memory(
        whyline_ledger::LedgerOptions::without_checkpoints("test/log"),
    )
    .unwrap();
    let mut monitor = InferenceMonitor::new(
        Logistic::new(),
        collector,
        Andon::new(AndonRules::default()).unwrap(),
    )
    .with_input_recording(true);
    let error = monitor.predict_one(&[1.0, 2.0]).unwrap_err();
    assert!(
        matches!(error, MonitorError::InputsNotKept { sequence: 0 }),
        "{error}"
    );
}

/// Keeps traces and the alerts written after them.
#[derive(Default)]
struct AlertKeeping {
    traces: MemoryCollector,
    alerts: Mutex<Vec<whyline_core::AlertRecord>>,
}

impl TraceCollector<LinearPath> for AlertKeeping {
    fn record(&self, trace: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
        self.traces.record(trace)
    }
    fn record_alert(
        &self,
        alert: &whyline_core::AlertRecord,
    ) -> whyline_core::Result<Option<RecordOutcome>> {
        self.alerts.lock().unwrap().push(alert.clone());
        Ok(Some(RecordOutcome::Stored))
    }
    fn keeps_alerts(&self) -> bool {
        true
    }
    fn flush(&self) -> whyline_core::Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        self.traces.len()
    }
    fn stats(&self) -> CollectorStats {
        self.traces.stats()
    }
}

#[test]
fn an_outside_detector_raises_about_the_last_decision_and_the_log_keeps_it() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    let mut andon = Andon::new(rules()).unwrap();
    andon.add_sink(CallbackSink::new(move |alert| {
        sink_seen.lock().unwrap().push(alert.clone())
    }));
    let collector = Arc::new(AlertKeeping::default());
    let mut monitor = InferenceMonitor::new(Logistic::new(), Arc::clone(&collector), andon);
    let drift = AlertKind::Drift {
        detector: "adwin".into(),
        signal: "confidence".into(),
    };
    // Nothing decided yet: nothing to raise about.
    assert_eq!(monitor.raise(AlertLevel::Yellow, drift.clone()), None);
    monitor.predict_one(&[2.0, 0.0]).unwrap();
    monitor.predict_one(&[3.0, 0.0]).unwrap();
    let alert = monitor.raise(AlertLevel::Yellow, drift.clone()).unwrap();
    let trace = collector.traces.traces.lock().unwrap()[1].clone();
    assert_eq!(alert.sequence, 1);
    assert_eq!(alert.timestamp_ns, trace.timestamp_ns);
    assert_eq!(alert.kind, drift);
    assert_eq!(*seen.lock().unwrap(), vec![alert.clone()]);
    assert_eq!(*collector.alerts.lock().unwrap(), vec![alert.to_record()]);
    assert_eq!(
        alert.to_string(),
        "[YELLOW] decision 1: adwin detected drift in confidence"
    );
}

#[test]
fn an_alert_raised_without_a_collector_is_stamped_when_raised() {
    let before = whyline_core::now_ns();
    let mut monitor =
        InferenceMonitor::new(Logistic::new(), NoCollector, Andon::new(rules()).unwrap());
    monitor.predict_one(&[2.0, 0.0]).unwrap();
    let alert = monitor
        .raise(
            AlertLevel::Red,
            AlertKind::RepetitiveDecision {
                decision: 1.0,
                count: 50,
            },
        )
        .unwrap();
    assert!(alert.timestamp_ns >= before, "{alert:?}");
    assert_eq!(alert.level, AlertLevel::Red);
}

#[test]
fn every_alert_kind_says_what_happened_and_keeps_its_fields_in_the_record() {
    let cases = [
        (
            AlertKind::LatencyOverBudget {
                latency_ns: 2_500_000,
                budget_ns: 1_000_000,
            },
            "latency_over_budget",
            "latency 2.500 ms over budget 1.000 ms",
        ),
        (
            AlertKind::NonFiniteOutput { output: f32::NAN },
            "non_finite_output",
            "non-finite output NaN",
        ),
        (
            AlertKind::OutOfDistribution {
                feature_index: 3,
                value: 9.5,
                z_score: 4.25,
                outside_range: true,
            },
            "out_of_distribution",
            "feature[3] = 9.5 out of distribution (z = 4.25, outside the training range)",
        ),
        (
            AlertKind::OutOfDistribution {
                feature_index: 0,
                value: -1.0,
                z_score: 3.5,
                outside_range: false,
            },
            "out_of_distribution",
            "feature[0] = -1 out of distribution (z = 3.50)",
        ),
        (
            AlertKind::RepetitiveDecision {
                decision: 1.0,
                count: 20,
            },
            "repetitive_decision",
            "decision 1 repeated 20 times in a row",
        ),
        (
            AlertKind::ProvenanceAnomaly {
                graph: 7,
                distance: 0.75,
                threshold: 0.5,
                cluster: 2,
                edges: 12,
            },
            "provenance_anomaly",
            "provenance graph 7 after 12 edges is 0.750 from baseline cluster 2 (threshold 0.500)",
        ),
        (
            AlertKind::ClockStep {
                step_ns: -1_500_000_000,
                wall_ns: 10,
                last_timestamp_ns: 20,
            },
            "clock_step",
            "the wall clock stepped back 1.500 s: timestamps hold at the last one until it passes",
        ),
        (
            AlertKind::ClockStep {
                step_ns: 2_000_000_000,
                wall_ns: 10,
                last_timestamp_ns: 20,
            },
            "clock_step",
            "the wall clock stepped forward 2.000 s: timestamps follow it",
        ),
    ];
    for (kind, name, message) in cases {
        assert_eq!(kind.to_string(), message);
        let alert = whyline_monitor::Alert {
            level: AlertLevel::Red,
            kind,
            sequence: 4,
            timestamp_ns: 99,
        };
        let record = alert.to_record();
        assert_eq!(record.kind, name);
        assert_eq!(record.level, "red");
        assert_eq!(record.message, message);
        assert_eq!((record.sequence, record.timestamp_ns), (4, 99));
        // The details are the kind's own fields, without the kind's name.
        assert!(record.details.get("kind").is_none(), "{:?}", record.details);
        assert!(
            record.details.as_object().is_some_and(|f| !f.is_empty()),
            "{name}"
        );
    }
}

#[test]
fn each_sink_reports_how_it_delivered() {
    use whyline_monitor::{AlertSink, Delivery, TracingSink};
    let alert = |level| whyline_monitor::Alert {
        level,
        kind: AlertKind::NonFiniteOutput {
            output: f32::INFINITY,
        },
        sequence: 3,
        timestamp_ns: 4,
    };
    let count = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&count);
    let callback = CallbackSink::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(
        callback.deliver(&alert(AlertLevel::Red)),
        Delivery::Delivered
    );
    assert_eq!(count.load(Ordering::Relaxed), 1);
    assert_eq!(callback.dropped(), 0);
    // The tracing sink logs at warn for yellow and error for red, and never drops.
    for level in [AlertLevel::Yellow, AlertLevel::Red] {
        assert_eq!(TracingSink.deliver(&alert(level)), Delivery::Delivered);
    }
    assert_eq!(TracingSink.dropped(), 0);
    let (channel, receiver) = ChannelSink::bounded(1);
    assert_eq!(
        channel.deliver(&alert(AlertLevel::Yellow)),
        Delivery::Queued
    );
    assert_eq!(channel.dropped(), 0);
    for dropped in 1..=2 {
        assert_eq!(
            channel.deliver(&alert(AlertLevel::Yellow)),
            Delivery::Dropped
        );
        assert_eq!(channel.dropped(), dropped);
    }
    assert_eq!(receiver.recv().unwrap(), alert(AlertLevel::Yellow));
}

/// Records decisions, but its model records and flushes fail.
struct FailingStorage;

impl TraceCollector<LinearPath> for FailingStorage {
    fn record(&self, _: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
        Ok(RecordOutcome::Stored)
    }
    fn record_model(
        &self,
        _: &whyline_core::ModelRecord,
    ) -> whyline_core::Result<Option<RecordOutcome>> {
        Err(CoreError::collector(
            "failing",
            None,
            "read-only file system",
        ))
    }
    fn flush(&self) -> whyline_core::Result<()> {
        Err(CoreError::collector("failing", None, "fsync: EIO"))
    }
    fn len(&self) -> u64 {
        0
    }
    fn stats(&self) -> CollectorStats {
        CollectorStats::default()
    }
}

/// The logistic model with an identity, so that it has a model record to write.
struct Named(Logistic, whyline_core::ModelIdentity);

impl Explainable for Named {
    type Path = LinearPath;
    fn n_features(&self) -> usize {
        2
    }
    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        self.0.explain_into(row, path)
    }
    fn identity(&self) -> Option<&whyline_core::ModelIdentity> {
        Some(&self.1)
    }
}

#[test]
fn a_failing_flush_or_model_record_is_a_collector_error_naming_the_decision() {
    let identity = whyline_core::ModelIdentity::from_bytes(b"m", "logistic_regression", "2");
    let mut monitor = InferenceMonitor::new(
        Named(Logistic::new(), identity.clone()),
        FailingStorage,
        Andon::disabled(),
    )
    .with_first_sequence(100);
    assert_eq!(monitor.next_sequence(), 100);
    assert_eq!(monitor.identity(), Some(&identity));
    let error = monitor.record_model().unwrap_err();
    assert!(
        matches!(&error, MonitorError::Collector { sequence: 100, .. }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "collector failed to record decision 100");
    // The first decision writes the model record first: its failure stops that decision,
    // named by its own sequence (not the next one), and the next decision tries again.
    for sequence in [100, 101] {
        let error = monitor.predict_one(&[1.0, 0.0]).unwrap_err();
        assert!(
            matches!(&error, MonitorError::Collector { sequence: s, .. } if *s == sequence),
            "{error:?}"
        );
    }
    // A flush names the last decision it could not make durable.
    let error = monitor.flush().unwrap_err();
    assert!(
        matches!(&error, MonitorError::Collector { sequence: 101, source }
            if source.to_string() == "failing collector failed"),
        "{error:?}"
    );
    let (model, _collector, andon) = monitor.into_parts();
    assert_eq!(model.1, identity);
    assert!(!andon.rules().enabled);
}

#[test]
fn the_model_record_is_written_once_and_names_the_input_digest() {
    let identity = whyline_core::ModelIdentity::from_bytes(b"m", "logistic_regression", "2");
    let mut monitor = InferenceMonitor::new(
        Named(Logistic::new(), identity),
        MemoryCollector::default(),
        Andon::disabled(),
    )
    .with_digest(whyline_core::DigestAlgorithm::Fnv1a64);
    assert!(!monitor.records_inputs());
    assert!(
        InferenceMonitor::new(
            Logistic::new(),
            MemoryCollector::default(),
            Andon::disabled()
        )
        .with_input_recording(true)
        .records_inputs()
    );
    assert_eq!(
        monitor.digest_algorithm(),
        whyline_core::DigestAlgorithm::Fnv1a64
    );
    // The memory collector keeps no model records: the default says so with None.
    assert_eq!(monitor.record_model().unwrap(), None);
    assert_eq!(monitor.record_model().unwrap(), None);
    // A keyed algorithm cannot be chosen without its key: the digest stays as it was.
    let monitor = monitor.with_digest(whyline_core::DigestAlgorithm::HmacSha256_64);
    assert_eq!(
        monitor.digest_algorithm(),
        whyline_core::DigestAlgorithm::Fnv1a64
    );
}

#[test]
fn the_worst_feature_is_the_one_furthest_from_its_training_mean() {
    let constant = FeatureStatistics {
        mean: 1.0,
        std: 0.0,
        min: 1.0,
        max: 1.0,
    };
    let spread = FeatureStatistics {
        mean: 0.0,
        std: 2.0,
        min: -4.0,
        max: 4.0,
    };
    let stats = TrainingStatistics::new(vec![spread, constant, spread]).unwrap();
    assert_eq!(stats.len(), 3);
    assert!(!stats.is_empty());
    assert!(TrainingStatistics::new(vec![]).unwrap().is_empty());
    // In distribution: the constant feature at its value has z = 0.
    assert_eq!(stats.worst(&[1.0, 1.0, -1.0], Some(3.0), true), None);
    // z = 3.5 on feature 0 (outside the range too) beats z = -2.5 on feature 2 (inside).
    let worst = stats.worst(&[7.0, 1.0, -5.0], Some(2.0), false).unwrap();
    assert_eq!(
        (
            worst.feature_index,
            worst.value,
            worst.z_score,
            worst.outside_range
        ),
        (0, 7.0, 3.5, true)
    );
    // A constant feature off its value is infinitely far, on the side it left.
    let worst = stats.worst(&[0.0, 0.5, 0.0], Some(3.0), false).unwrap();
    assert_eq!((worst.feature_index, worst.z_score), (1, f32::NEG_INFINITY));
    // Range checks alone find a value past the maximum that no z threshold would.
    let worst = stats.worst(&[4.5, 1.0, 0.0], None, true).unwrap();
    assert_eq!((worst.feature_index, worst.z_score), (0, 2.25));
    assert_eq!(stats.worst(&[4.5, 1.0, 0.0], None, false), None);
    // A constant feature at its value has z = 0, not 0/0, even where the statistics put
    // the mean outside the range (they are not checked for that: a mean summed in floating
    // point can fall just outside the range of equal values).
    let off = TrainingStatistics::new(vec![FeatureStatistics {
        mean: 5.0,
        std: 0.0,
        min: 0.0,
        max: 1.0,
    }])
    .unwrap();
    let worst = off.worst(&[5.0], None, true).unwrap();
    assert_eq!((worst.z_score, worst.outside_range), (0.0, true));
    // A z-score exactly at the threshold is not over it.
    assert_eq!(stats.worst(&[6.0, 1.0, 0.0], Some(3.0), false), None);
    // Of two features as far out, the first is the worst.
    let worst = stats.worst(&[6.0, 1.0, -6.0], Some(2.0), false).unwrap();
    assert_eq!((worst.feature_index, worst.z_score), (0, 3.0));
    // NaN is out of range with an infinite z-score.
    let worst = stats.worst(&[0.0, 1.0, f32::NAN], None, true).unwrap();
    assert_eq!((worst.feature_index, worst.z_score), (2, f32::INFINITY));
}
