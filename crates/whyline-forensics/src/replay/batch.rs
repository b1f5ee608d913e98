//! The chunk of decisions and inputs replayed together, and the model in force for each.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use whyline_core::digest::InputDigester;
use whyline_core::{EntryKind, Explainable, ModelRecord};
use whyline_ledger::seal::KeyStore;
use whyline_models::{Model, RecordedPathCheck};

use super::pool::{Pool, Records};
use super::worker::{Job, Shared, Worker};
use super::{ReplayOptions, ReplayReport};
use crate::error::{ForensicsError, Result};

/// Where a chunk is replayed.
pub(super) enum Execution<'a, 's> {
    /// In the reading thread, one chunk after another.
    Here(Box<Worker<'a>>),
    /// On worker threads, while the reading thread fills the next chunk.
    Pool(Pool<'s>),
}

impl<'a> Execution<'a, '_> {
    /// Replays in the reading thread, with inputs opened by `keys`.
    pub(super) fn here(keys: &'a KeyStore) -> Self {
        Execution::Here(Box::new(Worker::new(keys)))
    }
}

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

/// Streams entries into chunks and replays each chunk.
pub(super) struct Replayer<'a, 's> {
    models: &'a [Model],
    checks: &'a [Option<RecordedPathCheck<'a>>],
    shas: Vec<Option<&'a str>>,
    options: ReplayOptions,
    chunk_bytes: usize,
    /// Model records met so far and their digesters.
    records: Arc<Records>,
    bytes: Vec<u8>,
    pending: Vec<Pending>,
    inputs: HashMap<u64, Range<usize>>,
    jobs: Vec<Job>,
    execution: Execution<'a, 's>,
    report: ReplayReport,
}

impl<'a, 's> Replayer<'a, 's> {
    pub(super) fn new(
        models: &'a [Model],
        checks: &'a [Option<RecordedPathCheck<'a>>],
        options: ReplayOptions,
        chunk_bytes: usize,
        execution: Execution<'a, 's>,
    ) -> Self {
        Self {
            models,
            checks,
            shas: models
                .iter()
                .map(|m| m.identity().map(|id| id.sha256.as_str()))
                .collect(),
            options,
            chunk_bytes: chunk_bytes.max(1),
            records: Arc::new(Records {
                records: vec![None],
                digesters: vec![None],
            }),
            bytes: Vec::with_capacity(chunk_capacity(chunk_bytes)),
            pending: Vec::new(),
            inputs: HashMap::new(),
            jobs: Vec::new(),
            execution,
            report: ReplayReport::default(),
        }
    }

    /// Takes the next entry of the log.
    pub(super) fn push(&mut self, index: u64, payload: &[u8]) -> Result<()> {
        match EntryKind::of(payload) {
            EntryKind::Model => {
                let record = ModelRecord::from_bytes(payload).ok();
                let records = Arc::make_mut(&mut self.records);
                records.digesters.push(
                    record
                        .as_ref()
                        .and_then(|r| InputDigester::unkeyed_with(r.input_digest)),
                );
                records.records.push(record);
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
        let record = self.records.records.len() - 1;
        let recorded_sha = self
            .records
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
        // A decision recorded with its input holds it at the end of its own entry.
        let has_trailer = whyline_core::AprtHeader::read(payload, 0)
            .is_ok_and(|header| header.record_len() < payload.len());
        let payload = self.copy(payload);
        if has_trailer {
            self.inputs.insert(index, payload.clone());
        }
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
        // Keep the carried decisions' bytes (and the inputs that came) for the next chunk.
        let (mut kept, spare_jobs) = match &mut self.execution {
            Execution::Pool(pool) => pool.buffers(chunk_capacity(self.chunk_bytes)),
            Execution::Here(_) => Default::default(),
        };
        let mut kept_inputs = HashMap::new();
        let mut carry = carry;
        for pending in &mut carry {
            let start = kept.len();
            kept.extend_from_slice(self.bytes.get(pending.payload.clone()).unwrap_or(&[]));
            let input = self.inputs.get(&pending.index);
            if input == Some(&pending.payload) {
                // Sealed inside its own entry: the input goes where the entry goes.
                kept_inputs.insert(pending.index, start..kept.len());
            } else if let Some(input) = input {
                let start = kept.len();
                kept.extend_from_slice(self.bytes.get(input.clone()).unwrap_or(&[]));
                kept_inputs.insert(pending.index, start..kept.len());
            }
            pending.payload = start..start + pending.payload.len();
            pending.carried = true;
        }
        match &mut self.execution {
            Execution::Here(worker) => {
                let shared = Shared {
                    bytes: &self.bytes,
                    models: self.models,
                    checks: self.checks,
                    records: &self.records.records,
                    digesters: &self.records.digesters,
                    chain_verified: self.options.chain_verified,
                };
                let part = worker.run(&self.jobs, &shared)?;
                self.report.absorb(part);
                self.bytes.clear();
                self.bytes.extend_from_slice(&kept);
            }
            Execution::Pool(pool) => {
                let bytes = std::mem::replace(&mut self.bytes, kept);
                let jobs = std::mem::replace(&mut self.jobs, spare_jobs);
                pool.submit(bytes, jobs, Arc::clone(&self.records), &mut self.report)?;
                if last {
                    pool.drain(&mut self.report)?;
                }
            }
        }
        self.inputs = kept_inputs;
        self.pending = carry;
        Ok(())
    }

    /// Replays what is left and returns the report, with the worker threads (if any)
    /// stopped.
    pub(super) fn finish(mut self) -> Result<ReplayReport> {
        let flushed = self.flush(true);
        self.close()?;
        flushed?;
        Ok(self.report)
    }

    /// Stops the worker threads, if any, and waits for them: after an error, before the
    /// scope that started them ends.
    pub(super) fn close(&mut self) -> Result<()> {
        match &mut self.execution {
            Execution::Pool(pool) => pool.close(),
            Execution::Here(_) => Ok(()),
        }
    }
}

/// The capacity a chunk's buffer starts with: the chunk's size and one more entry of a
/// demo-sized forest's, so that filling it never reallocates (a doubling `Vec` would copy
/// the chunk again and fault in fresh pages for it each time).
fn chunk_capacity(chunk_bytes: usize) -> usize {
    chunk_bytes.max(1).saturating_add(64 << 10)
}
