//! [`LedgerCollector`]: the hash-chain collector, a [`TraceCollector`] in front of a
//! [`Ledger`].
//!
//! Each trace is encoded to APRT into a reused buffer (no allocation once warm) and appended
//! under a mutex, so one collector serves many threads and the ledger alone assigns
//! entry indices. The outcome is [`RecordOutcome::Appended`] with the leaf index and
//! leaf hash; whether it is durable yet follows the ledger's [`Durability`](crate::Durability)
//! ([`Ledger::durable_size`]). Under `Sync`, `record` returns once the entry is durable, and
//! concurrent records share syncs (group commit: one thread syncs for all that appended).
//!
//! When the ledger has something to do on time alone (an interval group commit, a
//! checkpoint every T), a timer thread calls [`Ledger::tick`]. `flush` commits; dropping the
//! collector stops the timer and commits (a failure there is logged: call `flush` first to
//! see it). A failed commit stops the writer, so the next `record` returns the error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use whyline_core::{
    AlertRecord, CollectorStats, DecisionPath, DecisionTrace, ModelRecord, RecordOutcome,
    TraceCollector, encode_aprt,
};

use crate::error::{LedgerError, Result};
use crate::ledger::{Ledger, LedgerOptions, Receipt};
use crate::recovery::RecoveryReport;
use crate::store::{MemoryStore, Store};

struct Inner<S: Store> {
    /// `None` only after [`LedgerCollector::into_ledger`] took it, when nothing else runs.
    ledger: Option<Ledger<S>>,
    buffer: Vec<u8>,
}

impl<S: Store> Inner<S> {
    fn ledger(&mut self) -> Result<&mut Ledger<S>> {
        self.ledger.as_mut().ok_or(POISONED)
    }
}

/// What a lock poisoned by a panic in another thread (or a ledger already taken) is.
const POISONED: LedgerError = LedgerError::Poisoned {
    collector: "ledger",
};

struct Shared<S: Store> {
    inner: Mutex<Inner<S>>,
    /// Held by the one thread committing for everyone (group commit under `Sync`).
    committer: Mutex<()>,
    /// Entries known durable.
    durable: AtomicU64,
    /// Whether the ledger's policy is `Sync`: every record returns only once durable.
    sync: bool,
    appended: AtomicU64,
    size: AtomicU64,
}

impl<S: Store> Shared<S> {
    fn lock_inner(&self) -> Result<std::sync::MutexGuard<'_, Inner<S>>> {
        self.inner.lock().map_err(|_| POISONED)
    }
}

/// The hash-chain collector. See the module docs.
pub struct LedgerCollector<S: Store + 'static = MemoryStore> {
    shared: Arc<Shared<S>>,
    /// Dropping the sender stops the timer thread.
    timer: Option<(crossbeam_channel::Sender<()>, JoinHandle<()>)>,
}

impl<S: Store + 'static> std::fmt::Debug for LedgerCollector<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerCollector")
            .field("appended", &self.shared.appended.load(Ordering::Relaxed))
            .field("size", &self.shared.size.load(Ordering::Relaxed))
            .field("timer", &self.timer.is_some())
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
    /// A collector appending to `ledger`; starts the timer thread when the ledger needs one.
    pub fn new(ledger: Ledger<S>) -> Self {
        let period = ledger.tick_period();
        let sync = ledger.options().durability_policy() == crate::Durability::Sync;
        let shared = Arc::new(Shared {
            committer: Mutex::new(()),
            durable: AtomicU64::new(ledger.durable_size()),
            sync,
            size: AtomicU64::new(ledger.size()),
            inner: Mutex::new(Inner {
                ledger: Some(ledger),
                buffer: Vec::with_capacity(512),
            }),
            appended: AtomicU64::new(0),
        });
        let timer = period.map(|period| {
            let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
            let shared = Arc::clone(&shared);
            let handle = std::thread::spawn(move || {
                while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(period)
                {
                    let Ok(mut inner) = shared.inner.lock() else {
                        return;
                    };
                    if let Err(error) = inner.ledger().and_then(Ledger::tick) {
                        tracing::error!(%error, "ledger timer: commit or checkpoint failed");
                        return;
                    }
                }
            });
            (stop, handle)
        });
        Self { shared, timer }
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

    fn stop_timer(&mut self) {
        if let Some((stop, handle)) = self.timer.take() {
            drop(stop);
            if handle.join().is_err() {
                tracing::error!("ledger timer thread panicked");
            }
        }
    }

    /// Stops the timer, commits and returns the ledger.
    pub fn into_ledger(mut self) -> Result<Ledger<S>> {
        self.stop_timer();
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
        self.append_encoded(|buffer| {
            encode_aprt(trace, buffer);
        })
    }

    /// Appends the once-per-log [`ModelRecord`] (which model makes the decisions that
    /// follow) as an ordinary entry, with the same durability as a trace.
    pub fn append_model(&self, model: &ModelRecord) -> Result<Receipt> {
        self.append_encoded(|buffer| buffer.extend_from_slice(&model.to_bytes()))
    }

    /// Appends an [`AlertRecord`] (an alert about a decision) as an ordinary entry.
    pub fn append_alert(&self, alert: &AlertRecord) -> Result<Receipt> {
        self.append_encoded(|buffer| buffer.extend_from_slice(&alert.to_bytes()))
    }

    /// Appends the entry `encode` writes into the reused buffer.
    fn append_encoded(&self, encode: impl FnOnce(&mut Vec<u8>)) -> Result<Receipt> {
        let receipt = {
            let mut inner = self.shared.lock_inner()?;
            let Inner { ledger, buffer } = &mut *inner;
            let ledger = ledger.as_mut().ok_or(POISONED)?;
            buffer.clear();
            encode(buffer);
            let receipt = ledger.append_with(buffer, !self.shared.sync)?;
            self.shared.appended.fetch_add(1, Ordering::Relaxed);
            self.shared.size.store(ledger.size(), Ordering::Relaxed);
            if !self.shared.sync {
                self.shared
                    .durable
                    .store(ledger.durable_size(), Ordering::Release);
            }
            receipt
        };
        if self.shared.sync {
            self.wait_durable(receipt.index)?;
        }
        Ok(receipt)
    }

    /// Returns once entry `index` is durable, committing for everyone if needed.
    fn wait_durable(&self, index: u64) -> Result<()> {
        if self.shared.durable.load(Ordering::Acquire) > index {
            return Ok(());
        }
        let _committer = self.shared.committer.lock().map_err(|_| POISONED)?;
        if self.shared.durable.load(Ordering::Acquire) > index {
            return Ok(()); // the previous committer's sync covered this entry
        }
        let mut inner = self.shared.lock_inner()?;
        let ledger = inner.ledger()?;
        ledger.commit()?;
        self.shared
            .durable
            .store(ledger.durable_size(), Ordering::Release);
        Ok(())
    }
}

impl<S: Store + 'static> Drop for LedgerCollector<S> {
    fn drop(&mut self) {
        self.stop_timer();
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
        self.with_ledger(Ledger::commit)
            .and_then(|committed| committed)
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
