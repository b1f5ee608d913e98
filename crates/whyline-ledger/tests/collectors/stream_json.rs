//! The stream's JSON lines: written a chunk of many lines per write, byte for byte the
//! caller's `encode_json`, and a sink that fails inside a chunk still gets whole lines
//! counted exactly.

use std::sync::{Arc, Mutex};

use whyline_core::TraceCollector;
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};

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
