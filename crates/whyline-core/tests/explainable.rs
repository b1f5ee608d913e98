//! The `Explainable` trait's provided methods, the input checks every model shares, and the
//! `TraceCollector` defaults (`NoCollector`, the `Arc` forwarding, evidence bound to the
//! decision a ledger appended).

use std::sync::{Arc, Mutex};

use whyline_core::{
    AlertRecord, CollectorStats, CoreError, DecisionTrace, Explainable, InputEvidence, LinearPath,
    ModelIdentity, NoCollector, RecordOutcome, TraceCollector, check_batch, check_finite_row,
};

/// `y = 2·x0 − x1 + 0.5`, refusing non-finite inputs, with an identity when given one.
struct Line {
    identity: Option<ModelIdentity>,
}

impl Explainable for Line {
    type Path = LinearPath;

    fn n_features(&self) -> usize {
        2
    }

    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        check_finite_row(row, 2, &["age".to_owned(), "income".to_owned()])?;
        path.contributions.clear();
        path.contributions.extend([2.0 * row[0], -row[1]]);
        path.intercept = 0.5;
        path.logit = path.intercept + path.contributions.iter().sum::<f32>();
        path.prediction = path.logit;
        Ok(path.prediction)
    }

    fn identity(&self) -> Option<&ModelIdentity> {
        self.identity.as_ref()
    }
}

fn line() -> Line {
    Line { identity: None }
}

#[test]
fn predict_one_and_explain_one_return_what_explain_into_computes() {
    let model = line();
    assert_eq!(model.predict_one(&[3.0, 1.0]).unwrap(), 5.5);
    let (output, path) = model.explain_one(&[1.0, 4.0]).unwrap();
    assert_eq!(output, -1.5);
    assert_eq!(path.contributions, vec![2.0, -4.0]);
    assert_eq!(path.intercept, 0.5);
}

#[test]
fn predict_explained_decides_each_row_of_a_batch() {
    let (outputs, paths) = line()
        .predict_explained(&[3.0, 1.0, 1.0, 4.0, 0.0, 0.0])
        .unwrap();
    assert_eq!(outputs, vec![5.5, -1.5, 0.5]);
    assert_eq!(paths.len(), 3);
    assert_eq!(paths[1].contributions, vec![2.0, -4.0]);
    let (outputs, paths) = line().predict_explained(&[]).unwrap();
    assert!(outputs.is_empty() && paths.is_empty());
}

#[test]
fn a_batch_error_names_the_row_and_the_feature() {
    let error = line()
        .predict_explained(&[1.0, 2.0, 3.0, f32::NAN])
        .unwrap_err();
    assert!(
        matches!(
            error,
            CoreError::NonFiniteInput {
                row: Some(1),
                feature_index: 1,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "row 1, feature 1 (income): value NaN is not finite and the model has no missing-value rule"
    );
    // A single row names no row: its caller knows which it is.
    let single = line().predict_one(&[f32::INFINITY, 0.0]).unwrap_err();
    assert_eq!(
        single.to_string(),
        "feature 0 (age): value inf is not finite and the model has no missing-value rule"
    );
}

#[test]
fn a_batch_that_is_not_whole_rows_is_refused_before_any_row_is_decided() {
    let error = line().predict_explained(&[1.0, 2.0, 3.0]).unwrap_err();
    assert!(matches!(
        error,
        CoreError::InputShape {
            expected: 2,
            found: 3
        }
    ));
    assert_eq!(
        error.to_string(),
        "input has 3 values, which is not a whole number of rows of 2 features"
    );
}

#[test]
fn check_batch_counts_rows_and_handles_models_without_features() {
    assert_eq!(check_batch(&[0.0; 12], 4).unwrap(), 3);
    assert_eq!(check_batch(&[], 4).unwrap(), 0);
    assert_eq!(check_batch(&[], 0).unwrap(), 0);
    assert!(matches!(
        check_batch(&[1.0], 0),
        Err(CoreError::InputShape {
            expected: 0,
            found: 1
        })
    ));
}

#[test]
fn check_finite_row_refuses_a_wrong_width_and_names_unnamed_features_by_index() {
    let error = check_finite_row(&[1.0, 2.0, 3.0], 2, &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "input row has 3 features, the model expects 2"
    );
    let error = check_finite_row(&[1.0, f32::NEG_INFINITY], 2, &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "feature 1: value -inf is not finite and the model has no missing-value rule"
    );
    assert!(check_finite_row(&[1.0, -2.0], 2, &[]).is_ok());
}

#[test]
fn a_model_record_is_made_only_for_a_model_with_an_identity() {
    assert!(line().model_record(7).is_none());
    let identity = ModelIdentity::from_bytes(b"model bytes", "linear", "1.2.0");
    let model = Line {
        identity: Some(identity.clone()),
    };
    let record = model.model_record(42).unwrap();
    assert_eq!(record.identity, identity);
    assert_eq!(record.recorded_ns, 42);
    assert!(record.feature_names.is_empty() && record.class_names.is_empty());
}

#[test]
fn model_identity_is_the_sha256_of_the_bytes_and_prints_short() {
    let identity = ModelIdentity::from_bytes(b"abc", "xgboost", "2.1");
    // RFC 6234 / FIPS 180-2 test vector for "abc".
    assert_eq!(
        identity.sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(identity.to_string(), "xgboost 2.1 (sha256 ba7816bf8f01…)");
    let odd = ModelIdentity {
        sha256: "abc".to_owned(),
        model_type: "t".to_owned(),
        version: "v".to_owned(),
    };
    assert_eq!(odd.to_string(), "t v (sha256 abc…)");
}

fn trace(sequence: u64) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_000 + sequence,
        sequence,
        input_hash: 0xfeed,
        output: 1.0,
        latency_ns: 10,
        path: LinearPath::default(),
    }
}

fn alert(sequence: u64) -> AlertRecord {
    AlertRecord {
        sequence,
        timestamp_ns: 1_000 + sequence,
        level: "red".to_owned(),
        kind: "ood".to_owned(),
        message: "input outside the training range".to_owned(),
        details: serde_json::json!({"feature": 1}),
    }
}

#[test]
fn no_collector_drops_everything_and_says_it_is_disabled() {
    let collector = NoCollector;
    let outcome = TraceCollector::<LinearPath>::record(&collector, &trace(0)).unwrap();
    assert_eq!(outcome, RecordOutcome::Dropped);
    assert!(!TraceCollector::<LinearPath>::enabled(&collector));
    assert!(TraceCollector::<LinearPath>::is_empty(&collector));
    assert_eq!(TraceCollector::<LinearPath>::len(&collector), 0);
    assert_eq!(
        TraceCollector::<LinearPath>::stats(&collector),
        CollectorStats::default()
    );
    TraceCollector::<LinearPath>::flush(&collector).unwrap();
    // The defaults keep neither alerts nor inputs nor model records.
    assert!(!TraceCollector::<LinearPath>::keeps_alerts(&collector));
    assert!(!TraceCollector::<LinearPath>::keeps_inputs(&collector));
    let record = ModelIdentity::from_bytes(b"m", "t", "v");
    let model = Line {
        identity: Some(record),
    }
    .model_record(1)
    .unwrap();
    assert_eq!(
        TraceCollector::<LinearPath>::record_model(&collector, &model).unwrap(),
        None
    );
}

/// An input kept as evidence: the decision's index, its leaf hash and the values.
type KeptInput = (u64, [u8; 32], Vec<f32>);

/// A collector that appends like a ledger (index and leaf hash) and keeps what it is given.
#[derive(Default)]
struct Appending {
    traces: Mutex<Vec<u64>>,
    alerts: Mutex<Vec<u64>>,
    inputs: Mutex<Vec<KeptInput>>,
}

impl TraceCollector<LinearPath> for Appending {
    fn record(&self, trace: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
        let mut traces = self.traces.lock().unwrap();
        traces.push(trace.sequence);
        Ok(RecordOutcome::Appended {
            index: traces.len() as u64 - 1,
            leaf_hash: [trace.sequence as u8; 32],
        })
    }

    fn record_alert(&self, alert: &AlertRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        self.alerts.lock().unwrap().push(alert.sequence);
        Ok(Some(RecordOutcome::Stored))
    }

    fn record_input(
        &self,
        input: &InputEvidence<'_>,
    ) -> whyline_core::Result<Option<RecordOutcome>> {
        self.inputs.lock().unwrap().push((
            input.decision_index,
            input.trace_hash,
            input.values.to_vec(),
        ));
        Ok(Some(RecordOutcome::Stored))
    }

    fn keeps_alerts(&self) -> bool {
        true
    }

    fn keeps_inputs(&self) -> bool {
        true
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
            dropped: 0,
            fallback: 0,
        }
    }
}

fn evidence(values: &[f32]) -> InputEvidence<'_> {
    InputEvidence {
        decision_index: u64::MAX,
        trace_hash: [0; 32],
        timestamp_ns: 5,
        subject: Some("customer-1"),
        values,
        context: &[],
    }
}

#[test]
fn record_with_input_binds_the_input_to_the_entry_the_decision_became() {
    let mut collector = Appending::default();
    collector.record(&trace(9)).unwrap();
    let (recorded, kept) = collector
        .record_with_input(&trace(3), &evidence(&[1.0, 2.0]))
        .unwrap();
    assert_eq!(
        recorded,
        RecordOutcome::Appended {
            index: 1,
            leaf_hash: [3; 32]
        }
    );
    assert_eq!(kept, Some(RecordOutcome::Stored));
    // The caller's placeholder index and hash are replaced by the appended entry's.
    assert_eq!(
        *collector.inputs.lock().unwrap(),
        vec![(1, [3; 32], vec![1.0, 2.0])]
    );
}

#[test]
fn record_with_input_keeps_no_input_when_the_decision_was_not_appended() {
    let mut collector = NoCollector;
    let (recorded, kept) = collector
        .record_with_input(&trace(3), &evidence(&[1.0]))
        .unwrap();
    assert_eq!(recorded, RecordOutcome::Dropped);
    assert_eq!(kept, None);
}

#[test]
fn an_arc_forwards_every_method_to_the_collector_it_shares() {
    let shared = Arc::new(Appending::default());
    let mut handle = Arc::clone(&shared);
    let outcome = handle
        .record_with_alerts(&trace(4), &[alert(4), alert(5)])
        .unwrap();
    assert!(matches!(outcome, RecordOutcome::Appended { index: 0, .. }));
    assert_eq!(*shared.alerts.lock().unwrap(), vec![4, 5]);
    assert_eq!(
        handle.record_alert(&alert(6)).unwrap(),
        Some(RecordOutcome::Stored)
    );
    assert!(handle.keeps_alerts() && handle.keeps_inputs() && handle.enabled());
    assert_eq!(
        handle
            .record_model(
                &Line {
                    identity: Some(ModelIdentity::from_bytes(b"m", "t", "v"))
                }
                .model_record(1)
                .unwrap()
            )
            .unwrap(),
        None
    );
    let (recorded, kept) = handle
        .record_with_input(&trace(7), &evidence(&[0.5]))
        .unwrap();
    assert!(matches!(recorded, RecordOutcome::Appended { index: 1, .. }));
    assert_eq!(kept, Some(RecordOutcome::Stored));
    assert_eq!(
        handle.record_input(&evidence(&[0.25])).unwrap(),
        Some(RecordOutcome::Stored)
    );
    handle.flush().unwrap();
    assert_eq!(handle.len(), 2);
    assert!(!handle.is_empty());
    assert_eq!(handle.stats().recorded, 2);
    assert_eq!(shared.inputs.lock().unwrap().len(), 2);
}

#[test]
fn an_arc_over_a_collector_that_keeps_nothing_answers_as_that_collector() {
    // The forwarding must return the shared collector's answers, not constants: over a
    // collector that keeps nothing, every "keeps" and "enabled" answer is false.
    let handle: Arc<NoCollector> = Arc::new(NoCollector);
    let forwarded: &dyn TraceCollector<LinearPath> = &handle;
    assert!(!forwarded.keeps_inputs());
    assert!(!forwarded.keeps_alerts());
    assert!(!forwarded.enabled());
    assert!(forwarded.is_empty());
    assert_eq!(forwarded.record(&trace(1)).unwrap(), RecordOutcome::Dropped);
    assert_eq!(forwarded.record_input(&evidence(&[1.0])).unwrap(), None);
    assert_eq!(forwarded.record_alert(&alert(2)).unwrap(), None);
    assert_eq!(forwarded.stats(), CollectorStats::default());

    // A flush that fails through the Arc fails for the caller too.
    struct FailingFlush;
    impl TraceCollector<LinearPath> for FailingFlush {
        fn record(&self, _: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
            Ok(RecordOutcome::Stored)
        }
        fn flush(&self) -> whyline_core::Result<()> {
            Err(CoreError::collector("disk", None, "fsync failed"))
        }
        fn len(&self) -> u64 {
            0
        }
        fn stats(&self) -> CollectorStats {
            CollectorStats::default()
        }
    }
    let error = Arc::new(FailingFlush).flush().unwrap_err();
    assert_eq!(error.to_string(), "disk collector failed");

    // A model record stored by the shared collector is stored through the Arc.
    struct KeepsModels;
    impl TraceCollector<LinearPath> for KeepsModels {
        fn record(&self, _: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
            Ok(RecordOutcome::Stored)
        }
        fn record_model(
            &self,
            _: &whyline_core::ModelRecord,
        ) -> whyline_core::Result<Option<RecordOutcome>> {
            Ok(Some(RecordOutcome::Stored))
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
    let model = whyline_core::ModelRecord {
        identity: ModelIdentity::from_bytes(b"m", "linear", "1"),
        feature_names: Vec::new(),
        class_names: Vec::new(),
        recorded_ns: 0,
        input_digest: whyline_core::DigestAlgorithm::default(),
    };
    assert_eq!(
        Arc::new(KeepsModels).record_model(&model).unwrap(),
        Some(RecordOutcome::Stored)
    );
    assert_eq!(forwarded.record_model(&model).unwrap(), None);
}

#[test]
fn the_default_record_with_alerts_stops_at_the_first_failing_alert() {
    struct Failing;
    impl TraceCollector<LinearPath> for Failing {
        fn record(&self, _: &DecisionTrace<LinearPath>) -> whyline_core::Result<RecordOutcome> {
            Ok(RecordOutcome::Stored)
        }
        fn record_alert(&self, a: &AlertRecord) -> whyline_core::Result<Option<RecordOutcome>> {
            Err(CoreError::collector(
                "test",
                Some(a.sequence),
                "disk on fire",
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
    let error = Failing
        .record_with_alerts(&trace(1), &[alert(8)])
        .unwrap_err();
    assert_eq!(error.to_string(), "test collector failed on decision 8");
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(source.to_string(), "disk on fire");
    assert_eq!(
        Failing.record_with_alerts(&trace(1), &[]).unwrap(),
        RecordOutcome::Stored
    );
    assert_eq!(
        CoreError::collector("ring", None, "full").to_string(),
        "ring collector failed"
    );
}
