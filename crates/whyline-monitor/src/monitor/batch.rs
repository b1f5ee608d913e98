//! Batches: many rows decided together into a [`BatchTrace`], one clock read before and one
//! after the batch instead of two per row, then each row checked and recorded as
//! [`predict_one`](InferenceMonitor::predict_one) does.

use whyline_core::{BatchTrace, Explainable, TraceCollector, check_batch};

use super::InferenceMonitor;
use crate::alert::AlertLevel;
use crate::error::{MonitorError, Result};

impl<M: Explainable, C: TraceCollector<M::Path>> InferenceMonitor<M, C> {
    /// Decides every row of the row-major `batch` into `out` (cleared first; its vectors and
    /// paths are reused): one timestamp and one latency for the batch, and per row its input
    /// digest, output and decision path. Then each row is checked by Andon and recorded like
    /// a [`predict_one`](Self::predict_one) decision whose trace carries the batch's
    /// timestamp, the row's own sequence and the batch latency divided among the rows.
    /// Returns the most severe alert any row raised. Allocates nothing once `out` has held a
    /// batch as large with paths as large (and the collector allocates nothing). Afterwards
    /// [`last_trace`](Self::last_trace) is `None`: the batch holds its rows' traces.
    ///
    /// A row the model refuses stops the batch with [`MonitorError::Model`] naming it; the
    /// rows before it were not recorded (the batch is decided before any is recorded).
    ///
    /// ```
    /// use whyline_core::{BatchTrace, Explainable, LinearPath, NoCollector, Result};
    /// use whyline_monitor::{Andon, InferenceMonitor};
    ///
    /// struct Doubler;
    /// impl Explainable for Doubler {
    ///     type Path = LinearPath;
    ///     fn n_features(&self) -> usize { 1 }
    ///     fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> Result<f32> {
    ///         path.contributions.clear();
    ///         path.contributions.push(2.0 * row[0]);
    ///         path.logit = 2.0 * row[0];
    ///         path.prediction = path.logit;
    ///         Ok(path.logit)
    ///     }
    /// }
    ///
    /// let mut monitor = InferenceMonitor::new(Doubler, NoCollector, Andon::disabled());
    /// let mut batch = BatchTrace::new();
    /// monitor.predict_batch_traced(&[1.0, 2.0, 3.0], &mut batch)?;
    /// assert_eq!(batch.outputs, [2.0, 4.0, 6.0]);
    /// assert_eq!(batch.trace(2).map(|t| t.sequence), Some(2));
    /// # Ok::<(), whyline_monitor::MonitorError>(())
    /// ```
    pub fn predict_batch_traced(
        &mut self,
        batch: &[f32],
        out: &mut BatchTrace<M::Path>,
    ) -> Result<Option<AlertLevel>> {
        let n_features = self.model.n_features();
        let rows = check_batch(batch, n_features)
            .map_err(|source| MonitorError::Model { row: 0, source })?;
        out.outputs.clear();
        out.input_hashes.clear();
        while out.paths.len() < rows {
            out.paths.push(self.trace.path.clone());
        }
        let row_slices = batch.chunks_exact(n_features.max(1)).take(rows);
        let start = self.clock.ticks();
        for (index, (row, path)) in row_slices.clone().zip(out.paths.iter_mut()).enumerate() {
            let output = self
                .model
                .explain_into(row, path)
                .map_err(|source| MonitorError::Model { row: index, source })?;
            out.outputs.push(output);
        }
        out.latency_ns = self.clock.elapsed_ns(start);
        out.timestamp_ns = self.clock.at(start);
        out.first_sequence = self.next_sequence;
        for row in row_slices.clone() {
            out.input_hashes.push(self.digester.digest(row));
        }
        self.next_sequence += rows as u64;

        let latency_ns = out.latency_per_row_ns();
        let mut most_severe = None;
        for (index, row) in row_slices.enumerate() {
            let (Some(path), Some(&output), Some(&input_hash)) = (
                out.paths.get_mut(index),
                out.outputs.get(index),
                out.input_hashes.get(index),
            ) else {
                break;
            };
            // The row's path goes into the monitor's trace and back: no copy.
            std::mem::swap(&mut self.trace.path, path);
            self.trace.timestamp_ns = out.timestamp_ns;
            self.trace.sequence = out.first_sequence + index as u64;
            self.trace.input_hash = input_hash;
            self.trace.output = output;
            self.trace.latency_ns = latency_ns;
            self.has_trace = true;
            self.trace_complete = true;
            let concluded = self.conclude(row, None);
            std::mem::swap(&mut self.trace.path, path);
            most_severe = most_severe.max(concluded?.alert);
        }
        // The rows' paths are in `out`, not in the monitor's trace.
        self.has_trace = false;
        Ok(most_severe)
    }
}
