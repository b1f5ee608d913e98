//! The stream's JSON lines: written a chunk of many lines per write, byte for byte the
//! caller's `encode_json`, and a sink that fails inside a chunk still gets whole lines
//! counted exactly; the same when a caller waiting for room rendered the lines.

use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use whyline_core::TraceCollector;
use whyline_core::{DecisionTrace, LinearPath};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{
    Backpressure, StreamCollector, StreamCollectorBuilder, StreamFormat,
};

use crate::support::{
    ByteBudget, SharedBuffer, collector_error, json_lines, json_traces, linear_trace,
};

#[test]
fn json_lines_reach_an_unbuffered_sink_many_lines_per_write() {
    let output = SharedBuffer::default();
    let writes = Arc::new(Mutex::new(0));
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .buffer_bytes(0)
        .batch_records(100)
        .backpressure(Backpressure::Block)
        .build(ByteBudget {
            inner: output.clone(),
            budget: usize::MAX,
            writes: Arc::clone(&writes),
        })
        .unwrap();
    for sequence in 0..100 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    stream.flush().unwrap();
    assert_eq!(output.bytes(), json_lines(0..100));
    // A full batch of 100 short lines is one chunk and one write; the writer may take a
    // partial batch first when recording stalls for milliseconds, but never line by line.
    let writes = *writes.lock().unwrap();
    assert!((1..=5).contains(&writes), "{writes} writes for 100 lines");
    assert_eq!(stream.close().unwrap().written, 100);
}

/// A batch whose lines fill more than one chunk (64 KiB) is written chunk by chunk, every
/// line of it: the writer is held at its first write while whole batches of 1,000 queue
/// behind it, each well over a chunk of JSON.
#[test]
fn a_batch_of_more_lines_than_a_chunk_is_written_whole_chunk_by_chunk() {
    let output = SharedBuffer::default();
    let writes = Arc::new(Mutex::new(0));
    let (open, gate) = mpsc::channel();
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .buffer_bytes(0)
        .capacity(4_000)
        .batch_records(1_000)
        .backpressure(Backpressure::Block)
        .build(Gated {
            inner: ByteBudget {
                inner: output.clone(),
                budget: usize::MAX,
                writes: Arc::clone(&writes),
            },
            gate: Some(gate),
        })
        .unwrap();
    for sequence in 0..3_000 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    open.send(()).unwrap();
    stream.flush().unwrap();
    let expected = json_lines(0..3_000);
    assert!(expected.len() > 4 * 64 * 1024, "{} bytes", expected.len());
    assert_eq!(output.bytes(), expected);
    let writes = *writes.lock().unwrap();
    assert!(writes >= 4, "{writes} writes: chunks of at most 64 KiB");
    assert_eq!(stream.close().unwrap().written, 3_000);
}

#[test]
fn a_sink_failing_inside_a_chunk_names_the_first_line_it_did_not_take() {
    let whole = json_lines(0..2).len();
    let third = json_lines(2..3).len();
    let output = SharedBuffer::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .buffer_bytes(0)
        .batch_records(10)
        .backpressure(Backpressure::Block)
        // Two whole lines and half of the third.
        .build(ByteBudget::new(output.clone(), whole + third / 2))
        .unwrap();
    // The writer may take part of them early and fail before the last is recorded; the
    // sink's own error reaches exactly one call, every other says the writer stopped.
    let mut errors = Vec::new();
    let mut accepted = 0;
    for sequence in 0..10 {
        match stream.record(&linear_trace(sequence)) {
            Ok(_) => accepted += 1,
            Err(error) => errors.push(error),
        }
    }
    assert!(accepted >= 3, "{accepted}");
    errors.push(stream.flush().unwrap_err());
    let stats = stream.stream_stats();
    assert_eq!(
        (stats.written, stats.lost, stats.write_errors),
        (2, accepted - 2, 1)
    );
    let bytes = output.bytes();
    assert_eq!(bytes.len(), whole + third / 2);
    assert_eq!(json_traces(&bytes[..whole]).len(), 2);
    let own: Vec<&LedgerError> = errors
        .iter()
        .map(collector_error)
        .filter(|e| matches!(e, LedgerError::StreamWrite { .. }))
        .collect();
    assert!(
        matches!(
            own.as_slice(),
            [LedgerError::StreamWrite { record: 2, format: StreamFormat::JsonLines, source }]
                if source.to_string() == "disk full"
        ),
        "{errors:?}"
    );
    assert!(matches!(
        stream.close(),
        Err(LedgerError::WriterStopped { .. })
    ));
}

/// A sink whose first write waits until the test opens the gate, so that the writer falls
/// behind and callers find its queue full.
struct Gated<W> {
    inner: W,
    gate: Option<mpsc::Receiver<()>>,
}

impl<W: Write> Write for Gated<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if let Some(gate) = self.gate.take() {
            gate.recv().map_err(io::Error::other)?;
        }
        self.inner.write(bytes)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A JSON-lines stream of batches of 10 and a queue of one batch, over `sink` behind a
/// gate; records `records` traces from another thread and opens the gate only once a
/// caller has rendered a batch itself. Returns the stream and what each `record` returned.
fn record_behind_a_gate(
    sink: impl Write + Send + 'static,
    records: u64,
) -> (
    Arc<StreamCollector<LinearPath>>,
    Vec<whyline_core::Result<whyline_core::RecordOutcome>>,
) {
    let (open, gate) = mpsc::channel();
    let stream: Arc<StreamCollector<LinearPath>> = Arc::new(
        StreamCollectorBuilder::new(StreamFormat::JsonLines)
            .buffer_bytes(0)
            .capacity(20)
            .batch_records(10)
            .backpressure(Backpressure::Block)
            .build(Gated {
                inner: sink,
                gate: Some(gate),
            })
            .unwrap(),
    );
    let caller = {
        let stream = Arc::clone(&stream);
        std::thread::spawn(move || {
            (0..records)
                .map(|sequence| {
                    let trace: DecisionTrace<LinearPath> = linear_trace(sequence);
                    stream.record(&trace)
                })
                .collect::<Vec<_>>()
        })
    };
    // The writer holds the first batch at the gate and one batch fits the queue, so the
    // caller that fills the third renders it before it waits.
    let deadline = Instant::now() + Duration::from_secs(20);
    while stream.stream_stats().rendered_by_callers == 0 {
        if Instant::now() >= deadline {
            // Let the writer through first, or dropping the stream would wait for it.
            drop(open);
            panic!("no caller rendered a batch");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    open.send(()).unwrap();
    let outcomes = caller.join().unwrap();
    (stream, outcomes)
}

#[test]
fn lines_a_waiting_caller_rendered_are_the_callers_encode_json_in_order() {
    let output = SharedBuffer::default();
    let (stream, outcomes) = record_behind_a_gate(output.clone(), 100);
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    stream.flush().unwrap();
    assert_eq!(output.bytes(), json_lines(0..100));
    let stats = stream.stream_stats();
    assert_eq!((stats.recorded, stats.written, stats.lost), (100, 100, 0));
    // Whole batches only, and never the batches the writer took before the queue filled.
    assert_eq!(stats.rendered_by_callers % 10, 0, "{stats:?}");
    assert!((10..=80).contains(&stats.rendered_by_callers), "{stats:?}");
}

#[test]
fn a_sink_failing_inside_lines_a_caller_rendered_names_the_first_line_it_did_not_take() {
    // The writer renders batch 0 (records 0..10) itself; it waits at the gate with it while
    // batch 1 is queued, and the caller that brings record 30 finds the queue full and
    // renders batch 2 (records 20..30). On a loaded host the writer thread may start late,
    // and a waiting caller then renders batch 1, or batches 0 and 1 too: batch 2 is a
    // caller's in every schedule. The sink takes records 0..25 and half of record 25.
    let taken = json_lines(0..25).len() + json_lines(25..26).len() / 2;
    let output = SharedBuffer::default();
    let (stream, outcomes) = record_behind_a_gate(ByteBudget::new(output.clone(), taken), 31);
    let accepted = outcomes.iter().filter(|outcome| outcome.is_ok()).count() as u64;
    let mut errors: Vec<_> = outcomes.into_iter().filter_map(Result::err).collect();
    if let Err(error) = stream.flush() {
        errors.push(error);
    }
    let stats = stream.stream_stats();
    assert!(
        [10, 20, 30].contains(&stats.rendered_by_callers),
        "{stats:?}"
    );
    assert_eq!(
        (stats.written, stats.lost, stats.write_errors),
        (25, accepted - 25, 1),
        "{stats:?}"
    );
    assert_eq!(output.bytes(), json_lines(0..31)[..taken].to_vec());
    assert!(
        errors.iter().map(collector_error).any(|error| matches!(
            error,
            LedgerError::StreamWrite { record: 25, format: StreamFormat::JsonLines, source }
                if source.to_string() == "disk full"
        )),
        "{errors:?}"
    );
}
