//! The stream collector on a `BatchSink`: batches arrive whole and in order, an error stops
//! the writer and counts the loss, JSON lines are refused.

use std::io;
use std::sync::{Arc, Mutex};

use whyline_core::{AprtRecords, LinearPath, TraceCollector, to_aprt};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{BatchSink, StreamCollectorBuilder, StreamFormat};

use crate::support::linear_trace;

/// The batches a sink was given: bytes and record count.
type Received = Arc<Mutex<Vec<(Vec<u8>, usize)>>>;

/// Keeps every batch it is given; fails from batch `fail_at` on.
#[derive(Clone, Default)]
struct Batches {
    got: Received,
    flushes: Arc<Mutex<u64>>,
    fail_at: Option<usize>,
}

impl BatchSink for Batches {
    fn write_batch(&mut self, bytes: &[u8], records: usize) -> io::Result<()> {
        let mut got = self.got.lock().unwrap();
        if self.fail_at.is_some_and(|at| got.len() >= at) {
            return Err(io::Error::other("broker gone"));
        }
        got.push((bytes.to_vec(), records));
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

#[test]
fn a_failing_batch_sink_stops_the_writer_and_counts_the_batch_lost() {
    let sink = Batches {
        fail_at: Some(1),
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
    for sequence in 10..15 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    let error = stream.flush().unwrap_err();
    assert!(
        error.to_string().contains("stream"),
        "the error names the stream: {error}"
    );
    let stats = stream.stream_stats();
    assert_eq!((stats.written, stats.lost, stats.write_errors), (10, 5, 1));
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
