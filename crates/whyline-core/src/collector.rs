//! The `TraceCollector` trait: the seam between models and wherever their traces go.

use crate::error::Result;
use crate::path::DecisionPath;
use crate::trace::DecisionTrace;

/// What became of one trace handed to a collector. Nothing is lost silently: a trace is
/// stored, queued for a writer, diverted to a fallback, or counted as dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// Held by the collector (in memory, or written synchronously).
    Stored,
    /// Accepted into a queue; a background writer stores it.
    Queued,
    /// The queue was full and the policy drops: not stored, and counted.
    Dropped,
    /// The queue was full; written synchronously to the fallback sink instead.
    Fallback,
    /// Appended to a ledger as the leaf at `index`, whose RFC 6962 leaf hash is `leaf_hash`.
    Appended {
        /// Leaf index (0-based) in the ledger.
        index: u64,
        /// `SHA-256(0x00 ‖ APRT bytes)`.
        leaf_hash: [u8; 32],
    },
}

/// A decision's input, handed to [`TraceCollector::record_input`] right after the decision's
/// trace was appended.
#[derive(Clone, Copy, Debug)]
pub struct InputEvidence<'a> {
    /// Ledger index of the decision's entry.
    pub decision_index: u64,
    /// The decision entry's leaf hash.
    pub trace_hash: [u8; 32],
    /// The decision's time, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// Whom the input concerns (a customer, a vehicle); `None` for the log-wide key.
    pub subject: Option<&'a str>,
    /// The input row.
    pub values: &'a [f32],
    /// The context fields.
    pub context: &'a [(String, crate::ContextValue)],
}

/// Counters a collector keeps about what it did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// Traces stored, queued, appended or diverted.
    pub recorded: u64,
    /// Traces dropped under backpressure.
    pub dropped: u64,
    /// Traces written to a fallback sink.
    pub fallback: u64,
}

/// Receives decision traces, shaped like `tracing`'s `Subscriber`: methods take `&self` so one
/// collector serves many threads, [`enabled`](TraceCollector::enabled) is a cheap check made
/// before a path is built, and [`record`](TraceCollector::record) says what became of the
/// trace.
pub trait TraceCollector<P: DecisionPath>: Send + Sync {
    /// Records one trace and says what became of it. An `Err` means the collector failed
    /// (I/O, a broken writer); backpressure is an outcome, not an error.
    fn record(&self, trace: &DecisionTrace<P>) -> Result<RecordOutcome>;

    /// Records one trace from the collector's owner. `&mut self` proves no other thread is
    /// recording, so a collector may skip its locking; the default calls
    /// [`record`](TraceCollector::record). A monitor, which owns its collector, records
    /// through this.
    #[inline]
    fn record_exclusive(&mut self, trace: &DecisionTrace<P>) -> Result<RecordOutcome> {
        self.record(trace)
    }

    /// Records which model makes the decisions that follow, once per log. Returns `None`
    /// when this collector keeps no model records (the default: rings and streams hold
    /// traces only); a ledger appends the record as an ordinary entry, covered by its chain.
    fn record_model(&self, _model: &crate::ModelRecord) -> Result<Option<RecordOutcome>> {
        Ok(None)
    }

    /// Records an alert raised about a decision. Returns `None` when this collector keeps no
    /// alert records (the default); a ledger appends it as an entry, covered by its chain.
    fn record_alert(&self, _alert: &crate::AlertRecord) -> Result<Option<RecordOutcome>> {
        Ok(None)
    }

    /// Records one trace together with the alerts raised about it, in that order, and says
    /// what became of the trace. A collector that commits to storage (a ledger under
    /// `sync` durability) makes them durable together, with one sync instead of one per
    /// alert. The default records the trace, then each alert through
    /// [`record_alert`](TraceCollector::record_alert).
    fn record_with_alerts(
        &self,
        trace: &DecisionTrace<P>,
        alerts: &[crate::AlertRecord],
    ) -> Result<RecordOutcome> {
        let outcome = self.record(trace)?;
        for alert in alerts {
            self.record_alert(alert)?;
        }
        Ok(outcome)
    }

    /// Whether [`record_alert`](TraceCollector::record_alert) keeps anything, so a caller
    /// builds alert records only for a collector that stores them. `false` by default.
    fn keeps_alerts(&self) -> bool {
        false
    }

    /// Records the input row and context of a decision this collector just appended,
    /// sealed under the subject's key. Returns `None` when this collector keeps no inputs
    /// (the default); a ledger with a key store seals and appends them.
    fn record_input(&self, _input: &InputEvidence<'_>) -> Result<Option<RecordOutcome>> {
        Ok(None)
    }

    /// Records a trace and then its input, as [`record_exclusive`](TraceCollector::record_exclusive)
    /// followed by [`record_input`](TraceCollector::record_input) with the trace's entry index
    /// and leaf hash (`input.decision_index` and `input.trace_hash` are filled in here). A
    /// ledger overrides it to append both as one entry (the input sealed at the end of the
    /// decision's entry), and the input's outcome then names that same entry. The input's
    /// outcome is `None` when the collector keeps no inputs or did not append the trace.
    fn record_with_input(
        &mut self,
        trace: &DecisionTrace<P>,
        input: &InputEvidence<'_>,
    ) -> Result<(RecordOutcome, Option<RecordOutcome>)> {
        let recorded = self.record_exclusive(trace)?;
        let RecordOutcome::Appended { index, leaf_hash } = recorded else {
            return Ok((recorded, None));
        };
        let kept = self.record_input(&InputEvidence {
            decision_index: index,
            trace_hash: leaf_hash,
            ..*input
        })?;
        Ok((recorded, kept))
    }

    /// Whether [`record_input`](TraceCollector::record_input) keeps anything. `false` by
    /// default.
    fn keeps_inputs(&self) -> bool {
        false
    }

    /// Whether this collector wants traces at all. A caller may skip building a path when
    /// this is `false`.
    fn enabled(&self) -> bool {
        true
    }

    /// Returns once every trace accepted so far is written to the collector's storage.
    fn flush(&self) -> Result<()>;

    /// Traces currently held (a ring's fill) or written so far (a stream, a ledger).
    fn len(&self) -> u64;

    /// Whether [`len`](TraceCollector::len) is 0.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the collector did so far.
    fn stats(&self) -> CollectorStats;
}

/// The collector that collects nothing: zero-sized, never enabled, records nothing.
///
/// Its outcome for every trace is [`RecordOutcome::Dropped`] and its `dropped` counter stays 0,
/// because nothing was asked of it: a monitor checks [`enabled`](TraceCollector::enabled)
/// first and never builds a trace for it.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCollector;

impl<P: DecisionPath> TraceCollector<P> for NoCollector {
    #[inline]
    fn record(&self, _trace: &DecisionTrace<P>) -> Result<RecordOutcome> {
        Ok(RecordOutcome::Dropped)
    }

    #[inline]
    fn enabled(&self) -> bool {
        false
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn len(&self) -> u64 {
        0
    }

    fn stats(&self) -> CollectorStats {
        CollectorStats::default()
    }
}

/// A shared collector: several owners (one monitor per model of a server, all appending to
/// one ledger) record into the collector behind the `Arc`. Every method goes to it; the
/// exclusive methods ([`record_exclusive`](TraceCollector::record_exclusive),
/// [`record_with_input`](TraceCollector::record_with_input)) cannot prove exclusivity through
/// a shared pointer, so they take the shared path: `record`, then `record_input`.
impl<P: DecisionPath, C: TraceCollector<P> + ?Sized> TraceCollector<P> for std::sync::Arc<C> {
    #[inline]
    fn record(&self, trace: &DecisionTrace<P>) -> Result<RecordOutcome> {
        (**self).record(trace)
    }

    fn record_model(&self, model: &crate::ModelRecord) -> Result<Option<RecordOutcome>> {
        (**self).record_model(model)
    }

    fn record_alert(&self, alert: &crate::AlertRecord) -> Result<Option<RecordOutcome>> {
        (**self).record_alert(alert)
    }

    fn record_with_alerts(
        &self,
        trace: &DecisionTrace<P>,
        alerts: &[crate::AlertRecord],
    ) -> Result<RecordOutcome> {
        (**self).record_with_alerts(trace, alerts)
    }

    fn keeps_alerts(&self) -> bool {
        (**self).keeps_alerts()
    }

    fn record_input(&self, input: &InputEvidence<'_>) -> Result<Option<RecordOutcome>> {
        (**self).record_input(input)
    }

    fn keeps_inputs(&self) -> bool {
        (**self).keeps_inputs()
    }

    #[inline]
    fn enabled(&self) -> bool {
        (**self).enabled()
    }

    fn flush(&self) -> Result<()> {
        (**self).flush()
    }

    fn len(&self) -> u64 {
        (**self).len()
    }

    fn stats(&self) -> CollectorStats {
        (**self).stats()
    }
}
