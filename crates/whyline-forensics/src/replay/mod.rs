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
//! record before it); only decisions stamped in the range are replayed.
//!
//! # Streaming and cost
//!
//! [`replay`] streams the log ([`LedgerReader::for_each_entry`]): decisions and their inputs
//! are copied into a chunk of about [`CHUNK_BYTES`], and each full chunk goes whole to one of
//! a pool of worker threads (one per core, `std::thread::available_parallelism`, unless
//! [`ReplayOptions::threads`] says otherwise) while the reading thread fills the next, so
//! reading, checking and copying the log overlap the replay. Reports are merged in chunk
//! order, so a report does not depend on the thread count. Memory is bounded by a few
//! chunks (the queue holds one per worker), whatever the log's size; with one thread the
//! chunks are replayed in the reading thread. A sealed input follows
//! its decision (the recorder appends both in one commit); a decision whose input has not
//! come by the end of its chunk waits, with the decisions after it, into the next chunk (so
//! the report keeps log order), after which it counts as recorded without an input: an input
//! appended more than a chunk after its decision is not paired.
//!
//! Per decision a worker opens the input into a reused row (the cipher of a recording run is
//! derived once, [`InputOpener`](whyline_ledger::seal::InputOpener)), explains into a reused
//! path, encodes into a reused buffer and compares it with the stored bytes: no allocation
//! once the buffers have grown. For a random forest or a gradient-boosted ensemble
//! replayed with its own model it first tries the model's
//! [`RecordedPathCheck`](whyline_models::RecordedPathCheck): the leaf each tree's recorded
//! path names, its path encoded once per replay compared with the recorded bytes and its
//! tests with the row, the ensemble's head and tail made by `explain_into`'s own code (the
//! demo's forest: ~0.5 µs instead of 2.1 µs). Only a decision it does not show identical (a
//! difference, or a split that found its value missing) is rebuilt, which locates the first
//! differing byte.
//! It also checks that an input recorded as an entry of its own was sealed for this very
//! record: its `trace_hash` must be the record's leaf hash (computed for sixteen decisions
//! at a time by a multi-buffer SHA-256). That is a SHA-256 over the whole trace (6 KB for
//! the demo's forest), the same hash `whyline verify` computes for the chain; with
//! [`ReplayOptions::chain_verified`] (the log was verified and nothing was appended since) it
//! is skipped, and the link rests on the verified chain and the input's authenticated
//! decision index. So are the frames' body CRCs, which verification checked too
//! ([`LedgerReader::for_each_entry_of_verified_log`](whyline_ledger::LedgerReader::for_each_entry_of_verified_log)):
//! a trace changed since is then a difference rather than a damaged frame that stops the
//! replay.

mod batch;
mod pool;
mod worker;

use std::path::Path;

use serde::Serialize;
use whyline_ledger::seal::KeyStore;
use whyline_ledger::{LedgerReader, SegmentStore, StoredEntry};
use whyline_models::Model;

use crate::error::Result;
use batch::{Execution, Replayer};
use pool::Pool;

/// Bytes of decisions and inputs replayed together: the bound on a replay's memory. 1 MiB,
/// the size of a core's L2 cache here, so that a worker reads a chunk soon after the
/// reading thread wrote it: `whyline replay` on 100,000 demo decisions took 0.16 s with
/// 8 MiB chunks and 0.11–0.13 s with 1 MiB or 512 KiB ones (12-07, Zen 5, quiet), its
/// peak memory 64 → 20 MB.
pub const CHUNK_BYTES: usize = 1 << 20;

/// The models a replay may use, and the time range.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// First decision time, Unix epoch nanoseconds (inclusive).
    pub from_ns: u64,
    /// Last decision time (inclusive).
    pub to_ns: u64,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// The log was verified (`whyline verify`) and nothing was appended since: skip
    /// re-hashing each decision to check that its input names it, and the frames' body CRCs
    /// (see the module docs).
    pub chain_verified: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            from_ns: 0,
            to_ns: u64::MAX,
            threads: 0,
            chain_verified: false,
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

impl ReplayReport {
    /// Adds the counts and differences of `part`, the report of the decisions that follow.
    fn absorb(&mut self, part: ReplayReport) {
        self.decisions += part.decisions;
        self.replayed += part.replayed;
        self.identical += part.identical;
        self.different += part.different;
        self.unchanged += part.unchanged;
        self.changed += part.changed;
        self.erased += part.erased;
        self.unreadable += part.unreadable;
        self.without_input += part.without_input;
        self.differences.extend(part.differences);
        if self.first_unreadable.is_none() {
            self.first_unreadable = part.first_unreadable;
        }
    }
}

/// Replays the decisions of the ledger in `dir` stamped in the options' range, with the
/// inputs opened by `keys` and the given `models`, streaming the log. See the module docs.
pub fn replay(
    dir: &Path,
    keys: &KeyStore,
    models: &[Model],
    options: ReplayOptions,
) -> Result<ReplayReport> {
    replay_with_chunk(dir, keys, models, options, CHUNK_BYTES)
}

/// [`replay`] with chunks of `chunk_bytes` (tests: a log larger than its chunk).
pub fn replay_with_chunk(
    dir: &Path,
    keys: &KeyStore,
    models: &[Model],
    options: ReplayOptions,
    chunk_bytes: usize,
) -> Result<ReplayReport> {
    let store = SegmentStore::open_read_only(dir)?;
    let reader = LedgerReader::new(&store)?;
    with_replayer(keys, models, options, chunk_bytes, |replayer| {
        let push = |entry: whyline_ledger::EntryRef<'_>| replayer.push(entry.index, entry.payload);
        let stopped = if options.chain_verified {
            reader.for_each_entry_of_verified_log(push)?
        } else {
            reader.for_each_entry(push)?
        };
        Ok(stopped.map(|stop| stop.offset))
    })
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
    with_replayer(keys, models, options, CHUNK_BYTES, |replayer| {
        for entry in entries {
            replayer.push(entry.index, &entry.payload)?;
        }
        Ok(None)
    })
}

/// Runs `feed` (which pushes the log's entries, in order, and says where reading stopped)
/// into a replayer: on this thread for one thread, else on a pool of worker threads that
/// replay each chunk while `feed` reads the next. The workers are stopped and joined
/// whatever `feed` returns.
fn with_replayer(
    keys: &KeyStore,
    models: &[Model],
    options: ReplayOptions,
    chunk_bytes: usize,
    feed: impl FnOnce(&mut Replayer<'_, '_>) -> Result<Option<u64>>,
) -> Result<ReplayReport> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let checks: Vec<_> = models.iter().map(Model::recorded_path_check).collect();
    std::thread::scope(|scope| {
        let execution = if threads <= 1 {
            Execution::here(keys)
        } else {
            Execution::Pool(Pool::start(
                scope,
                threads,
                keys,
                models,
                &checks,
                options.chain_verified,
            ))
        };
        let mut replayer = Replayer::new(models, &checks, options, chunk_bytes, execution);
        match feed(&mut replayer) {
            Ok(stopped_at) => {
                let mut report = replayer.finish()?;
                report.stopped_at = stopped_at;
                Ok(report)
            }
            Err(error) => {
                // The read's error is the one to report; the workers still stop.
                let _ = replayer.close();
                Err(error)
            }
        }
    })
}
