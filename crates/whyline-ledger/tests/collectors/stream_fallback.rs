//! The fallback sink when it fails: a write that fails is returned for the record that
//! needed it and counted, a flush that fails is returned by `flush` and `close`, and records
//! written before the failure stay there, JSON lines exactly as the trace's JSON view.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};

use whyline_core::{LinearPath, RecordOutcome, TraceCollector};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{
    Backpressure, StreamCollector, StreamCollectorBuilder, StreamFormat,
};

use crate::support::{SharedBuffer, collector_error, json_traces, linear_trace};

/// A sink whose writes wait until the gate opens: the queue fills behind it at once.
#[derive(Clone, Default)]
struct GatedWriter {
    gate: Arc<(Mutex<bool>, Condvar)>,
    inner: SharedBuffer,
}

impl GatedWriter {
    fn open(&self) {
        let (open, changed) = &*self.gate;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }
}

impl Write for GatedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let (open, changed) = &*self.gate;
        let mut is_open = open.lock().unwrap();
        while !*is_open {
            is_open = changed.wait(is_open).unwrap();
        }
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Opens the gate when dropped, so a failing test does not leave the writer waiting (and
/// the collector's drop joining it) forever. Declared after the collector: dropped first.
struct OpenOnDrop(GatedWriter);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A fallback sink that takes writes while they fit in `good_bytes`, then fails every
/// write and, from then on, every flush (a disk that filled up).
struct BrokenFallback {
    inner: SharedBuffer,
    good_bytes: usize,
    full: bool,
}

impl Write for BrokenFallback {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.full || bytes.len() > self.good_bytes {
            self.full = true;
            return Err(io::Error::other("fallback disk full"));
        }
        self.good_bytes -= bytes.len();
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.full {
            Err(io::Error::other("fallback disk full"))
        } else {
            Ok(())
        }
    }
}

fn stream(
    format: StreamFormat,
    main: GatedWriter,
    fallback: impl Write + Send + 'static,
) -> StreamCollector<LinearPath> {
    StreamCollectorBuilder::new(format)
        .capacity(2)
        .batch_records(1)
        .buffer_bytes(0)
        .fallback(fallback)
        .build::<LinearPath>(main)
        .unwrap()
}

#[test]
fn a_failing_fallback_write_is_returned_for_that_record_and_a_failing_flush_by_flush() {
    let main = GatedWriter::default();
    let overflow = SharedBuffer::default();
    let stream = stream(
        StreamFormat::JsonLines,
        main.clone(),
        BrokenFallback {
            inner: overflow.clone(),
            good_bytes: 2000,
            full: false,
        },
    );
    let _gate = OpenOnDrop(main.clone());
    assert_eq!(stream.format(), StreamFormat::JsonLines);
    assert_eq!(stream.backpressure(), Backpressure::Fallback);
    let debug = format!("{stream:?}");
    assert!(
        debug.starts_with("StreamCollector { format: JsonLines, backpressure: Fallback,"),
        "{debug}"
    );
    // The writer waits at the gate, so records overflow into the fallback (unbuffered, as
    // `buffer_bytes(0)` makes it) until it is full: that record's call returns the error.
    let mut diverted = Vec::new();
    let failed = (0..100_000u64)
        .find_map(|sequence| match stream.record(&linear_trace(sequence)) {
            Ok(RecordOutcome::Fallback) => {
                diverted.push(sequence);
                None
            }
            Ok(_) => None,
            Err(error) => Some((sequence, error)),
        })
        .expect("the fallback buffer filled up");
    let (sequence, error) = failed;

    assert!(!diverted.is_empty());
    let inner = collector_error(&error);
    assert!(
        matches!(inner, LedgerError::Fallback { sequence: s, .. } if *s == sequence),
        "{inner:?}"
    );
    assert_eq!(
        inner.to_string(),
        format!("stream fallback: writing decision {sequence} to the fallback sink failed")
    );
    let stats = stream.stream_stats();
    assert_eq!(stats.write_errors, 1);
    assert_eq!(stats.fallback, diverted.len() as u64);
    main.open();
    let error = stream.flush().unwrap_err();
    assert!(
        matches!(collector_error(&error), LedgerError::FallbackFlush { .. }),
        "{error:?}"
    );
    assert_eq!(stream.stream_stats().write_errors, 2);
    let error = stream.close().unwrap_err();
    assert_eq!(
        error.to_string(),
        "stream fallback: flushing the fallback sink failed"
    );
    // What the fallback took before it filled up is there, each line the trace's JSON view.
    let taken = json_traces(&overflow.bytes());
    assert_eq!(
        taken.iter().map(|t| t.sequence).collect::<Vec<_>>(),
        diverted
    );
    assert!(taken.iter().all(|t| t == &linear_trace(t.sequence)));
}

#[test]
fn json_lines_in_the_fallback_are_each_traces_json_view() {
    let main = GatedWriter::default();
    let overflow = SharedBuffer::default();
    let stream = stream(StreamFormat::JsonLines, main.clone(), overflow.clone());
    let _gate = OpenOnDrop(main.clone());
    let mut diverted = Vec::new();
    for sequence in 0..50 {
        if stream.record(&linear_trace(sequence)).unwrap() == RecordOutcome::Fallback {
            diverted.push(sequence);
        }
    }
    assert!(diverted.len() >= 45, "{diverted:?}");
    main.open();
    let stats = stream.close().unwrap();
    assert_eq!(stats.fallback, diverted.len() as u64);
    let lines = json_traces(&overflow.bytes());
    assert_eq!(
        lines.iter().map(|t| t.sequence).collect::<Vec<_>>(),
        diverted
    );
    for trace in &lines {
        assert_eq!(trace, &linear_trace(trace.sequence));
    }
}
