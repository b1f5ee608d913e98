//! `InferenceMonitor`: a model wrapped so every decision is traced, recorded and checked.

mod batch;
mod clock;

use whyline_core::digest::{DigestAlgorithm, InputDigester};
use whyline_core::{
    AlertRecord, ContextValue, DecisionPath, DecisionTrace, Explainable, InputEvidence,
    ModelIdentity, RecordOutcome, TraceCollector, check_batch,
};

use crate::alert::{AlertKind, AlertLevel};
use crate::andon::{Andon, DecisionFacts};
use crate::audit::{AuditRecord, LatencyBreakdown, QualityChecks};
use crate::error::{MonitorError, Result};
use clock::WallClock;

/// What the monitor reports about one decision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// The model's output.
    pub output: f32,
    /// The decision's sequence number.
    pub sequence: u64,
    /// The path's confidence, when a path was built (a collector or a rule needed it).
    pub confidence: Option<f32>,
    /// What the collector did with the trace, when one was recorded.
    pub recorded: Option<RecordOutcome>,
    /// The most severe alert raised, if any.
    pub alert: Option<AlertLevel>,
    /// Time the model took, nanoseconds; 0 when the monitor read no clock (no collector
    /// and no latency rule).
    pub latency_ns: u64,
}

/// A model wrapped so that every decision is traced with its native path, handed to a
/// collector, and checked by Andon rules.
///
/// ```
/// use whyline_core::{Explainable, LinearPath, NoCollector, Result};
/// use whyline_monitor::{Andon, AndonRules, InferenceMonitor};
///
/// // A one-feature linear model: y = 2x + 1.
/// struct Doubler;
/// impl Explainable for Doubler {
///     type Path = LinearPath;
///     fn n_features(&self) -> usize { 1 }
///     fn explain_into(&self, row: &[f32], path: &mut LinearPath) -> Result<f32> {
///         path.contributions.clear();
///         path.contributions.push(2.0 * row[0]);
///         path.intercept = 1.0;
///         path.logit = 1.0 + 2.0 * row[0];
///         path.prediction = path.logit;
///         path.probability = None;
///         Ok(path.logit)
///     }
/// }
///
/// let mut monitor = InferenceMonitor::new(Doubler, NoCollector, Andon::new(AndonRules::default())?);
/// let outputs = monitor.predict(&[1.0, 2.0, 3.0])?;
/// assert_eq!(outputs, vec![3.0, 5.0, 7.0]);
/// # Ok::<(), whyline_monitor::MonitorError>(())
/// ```
pub struct InferenceMonitor<M: Explainable, C> {
    model: M,
    collector: C,
    andon: Andon,
    digester: InputDigester,
    clock: WallClock,
    next_sequence: u64,
    trace: DecisionTrace<M::Path>,
    has_trace: bool,
    /// Whether the last trace has its input digest and timestamp (a collector recorded it).
    trace_complete: bool,
    model_recorded: bool,
    /// Whether every decision's input is sealed into the collector (profile `record_inputs`).
    record_inputs: bool,
}

/// What a caller adds to a decision whose input is recorded: whom it concerns and the
/// application's context fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct InputRecording<'a> {
    /// The subject (a vehicle, a customer): its key seals the input; `None` for the log-wide
    /// key.
    pub subject: Option<&'a str>,
    /// Named, typed context fields ([`whyline_core::Context::fields`]).
    pub context: &'a [(String, ContextValue)],
}

impl<M: Explainable, C: TraceCollector<M::Path>> InferenceMonitor<M, C> {
    /// Wraps `model`, recording into `collector` and checking with `andon`. Input digests are
    /// XXH3-64 until [`with_digest`](Self::with_digest) chooses another algorithm or
    /// [`with_digest_key`](Self::with_digest_key) sets a key; the model record names the
    /// algorithm.
    pub fn new(model: M, collector: C, andon: Andon) -> Self {
        Self {
            model,
            collector,
            andon,
            digester: InputDigester::xxh3(),
            clock: WallClock::new(),
            next_sequence: 0,
            trace: DecisionTrace {
                timestamp_ns: 0,
                sequence: 0,
                input_hash: 0,
                output: 0.0,
                latency_ns: 0,
                path: M::Path::default(),
            },
            has_trace: false,
            trace_complete: false,
            model_recorded: false,
            record_inputs: false,
        }
    }

    /// Records every decision's input row, sealed, in a collector that keeps inputs (a ledger
    /// with a key store); a decision whose input cannot be kept fails with
    /// [`MonitorError::InputsNotKept`] after its trace was recorded.
    pub fn with_input_recording(mut self, on: bool) -> Self {
        self.record_inputs = on;
        self
    }

    /// Whether every decision's input is recorded.
    pub fn records_inputs(&self) -> bool {
        self.record_inputs
    }

    /// Digests inputs with the unkeyed `algorithm` (the spec's FNV-1a, say, for a reader that
    /// knows only it). HMAC-SHA256 needs a key: [`with_digest_key`](Self::with_digest_key);
    /// asked for here without one, the digests stay as they were.
    pub fn with_digest(mut self, algorithm: DigestAlgorithm) -> Self {
        if let Some(digester) = InputDigester::unkeyed_with(algorithm) {
            self.digester = digester;
        }
        self
    }

    /// The algorithm of the input digests, as the model record names it.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digester.algorithm()
    }

    /// Digests inputs with HMAC-SHA256 under `key` (design invariant 7), so low-entropy inputs
    /// cannot be brute-forced back from the log.
    pub fn with_digest_key(mut self, key: &[u8]) -> Self {
        self.digester = InputDigester::keyed(key);
        self
    }

    /// Starts the trace the monitor reuses for every decision from `path`, so that a path
    /// no larger than it (as deep, as many contributions) never allocates, not even on the
    /// first decision: for frame loops that must not allocate (a game's, a drone's), with a
    /// ring built from the same template.
    pub fn with_path_template(mut self, path: M::Path) -> Self {
        self.trace.path = path;
        self
    }

    /// Reads time from `clock`, whose present is `start_ns` (Unix nanoseconds), instead of
    /// the machine's: for simulations, whose records must not depend on when or how fast the
    /// host ran them. With a mock clock (`quanta::Clock::mock()`, re-exported as
    /// [`crate::quanta`]) timestamps are `start_ns` plus how far the simulation moved the
    /// mock, a decision's latency is how far it moved during the call (0 when it does not),
    /// and the model record is stamped `start_ns`, so a simulation run twice records
    /// byte-identical entries (the drone example's test). Set it before the model record is
    /// written (`whyline::Recorder::monitor_with_clock` does).
    pub fn with_clock(mut self, clock: quanta::Clock, start_ns: u64) -> Self {
        self.clock = WallClock::simulated(clock, start_ns);
        self
    }

    /// Reads ticks from `clock` and wall time (Unix nanoseconds) from `wall` instead of the
    /// machine's: for a host with its own time source (a GPS-disciplined clock on a vehicle)
    /// and for tests of clock steps. Timestamps are re-anchored to `wall` every second,
    /// never decrease, and a step of more than 100 ms is raised as a
    /// [`ClockStep`](crate::AlertKind::ClockStep) alert with the next recorded decision.
    pub fn with_wall_clock(mut self, clock: quanta::Clock, wall: fn() -> u64) -> Self {
        self.clock = WallClock::with_wall(clock, wall);
        self
    }

    /// Starts numbering decisions at `sequence` (to continue an existing log).
    pub fn with_first_sequence(mut self, sequence: u64) -> Self {
        self.next_sequence = sequence;
        self
    }

    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model's identity, when it knows it.
    pub fn identity(&self) -> Option<&ModelIdentity> {
        self.model.identity()
    }

    /// The collector.
    pub fn collector(&self) -> &C {
        &self.collector
    }

    /// Unwraps the monitor into its model, collector and Andon (to close a ledger, say).
    pub fn into_parts(self) -> (M, C, Andon) {
        (self.model, self.collector, self.andon)
    }

    /// The Andon rules and their counters.
    pub fn andon(&self) -> &Andon {
        &self.andon
    }

    /// The Andon, to add sinks or handlers.
    pub fn andon_mut(&mut self) -> &mut Andon {
        &mut self.andon
    }

    /// The trace of the last decision that built one. Without a collector the monitor
    /// computes no input digest and reads no clock for it, so its `input_hash` and
    /// `timestamp_ns` are 0 (and `latency_ns` too, unless a latency rule needs it).
    pub fn last_trace(&self) -> Option<&DecisionTrace<M::Path>> {
        self.has_trace.then_some(&self.trace)
    }

    /// The sequence number the next decision gets.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Records the model's identity and names in the collector, once per monitor: the first
    /// recorded decision does it if the caller has not. Call it up front to put the model
    /// record before any decision in the log. Returns what became of the record: `None` when
    /// the collector keeps no model records or the model has no identity, or when the record
    /// was already written.
    pub fn record_model(&mut self) -> Result<Option<RecordOutcome>> {
        self.record_model_before(self.next_sequence)
    }

    /// [`record_model`](Self::record_model) ahead of decision `sequence`, which a failure
    /// names (the decision being concluded, whose number `next_sequence` has moved past).
    fn record_model_before(&mut self, sequence: u64) -> Result<Option<RecordOutcome>> {
        if self.model_recorded {
            return Ok(None);
        }
        let recorded_ns = self.clock.at(self.clock.ticks());
        let outcome = match self.model.model_record(recorded_ns) {
            Some(mut record) => {
                record.input_digest = self.digester.algorithm();
                self.collector
                    .record_model(&record)
                    .map_err(|source| MonitorError::Collector { sequence, source })?
            }
            None => None,
        };
        self.model_recorded = true;
        Ok(outcome)
    }

    /// Flushes the collector.
    pub fn flush(&self) -> Result<()> {
        self.collector
            .flush()
            .map_err(|source| MonitorError::Collector {
                sequence: self.next_sequence.saturating_sub(1),
                source,
            })
    }

    /// Predicts one row: traces, records and checks it.
    ///
    /// Andon checks the decision, then the trace is recorded together with the alerts it
    /// raised (one commit), then a red alert may stop the line: a decision that stops the
    /// line is in the log. With a disabled collector and Andon off, the model's path-free
    /// [`predict_one`](Explainable::predict_one) runs and nothing else.
    pub fn predict_one(&mut self, row: &[f32]) -> Result<Decision> {
        self.decide(row, 0, None, None)
    }

    /// Predicts one row like [`predict_one`](Self::predict_one) and records its input row
    /// and `recording`'s context, sealed under the subject's key, right after its trace
    /// (see `whyline_ledger::seal`). [`MonitorError::InputsNotKept`] when the collector keeps
    /// no inputs.
    pub fn predict_one_recorded(
        &mut self,
        row: &[f32],
        recording: &InputRecording<'_>,
    ) -> Result<Decision> {
        self.decide(row, 0, None, Some(recording))
    }

    /// [`predict_one_recorded`](Self::predict_one_recorded) as if at `timestamp_ns` (see
    /// [`predict_one_at`](Self::predict_one_at)).
    pub fn predict_one_recorded_at(
        &mut self,
        row: &[f32],
        recording: &InputRecording<'_>,
        timestamp_ns: u64,
    ) -> Result<Decision> {
        self.decide(row, 0, Some(timestamp_ns), Some(recording))
    }

    /// Predicts one row as if at `timestamp_ns` (Unix epoch nanoseconds): for replaying
    /// recorded sensor logs and simulations, whose decisions carry the time they were made
    /// in the recording rather than the time of the replay.
    pub fn predict_one_at(&mut self, row: &[f32], timestamp_ns: u64) -> Result<Decision> {
        self.decide(row, 0, Some(timestamp_ns), None)
    }

    /// Predicts every row of a row-major batch; see [`predict_one`](Self::predict_one).
    pub fn predict(&mut self, batch: &[f32]) -> Result<Vec<f32>> {
        let n_features = self.model.n_features();
        let rows = check_batch(batch, n_features)
            .map_err(|source| MonitorError::Model { row: 0, source })?;
        let mut outputs = Vec::with_capacity(rows);
        for (index, row) in batch.chunks_exact(n_features.max(1)).enumerate() {
            outputs.push(self.decide(row, index, None, None)?.output);
        }
        Ok(outputs)
    }

    fn decide(
        &mut self,
        row: &[f32],
        row_index: usize,
        at: Option<u64>,
        recording: Option<&InputRecording<'_>>,
    ) -> Result<Decision> {
        let sequence = self.next_sequence;
        let record = self.collector.enabled();
        if !record {
            let decision = self.decide_unrecorded(row, row_index, at)?;
            if recording.is_some() || self.record_inputs {
                return Err(MonitorError::InputsNotKept { sequence });
            }
            return Ok(decision);
        }

        let start = self.clock.ticks();
        let output = self
            .model
            .explain_into(row, &mut self.trace.path)
            .map_err(|source| MonitorError::Model {
                row: row_index,
                source,
            })?;
        let latency_ns = self.clock.elapsed_ns(start);
        self.next_sequence += 1;
        let timestamp_ns = at.unwrap_or_else(|| self.clock.at(start));
        self.trace.timestamp_ns = timestamp_ns;
        self.trace.sequence = sequence;
        self.trace.input_hash = self.digester.digest(row);
        self.trace.output = output;
        self.trace.latency_ns = latency_ns;
        self.has_trace = true;
        self.trace_complete = true;
        self.conclude(row, recording)
    }

    /// The rest of a recorded decision whose trace is built (in `self.trace`): the model
    /// record first, Andon, recording (with the input and the alerts), a red stop.
    pub(crate) fn conclude(
        &mut self,
        row: &[f32],
        recording: Option<&InputRecording<'_>>,
    ) -> Result<Decision> {
        let sequence = self.trace.sequence;
        let output = self.trace.output;
        let latency_ns = self.trace.latency_ns;
        let timestamp_ns = self.trace.timestamp_ns;
        if !self.model_recorded {
            self.record_model_before(sequence)?;
        }
        let with_input = recording.is_some() || self.record_inputs;
        if !self.andon.is_enabled() {
            let recorded = if with_input {
                self.record_with_input(row, recording)?
            } else {
                self.collector
                    .record_exclusive(&self.trace)
                    .map_err(|source| MonitorError::Collector { sequence, source })?
            };
            return Ok(Decision {
                output,
                sequence,
                confidence: Some(self.trace.path.confidence()),
                recorded: Some(recorded),
                alert: None,
                latency_ns,
            });
        }

        let confidence = self.trace.path.confidence();
        let mut alert = self.andon.check(&DecisionFacts {
            sequence,
            timestamp_ns,
            row,
            output,
            confidence,
            latency_ns,
        });
        if let Some(step) = self.clock.take_step() {
            let kind = AlertKind::ClockStep {
                step_ns: step.step_ns,
                wall_ns: step.wall_ns,
                last_timestamp_ns: step.last_ns,
            };
            let raised = self
                .andon
                .raise_also(sequence, timestamp_ns, AlertLevel::Yellow, kind);
            if alert.is_none() {
                alert = raised;
            }
        }
        let level = alert.as_ref().map(|a| a.level);
        let keep_alerts = alert.is_some() && self.collector.keeps_alerts();
        let recorded = if with_input {
            // The trace and its sealed input share one commit; the alerts follow it.
            let recorded = self.record_with_input(row, recording)?;
            if keep_alerts {
                for raised in self.andon.last_raised() {
                    self.collector
                        .record_alert(&raised.to_record())
                        .map_err(|source| MonitorError::Collector { sequence, source })?;
                }
            }
            recorded
        } else if keep_alerts {
            // The decision and the alerts it raised go in together: one commit (one fsync
            // under `sync`) instead of one per alert.
            let alerts: Vec<AlertRecord> = self
                .andon
                .last_raised()
                .iter()
                .map(crate::Alert::to_record)
                .collect();
            self.collector
                .record_with_alerts(&self.trace, &alerts)
                .map_err(|source| MonitorError::Collector { sequence, source })?
        } else {
            self.collector
                .record_exclusive(&self.trace)
                .map_err(|source| MonitorError::Collector { sequence, source })?
        };
        self.stop_on_red(alert)?;
        Ok(Decision {
            output,
            sequence,
            confidence: Some(confidence),
            recorded: Some(recorded),
            alert: level,
            latency_ns,
        })
    }

    /// Records the trace and its input, sealed, in one go (a ledger writes both into one
    /// entry).
    fn record_with_input(
        &mut self,
        row: &[f32],
        recording: Option<&InputRecording<'_>>,
    ) -> Result<RecordOutcome> {
        let sequence = self.trace.sequence;
        let recording = recording.copied().unwrap_or_default();
        let (recorded, kept) = self
            .collector
            .record_with_input(
                &self.trace,
                &InputEvidence {
                    decision_index: 0,
                    trace_hash: [0; 32],
                    timestamp_ns: self.trace.timestamp_ns,
                    subject: recording.subject,
                    values: row,
                    context: recording.context,
                },
            )
            .map_err(|source| MonitorError::Collector { sequence, source })?;
        match kept {
            Some(_) => Ok(recorded),
            None => Err(MonitorError::InputsNotKept { sequence }),
        }
    }

    /// A decision with no collector: no input digest, and no clock read unless a latency
    /// rule needs the model timed or an alert needs a time. With Andon off as well, the
    /// model's path-free [`predict_one`](Explainable::predict_one) runs and nothing else.
    fn decide_unrecorded(
        &mut self,
        row: &[f32],
        row_index: usize,
        at: Option<u64>,
    ) -> Result<Decision> {
        let sequence = self.next_sequence;
        let model_error = |source| MonitorError::Model {
            row: row_index,
            source,
        };
        if !self.andon.is_enabled() {
            let output = self.model.predict_one(row).map_err(model_error)?;
            self.next_sequence += 1;
            return Ok(Decision {
                output,
                sequence,
                confidence: None,
                recorded: None,
                alert: None,
                latency_ns: 0,
            });
        }

        let timed = self.andon.needs_latency();
        let start = if timed { self.clock.ticks() } else { 0 };
        let output = self
            .model
            .explain_into(row, &mut self.trace.path)
            .map_err(model_error)?;
        let latency_ns = if timed {
            self.clock.elapsed_ns(start)
        } else {
            0
        };
        self.next_sequence += 1;
        self.trace.timestamp_ns = at.unwrap_or(0);
        self.trace.sequence = sequence;
        self.trace.input_hash = 0;
        self.trace.output = output;
        self.trace.latency_ns = latency_ns;
        self.has_trace = true;
        self.trace_complete = false;

        let confidence = self.trace.path.confidence();
        let clock = &mut self.clock;
        let alert = self.andon.check_stamped(
            &DecisionFacts {
                sequence,
                timestamp_ns: 0,
                row,
                output,
                confidence,
                latency_ns,
            },
            || match at {
                Some(at) => at,
                None if timed => clock.at(start),
                None => clock.at(clock.ticks()),
            },
        );
        if let Some(alert) = &alert {
            // The trace carries the time its alerts carry.
            self.trace.timestamp_ns = alert.timestamp_ns;
        }
        let level = alert.as_ref().map(|a| a.level);
        self.stop_on_red(alert)?;
        Ok(Decision {
            output,
            sequence,
            confidence: Some(confidence),
            recorded: None,
            alert: level,
            latency_ns,
        })
    }

    /// Stops the line on a red alert when the rules say so.
    fn stop_on_red(&self, alert: Option<crate::Alert>) -> Result<()> {
        match alert.filter(|a| a.level == AlertLevel::Red && self.andon.rules().halt_on_red) {
            Some(alert) => Err(MonitorError::LineStopped {
                alert: Box::new(alert),
            }),
            None => Ok(()),
        }
    }

    /// Predicts one row like [`predict_one`](Self::predict_one) and returns the audit record
    /// of the request as well: request id, client digest, model identity, input digest,
    /// prediction, confidence, time per stage, quality checks and warnings.
    ///
    /// A decision that stops the line still returns its error; its trace is in the log.
    pub fn predict_audited(
        &mut self,
        row: &[f32],
        request_id: &str,
        client_id: Option<&[u8]>,
    ) -> Result<(Decision, AuditRecord)> {
        let start = self.clock.ticks();
        let client_id_hash = client_id.map(|id| self.digester.digest_bytes(id));
        let preprocessing_ns = self.clock.elapsed_ns(start);
        let decision = self.decide(row, 0, None, None)?;
        let total_ns = self.clock.elapsed_ns(start);
        let (input_hash, timestamp_ns) = match self.last_trace() {
            Some(trace) if trace.sequence == decision.sequence && self.trace_complete => {
                (trace.input_hash, trace.timestamp_ns)
            }
            _ => (self.digester.digest(row), self.clock.at(self.clock.ticks())),
        };
        let output_finite = decision.output.is_finite();
        let yellow = self.andon.rules().yellow_confidence;
        let confidence_ok = match (decision.confidence, yellow) {
            (Some(confidence), Some(threshold)) => confidence >= threshold,
            _ => true,
        };
        let mut warnings = Vec::new();
        if !output_finite {
            warnings.push(format!("output {} is not finite", decision.output));
        }
        if let (false, Some(confidence), Some(threshold)) =
            (confidence_ok, decision.confidence, yellow)
        {
            warnings.push(format!("confidence {confidence:.3} below {threshold}"));
        }
        if let Some(level) = decision.alert {
            warnings.push(format!("{level} alert raised"));
        }
        let record = AuditRecord {
            request_id: request_id.to_owned(),
            sequence: decision.sequence,
            timestamp_ns,
            client_id_hash,
            model: self.model.identity().cloned(),
            input_dims: [1, row.len()],
            input_hash,
            prediction: decision.output,
            confidence: decision.confidence,
            latency: LatencyBreakdown {
                preprocessing_ns,
                inference_ns: decision.latency_ns,
                postprocessing_ns: total_ns
                    .saturating_sub(preprocessing_ns)
                    .saturating_sub(decision.latency_ns),
            },
            quality: QualityChecks {
                output_finite,
                confidence_ok,
            },
            warnings,
        };
        Ok((decision, record))
    }

    /// Raises an alert from a detector outside the rules (a drift detector fed by the caller,
    /// say) about the last decision, and writes it into a collector that keeps alerts. `None`
    /// before any decision; a failure to record the alert is logged through `tracing`, since
    /// the alert itself was raised and delivered.
    pub fn raise(&mut self, level: AlertLevel, kind: AlertKind) -> Option<crate::Alert> {
        if !self.has_trace {
            return None;
        }
        if self.trace.timestamp_ns == 0 {
            // A decision without a collector read no clock: the alert is stamped now.
            self.trace.timestamp_ns = self.clock.at(self.clock.ticks());
        }
        let facts = DecisionFacts {
            sequence: self.trace.sequence,
            timestamp_ns: self.trace.timestamp_ns,
            row: &[],
            output: self.trace.output,
            confidence: self.trace.path.confidence(),
            latency_ns: self.trace.latency_ns,
        };
        let alert = self.andon.raise_external(&facts, level, kind);
        if self.collector.enabled()
            && self.collector.keeps_alerts()
            && let Err(error) = self.record_alerts(alert.sequence)
        {
            tracing::error!(%error, "the raised alert could not be recorded");
        }
        Some(alert)
    }

    /// Writes every alert the last check raised into the collector, after the decision's
    /// trace, so the log shows what the monitor saw.
    fn record_alerts(&self, sequence: u64) -> Result<()> {
        for alert in self.andon.last_raised() {
            self.collector
                .record_alert(&alert.to_record())
                .map_err(|source| MonitorError::Collector { sequence, source })?;
        }
        Ok(())
    }
}
