//! [`LedgerCollector`]: the hash-chain collector, a [`TraceCollector`] in front of a
//! [`Ledger`].
//!
//! Each trace is encoded to APRT into a reused buffer (no allocation once warm) and appended
//! under a mutex, so one collector serves many threads and the ledger alone assigns
//! entry indices. The outcome is [`RecordOutcome::Appended`] with the leaf index and
//! leaf hash; whether it is durable yet follows the ledger's [`Durability`](crate::Durability)
//! ([`LedgerCollector::durable_size`]). Under `Sync`, `record` returns once the entry is
//! durable, and concurrent records share syncs.
//!
//! Commits are two-buffer group commits (see `commit.rs`): the `fdatasync` of one batch runs
//! without the ledger lock while appends fill the next. Under `interval` a commit thread
//! does them (woken at `entries` uncommitted, and on `max_delay`), so the appender never
//! waits for the disk unless its oldest uncommitted entry waited `max_delay`. The same
//! thread signs checkpoints due by time. A decision and the alerts
//! raised about it are appended together
//! ([`TraceCollector::record_with_alerts`]): under `Sync`, one sync for all of them.
//!
//! `flush` commits; dropping the collector stops the commit thread and commits (a failure
//! there is logged: call `flush` first to see it). A failed commit stops the writer, so the
//! next `record` returns the error.

use whyline_core::{
    APRT_HEADER_LEN, AlertRecord, CollectorStats, DecisionPath, DecisionTrace, InputEvidence,
    ModelRecord, OutcomeRecord, RecordOutcome, TraceCollector, encode_aprt,
};

use super::commit::{AfterAppend, Inner, POISONED, Policy, Shared};
use crate::batched_range::BlockRoot;
use crate::error::{LedgerError, Result};
use crate::ledger::{CommitMode, Ledger, LedgerOptions, Receipt};
use crate::recovery::RecoveryReport;
use crate::seal::Sealer;
use crate::store::{MemoryStore, Store};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::sync::channel::{self, RecvTimeoutError};
use crate::sync::thread::{self, JoinHandle};
use crate::sync::{Arc, Mutex};

/// The hash-chain collector. See the module docs.
pub struct LedgerCollector<S: Store + 'static = MemoryStore> {
    shared: Arc<Shared<S>>,
    /// The commit thread: the sender wakes it, dropping the sender stops it.
    committer: Option<(channel::Sender<()>, JoinHandle<()>)>,
    /// Seals decisions' inputs, when given a key store; locked before the ledger.
    sealer: Mutex<Option<(Sealer, Vec<u8>)>>,
    /// Whether a sealer is set (read without a lock by `keeps_inputs`).
    seals: AtomicBool,
}

impl<S: Store + 'static> std::fmt::Debug for LedgerCollector<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerCollector")
            .field("appended", &self.shared.appended.load(Ordering::Relaxed))
            .field("size", &self.shared.size.load(Ordering::Relaxed))
            .field("durable", &self.shared.durable())
            .field("commit_thread", &self.committer.is_some())
            .finish_non_exhaustive()
    }
}

impl LedgerCollector<MemoryStore> {
    /// A collector over a fresh in-memory ledger.
    pub fn in_memory(options: LedgerOptions) -> Result<Self> {
        let (ledger, _) = Ledger::open(MemoryStore::new(), options)?;
        Ok(Self::new(ledger))
    }
}

impl<S: Store + 'static> LedgerCollector<S> {
    /// A collector appending to `ledger`; starts the commit thread when the ledger has
    /// something to do on time or in the background (an `interval` policy, a checkpoint
    /// interval).
    pub fn new(ledger: Ledger<S>) -> Self {
        let period = ledger.tick_period();
        let policy = match ledger.options().durability_policy() {
            crate::Durability::None => Policy::None,
            crate::Durability::Interval { .. } => Policy::Interval,
            crate::Durability::Sync => Policy::Sync,
        };
        let shared = Arc::new(Shared::new(ledger, policy));
        let committer = period.map(|period| {
            let (wake, woken) = channel::bounded::<()>(1);
            let shared = Arc::clone(&shared);
            let handle = thread::spawn(move || {
                loop {
                    let woken = match woken.recv_timeout(period) {
                        Ok(()) => true,
                        Err(RecvTimeoutError::Timeout) => false,
                        Err(RecvTimeoutError::Disconnected) => return,
                    };
                    if let Err(error) = shared.commit_if_due(woken) {
                        tracing::error!(%error, "ledger commit thread: commit or checkpoint failed");
                        return;
                    }
                }
            });
            (wake, handle)
        });
        Self {
            shared,
            committer,
            sealer: Mutex::new(None),
            seals: AtomicBool::new(false),
        }
    }

    /// Opens the ledger in `store` and returns a collector over it with the recovery report.
    pub fn open(store: S, options: LedgerOptions) -> Result<(Self, RecoveryReport)> {
        let (ledger, report) = Ledger::open(store, options)?;
        Ok((Self::new(ledger), report))
    }

    /// Runs `f` with the ledger (to checkpoint, prove or read back).
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger<S>) -> T) -> Result<T> {
        let mut inner = self.shared.lock_inner()?;
        Ok(f(inner.ledger()?))
    }

    /// Entries known durable: receipts with a smaller index are on stable storage. Reads a
    /// counter, without the ledger lock.
    pub fn durable_size(&self) -> u64 {
        self.shared.durable()
    }

    fn stop_committer(&mut self) {
        if let Some((wake, handle)) = self.committer.take() {
            drop(wake);
            if handle.join().is_err() {
                tracing::error!("ledger commit thread panicked");
            }
        }
    }

    /// Stops the commit thread, commits and returns the ledger.
    pub fn into_ledger(mut self) -> Result<Ledger<S>> {
        self.stop_committer();
        let mut inner = self.shared.lock_inner()?;
        inner.ledger()?.commit()?;
        inner.ledger.take().ok_or(POISONED)
    }

    /// Appends one trace; the typed version of [`TraceCollector::record`].
    ///
    /// Under [`Durability::Sync`](crate::Durability::Sync) it returns once the entry is
    /// durable, by group commit: the entry is appended under the ledger lock, then one thread
    /// at a time commits everything appended so far, so threads that appended meanwhile
    /// share that one sync instead of queueing for their own.
    pub fn append<P: DecisionPath>(&self, trace: &DecisionTrace<P>) -> Result<Receipt> {
        self.append_with_alerts(trace, &[])
    }

    /// Appends one trace and then the alerts raised about it, under one lock and with one
    /// commit: under [`Durability::Sync`](crate::Durability::Sync) one sync makes them all
    /// durable. Returns the trace's receipt.
    pub fn append_with_alerts<P: DecisionPath>(
        &self,
        trace: &DecisionTrace<P>,
        alerts: &[AlertRecord],
    ) -> Result<Receipt> {
        let (receipt, after) = {
            let mut inner = self.shared.lock_inner()?;
            let Inner { ledger, buffer } = &mut *inner;
            let ledger = ledger.as_mut().ok_or(POISONED)?;
            buffer.clear();
            encode_aprt(trace, buffer);
            let receipt = ledger.append_with(buffer, CommitMode::Deferred)?;
            let mut last = receipt.index;
            for alert in alerts {
                buffer.clear();
                buffer.extend_from_slice(&alert.to_bytes());
                last = ledger.append_with(buffer, CommitMode::Deferred)?.index;
            }
            let entries = 1 + alerts.len() as u64;
            (receipt, self.shared.appended(ledger, entries, last))
        };
        self.after_append(after)?;
        Ok(receipt)
    }

    /// Appends the once-per-log [`ModelRecord`] (which model makes the decisions that
    /// follow) as an ordinary entry, with the same durability as a trace.
    pub fn append_model(&self, model: &ModelRecord) -> Result<Receipt> {
        self.append_bytes(&model.to_bytes())
    }

    /// Appends an [`AlertRecord`] (an alert about a decision) as an ordinary entry.
    pub fn append_alert(&self, alert: &AlertRecord) -> Result<Receipt> {
        self.append_bytes(&alert.to_bytes())
    }

    /// Seals decisions' inputs with `sealer` from now on ([`append_input`](Self::append_input),
    /// [`append_with_input`](Self::append_with_input), [`TraceCollector::record_input`]).
    pub fn set_sealer(&self, sealer: Sealer) -> Result<()> {
        *self.sealer.lock().map_err(|_| POISONED)? = Some((sealer, Vec::with_capacity(512)));
        self.seals.store(true, Ordering::Release);
        Ok(())
    }

    /// Seals a decision's input (see [`crate::seal`]) and appends it as an ordinary entry.
    /// [`LedgerError::NoSealer`] without a key store; [`LedgerError::SubjectErased`] for a
    /// subject whose key was destroyed.
    pub fn append_input(&self, input: &InputEvidence<'_>) -> Result<Receipt> {
        let (receipt, after) = {
            let mut sealer = self.sealer.lock().map_err(|_| POISONED)?;
            let (sealer, buffer) = sealer.as_mut().ok_or(LedgerError::NoSealer)?;
            buffer.clear();
            sealer.seal_into(input, buffer)?;
            self.append_deferred(buffer)?
        };
        // The sealer is free again: another caller seals while this one waits for its commit.
        self.after_append(after)?;
        Ok(receipt)
    }

    /// Appends a trace with its sealed input as one entry: the APRT record followed by the
    /// input sealed as its trailer (a WLSI version-2 record, see
    /// [`whyline_core::split_decision_entry`]), so the decision and what it saw are hashed,
    /// framed and made durable together (one leaf, one commit). `input.decision_index` and
    /// `input.trace_hash` are not used: the trailer names the entry that holds it. The
    /// subject's key is resolved first, so an erased subject
    /// ([`LedgerError::SubjectErased`]) or a missing key store ([`LedgerError::NoSealer`])
    /// appends nothing. Returns the entry's receipt.
    pub fn append_with_input<P: DecisionPath>(
        &self,
        trace: &DecisionTrace<P>,
        input: &InputEvidence<'_>,
    ) -> Result<Receipt> {
        let (receipt, after) = {
            let mut sealer = self.sealer.lock().map_err(|_| POISONED)?;
            let (sealer, _) = sealer.as_mut().ok_or(LedgerError::NoSealer)?;
            sealer.prepare(input.subject)?;
            let mut inner = self.shared.lock_inner()?;
            let Inner { ledger, buffer } = &mut *inner;
            let ledger = ledger.as_mut().ok_or(POISONED)?;
            buffer.clear();
            encode_aprt(trace, buffer);
            let aprt_header = buffer.first_chunk::<APRT_HEADER_LEN>().copied().ok_or(
                LedgerError::SealFailed {
                    decision_index: ledger.size(),
                },
            )?;
            sealer.seal_trailer_into(
                // A trailer names its own entry; its time is the decision's, in the APRT
                // header its associated data covers.
                &InputEvidence {
                    decision_index: ledger.size(),
                    ..*input
                },
                &aprt_header,
                buffer,
            )?;
            let receipt = ledger.append_with(buffer, CommitMode::Deferred)?;
            (receipt, self.shared.appended(ledger, 1, receipt.index))
        };
        // Both locks are released: another caller seals and appends while this one waits
        // for its commit (under `sync`, the next commit covers both).
        self.after_append(after)?;
        Ok(receipt)
    }

    /// Appends an outcome (ground truth or a human override) of the decision at entry
    /// `outcome.decision_index`, which must be a decision ([`LedgerError::NotADecision`]).
    pub fn append_outcome(&self, outcome: &OutcomeRecord) -> Result<Receipt> {
        let (receipt, after) = {
            let mut inner = self.shared.lock_inner()?;
            let ledger = inner.ledger()?;
            crate::seal::check_decision(ledger, outcome.decision_index)?;
            let receipt = ledger.append_with(&outcome.to_bytes(), CommitMode::Deferred)?;
            (receipt, self.shared.appended(ledger, 1, receipt.index))
        };
        self.after_append(after)?;
        Ok(receipt)
    }

    /// Appends a batch of ready payloads (an ingest batch: see [`crate::parse_batch`]) under
    /// one hold of the ledger lock, so their indices are contiguous, and commits per the
    /// policy once for the whole batch: under [`Durability::Sync`](crate::Durability::Sync)
    /// it returns once all are durable (one sync); under `interval` the commit thread is
    /// woken when the batch makes a commit due; use [`wait_durable`](Self::wait_durable)
    /// with the last receipt's index before handing receipts to a client.
    ///
    /// A payload the ledger would refuse (empty, over [`MAX_PAYLOAD`](crate::MAX_PAYLOAD))
    /// refuses the batch before anything is appended ([`LedgerError::PayloadSize`]). A failed
    /// write stops the writer as for one append: no receipt is returned, and whatever part of
    /// the batch reached the disk is a torn or unacknowledged tail to recovery.
    pub fn append_batch<'p, I>(&self, payloads: I) -> Result<Vec<Receipt>>
    where
        I: IntoIterator<Item = &'p [u8]>,
        I::IntoIter: Clone,
    {
        let payloads = payloads.into_iter();
        // The leaf hashes depend on the payloads alone: computed before the lock, by every
        // thread appending at once, many at a time, so the locked part is the chain, the
        // frame and the tree.
        let slices: Vec<&[u8]> = payloads.clone().collect();
        let mut leaves = Vec::new();
        crate::leaf_hashes(&slices, &mut leaves);
        let mut receipts = Vec::with_capacity(leaves.len());
        self.append_hashed(payloads, &leaves, &[], &mut receipts)?;
        Ok(receipts)
    }

    /// Commits everything appended so far under the ledger's policy (what
    /// [`TraceCollector::flush`] does), with the ledger crate's error.
    pub(crate) fn commit_all(&self) -> Result<()> {
        self.shared.commit_all()
    }

    /// [`append_batch`](Self::append_batch) with the payloads' leaf hashes computed by the
    /// caller (`leaves[i]` is `leaf_hash` of the `i`-th payload), and the roots of whole
    /// Merkle blocks when it computed them (see `Ledger::append_batch_deferred`): the
    /// pipelined collector's sequencer appends the batches its callers hashed. Receipts are
    /// pushed to `receipts`.
    pub(crate) fn append_hashed<'p>(
        &self,
        payloads: impl Iterator<Item = &'p [u8]> + Clone,
        leaves: &[crate::Hash],
        blocks: &[BlockRoot],
        receipts: &mut Vec<Receipt>,
    ) -> Result<()> {
        let before = receipts.len();
        let after = {
            let mut inner = self.shared.lock_inner()?;
            let ledger = inner.ledger()?;
            ledger.append_batch_deferred(payloads, leaves, blocks, receipts)?;
            match receipts.last() {
                Some(last) if receipts.len() > before => {
                    self.shared
                        .appended(ledger, (receipts.len() - before) as u64, last.index)
                }
                _ => AfterAppend::Return,
            }
        };
        self.after_append(after)
    }

    /// Returns once entry `index` is durable under the ledger's policy: at once under
    /// `none` (which promises nothing before a checkpoint or `flush`); under `interval` and
    /// `sync` by a group commit through `index`, shared with every thread waiting meanwhile
    /// (a commit that began after the entry was appended covers it, and whoever holds the
    /// committer lock commits for all).
    pub fn wait_durable(&self, index: u64) -> Result<()> {
        match self.shared.policy {
            Policy::None => Ok(()),
            Policy::Interval | Policy::Sync => self.shared.commit_through(index),
        }
    }

    /// Decision ingest, the library side of `POST /v1/decisions`: reads `body`
    /// ([`crate::parse_batch`]: refused whole, nothing appended, at its first bad record),
    /// appends the batch ([`append_batch`](Self::append_batch)) and returns the receipts
    /// once the entries are durable per the policy ([`wait_durable`](Self::wait_durable)).
    pub fn ingest(&self, body: &[u8], format: crate::IngestFormat) -> Result<Vec<Receipt>> {
        let batch = crate::parse_batch(body, format)?;
        let receipts = self.append_batch(batch.payloads())?;
        if let Some(last) = receipts.last() {
            self.wait_durable(last.index)?;
        }
        Ok(receipts)
    }

    /// Appends the payload `build` makes from the ledger as it stands, with a trace's
    /// durability. `build` runs under the ledger lock and is handed the index the entry will
    /// take, so whatever it checks (that the entries it names exist, say) still holds when the
    /// entry lands. When `build` refuses (`Err(e)`), nothing is appended and `Ok(Err(e))` is
    /// returned; the outer error is the ledger's own.
    pub fn append_checked<E>(
        &self,
        build: impl FnOnce(&Ledger<S>, u64) -> std::result::Result<Vec<u8>, E>,
    ) -> Result<std::result::Result<Receipt, E>> {
        let (receipt, after) = {
            let mut inner = self.shared.lock_inner()?;
            let ledger = inner.ledger()?;
            let payload = match build(ledger, ledger.size()) {
                Ok(payload) => payload,
                Err(refused) => return Ok(Err(refused)),
            };
            let receipt = ledger.append_with(&payload, CommitMode::Deferred)?;
            (receipt, self.shared.appended(ledger, 1, receipt.index))
        };
        self.after_append(after)?;
        Ok(Ok(receipt))
    }

    /// Appends one entry of ready bytes with a trace's durability.
    fn append_bytes(&self, payload: &[u8]) -> Result<Receipt> {
        let (receipt, after) = self.append_deferred(payload)?;
        self.after_append(after)?;
        Ok(receipt)
    }

    /// Appends one payload under the ledger lock and says what the policy asks once the
    /// caller has released its own locks ([`after_append`](Self::after_append)).
    fn append_deferred(&self, payload: &[u8]) -> Result<(Receipt, AfterAppend)> {
        let mut inner = self.shared.lock_inner()?;
        let ledger = inner.ledger()?;
        let receipt = ledger.append_with(payload, CommitMode::Deferred)?;
        Ok((receipt, self.shared.appended(ledger, 1, receipt.index)))
    }

    /// What the policy asks once the ledger lock is released.
    fn after_append(&self, after: AfterAppend) -> Result<()> {
        match after {
            AfterAppend::Return => Ok(()),
            AfterAppend::Wake => {
                if let Some((wake, _)) = &self.committer {
                    // Full: the thread is woken already and will commit this batch too.
                    let _already_woken = wake.try_send(());
                }
                Ok(())
            }
            AfterAppend::WaitDurable(index) => self.shared.commit_through(index),
        }
    }
}

impl<S: Store + 'static> Drop for LedgerCollector<S> {
    fn drop(&mut self) {
        self.stop_committer();
        if let Ok(mut inner) = self.shared.inner.lock()
            && let Some(ledger) = inner.ledger.as_mut()
            && let Err(error) = ledger.commit()
        {
            tracing::error!(%error, "ledger collector dropped: final commit failed");
        }
    }
}

impl<P: DecisionPath, S: Store + 'static> TraceCollector<P> for LedgerCollector<S> {
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        let receipt = self
            .append(trace)
            .map_err(|e| e.in_collector("ledger", Some(trace.sequence)))?;
        Ok(RecordOutcome::Appended {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        })
    }

    fn record_model(&self, model: &ModelRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        let receipt = self
            .append_model(model)
            .map_err(|e| e.in_collector("ledger", None))?;
        Ok(Some(RecordOutcome::Appended {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        }))
    }

    fn record_with_alerts(
        &self,
        trace: &DecisionTrace<P>,
        alerts: &[AlertRecord],
    ) -> whyline_core::Result<RecordOutcome> {
        let receipt = self
            .append_with_alerts(trace, alerts)
            .map_err(|e| e.in_collector("ledger", Some(trace.sequence)))?;
        Ok(RecordOutcome::Appended {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        })
    }

    fn record_input(
        &self,
        input: &InputEvidence<'_>,
    ) -> whyline_core::Result<Option<RecordOutcome>> {
        if !self.seals.load(Ordering::Acquire) {
            return Ok(None);
        }
        let receipt = self
            .append_input(input)
            .map_err(|e| e.in_collector("ledger", None))?;
        Ok(Some(RecordOutcome::Appended {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        }))
    }

    fn keeps_inputs(&self) -> bool {
        self.seals.load(Ordering::Acquire)
    }

    fn record_with_input(
        &mut self,
        trace: &DecisionTrace<P>,
        input: &InputEvidence<'_>,
    ) -> whyline_core::Result<(RecordOutcome, Option<RecordOutcome>)> {
        if !self.seals.load(Ordering::Acquire) {
            return Ok((self.record_exclusive(trace)?, None));
        }
        let receipt = self
            .append_with_input(trace, input)
            .map_err(|e| e.in_collector("ledger", Some(trace.sequence)))?;
        // One entry holds both: the input's outcome names the decision's own entry.
        let appended = RecordOutcome::Appended {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        };
        Ok((appended, Some(appended)))
    }

    fn keeps_alerts(&self) -> bool {
        true
    }

    fn record_alert(&self, alert: &AlertRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        let receipt = self
            .append_alert(alert)
            .map_err(|e| e.in_collector("ledger", None))?;
        Ok(Some(RecordOutcome::Appended {
            index: receipt.index,
            leaf_hash: receipt.leaf_hash,
        }))
    }

    fn flush(&self) -> whyline_core::Result<()> {
        self.shared
            .commit_all()
            .map_err(|e| e.in_collector("ledger", None))
    }

    fn len(&self) -> u64 {
        self.shared.size.load(Ordering::Relaxed)
    }

    fn stats(&self) -> CollectorStats {
        CollectorStats {
            recorded: self.shared.appended.load(Ordering::Relaxed),
            dropped: 0,
            fallback: 0,
        }
    }
}
