//! `predict_batch_traced`: a batch records what the same rows decided one by one record
//! (paths, outputs, digests, sequences, alerts), with one timestamp and the batch latency
//! shared among the rows; a bad row stops the batch before anything is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use whyline_core::{BatchTrace, Explainable, LinearPath, TraceCollector, check_finite_row};
use whyline_ledger::collector::DynamicRingCollector;
use whyline_monitor::{Alert, Andon, AndonRules, CallbackSink, InferenceMonitor, MonitorError};

/// A logistic model of three features whose path carries its probability.
struct Scorer;

impl Explainable for Scorer {
    type Path = LinearPath;

    fn n_features(&self) -> usize {
        3
    }

    fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> whyline_core::Result<f32> {
        check_finite_row(row, 3, &[])?;
        path.contributions.clear();
        path.contributions
            .extend(row.iter().zip([1.5f32, -0.5, 0.25]).map(|(x, w)| x * w));
        path.intercept = -0.1;
        path.logit = path.intercept + path.contributions.iter().sum::<f32>();
        let p = 1.0 / (1.0 + (-path.logit).exp());
        path.prediction = f32::from(u8::from(p >= 0.5));
        path.probability = Some(p.max(1.0 - p));
        Ok(path.prediction)
    }
}

fn rows(n: usize) -> Vec<f32> {
    (0..n * 3)
        .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
        .collect()
}

/// The sequences of the decisions that raised an alert.
type Alerted = Arc<Mutex<Vec<u64>>>;

/// A monitor recording into a ring, with a confidence rule whose alerts are counted.
fn monitor() -> (
    InferenceMonitor<Scorer, DynamicRingCollector<LinearPath>>,
    Alerted,
) {
    let alerted = Arc::new(Mutex::new(Vec::new()));
    let mut andon = Andon::new(AndonRules {
        yellow_confidence: Some(0.8),
        ..AndonRules::default()
    })
    .unwrap();
    let sink = Arc::clone(&alerted);
    andon.add_sink(CallbackSink::new(move |alert: &Alert| {
        sink.lock().unwrap().push(alert.sequence);
    }));
    let ring = DynamicRingCollector::with_capacity(1024).unwrap();
    (InferenceMonitor::new(Scorer, ring, andon), alerted)
}

#[test]
fn a_batch_records_what_the_rows_decided_one_by_one_record() {
    let batch = rows(200);
    let (mut single, single_alerts) = monitor();
    for row in batch.chunks(3) {
        single.predict_one(row).unwrap();
    }
    let (mut batched, batch_alerts) = monitor();
    let mut out = BatchTrace::new();
    let most_severe = batched.predict_batch_traced(&batch, &mut out).unwrap();

    let one_by_one = single.collector().recent(200).unwrap();
    let together = batched.collector().recent(200).unwrap();
    assert_eq!(together.len(), 200);
    for (a, b) in one_by_one.iter().zip(&together) {
        assert_eq!(
            (a.sequence, a.input_hash, a.output.to_bits(), &a.path),
            (b.sequence, b.input_hash, b.output.to_bits(), &b.path)
        );
        assert_eq!(b.timestamp_ns, out.timestamp_ns);
        assert_eq!(b.latency_ns, out.latency_ns / 200);
    }
    // The batch itself holds the same rows.
    for (i, recorded) in together.iter().enumerate() {
        assert_eq!(out.trace(i).as_ref(), Some(recorded));
    }
    // Andon saw every row.
    let expected = single_alerts.lock().unwrap().clone();
    assert!(
        !expected.is_empty() && expected.len() < 200,
        "{}",
        expected.len()
    );
    assert_eq!(*batch_alerts.lock().unwrap(), expected);
    assert_eq!(most_severe, Some(whyline_monitor::AlertLevel::Yellow));
    // Numbering goes on after the batch.
    assert_eq!(batched.predict_one(&batch[..3]).unwrap().sequence, 200);
}

#[test]
fn a_reused_batch_keeps_its_buffers_and_gives_the_same_rows() {
    let (mut monitor, _) = monitor();
    let mut out = BatchTrace::new();
    monitor.predict_batch_traced(&rows(64), &mut out).unwrap();
    // Paths are made only for the rows a batch holds (each a model path, kept for reuse).
    assert_eq!(out.paths.len(), 64);
    let first: Vec<_> = out.paths[..64].to_vec();
    let capacity = out.paths[0].contributions.capacity();
    monitor.predict_batch_traced(&rows(64), &mut out).unwrap();
    assert_eq!(out.len(), 64);
    assert_eq!(out.first_sequence, 64);
    assert_eq!(&out.paths[..64], &first[..]);
    assert_eq!(out.paths[0].contributions.capacity(), capacity);
    // A smaller batch after a larger one: only its own rows count.
    monitor.predict_batch_traced(&rows(5), &mut out).unwrap();
    assert_eq!((out.len(), out.traces().count()), (5, 5));
    assert!(monitor.last_trace().is_none(), "the batch holds its traces");
}

#[test]
fn a_bad_row_stops_the_batch_before_anything_is_recorded() {
    let (mut monitor, alerts) = monitor();
    let mut batch = rows(10);
    batch[3 * 6 + 1] = f32::NAN;
    let mut out = BatchTrace::new();
    let error = monitor.predict_batch_traced(&batch, &mut out).unwrap_err();
    assert!(
        matches!(error, MonitorError::Model { row: 6, .. }),
        "{error}"
    );
    assert_eq!(monitor.collector().len(), 0);
    assert!(alerts.lock().unwrap().is_empty());
    assert_eq!(monitor.predict_one(&batch[..3]).unwrap().sequence, 0);
    let error = monitor
        .predict_batch_traced(&batch[..4], &mut out)
        .unwrap_err();
    assert!(
        matches!(error, MonitorError::Model { row: 0, .. }),
        "{error}"
    );
}
