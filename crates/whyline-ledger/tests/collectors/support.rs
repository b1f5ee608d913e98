//! Test doubles and helpers shared by the collector tests.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use whyline_core::{AprtRecords, CoreError, DecisionTrace, LinearPath, encode_json, from_json};
use whyline_ledger::LedgerError;

/// An 8-feature linear trace numbered `sequence`, with a latency that is not a whole number
/// of microseconds (so a JSON line shows whether nanoseconds survived).
pub(crate) fn linear_trace(sequence: u64) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000 + sequence,
        sequence,
        input_hash: sequence.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        output: sequence as f32 * 0.5,
        latency_ns: 1_234 + sequence,
        path: LinearPath {
            contributions: (0..8).map(|i| i as f32 * 0.125 - sequence as f32).collect(),
            intercept: 0.25,
            logit: 1.5,
            prediction: 1.0,
            probability: Some(0.8),
        },
    }
}

/// A `Write` whose bytes stay readable after the collector took the writer.
#[derive(Clone, Default)]
pub(crate) struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that sleeps on every write: with the writer's buffer off, one record per write, so
/// the writer runs at one record per `delay`, far slower than any producer.
#[derive(Clone)]
pub(crate) struct SlowWriter {
    pub(crate) inner: SharedBuffer,
    pub(crate) delay: Duration,
}

impl Write for SlowWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        std::thread::sleep(self.delay);
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that accepts `good_writes` writes, then fails every write.
pub(crate) struct FailingWriter {
    pub(crate) inner: SharedBuffer,
    pub(crate) good_writes: usize,
}

impl Write for FailingWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.good_writes == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        self.good_writes -= 1;
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Sequences of the APRT records in `bytes`, failing on any malformed record.
pub(crate) fn aprt_sequences(bytes: &[u8]) -> Vec<u64> {
    AprtRecords::<LinearPath>::new(bytes)
        .map(|record| record.expect("well-formed APRT record").1.sequence)
        .collect()
}

/// Traces of the JSON lines in `bytes`, failing on any malformed line.
pub(crate) fn json_traces(bytes: &[u8]) -> Vec<DecisionTrace<LinearPath>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8 JSON lines");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "last line ends in a newline"
    );
    text.lines()
        .map(|line| from_json(line).expect("well-formed JSON line"))
        .collect()
}

/// Assertion message helper: the first difference between two sequence lists.
pub(crate) fn first_difference(expected: &[u64], found: &[u64]) -> String {
    let at = expected
        .iter()
        .zip(found)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(found.len()));
    format!(
        "{} expected, {} found; first difference at index {at}: expected {:?}, found {:?}",
        expected.len(),
        found.len(),
        expected.get(at),
        found.get(at)
    )
}

/// The collector's own error inside a `CoreError::Collector` that names the stream.
pub(crate) fn collector_error(error: &CoreError) -> &LedgerError {
    match error {
        CoreError::Collector {
            collector: "stream",
            source,
            ..
        } => source
            .downcast_ref::<LedgerError>()
            .unwrap_or_else(|| panic!("a LedgerError inside, got {source:?}")),
        other => panic!("CoreError::Collector from the stream, got {other:?}"),
    }
}

/// Takes `budget` bytes (cutting a write short where it runs out), then fails with "disk
/// full"; counts the write calls it saw.
pub(crate) struct ByteBudget {
    pub(crate) inner: SharedBuffer,
    pub(crate) budget: usize,
    pub(crate) writes: Arc<Mutex<usize>>,
}

impl ByteBudget {
    pub(crate) fn new(inner: SharedBuffer, budget: usize) -> ByteBudget {
        ByteBudget {
            inner,
            budget,
            writes: Arc::default(),
        }
    }
}

impl Write for ByteBudget {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        *self.writes.lock().unwrap() += 1;
        if self.budget == 0 {
            return Err(io::Error::other("disk full"));
        }
        let taken = bytes.len().min(self.budget);
        self.budget -= taken;
        self.inner.write(&bytes[..taken])
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The JSON lines of `linear_trace` for these sequences, as the stream writes them.
pub(crate) fn json_lines(sequences: std::ops::Range<u64>) -> Vec<u8> {
    let mut text = Vec::new();
    for sequence in sequences {
        encode_json(&linear_trace(sequence), &mut text).unwrap();
        text.push(b'\n');
    }
    text
}

/// The length of [`json_lines`].
pub(crate) fn json_lines_len(sequences: std::ops::Range<u64>) -> usize {
    json_lines(sequences).len()
}
