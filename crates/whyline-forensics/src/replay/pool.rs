//! The worker threads a replay hands its chunks to, so that reading and copying the next
//! chunk overlaps replaying the ones before it.
//!
//! Each chunk goes whole to one worker (the queue holds at most one chunk per worker, which
//! bounds memory to a few chunks); reports come back in any order and are merged in chunk
//! order, so a report never depends on the thread count. A chunk's bytes and job list come
//! back with its report and are reused for a later chunk.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};

use crossbeam_channel::{Receiver, Sender};
use whyline_core::ModelRecord;
use whyline_core::digest::InputDigester;
use whyline_ledger::seal::KeyStore;
use whyline_models::{Model, RecordedPathCheck};

use super::ReplayReport;
use super::worker::{Job, Shared, Worker};
use crate::error::{ForensicsError, Result};

/// Model records met so far and their digesters, shared with the chunks in flight (copied
/// on write when a new record comes while chunks hold them, which is rare).
#[derive(Clone, Default)]
pub(super) struct Records {
    /// Index 0 is "none yet"; an unreadable record is `None`.
    pub(super) records: Vec<Option<ModelRecord>>,
    /// The unkeyed digester of each record (`None`: keyed, or no record).
    pub(super) digesters: Vec<Option<InputDigester>>,
}

/// A chunk on its way to a worker.
struct Chunk {
    sequence: u64,
    bytes: Vec<u8>,
    jobs: Vec<Job>,
    records: Arc<Records>,
}

/// A chunk's report, with its buffers for reuse.
struct Done {
    sequence: u64,
    report: Result<ReplayReport>,
    bytes: Vec<u8>,
    jobs: Vec<Job>,
}

/// Worker threads started in a scope, fed chunks in log order.
pub(super) struct Pool<'scope> {
    to_workers: Option<Sender<Chunk>>,
    from_workers: Receiver<Done>,
    handles: Vec<ScopedJoinHandle<'scope, ()>>,
    sent: u64,
    merged: u64,
    /// Reports that came back before an earlier chunk's.
    waiting: BTreeMap<u64, ReplayReport>,
    spare: Vec<(Vec<u8>, Vec<Job>)>,
}

impl<'scope> Pool<'scope> {
    /// Starts `threads` workers in `scope`, each with its own opener and buffers.
    pub(super) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        threads: usize,
        keys: &'env KeyStore,
        models: &'env [Model],
        checks: &'env [Option<RecordedPathCheck<'env>>],
        chain_verified: bool,
    ) -> Pool<'scope> {
        let threads = threads.max(1);
        let (to_workers, chunks) = crossbeam_channel::bounded::<Chunk>(threads);
        let (done, from_workers) = crossbeam_channel::unbounded::<Done>();
        let handles = (0..threads)
            .map(|_| {
                let (chunks, done) = (chunks.clone(), done.clone());
                scope.spawn(move || {
                    let mut worker = Worker::new(keys);
                    for chunk in chunks {
                        let shared = Shared {
                            bytes: &chunk.bytes,
                            models,
                            checks,
                            records: &chunk.records.records,
                            digesters: &chunk.records.digesters,
                            chain_verified,
                        };
                        // A panicking worker still answers, so the reader never waits for
                        // a report that cannot come.
                        let report =
                            catch_unwind(AssertUnwindSafe(|| worker.run(&chunk.jobs, &shared)))
                                .unwrap_or(Err(ForensicsError::ReplayWorkerPanicked));
                        let answer = Done {
                            sequence: chunk.sequence,
                            report,
                            bytes: chunk.bytes,
                            jobs: chunk.jobs,
                        };
                        if done.send(answer).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Pool {
            to_workers: Some(to_workers),
            from_workers,
            handles,
            sent: 0,
            merged: 0,
            waiting: BTreeMap::new(),
            spare: Vec::new(),
        }
    }

    /// Empty buffers for the next chunk: a returned chunk's, or new ones.
    pub(super) fn buffers(&mut self, capacity: usize) -> (Vec<u8>, Vec<Job>) {
        self.spare
            .pop()
            .unwrap_or_else(|| (Vec::with_capacity(capacity), Vec::new()))
    }

    /// Queues a chunk (waiting while every worker is busy and the queue is full), then
    /// merges into `report` the reports that are ready, in chunk order.
    pub(super) fn submit(
        &mut self,
        bytes: Vec<u8>,
        jobs: Vec<Job>,
        records: Arc<Records>,
        report: &mut ReplayReport,
    ) -> Result<()> {
        let chunk = Chunk {
            sequence: self.sent,
            bytes,
            jobs,
            records,
        };
        let sent = self
            .to_workers
            .as_ref()
            .is_some_and(|to_workers| to_workers.send(chunk).is_ok());
        if !sent {
            return Err(ForensicsError::ReplayWorkerPanicked);
        }
        self.sent += 1;
        while let Ok(done) = self.from_workers.try_recv() {
            self.take(done)?;
        }
        self.merge(report);
        Ok(())
    }

    /// Waits for every chunk sent and merges their reports into `report`, in chunk order.
    pub(super) fn drain(&mut self, report: &mut ReplayReport) -> Result<()> {
        while self.merged + (self.waiting.len() as u64) < self.sent {
            let done = self
                .from_workers
                .recv()
                .map_err(|_| ForensicsError::ReplayWorkerPanicked)?;
            self.take(done)?;
        }
        self.merge(report);
        Ok(())
    }

    /// Stops the workers and waits for them (again: nothing).
    pub(super) fn close(&mut self) -> Result<()> {
        self.to_workers = None;
        let mut result = Ok(());
        for handle in self.handles.drain(..) {
            if handle.join().is_err() {
                result = Err(ForensicsError::ReplayWorkerPanicked);
            }
        }
        result
    }

    fn take(&mut self, done: Done) -> Result<()> {
        let (mut bytes, mut jobs) = (done.bytes, done.jobs);
        bytes.clear();
        jobs.clear();
        self.spare.push((bytes, jobs));
        self.waiting.insert(done.sequence, done.report?);
        Ok(())
    }

    fn merge(&mut self, report: &mut ReplayReport) {
        while let Some(part) = self.waiting.remove(&self.merged) {
            report.absorb(part);
            self.merged += 1;
        }
    }
}
