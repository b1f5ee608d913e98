//! One replay thread: opens, explains, encodes and compares, with buffers kept across chunks.

use std::ops::Range;

use whyline_core::digest::InputDigester;
use whyline_core::{
    APRT_HEADER_LEN, AnyPath, AprtHeader, DecisionPath, DecisionTrace, Explainable, ModelRecord,
    SealedLayout, encode_aprt,
};
use whyline_ledger::seal::{InputOpener, KeyStore, OpenedRow};
use whyline_ledger::{Hash, leaf_hashes};
use whyline_models::{Model, RecordedPathCheck, RecordedPathScratch};

use super::{ReplayDifference, ReplayReport, ReplayShift};
use crate::error::{ForensicsError, Result};

/// How many attribution shifts a changed decision reports.
const TOP_SHIFTS: usize = 3;

/// Decisions whose leaf hashes are computed together, several messages in flight through
/// the multi-buffer SHA-256 ([`leaf_hashes`]): a run's decisions are replayed in groups of
/// this many.
const HASH_GROUP: usize = 16;

/// One decision of a chunk with its input.
pub(super) struct Job {
    pub(super) index: u64,
    pub(super) payload: Range<usize>,
    pub(super) input: Range<usize>,
    pub(super) model: usize,
    pub(super) same_model: bool,
    pub(super) record: usize,
}

impl Job {
    /// Whether the input is the trailer of the decision's own entry (version 2).
    fn is_trailer(&self) -> bool {
        self.input == self.payload
    }
}

/// What every worker of a chunk reads.
pub(super) struct Shared<'c> {
    pub(super) bytes: &'c [u8],
    pub(super) models: &'c [Model],
    /// Per model, its check of recorded paths without rebuilding them (random forests).
    pub(super) checks: &'c [Option<RecordedPathCheck<'c>>],
    pub(super) records: &'c [Option<ModelRecord>],
    pub(super) digesters: &'c [Option<InputDigester>],
    pub(super) chain_verified: bool,
}

/// A worker's state, reused for every decision it replays.
pub(super) struct Worker<'k> {
    opener: InputOpener<'k>,
    trace: DecisionTrace<AnyPath>,
    buffer: Vec<u8>,
    row: Vec<f32>,
    /// The leaf hashes of the group of decisions being replayed.
    leaves: Vec<Hash>,
    /// The buffers of the recorded-path checks.
    check_scratch: RecordedPathScratch,
}

impl<'k> Worker<'k> {
    pub(super) fn new(keys: &'k KeyStore) -> Self {
        Self {
            opener: InputOpener::new(keys),
            trace: DecisionTrace {
                timestamp_ns: 0,
                sequence: 0,
                input_hash: 0,
                output: 0.0,
                latency_ns: 0,
                path: AnyPath::default(),
            },
            buffer: Vec::with_capacity(8 << 10),
            row: Vec::with_capacity(64),
            leaves: Vec::with_capacity(HASH_GROUP),
            check_scratch: RecordedPathScratch::default(),
        }
    }

    /// Replays `jobs` (a contiguous run of the chunk's decisions) into a partial report.
    pub(super) fn run(&mut self, jobs: &[Job], shared: &Shared<'_>) -> Result<ReplayReport> {
        let mut report = ReplayReport::default();
        for group in jobs.chunks(HASH_GROUP) {
            // Each sealed input of its own entry names the leaf hash of its decision's
            // trace: hash the group's traces at once (unless the chain was verified, which
            // covers them). An input sealed inside its decision's entry needs no such link.
            if shared.chain_verified || group.iter().all(Job::is_trailer) {
                self.leaves.clear();
            } else {
                let mut payloads = [&[][..]; HASH_GROUP];
                for (slot, job) in payloads.iter_mut().zip(group) {
                    *slot = shared.bytes.get(job.payload.clone()).unwrap_or(&[]);
                }
                leaf_hashes(payloads.get(..group.len()).unwrap_or(&[]), &mut self.leaves);
            }
            for (at, job) in group.iter().enumerate() {
                let leaf = self.leaves.get(at).copied();
                self.replay_one(job, leaf, shared, &mut report)?;
            }
        }
        Ok(report)
    }

    /// Replays one decision; `leaf` is its trace's leaf hash, `None` when the chain was
    /// verified.
    fn replay_one(
        &mut self,
        job: &Job,
        leaf: Option<Hash>,
        shared: &Shared<'_>,
        report: &mut ReplayReport,
    ) -> Result<()> {
        let payload = shared.bytes.get(job.payload.clone()).unwrap_or(&[]);
        let sealed = shared.bytes.get(job.input.clone()).unwrap_or(&[]);
        let mut unreadable = |why: String| {
            report.unreadable += 1;
            report.first_unreadable.get_or_insert(why);
        };
        match self.opener.open_row(sealed, &mut self.row) {
            OpenedRow::Row(header) => {
                let names_other_trace = header.layout == SealedLayout::OwnEntry
                    && leaf.is_some_and(|leaf| header.trace_hash != leaf);
                if header.decision_index != job.index || names_other_trace {
                    unreadable(format!(
                        "entry {}: the sealed input names another trace hash",
                        job.index
                    ));
                    return Ok(());
                }
            }
            OpenedRow::Erased => {
                report.erased += 1;
                return Ok(());
            }
            OpenedRow::Unreadable(why) => {
                unreadable(format!("entry {}: {why}", job.index));
                return Ok(());
            }
        }
        report.replayed += 1;
        let bad = |source| ForensicsError::BadEntry {
            index: job.index,
            source,
        };
        let header = AprtHeader::read(payload, 0).map_err(bad)?;
        // The APRT record alone: a decision entry may end with its sealed input.
        let payload = payload.get(..header.record_len()).unwrap_or(payload);
        let Some(model) = shared.models.get(job.model) else {
            return Ok(());
        };
        let input_hash = match shared.digesters.get(job.record).and_then(Option::as_ref) {
            Some(digester) => digester.digest(&self.row),
            None => header.input_hash,
        };
        // The same model: compare the recorded path with the one the model makes without
        // rebuilding it, when it can be checked so; else (and to locate a difference)
        // rebuild it below.
        if job.same_model
            && let Some(check) = shared.checks.get(job.model).and_then(Option::as_ref)
            && let Some(path) = payload.get(APRT_HEADER_LEN..)
            && let Some(output) = check.matches(&self.row, path, &mut self.check_scratch)
        {
            let expected = AprtHeader {
                input_hash,
                output: output.to_bits(),
                ..header
            };
            if payload.get(..APRT_HEADER_LEN) == Some(&expected.to_bytes()[..]) {
                report.identical += 1;
                return Ok(());
            }
        }
        let trace = &mut self.trace;
        let output = model
            .explain_into(&self.row, &mut trace.path)
            .map_err(|source| ForensicsError::ReplayModel {
                index: job.index,
                source,
            })?;
        trace.timestamp_ns = header.timestamp_ns;
        trace.sequence = header.sequence;
        trace.input_hash = input_hash;
        trace.output = output;
        trace.latency_ns = u64::from(header.latency_us) * 1_000;
        self.buffer.clear();
        encode_aprt(trace, &mut self.buffer);
        let recorded_output = f32::from_bits(header.output);
        let recorded_model = || {
            shared
                .records
                .get(job.record)
                .and_then(Option::as_ref)
                .map(|r| r.identity.sha256.clone())
        };
        if job.same_model {
            if self.buffer.as_slice() == payload {
                report.identical += 1;
                return Ok(());
            }
            let first = self
                .buffer
                .iter()
                .zip(payload)
                .position(|(a, b)| a != b)
                .unwrap_or(self.buffer.len().min(payload.len()));
            report.different += 1;
            report.differences.push(difference(
                job,
                payload,
                &header,
                model,
                trace,
                recorded_model(),
                Some(first),
            )?);
        } else if output.to_bits() == recorded_output.to_bits() {
            report.unchanged += 1;
        } else {
            report.changed += 1;
            report.differences.push(difference(
                job,
                payload,
                &header,
                model,
                trace,
                recorded_model(),
                None,
            )?);
        }
        Ok(())
    }
}

fn difference(
    job: &Job,
    payload: &[u8],
    header: &AprtHeader,
    model: &Model,
    replayed: &DecisionTrace<AnyPath>,
    recorded_model: Option<String>,
    first_differing_byte: Option<usize>,
) -> Result<ReplayDifference> {
    // A recorded trace changed so that it no longer decodes (a count field, say) is still
    // a difference, located by its first byte; it has no attributions to compare.
    let recorded: Option<DecisionTrace<AnyPath>> = whyline_core::from_aprt(payload).ok();
    let names = &model.info().names;
    let before = recorded
        .as_ref()
        .map_or(&[][..], |recorded| recorded.path.feature_contributions());
    let after = replayed.path.feature_contributions();
    let mut shifts: Vec<ReplayShift> = (0..before.len().max(after.len()))
        .map(|i| ReplayShift {
            feature: names.feature(i),
            recorded: before.get(i).copied().unwrap_or(0.0),
            replayed: after.get(i).copied().unwrap_or(0.0),
        })
        .collect();
    shifts.sort_by(|a, b| {
        (b.replayed - b.recorded)
            .abs()
            .total_cmp(&(a.replayed - a.recorded).abs())
    });
    shifts.truncate(TOP_SHIFTS);
    Ok(ReplayDifference {
        index: job.index,
        sequence: header.sequence,
        timestamp_ns: header.timestamp_ns,
        recorded_model,
        replayed_model: model
            .identity()
            .map_or_else(String::new, |id| id.sha256.clone()),
        recorded_output: f32::from_bits(header.output),
        replayed_output: replayed.output,
        first_differing_byte,
        attribution_shifts: shifts,
    })
}
