//! The stream collector on a `BatchSink`: batches arrive whole and in order, an error stops
//! the writer and counts the loss, JSON lines are refused.

use std::io;
use std::sync::{Arc, Mutex, mpsc};

use whyline_core::{AprtRecords, LinearPath, TraceCollector, to_aprt};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{BatchSink, StreamCollectorBuilder, StreamFormat};

use crate::support::{collector_error, linear_trace};

/// The batches a sink was given: bytes and record count.
type Received = Arc<Mutex<Vec<(Vec<u8>, usize)>>>;

/// Keeps every batch it is given, except that it fails the one numbered `fail_at` (from 0,
/// counting every call), once `hold` (if any) lets it, and would take those after it again.
#[derive(Clone, Default)]
struct Batches {
    got: Received,
    calls: Arc<Mutex<usize>>,
    flushes: Arc<Mutex<u64>>,
    fail_at: Option<usize>,
    hold: Option<Arc<Mutex<mpsc::Receiver<()>>>>,
}

impl BatchSink for Batches {
    fn write_batch(&mut self, bytes: &[u8], records: usize) -> io::Result<()> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls - 1
        };
        if self.fail_at == Some(call) {
            if let Some(hold) = &self.hold {
                let _ = hold.lock().unwrap().recv();
            }
            return Err(io::Error::other("broker gone"));
        }
        self.got.lock().unwrap().push((bytes.to_vec(), records));
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        *self.flush_count() += 1;
        Ok(())
    }
}

impl Batches {
    fn flush_count(&self) -> std::sync::MutexGuard<'_, u64> {
        self.flushes.lock().unwrap()
    }
}

#[test]
fn a_batch_sink_receives_every_record_in_whole_batches_in_order() {
    let sink = Batches::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(64)
        .batch_records(10)
        .build_batches::<LinearPath>(sink.clone())
        .unwrap();
    for sequence in 0..95 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    stream.flush().unwrap();
    assert!(*sink.flush_count() >= 1, "flush reaches the batch sink");
    let got = sink.got.lock().unwrap().clone();
    // Nine full batches of ten, then flush sends the partial batch of five (the writer may
    // also have taken partial batches when idle, so only the full ones are pinned).
    assert!(got.iter().all(|(_, records)| *records <= 10));
    let mut expected = Vec::new();
    for sequence in 0..95 {
        expected.extend_from_slice(&to_aprt(&linear_trace(sequence)));
    }
    let mut joined = Vec::new();
    for (bytes, records) in &got {
        let decoded = AprtRecords::<LinearPath>::new(bytes).count();
        assert_eq!(
            decoded, *records,
            "the count given matches the records in the bytes"
        );
        joined.extend_from_slice(bytes);
    }
    assert_eq!(joined, expected);
    assert_eq!(stream.len(), 95);
}

/// After the sink fails a batch the writer stops for good: the error names the batch's
/// first record, and no batch queued behind the failed one reaches the sink, although it
/// would take them.
#[test]
fn a_failing_batch_sink_stops_the_writer_and_counts_the_batch_lost() {
    let (release, hold) = mpsc::channel();
    let sink = Batches {
        fail_at: Some(1),
        hold: Some(Arc::new(Mutex::new(hold))),
        ..Batches::default()
    };
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(64)
        .batch_records(10)
        .build_batches::<LinearPath>(sink.clone())
        .unwrap();
    for sequence in 0..10 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    stream.flush().unwrap();
    // The batch of 10..20 goes to the sink, which holds it; two more queue behind it.
    for sequence in 10..40 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    release.send(()).unwrap();
    let error = stream.flush().unwrap_err();
    assert!(
        error.to_string().contains("stream"),
        "the error names the stream: {error}"
    );
    assert!(
        matches!(
            collector_error(&error),
            LedgerError::StreamWrite { record: 10, .. }
        ),
        "the error names the failed batch's first record: {error:?}"
    );
    let _ = stream.close();
    assert_eq!(
        *sink.calls.lock().unwrap(),
        2,
        "no batch after the failed one"
    );
    assert_eq!(sink.got.lock().unwrap().len(), 1);
}

#[test]
fn a_batch_sink_takes_aprt_only() {
    let error = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .build_batches::<LinearPath>(Batches::default())
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidSetting {
                setting: "format",
                ..
            }
        ),
        "got {error:?}"
    );
}
