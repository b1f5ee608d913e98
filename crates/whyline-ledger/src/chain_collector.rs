//! [`LedgerCollector`]: the hash-chain collector, a [`TraceCollector`] in front of a
//! [`Ledger`].
//!
//! Each trace is encoded to APRT into a reused buffer (no allocation once warm) and appended
//! under a mutex, so one collector serves many threads and the ledger alone assigns
//! sequence numbers. The outcome is [`RecordOutcome::Appended`] with the leaf index and
//! leaf hash; whether it is durable yet follows the ledger's [`Durability`](crate::Durability)
//! ([`Ledger::durable_size`]). `flush` commits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use whyline_core::{
    CollectorStats, DecisionPath, DecisionTrace, RecordOutcome, TraceCollector, encode_aprt,
};

use crate::error::{LedgerError, Result};
use crate::ledger::{Ledger, LedgerOptions, RecoveryReport};
use crate::store::{MemoryStore, Store};

struct Inner<S: Store> {
    ledger: Ledger<S>,
    buffer: Vec<u8>,
}

/// The hash-chain collector. See the module docs.
pub struct LedgerCollector<S: Store = MemoryStore> {
    inner: Mutex<Inner<S>>,
    appended: AtomicU64,
    size: AtomicU64,
}

impl<S: Store> std::fmt::Debug for LedgerCollector<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerCollector")
            .field("appended", &self.appended.load(Ordering::Relaxed))
            .field("size", &self.size.load(Ordering::Relaxed))
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

impl<S: Store> LedgerCollector<S> {
    /// A collector appending to `ledger`.
    pub fn new(ledger: Ledger<S>) -> Self {
        let size = ledger.size();
        Self {
            inner: Mutex::new(Inner {
                ledger,
                buffer: Vec::with_capacity(512),
            }),
            appended: AtomicU64::new(0),
            size: AtomicU64::new(size),
        }
    }

    /// Opens the ledger in `store` and returns a collector over it with the recovery report.
    pub fn open(store: S, options: LedgerOptions) -> Result<(Self, RecoveryReport)> {
        let (ledger, report) = Ledger::open(store, options)?;
        Ok((Self::new(ledger), report))
    }

    /// Runs `f` with the ledger (to checkpoint, prove or read back).
    pub fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger<S>) -> T) -> Result<T> {
        let mut inner = self.inner.lock().map_err(|_| LedgerError::Poisoned)?;
        Ok(f(&mut inner.ledger))
    }

    /// Commits and returns the ledger.
    pub fn into_ledger(self) -> Result<Ledger<S>> {
        let mut inner = self.inner.into_inner().map_err(|_| LedgerError::Poisoned)?;
        inner.ledger.commit()?;
        Ok(inner.ledger)
    }

    /// Appends one trace; the typed version of [`TraceCollector::record`].
    pub fn append<P: DecisionPath>(&self, trace: &DecisionTrace<P>) -> Result<crate::Receipt> {
        let mut inner = self.inner.lock().map_err(|_| LedgerError::Poisoned)?;
        let Inner { ledger, buffer } = &mut *inner;
        buffer.clear();
        encode_aprt(trace, buffer);
        let receipt = ledger.append(buffer)?;
        self.appended.fetch_add(1, Ordering::Relaxed);
        self.size.store(ledger.size(), Ordering::Relaxed);
        Ok(receipt)
    }
}

impl<P: DecisionPath, S: Store> TraceCollector<P> for LedgerCollector<S> {
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        let receipt = self.append(trace)?;
        Ok(RecordOutcome::Appended {
            index: receipt.sequence,
            leaf_hash: receipt.leaf_hash,
        })
    }

    fn flush(&self) -> whyline_core::Result<()> {
        let mut inner = self.inner.lock().map_err(|_| LedgerError::Poisoned)?;
        inner.ledger.commit()?;
        Ok(())
    }

    fn len(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    fn stats(&self) -> CollectorStats {
        CollectorStats {
            recorded: self.appended.load(Ordering::Relaxed),
            dropped: 0,
            fallback: 0,
        }
    }
}
