//! The pipelined ledger collector: callers encode and hash, a sequencer thread chains (see
//! [`PipelinedLedgerCollector`]).

use std::fmt;
use std::time::Duration;

use whyline_core::{
    AlertRecord, CollectorStats, DecisionPath, DecisionTrace, ModelRecord, RecordOutcome,
    TraceCollector, encode_aprt,
};

use super::LedgerCollector;
use crate::batched_range::{BLOCK, BlockRoot, block_root};
use crate::error::LedgerError;
use crate::frame::MAX_PAYLOAD;
use crate::ledger::Receipt;
use crate::merkle::Hash;
use crate::store::Store;
use crate::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::sync::channel::{self, Receiver, RecvTimeoutError, Sender};
use crate::sync::thread::{self, JoinHandle};
use crate::sync::{Arc, Mutex, MutexGuard};

/// How long the sequencer waits for a batch before it takes the partial one itself.
pub(crate) const IDLE: Duration = Duration::from_millis(2);

/// Records of one batch: their bytes back to back, where each ends, and (once hashed) their
/// leaf hashes.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    leaves: Vec<Hash>,
    /// The log index its first record is expected at (where its Merkle blocks start).
    expected_index: u64,
    /// The roots of its whole Merkle blocks, once hashed.
    blocks: Vec<BlockRoot>,
}

/// The records of `bytes` that end at `ends`.
fn records<'b>(bytes: &'b [u8], ends: &'b [usize]) -> impl Iterator<Item = &'b [u8]> + Clone {
    let starts = std::iter::once(0).chain(ends.iter().copied());
    starts
        .zip(ends)
        .map(|(start, &end)| bytes.get(start..end).unwrap_or(&[]))
}

impl Batch {
    fn records(&self) -> impl Iterator<Item = &[u8]> + Clone {
        records(&self.bytes, &self.ends)
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Hashes the records' leaves, several at a time, and the root of every whole Merkle
    /// block among them (where the batch's expected first index puts block boundaries), so
    /// that the sequencer does neither.
    fn hash_leaves(&mut self) {
        if self.leaves.len() == self.ends.len() {
            return;
        }
        let records: Vec<&[u8]> = records(&self.bytes, &self.ends).collect();
        crate::leaf_hashes(&records, &mut self.leaves);
        let block = BLOCK as usize;
        let into_block = (self.expected_index % BLOCK) as usize;
        let first = (block - into_block) % block;
        self.blocks.clear();
        for (n, leaves) in self
            .leaves
            .get(first..)
            .unwrap_or(&[])
            .chunks_exact(block)
            .enumerate()
        {
            self.blocks.push((first + n * block, block_root(leaves)));
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.leaves.clear();
        self.blocks.clear();
    }
}

enum Message {
    Batch(Batch),
    Flush(Sender<Result<(), LedgerError>>),
    /// A record started a batch while the sequencer slept: take it when idle.
    Wake,
}

/// What the callers and the sequencer share.
struct Shared<S: Store + 'static> {
    collector: LedgerCollector<S>,
    pending: Mutex<Batch>,
    /// Entries accepted into a batch (written under `pending`'s lock).
    accepted: AtomicU64,
    /// Entries the sequencer appended.
    appended: AtomicU64,
    failed: AtomicBool,
    /// The sequencer found nothing to do and sleeps until a message (set and cleared
    /// under `pending`'s lock).
    asleep: AtomicBool,
    /// The sequencer's error, until a caller takes it.
    error: Mutex<Option<LedgerError>>,
}

impl<S: Store + 'static> Shared<S> {
    fn lost(&self) -> u64 {
        self.accepted
            .load(Ordering::Acquire)
            .saturating_sub(self.appended.load(Ordering::Acquire))
    }

    /// The error to return once the sequencer has failed: its own the first time, then
    /// [`LedgerError::SequencerStopped`].
    fn take_error(&self) -> LedgerError {
        let taken = self.error.lock().ok().and_then(|mut error| error.take());
        taken.unwrap_or(LedgerError::SequencerStopped { lost: self.lost() })
    }

    /// Appends one batch (hashing its leaves if its sender did not); records the first
    /// failure and ignores every batch after it.
    /// `receipts` is the sequencer's reused buffer.
    fn append(&self, batch: &mut Batch, receipts: &mut Vec<Receipt>) {
        if self.failed.load(Ordering::Acquire) || batch.len() == 0 {
            return;
        }
        batch.hash_leaves();
        receipts.clear();
        let result =
            self.collector
                .append_hashed(batch.records(), &batch.leaves, &batch.blocks, receipts);
        match result {
            Ok(()) => {
                self.appended
                    .fetch_add(receipts.len() as u64, Ordering::AcqRel);
            }
            // Nothing of a failed batch is acknowledged (its entries may be in the ledger's
            // memory, but the writer has stopped and they are not durable).
            Err(error) => {
                if let Ok(mut slot) = self.error.lock() {
                    *slot = Some(error);
                }
                self.failed.store(true, Ordering::Release);
            }
        }
    }

    /// What the sequencer does when no batch came for [`IDLE`]: takes the partial batch
    /// when the queue is empty and no caller holds the lock (a caller sends under the lock,
    /// so an empty queue seen under it means no batch recorded earlier is still on its
    /// way), or, when there is none, goes to sleep until the next record wakes it.
    fn idle(&self, queue: &Receiver<Message>) -> Idle {
        let Ok(mut pending) = self.pending.try_lock() else {
            return Idle::Busy;
        };
        if pending.len() == 0 {
            self.asleep.store(true, Ordering::Relaxed);
            return Idle::Sleep;
        }
        if !queue.is_empty() {
            return Idle::Busy;
        }
        Idle::Took(std::mem::take(&mut *pending))
    }
}

/// What an idle sequencer found.
enum Idle {
    /// The partial batch, to append.
    Took(Batch),
    /// Nothing pending: sleep until a message.
    Sleep,
    /// A caller holds the lock, or a batch is on its way: look again later.
    Busy,
}

/// A ledger collector whose chain, Merkle tree, frames and commits run on a sequencer
/// thread, while callers only encode their records and hash the leaves of the batches they
/// fill.
///
/// # Why
///
/// An entry of the ledger costs three SHA-256 messages that depend on each other: its Merkle
/// leaf (the record), its chain link (index, previous link, leaf: 72 bytes, two blocks) and,
/// on average, one Merkle node. SHA-256 is throughput-bound on the CPU's SHA unit, so on the
/// appending thread these blocks are the floor of an append (`LedgerCollector::record`,
/// ~330 ns on the Zen 5 host, of which ~270 ns of hashing). A decision loop that must not
/// wait for them can hand them to another core: this collector does what does not depend
/// on the log's history on the caller's thread (the APRT record, and the leaf hashes of a
/// full batch, several at a time through the multi-buffer SHA-256 of [`crate::leaf_hashes`],
/// and the roots of its whole 256-leaf Merkle blocks where the log's block boundaries fall
/// in it) and leaves what does (the chain, the Merkle frontier, the frame, checkpoints, commits)
/// to one sequencer thread, which appends whole batches to a [`LedgerCollector`] through the
/// same code as [`LedgerCollector::append_batch`]. The log is byte for byte the one the
/// synchronous collector writes for the same records in the same order.
///
/// # Shape
///
/// As the stream collector: callers append records to a partial batch under a lock; the
/// caller that fills it hashes its leaves and sends it, still under the lock (so batches
/// enter the queue in record order), on a bounded queue, waiting for room when the
/// sequencer is behind (evidence is never dropped: the queue's bound is the memory a slow
/// disk may take). When no batch arrives for 2 ms, the sequencer takes the partial batch
/// itself if the queue is empty and no caller holds the lock, so an entry waits milliseconds,
/// not for the next record; when there is no partial batch either it sleeps without a
/// timeout, and the next record to start a batch wakes it, so an idle collector costs
/// nothing.
///
/// # What a caller is told
///
/// [`record`](TraceCollector::record) returns [`RecordOutcome::Queued`]: the entry's index
/// and chain link are decided by the sequencer. [`flush`](TraceCollector::flush) returns once
/// every entry recorded before it is appended and committed under the ledger's durability
/// policy; [`close`](PipelinedLedgerCollector::close) then gives the [`LedgerCollector`] back.
/// Models and alerts go through the same queue, in order with the traces. Sealed inputs
/// need the entry's index when they are sealed, so this collector keeps none
/// ([`keeps_inputs`](TraceCollector::keeps_inputs) is `false`): use the synchronous
/// collector for them.
///
/// # Errors
///
/// The sequencer's first append error stops it: the next `record` or `flush` returns it,
/// later ones [`LedgerError::SequencerStopped`] with the count of entries accepted and not
/// appended, so nothing is lost silently.
///
/// # Example
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath, RecordOutcome, TraceCollector};
/// use whyline_ledger::{
///     LedgerCollector, LedgerOptions, NoteSigner, PipelinedLedgerCollector, VerifyOutcome,
///     verify_store,
/// };
///
/// let signer = NoteSigner::generate_ed25519("example.com/log")?;
/// let verifier = signer.verifier();
/// let ledger = LedgerCollector::in_memory(LedgerOptions::signed("example.com/log", signer))?;
/// let collector = PipelinedLedgerCollector::new(ledger)?;
/// for sequence in 0..1000 {
///     let trace = DecisionTrace {
///         timestamp_ns: 1_710_512_347_123_456_789 + sequence,
///         sequence,
///         input_hash: 7,
///         output: 0.87,
///         latency_ns: 2_000,
///         path: LinearPath { contributions: vec![0.42, 0.28], ..Default::default() },
///     };
///     assert_eq!(collector.record(&trace)?, RecordOutcome::Queued);
/// }
/// collector.flush()?;
/// let ledger = collector.close()?;
/// let outcome = ledger.with_ledger(|ledger| verify_store(ledger.store(), Some(&verifier)))??;
/// assert!(matches!(&outcome, VerifyOutcome::Intact(report) if report.entries == 1000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PipelinedLedgerCollector<S: Store + 'static> {
    shared: Arc<Shared<S>>,
    sender: Option<Sender<Message>>,
    recycled: Receiver<Batch>,
    handle: Option<JoinHandle<()>>,
    batch_entries: usize,
}

impl<S: Store + 'static> fmt::Debug for PipelinedLedgerCollector<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelinedLedgerCollector")
            .field("batch_entries", &self.batch_entries)
            .field("accepted", &self.shared.accepted.load(Ordering::Relaxed))
            .field("appended", &self.shared.appended.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> PipelinedLedgerCollector<S> {
    /// Entries per batch unless [`with_batch`](Self::with_batch) says otherwise: enough to
    /// keep the multi-buffer leaf hashing full and the queue's messages rare.
    pub const DEFAULT_BATCH_ENTRIES: usize = 1024;

    /// Full batches the queue holds before callers wait, unless
    /// [`with_batch`](Self::with_batch) says otherwise.
    pub const DEFAULT_QUEUE_BATCHES: usize = 4;

    /// Starts the sequencer over `collector`, with
    /// [`DEFAULT_BATCH_ENTRIES`](Self::DEFAULT_BATCH_ENTRIES) entries a batch and
    /// [`DEFAULT_QUEUE_BATCHES`](Self::DEFAULT_QUEUE_BATCHES) batches in the queue.
    pub fn new(collector: LedgerCollector<S>) -> Result<Self, LedgerError> {
        Self::with_batch(
            collector,
            Self::DEFAULT_BATCH_ENTRIES,
            Self::DEFAULT_QUEUE_BATCHES,
        )
    }

    /// Starts the sequencer over `collector` with `batch_entries` entries a batch (at least
    /// 1) and room for `queue_batches` full batches (at least 1) before callers wait.
    pub fn with_batch(
        collector: LedgerCollector<S>,
        batch_entries: usize,
        queue_batches: usize,
    ) -> Result<Self, LedgerError> {
        let batch_entries = batch_entries.max(1);
        let (sender, receiver) = channel::bounded::<Message>(queue_batches.max(1));
        let (recycle, recycled) = channel::bounded::<Batch>(queue_batches.max(1) + 1);
        let appended = collector.with_ledger(|ledger| ledger.size())?;
        let shared = Arc::new(Shared {
            collector,
            pending: Mutex::new(Batch::default()),
            accepted: AtomicU64::new(appended),
            appended: AtomicU64::new(appended),
            failed: AtomicBool::new(false),
            asleep: AtomicBool::new(false),
            error: Mutex::new(None),
        });
        let sequencer = Arc::clone(&shared);
        let handle = thread::Builder::new()
            .name("whyline-sequencer".into())
            .spawn(move || sequence(&sequencer, &receiver, &recycle))
            .map_err(LedgerError::Spawn)?;
        Ok(Self {
            shared,
            sender: Some(sender),
            recycled,
            handle: Some(handle),
            batch_entries,
        })
    }

    /// Entries accepted and not appended: the queue's and the partial batch's, or, after a
    /// failure, those that will never be.
    pub fn backlog(&self) -> u64 {
        self.shared.lost()
    }

    /// Flushes, stops the sequencer and returns the ledger collector.
    pub fn close(mut self) -> Result<LedgerCollector<S>, LedgerError> {
        self.flush()?;
        self.stop()?;
        // The sequencer is joined and `Drop` has nothing left to do: this is the last
        // reference once `self` is gone.
        let shared = Arc::clone(&self.shared);
        drop(self);
        Arc::try_unwrap(shared)
            .map(|shared| shared.collector)
            .map_err(|_| LedgerError::SequencerGone)
    }

    /// Sends the partial batch and waits until the sequencer has appended and committed
    /// (under the ledger's durability policy) everything recorded before it, by any thread.
    /// Returns the sequencer's error if it has failed.
    pub fn flush(&self) -> Result<(), LedgerError> {
        let sender = self.sender.as_ref().ok_or(LedgerError::SequencerGone)?;
        let (answer, answered) = channel::bounded(1);
        {
            let mut pending = self.lock_pending()?;
            if pending.len() > 0 {
                self.send_batch(sender, &mut pending)?;
            }
            sender
                .send(Message::Flush(answer))
                .map_err(|_| LedgerError::SequencerGone)?;
        }
        answered.recv().map_err(|_| LedgerError::SequencerGone)?
    }

    /// Ends the sequencer after the batches queued so far and joins it.
    fn stop(&mut self) -> Result<(), LedgerError> {
        drop(self.sender.take());
        match self.handle.take() {
            Some(handle) => handle.join().map_err(|_| LedgerError::SequencerGone),
            None => Ok(()),
        }
    }

    fn fresh_batch(&self) -> Batch {
        self.recycled.try_recv().unwrap_or_default()
    }

    fn lock_pending(&self) -> Result<MutexGuard<'_, Batch>, LedgerError> {
        self.shared
            .pending
            .lock()
            .map_err(|_| LedgerError::Poisoned {
                collector: "pipelined ledger",
            })
    }

    /// Hashes the pending batch's leaves and blocks and sends it, leaving a fresh batch in
    /// its place. Called under the lock, so batches enter the queue in record order; waits
    /// for room when the sequencer is behind.
    fn send_batch(&self, sender: &Sender<Message>, pending: &mut Batch) -> Result<(), LedgerError> {
        let fresh = self.fresh_batch();
        let mut batch = std::mem::replace(pending, fresh);
        batch.hash_leaves();
        sender
            .send(Message::Batch(batch))
            .map_err(|_| LedgerError::SequencerGone)
    }

    /// Appends one record, written by `encode` at the end of the partial batch, then each
    /// of `more` as its own record, under one lock (so no other caller's record comes
    /// between them), sending the batch whenever it is full.
    fn queue(&self, encode: impl FnOnce(&mut Vec<u8>), more: &[&[u8]]) -> Result<(), LedgerError> {
        if self.shared.failed.load(Ordering::Acquire) {
            return Err(self.shared.take_error());
        }
        let sender = self.sender.as_ref().ok_or(LedgerError::SequencerGone)?;
        let mut pending = self.lock_pending()?;
        let mut encode = Some(encode);
        let mut more = more.iter();
        loop {
            let start = pending.bytes.len();
            match encode.take() {
                Some(encode) => encode(&mut pending.bytes),
                None => match more.next() {
                    Some(record) => pending.bytes.extend_from_slice(record),
                    None => return Ok(()),
                },
            }
            let end = pending.bytes.len();
            if end == start || end - start > MAX_PAYLOAD {
                pending.bytes.truncate(start);
                return Err(LedgerError::PayloadSize {
                    index: self.shared.accepted.load(Ordering::Relaxed),
                    found: end - start,
                    limit: MAX_PAYLOAD,
                });
            }
            if pending.ends.is_empty() {
                pending.expected_index = self.shared.accepted.load(Ordering::Relaxed);
                if self.shared.asleep.swap(false, Ordering::Relaxed) {
                    // A full queue needs no wake-up: the sequencer is busy with it.
                    let _busy = sender.try_send(Message::Wake);
                }
            }
            pending.ends.push(end);
            let accepted = self.shared.accepted.fetch_add(1, Ordering::AcqRel) + 1;
            // Full at the batch size, and at every multiple of it in the log, so that after
            // a partial batch (a flush) batches line up with the Merkle blocks again.
            if pending.len() >= self.batch_entries
                || accepted.is_multiple_of(self.batch_entries as u64)
            {
                self.send_batch(sender, &mut pending)?;
            }
        }
    }
}

/// The sequencer's loop: appends each batch in queue order, answers flushes, takes the
/// partial batch when idle, and ends when every sender is gone and the queue is empty.
fn sequence<S: Store + 'static>(
    shared: &Shared<S>,
    queue: &Receiver<Message>,
    recycle: &Sender<Batch>,
) {
    let reuse = |mut batch: Batch| {
        batch.clear();
        let _full = recycle.try_send(batch);
    };
    let mut receipts = Vec::new();
    let mut asleep = false;
    loop {
        let message = if asleep {
            queue.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            queue.recv_timeout(IDLE)
        };
        asleep = false;
        match message {
            Ok(Message::Batch(mut batch)) => {
                shared.append(&mut batch, &mut receipts);
                reuse(batch);
            }
            Ok(Message::Flush(answer)) => {
                let result = if shared.failed.load(Ordering::Acquire) {
                    Err(shared.take_error())
                } else {
                    shared.collector.commit_all()
                };
                let _caller_gone = answer.send(result);
            }
            Ok(Message::Wake) => {}
            Err(RecvTimeoutError::Timeout) => match shared.idle(queue) {
                Idle::Took(mut batch) => {
                    shared.append(&mut batch, &mut receipts);
                    reuse(batch);
                }
                Idle::Sleep => asleep = true,
                Idle::Busy => {}
            },
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

impl<S: Store + 'static> Drop for PipelinedLedgerCollector<S> {
    fn drop(&mut self) {
        if self.sender.is_some() {
            if let Err(error) = self.flush() {
                tracing::error!(%error, "pipelined ledger collector dropped: final flush failed");
            }
            if let Err(error) = self.stop() {
                tracing::error!(%error, "pipelined ledger collector dropped: sequencer failed");
            }
        }
    }
}

impl<P: DecisionPath, S: Store + 'static> TraceCollector<P> for PipelinedLedgerCollector<S> {
    /// Encodes the trace's APRT record into the partial batch: [`RecordOutcome::Queued`].
    /// Waits for room when the sequencer is behind; fails once the sequencer has failed.
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        self.queue(
            |bytes| {
                encode_aprt(trace, bytes);
            },
            &[],
        )
        .map_err(|e| e.in_collector("pipelined ledger", Some(trace.sequence)))?;
        Ok(RecordOutcome::Queued)
    }

    /// Queues the trace and then its alerts, with no other caller's record between them.
    fn record_with_alerts(
        &self,
        trace: &DecisionTrace<P>,
        alerts: &[AlertRecord],
    ) -> whyline_core::Result<RecordOutcome> {
        let alerts: Vec<Vec<u8>> = alerts.iter().map(AlertRecord::to_bytes).collect();
        let alerts: Vec<&[u8]> = alerts.iter().map(Vec::as_slice).collect();
        self.queue(
            |bytes| {
                encode_aprt(trace, bytes);
            },
            &alerts,
        )
        .map_err(|e| e.in_collector("pipelined ledger", Some(trace.sequence)))?;
        Ok(RecordOutcome::Queued)
    }

    fn record_model(&self, model: &ModelRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        self.queue(|bytes| bytes.extend_from_slice(&model.to_bytes()), &[])
            .map_err(|e| e.in_collector("pipelined ledger", None))?;
        Ok(Some(RecordOutcome::Queued))
    }

    fn record_alert(&self, alert: &AlertRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        self.queue(|bytes| bytes.extend_from_slice(&alert.to_bytes()), &[])
            .map_err(|e| e.in_collector("pipelined ledger", None))?;
        Ok(Some(RecordOutcome::Queued))
    }

    fn keeps_alerts(&self) -> bool {
        true
    }

    fn flush(&self) -> whyline_core::Result<()> {
        PipelinedLedgerCollector::flush(self).map_err(|e| e.in_collector("pipelined ledger", None))
    }

    /// Entries appended by the sequencer (all of those recorded, after `flush`).
    fn len(&self) -> u64 {
        self.shared.appended.load(Ordering::Acquire)
    }

    fn stats(&self) -> CollectorStats {
        CollectorStats {
            recorded: self.shared.accepted.load(Ordering::Acquire),
            dropped: 0,
            fallback: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    fn batch_of(expected_index: u64, count: u64) -> Batch {
        let mut batch = Batch {
            expected_index,
            ..Batch::default()
        };
        for i in 0..count {
            batch
                .bytes
                .extend_from_slice(format!("record {i}").as_bytes());
            batch.ends.push(batch.bytes.len());
        }
        batch
    }

    /// The blocks a batch's maker hashes are exactly the whole blocks of the tree inside the
    /// batch, at the offsets where its expected index puts them, each with its leaves' root.
    #[test]
    fn a_batch_hashes_the_whole_tree_blocks_it_will_cover() {
        let block = BLOCK as usize;
        for (expected_index, count, offsets) in [
            (0, 600, vec![0, block]),
            (10, 700, vec![246]),
            (10, 800, vec![246, 246 + block]),
            (3 * BLOCK, 256, vec![0]),
            (BLOCK + 1, 600, vec![255]),
            (5, 300, vec![]),
            (0, 255, vec![]),
        ] {
            let mut batch = batch_of(expected_index, count);
            batch.hash_leaves();
            let leaves: Vec<Hash> = batch.records().map(leaf_hash).collect();
            assert_eq!(batch.leaves, leaves);
            let expected: Vec<BlockRoot> = offsets
                .iter()
                .map(|&offset| (offset, block_root(&leaves[offset..offset + block])))
                .collect();
            assert_eq!(
                batch.blocks, expected,
                "expected at {expected_index}, {count} records"
            );
        }
    }
}
