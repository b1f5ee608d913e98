//! Replay: every recorded decision whose input is readable, made again from its sealed input
//! and a model file.
//!
//! A decision is replayed with the model in force when it was made (the last model record
//! before it), matched among the models given by SHA-256:
//!
//! - **the same model** (its SHA-256 is the record's): the re-made trace must be
//!   byte-identical to the stored APRT record. The trace is built the way the monitor builds
//!   it ([`Explainable::explain_into`] into a path, then [`encode_aprt`]), taking from the
//!   stored record only what the model does not compute: time, sequence and latency, and the
//!   input digest when it is keyed (an unkeyed digest is recomputed from the stored input,
//!   so an input that is not what the decision saw shows as a difference);
//! - **another model** (a new version; only when one model is given and none matches): a
//!   diff, the decisions whose output changes and, for each, the features whose attributions
//!   (the path's own per-feature contributions) moved most.
//!
//! Erased inputs are counted, not replayed; so are unreadable ones and decisions recorded
//! without an input. The log is read from its start (a decision's model is the last model
//! record before it); only decisions stamped in the range are replayed, on every core (`std::thread::available_parallelism`).

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use whyline_core::digest::InputDigester;
use whyline_core::{
    AnyPath, AprtHeader, DecisionPath, DecisionTrace, EntryKind, Explainable, ModelRecord,
    encode_aprt,
};
use whyline_ledger::seal::{KeyStore, open_sealed};
use whyline_ledger::{LedgerReader, RecordedInput, SegmentStore, StoredEntry, leaf_hash};
use whyline_models::Model;

use crate::error::{ForensicsError, Result};

/// How many attribution shifts a changed decision reports.
const TOP_SHIFTS: usize = 3;

/// The models a replay may use, and the time range.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// First decision time, Unix epoch nanoseconds (inclusive).
    pub from_ns: u64,
    /// Last decision time (inclusive).
    pub to_ns: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            from_ns: 0,
            to_ns: u64::MAX,
            threads: 0,
        }
    }
}

/// How one replayed decision compares with the record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayDifference {
    /// Entry index of the decision.
    pub index: u64,
    /// The decision's sequence number.
    pub sequence: u64,
    /// The decision's time.
    pub timestamp_ns: u64,
    /// SHA-256 of the model that made it (from the model record in force), when known.
    pub recorded_model: Option<String>,
    /// SHA-256 of the model it was replayed with.
    pub replayed_model: String,
    /// The recorded output.
    pub recorded_output: f32,
    /// The output of the replay.
    pub replayed_output: f32,
    /// First byte at which the re-made APRT record differs from the stored one (same-model
    /// replays).
    pub first_differing_byte: Option<usize>,
    /// The features whose attributions moved most: `(feature, recorded, replayed)`.
    pub attribution_shifts: Vec<ReplayShift>,
}

/// One feature's attribution before and after.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplayShift {
    /// The feature's name (or `feature[i]`).
    pub feature: String,
    /// Its attribution in the recorded decision.
    pub recorded: f32,
    /// Its attribution in the replay.
    pub replayed: f32,
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReplayReport {
    /// Decisions in the range.
    pub decisions: u64,
    /// Decisions made again (their input was readable).
    pub replayed: u64,
    /// Same-model replays whose trace is byte-identical.
    pub identical: u64,
    /// Same-model replays whose trace differs: the log and the model disagree.
    pub different: u64,
    /// Replays with another model whose output stayed the same.
    pub unchanged: u64,
    /// Replays with another model whose output changed.
    pub changed: u64,
    /// Decisions whose input was erased.
    pub erased: u64,
    /// Decisions whose input could not be opened (no key, failed authentication).
    pub unreadable: u64,
    /// Decisions recorded without an input.
    pub without_input: u64,
    /// Every difference (same model) and every change (another model), in log order.
    pub differences: Vec<ReplayDifference>,
    /// Why the first unreadable input could not be read.
    pub first_unreadable: Option<String>,
    /// Byte offset of a damaged or torn frame that ended the read (`whyline verify` tells
    /// more); decisions after it were not replayed.
    pub stopped_at: Option<u64>,
}

impl ReplayReport {
    /// Whether every replay reproduced the record and no output changed.
    pub fn is_clean(&self) -> bool {
        self.different == 0 && self.changed == 0
    }
}

/// One decision to replay: its stored record, its input, and which model and mode.
struct Job<'a> {
    index: u64,
    payload: &'a [u8],
    sealed: &'a [u8],
    model: usize,
    same_model: bool,
    recorded_model: Option<&'a str>,
    digester: Option<InputDigester>,
}

/// Replays the decisions of the ledger in `dir` stamped in the options' range, with the
/// inputs opened by `keys` and the given `models`. See the module docs.
pub fn replay(
    dir: &Path,
    keys: &KeyStore,
    models: &[Model],
    options: ReplayOptions,
) -> Result<ReplayReport> {
    let store = SegmentStore::open_existing(dir)?;
    let read = LedgerReader::new(&store)?.all_entries()?;
    let mut report = replay_entries(&read.entries, keys, models, options)?;
    report.stopped_at = read.stopped.map(|stop| stop.offset);
    Ok(report)
}

/// [`replay`] over entries already read: the log from its first entry, in order (model
/// records say which model made the decisions after them); decisions outside the options'
/// time range are skipped.
pub fn replay_entries(
    entries: &[StoredEntry],
    keys: &KeyStore,
    models: &[Model],
    options: ReplayOptions,
) -> Result<ReplayReport> {
    let shas: Vec<Option<&str>> = models
        .iter()
        .map(|m| m.identity().map(|id| id.sha256.as_str()))
        .collect();
    // Inputs by the decision they belong to, checked against its leaf hash below.
    let mut inputs: HashMap<u64, &StoredEntry> = HashMap::new();
    for entry in entries {
        if EntryKind::of(&entry.payload) == EntryKind::SealedInput
            && let Some(index) = entry
                .payload
                .get(16..24)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
        {
            inputs.insert(u64::from_le_bytes(index), entry);
        }
    }
    // The model records in force, in log order: the one before the window, then each one
    // met in it (an unreadable one means "unknown model" until the next).
    let mut records: Vec<Option<ModelRecord>> = vec![None];
    for entry in entries {
        if EntryKind::of(&entry.payload) == EntryKind::Model {
            records.push(ModelRecord::from_bytes(&entry.payload).ok());
        }
    }

    let mut report = ReplayReport::default();
    let mut jobs = Vec::new();
    let mut current = 0usize;
    for entry in entries {
        match EntryKind::of(&entry.payload) {
            EntryKind::Model => {
                current += 1;
                continue;
            }
            EntryKind::Decision => {}
            _ => continue,
        }
        let stamped = whyline_ledger::payload_timestamp(&entry.payload).unwrap_or(0);
        if stamped < options.from_ns || stamped > options.to_ns {
            continue;
        }
        report.decisions += 1;
        let record = records.get(current).and_then(Option::as_ref);
        let recorded_sha = record.map(|r| r.identity.sha256.as_str());
        let (model, same_model) =
            match recorded_sha.and_then(|sha| shas.iter().position(|s| *s == Some(sha))) {
                Some(model) => (model, true),
                None if models.len() == 1 => (0, false),
                None => {
                    return Err(ForensicsError::NoModelFor {
                        index: entry.index,
                        sha256: recorded_sha.unwrap_or("(no model record)").to_owned(),
                    });
                }
            };
        let Some(sealed) = inputs.get(&entry.index) else {
            report.without_input += 1;
            continue;
        };
        let digester = record
            .map(|r| r.input_digest)
            .and_then(InputDigester::unkeyed_with);
        jobs.push(Job {
            index: entry.index,
            payload: &entry.payload,
            sealed: &sealed.payload,
            model,
            same_model,
            recorded_model: recorded_sha,
            digester,
        });
    }

    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let chunk = jobs.len().div_ceil(threads.max(1)).max(1);
    let outcomes: Vec<Result<Vec<Outcome>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|jobs| scope.spawn(|| run_jobs(jobs, keys, models)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ForensicsError::ReplayWorkerPanicked))
            })
            .collect()
    });
    for outcome in outcomes {
        for outcome in outcome? {
            report.replayed += 1;
            match outcome {
                Outcome::Erased => {
                    report.replayed -= 1;
                    report.erased += 1;
                }
                Outcome::Unreadable(why) => {
                    report.replayed -= 1;
                    report.unreadable += 1;
                    report.first_unreadable.get_or_insert(why);
                }
                Outcome::Identical => report.identical += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::Different(difference) => {
                    report.different += 1;
                    report.differences.push(*difference);
                }
                Outcome::Changed(difference) => {
                    report.changed += 1;
                    report.differences.push(*difference);
                }
            }
        }
    }
    Ok(report)
}

enum Outcome {
    Erased,
    Unreadable(String),
    Identical,
    Different(Box<ReplayDifference>),
    Unchanged,
    Changed(Box<ReplayDifference>),
}

fn run_jobs(jobs: &[Job<'_>], keys: &KeyStore, models: &[Model]) -> Result<Vec<Outcome>> {
    let mut out = Vec::with_capacity(jobs.len());
    let mut trace = DecisionTrace {
        timestamp_ns: 0,
        sequence: 0,
        input_hash: 0,
        output: 0.0,
        latency_ns: 0,
        path: AnyPath::default(),
    };
    let mut buffer = Vec::with_capacity(512);
    let mut input: Vec<f32> = Vec::with_capacity(64);
    for job in jobs {
        // Open the input here, on the worker: the AEAD is most of the cost.
        match open_sealed(keys, job.sealed) {
            Some((_, RecordedInput::Sealed { values, .. })) => {
                let linked = whyline_core::SealedInput::split(job.sealed)
                    .map(|(h, _)| h.trace_hash)
                    .ok();
                if linked != Some(leaf_hash(job.payload)) {
                    out.push(Outcome::Unreadable(format!(
                        "entry {}: the sealed input names another trace hash",
                        job.index
                    )));
                    continue;
                }
                input.clear();
                input.extend(values.iter().map(|&v| v as f32));
            }
            Some((_, RecordedInput::Erased)) => {
                out.push(Outcome::Erased);
                continue;
            }
            Some((_, RecordedInput::Unreadable(why))) => {
                out.push(Outcome::Unreadable(format!("entry {}: {why}", job.index)));
                continue;
            }
            None => {
                out.push(Outcome::Unreadable(format!(
                    "entry {}: not a sealed input",
                    job.index
                )));
                continue;
            }
        }
        let bad = |source| ForensicsError::BadEntry {
            index: job.index,
            source,
        };
        let header = AprtHeader::read(job.payload, 0).map_err(bad)?;
        let Some(model) = models.get(job.model) else {
            continue;
        };
        let output = model
            .explain_into(&input, &mut trace.path)
            .map_err(|source| ForensicsError::ReplayModel {
                index: job.index,
                source,
            })?;
        trace.timestamp_ns = header.timestamp_ns;
        trace.sequence = header.sequence;
        trace.input_hash = match &job.digester {
            Some(digester) => digester.digest(&input),
            None => header.input_hash,
        };
        trace.output = output;
        trace.latency_ns = u64::from(header.latency_us) * 1_000;
        buffer.clear();
        encode_aprt(&trace, &mut buffer);
        let recorded_output = f32::from_bits(header.output);
        if job.same_model {
            if buffer.as_slice() == job.payload {
                out.push(Outcome::Identical);
                continue;
            }
            let first = buffer
                .iter()
                .zip(job.payload)
                .position(|(a, b)| a != b)
                .unwrap_or(buffer.len().min(job.payload.len()));
            out.push(Outcome::Different(Box::new(difference(
                job,
                &header,
                model,
                &trace,
                recorded_output,
                Some(first),
            )?)));
        } else if output.to_bits() == recorded_output.to_bits() {
            out.push(Outcome::Unchanged);
        } else {
            out.push(Outcome::Changed(Box::new(difference(
                job,
                &header,
                model,
                &trace,
                recorded_output,
                None,
            )?)));
        }
    }
    Ok(out)
}

fn difference(
    job: &Job<'_>,
    header: &AprtHeader,
    model: &Model,
    replayed: &DecisionTrace<AnyPath>,
    recorded_output: f32,
    first_differing_byte: Option<usize>,
) -> Result<ReplayDifference> {
    let recorded: DecisionTrace<AnyPath> =
        whyline_core::from_aprt(job.payload).map_err(|source| ForensicsError::BadEntry {
            index: job.index,
            source,
        })?;
    let names = &model.info().names;
    let before = recorded.path.feature_contributions();
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
        recorded_model: job.recorded_model.map(str::to_owned),
        replayed_model: model
            .identity()
            .map_or_else(String::new, |id| id.sha256.clone()),
        recorded_output,
        replayed_output: replayed.output,
        first_differing_byte,
        attribution_shifts: shifts,
    })
}
