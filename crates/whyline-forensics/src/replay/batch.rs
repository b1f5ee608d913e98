//! The chunk of decisions and inputs replayed together, and the model in force for each.

use std::collections::HashMap;
use std::ops::Range;

use whyline_core::digest::InputDigester;
use whyline_core::{EntryKind, Explainable, ModelRecord};
use whyline_ledger::seal::KeyStore;
use whyline_models::Model;

use super::worker::{Job, Shared, Worker};
use super::{ReplayOptions, ReplayReport};
use crate::error::{ForensicsError, Result};

/// A decision read, waiting for its input.
struct Pending {
    index: u64,
    payload: Range<usize>,
    model: usize,
    same_model: bool,
    record: usize,
    /// Carried over from the previous chunk already.
    carried: bool,
}

/// Streams entries into chunks and replays each chunk on the workers.
pub(super) struct Replayer<'a> {
    models: &'a [Model],
    shas: Vec<Option<&'a str>>,
    options: ReplayOptions,
    chunk_bytes: usize,
    /// Model records met so far: index 0 is "none yet"; an unreadable one is `None`.
    records: Vec<Option<ModelRecord>>,
    /// The unkeyed digester of each record (`None`: keyed, or no record).
    digesters: Vec<Option<InputDigester>>,
    bytes: Vec<u8>,
    pending: Vec<Pending>,
    inputs: HashMap<u64, Range<usize>>,
    jobs: Vec<Job>,
    workers: Vec<Worker<'a>>,
    report: ReplayReport,
}

impl<'a> Replayer<'a> {
    pub(super) fn new(
        keys: &'a KeyStore,
        models: &'a [Model],
        options: ReplayOptions,
        chunk_bytes: usize,
    ) -> Self {
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Self {
            models,
            shas: models
                .iter()
                .map(|m| m.identity().map(|id| id.sha256.as_str()))
                .collect(),
            options,
            chunk_bytes: chunk_bytes.max(1),
            records: vec![None],
            digesters: vec![None],
            bytes: Vec::new(),
            pending: Vec::new(),
            inputs: HashMap::new(),
            jobs: Vec::new(),
            workers: (0..threads.max(1)).map(|_| Worker::new(keys)).collect(),
            report: ReplayReport::default(),
        }
    }

    /// Takes the next entry of the log.
    pub(super) fn push(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        match EntryKind::of(payload) {
            EntryKind::Model => {
                let record = ModelRecord::from_bytes(payload).ok();
                self.digesters.push(
                    record
                        .as_ref()
                        .and_then(|r| InputDigester::unkeyed_with(r.input_digest)),
                );
                self.records.push(record);
            }
            EntryKind::Decision => self.push_decision(index, payload)?,
            EntryKind::SealedInput => {
                let Some(decision) = payload
                    .get(16..24)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_le_bytes)
                else {
                    return Ok(());
                };
                // Kept only when its decision waits in this chunk (decisions are in log
                // order, so a binary search finds it).
                if self
                    .pending
                    .binary_search_by_key(&decision, |p| p.index)
                    .is_ok()
                {
                    let range = self.copy(payload);
                    self.inputs.insert(decision, range);
                }
            }
            _ => {}
        }
        if self.bytes.len() >= self.chunk_bytes {
            self.flush(false)?;
        }
        Ok(())
    }

    fn push_decision(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        let stamped = whyline_ledger::payload_timestamp(payload).unwrap_or(0);
        if stamped < self.options.from_ns || stamped > self.options.to_ns {
            return Ok(());
        }
        self.report.decisions += 1;
        let record = self.records.len() - 1;
        let recorded_sha = self
            .records
            .get(record)
            .and_then(Option::as_ref)
            .map(|r| r.identity.sha256.as_str());
        let (model, same_model) =
            match recorded_sha.and_then(|sha| self.shas.iter().position(|s| *s == Some(sha))) {
                Some(model) => (model, true),
                None if self.models.len() == 1 => (0, false),
                None => {
                    return Err(ForensicsError::NoModelFor {
                        index,
                        sha256: recorded_sha.unwrap_or("(no model record)").to_owned(),
                    });
                }
            };
        let payload = self.copy(payload);
        self.pending.push(Pending {
            index,
            payload,
            model,
            same_model,
            record,
            carried: false,
        });
        Ok(())
    }

    fn copy(&mut self, payload: &[u8]) -> Range<usize> {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(payload);
        start..self.bytes.len()
    }

    /// Replays the chunk's decisions up to the first one still waiting for its input, which
    /// is carried into the next chunk with every decision after it (and their inputs), so
    /// decisions are always replayed in log order. A decision carried once already that still
    /// has no input counts as without one, as every waiting decision does at the `last` flush.
    /// Each decision is carried at most once: any decision before a carried one was carried
    /// with it.
    fn flush(&mut self, last: bool) -> Result<()> {
        self.jobs.clear();
        let mut pending = std::mem::take(&mut self.pending);
        let cut = if last {
            pending.len()
        } else {
            pending
                .iter()
                .position(|p| !p.carried && !self.inputs.contains_key(&p.index))
                .unwrap_or(pending.len())
        };
        let carry = pending.split_off(cut);
        for pending in pending {
            match self.inputs.get(&pending.index) {
                Some(input) => self.jobs.push(Job {
                    index: pending.index,
                    payload: pending.payload,
                    input: input.clone(),
                    model: pending.model,
                    same_model: pending.same_model,
                    record: pending.record,
                }),
                None => self.report.without_input += 1,
            }
        }
        let shared = Shared {
            bytes: &self.bytes,
            models: self.models,
            records: &self.records,
            digesters: &self.digesters,
            chain_verified: self.options.chain_verified,
        };
        let per_worker = self.jobs.len().div_ceil(self.workers.len()).max(1);
        let parts: Vec<Result<ReplayReport>> = if self.workers.len() == 1 {
            self.workers
                .iter_mut()
                .map(|worker| worker.run(&self.jobs, &shared))
                .collect()
        } else {
            let jobs = &self.jobs;
            let shared = &shared;
            std::thread::scope(|scope| {
                let handles: Vec<_> = self
                    .workers
                    .iter_mut()
                    .zip(jobs.chunks(per_worker))
                    .map(|(worker, jobs)| scope.spawn(move || worker.run(jobs, shared)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(ForensicsError::ReplayWorkerPanicked))
                    })
                    .collect()
            })
        };
        for part in parts {
            self.report.absorb(part?);
        }
        // Keep the carried decisions' bytes (and the inputs that came) for the next chunk.
        let mut kept = Vec::new();
        let mut kept_inputs = HashMap::new();
        let mut carry = carry;
        for pending in &mut carry {
            let start = kept.len();
            kept.extend_from_slice(self.bytes.get(pending.payload.clone()).unwrap_or(&[]));
            pending.payload = start..kept.len();
            pending.carried = true;
            if let Some(input) = self.inputs.get(&pending.index) {
                let start = kept.len();
                kept.extend_from_slice(self.bytes.get(input.clone()).unwrap_or(&[]));
                kept_inputs.insert(pending.index, start..kept.len());
            }
        }
        self.bytes.clear();
        self.bytes.extend_from_slice(&kept);
        self.inputs = kept_inputs;
        self.pending = carry;
        Ok(())
    }

    /// Replays what is left and returns the report.
    pub(super) fn finish(mut self) -> Result<ReplayReport> {
        self.flush(true)?;
        Ok(self.report)
    }
}
