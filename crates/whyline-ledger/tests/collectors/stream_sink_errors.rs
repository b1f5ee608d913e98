//! A sink that fails to flush, and records queued behind a write that failed: each error is
//! returned with what it concerns, and every record accepted is either written or counted
//! lost, never neither.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};

use whyline_core::{LinearPath, TraceCollector};
use whyline_ledger::LedgerError;
use whyline_ledger::collector::{Backpressure, StreamCollectorBuilder, StreamFormat};

use crate::support::{SharedBuffer, aprt_sequences, collector_error, json_lines, linear_trace};

/// Takes every write, fails every flush.
#[derive(Clone, Default)]
struct UnflushableWriter(SharedBuffer);

impl Write for UnflushableWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::other("flush refused"))
    }
}

#[test]
fn a_sink_that_cannot_flush_fails_flush_with_the_records_written_before_it() {
    let sink = UnflushableWriter::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .build::<LinearPath>(sink.clone())
        .unwrap();
    for sequence in 0..5 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    let error = stream.flush().unwrap_err();
    let inner = collector_error(&error);
    assert!(
        matches!(inner, LedgerError::StreamFlush { written: 5, .. }),
        "{inner:?}"
    );
    assert_eq!(
        inner.to_string(),
        "stream writer: flushing the sink after 5 records failed"
    );
    // The records reached the sink's buffer before the flush failed.
    assert_eq!(aprt_sequences(&sink.0.bytes()), [0, 1, 2, 3, 4]);
    let stats = stream.stream_stats();
    assert_eq!((stats.written, stats.write_errors), (5, 1));
    // The writer has stopped: the next record is refused, naming the stop.
    let error = stream.record(&linear_trace(5)).unwrap_err();
    assert!(
        matches!(collector_error(&error), LedgerError::WriterStopped { .. }),
        "{error:?}"
    );
}

/// Fails every write, once the gate opens.
#[derive(Clone, Default)]
struct GatedFailure(Arc<(Mutex<bool>, Condvar)>);

impl GatedFailure {
    fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
}

impl Write for GatedFailure {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        let mut open = self.0.0.lock().unwrap();
        while !*open {
            open = self.0.1.wait(open).unwrap();
        }
        Err(io::Error::other("disk gone"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct OpenOnDrop(GatedFailure);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

#[test]
fn records_queued_behind_a_failed_write_are_counted_lost() {
    let sink = GatedFailure::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::Aprt)
        .capacity(8)
        .batch_records(1)
        .buffer_bytes(0)
        .backpressure(Backpressure::Block)
        .build::<LinearPath>(sink.clone())
        .unwrap();
    let _gate = OpenOnDrop(sink.clone());
    // Batches of one record: the writer blocks on the first while the others queue.
    for sequence in 0..4 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    sink.open();
    let error = stream.flush().unwrap_err();
    let inner = collector_error(&error);
    assert!(
        matches!(inner, LedgerError::StreamWrite { record: 0, .. }),
        "{inner:?}"
    );
    let stats = stream.stream_stats();
    assert_eq!(stats.written, 0);
    assert_eq!(stats.lost, 4, "every record accepted was lost: {stats:?}");
    assert_eq!(stats.write_errors, 1);
}

/// Interrupted on every other write, and takes at most 100 bytes of each of the others.
#[derive(Clone, Default)]
struct Interrupting {
    inner: SharedBuffer,
    interrupted: Arc<Mutex<u64>>,
    calls: u64,
}

impl Write for Interrupting {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 1 {
            *self.interrupted.lock().unwrap() += 1;
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.inner.write(&bytes[..bytes.len().min(100)])
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A write interrupted by a signal (`EINTR`) is no failure: it is tried again, and every
/// line arrives whole and once, however few bytes each write takes.
#[test]
fn an_interrupted_write_is_retried_not_a_failure() {
    let sink = Interrupting::default();
    let stream = StreamCollectorBuilder::new(StreamFormat::JsonLines)
        .buffer_bytes(0)
        .build::<LinearPath>(sink.clone())
        .unwrap();
    for sequence in 0..20 {
        stream.record(&linear_trace(sequence)).unwrap();
    }
    stream.flush().unwrap();
    assert_eq!(sink.inner.bytes(), json_lines(0..20));
    assert!(*sink.interrupted.lock().unwrap() > 0);
    let stats = stream.close().unwrap();
    assert_eq!((stats.written, stats.lost, stats.write_errors), (20, 0, 0));
}
