//! [`BatchTrace`]: many rows decided together (the seed spec's §5 batch pattern): one
//! timestamp and one latency for the batch, and per row its input digest, its output and its
//! decision path.
//!
//! A batch is filled in place and reused: its vectors, the paths' included, keep their
//! capacity across batches, so a steady stream of batches of the same size allocates nothing
//! once warm. Each row becomes an ordinary [`DecisionTrace`] when recorded (the batch's
//! timestamp, the row's sequence, the batch latency divided among its rows), so collectors,
//! the ledger and the readers need nothing new.

use crate::path::DecisionPath;
use crate::trace::DecisionTrace;

/// Many rows decided together. See the module docs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchTrace<P> {
    /// When the batch was decided, Unix epoch nanoseconds: one time for every row.
    pub timestamp_ns: u64,
    /// Sequence number of the first row; row `i` has `first_sequence + i`.
    pub first_sequence: u64,
    /// Time the model took for the whole batch, nanoseconds.
    pub latency_ns: u64,
    /// Each row's input digest.
    pub input_hashes: Vec<u64>,
    /// Each row's output.
    pub outputs: Vec<f32>,
    /// Each row's decision path. May hold more paths than rows (kept for reuse): only the
    /// first [`len`](BatchTrace::len) belong to this batch.
    pub paths: Vec<P>,
}

impl<P: DecisionPath> BatchTrace<P> {
    /// An empty batch.
    pub fn new() -> Self {
        Self {
            timestamp_ns: 0,
            first_sequence: 0,
            latency_ns: 0,
            input_hashes: Vec::new(),
            outputs: Vec::new(),
            paths: Vec::new(),
        }
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// Whether the batch holds no row.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// The latency charged to each row: the batch's divided by its rows.
    pub fn latency_per_row_ns(&self) -> u64 {
        self.latency_ns / (self.len().max(1) as u64)
    }

    /// Row `i` as an ordinary trace (a copy of its path).
    pub fn trace(&self, i: usize) -> Option<DecisionTrace<P>> {
        Some(DecisionTrace {
            timestamp_ns: self.timestamp_ns,
            sequence: self.first_sequence + i as u64,
            input_hash: *self.input_hashes.get(i)?,
            output: *self.outputs.get(i)?,
            latency_ns: self.latency_per_row_ns(),
            path: self.paths.get(i)?.clone(),
        })
    }

    /// Every row as an ordinary trace, in order.
    pub fn traces(&self) -> impl Iterator<Item = DecisionTrace<P>> + '_ {
        (0..self.len()).filter_map(|i| self.trace(i))
    }
}
