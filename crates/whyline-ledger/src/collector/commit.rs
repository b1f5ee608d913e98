//! The ledger collector's commit machinery: the two-buffer group commit.
//!
//! Appends run under the ledger lock and never sync. A commit takes that lock twice, briefly:
//! once to hand everything appended so far to the operating system and take a ticket
//! ([`Ledger::begin_commit`]), once to record the outcome ([`Ledger::finish_commit`]). The
//! `fdatasync` itself runs between the two without the lock, so while one batch reaches the
//! disk, other threads (or the same one, under `interval`) append the next: two buffers,
//! one syncing and one filling.
//!
//! ```text
//!  appenders ──lock──► append (no sync) ──unlock──►  ... append ... append ...
//!  committer ──lock──► begin_commit: write batch k, ticket ──unlock──► fdatasync(batch k)
//!            ──lock──► finish_commit: batch k durable ──unlock──► (batch k+1 filled meanwhile)
//! ```
//!
//! - `sync`: each appender returns once its entry is durable. It waits for the committer
//!   lock; whoever holds it commits everything appended so far, so the appenders that
//!   arrived during one sync share the next ([`Shared::commit_through`]).
//! - `interval`: the appender that finds `entries` uncommitted wakes the commit thread and
//!   goes on appending; the thread commits (and also commits on `max_delay` and signs
//!   checkpoints due by time). While a sync runs the filling batch may grow past `entries`
//!   (the next commit takes it whole), but never past the policy's `max_delay`: an appender
//!   that finds the oldest uncommitted entry older than that commits itself and waits, so a
//!   disk slower than the appenders sets their pace and what a crash may lose stays bounded
//!   by time, as the policy promises.
//! - `none`: nothing syncs before a checkpoint or `flush`.
//!
//! Crash safety is the store's: a ticket covers only the bytes written before it was taken,
//! so an entry counts as durable only once a sync that started after it was written
//! succeeded. A failed sync stops the writer; the entries of the failed batch are not
//! called durable and every later call returns the error.
//!
//! Lock order: the committer lock before the ledger lock, never the other way round.

use crate::error::{LedgerError, Result};
use crate::ledger::Ledger;
use crate::store::Store;
use crate::sync::atomic::{AtomicU64, Ordering};
use crate::sync::{Mutex, MutexGuard};

/// What a lock poisoned by a panic in another thread (or a ledger already taken) is.
pub(crate) const POISONED: LedgerError = LedgerError::Poisoned {
    collector: "ledger",
};

/// What the collector does after an append, per its durability policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    /// Nothing: commits come from checkpoints and `flush`.
    None,
    /// Wake the commit thread at `entries` uncommitted.
    Interval,
    /// Return only once durable.
    Sync,
}

/// What the appender must do once it released the ledger lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterAppend {
    /// Nothing.
    Return,
    /// Wake the commit thread.
    Wake,
    /// Return once entry `index` is durable.
    WaitDurable(u64),
}

pub(crate) struct Inner<S: Store> {
    /// `None` only after the collector's `into_ledger` took it, when nothing else runs.
    pub(crate) ledger: Option<Ledger<S>>,
    /// The reused encoding buffer.
    pub(crate) buffer: Vec<u8>,
}

impl<S: Store> Inner<S> {
    pub(crate) fn ledger(&mut self) -> Result<&mut Ledger<S>> {
        self.ledger.as_mut().ok_or(POISONED)
    }
}

pub(crate) struct Shared<S: Store> {
    pub(crate) inner: Mutex<Inner<S>>,
    /// Held by the one thread committing (begin, sync, finish) at a time.
    committer: Mutex<()>,
    /// Entries known durable.
    durable: AtomicU64,
    pub(crate) policy: Policy,
    pub(crate) appended: AtomicU64,
    pub(crate) size: AtomicU64,
}

impl<S: Store> Shared<S> {
    pub(crate) fn new(ledger: Ledger<S>, policy: Policy) -> Self {
        Self {
            committer: Mutex::new(()),
            durable: AtomicU64::new(ledger.durable_size()),
            policy,
            size: AtomicU64::new(ledger.size()),
            inner: Mutex::new(Inner {
                ledger: Some(ledger),
                buffer: Vec::with_capacity(512),
            }),
            appended: AtomicU64::new(0),
        }
    }

    pub(crate) fn lock_inner(&self) -> Result<MutexGuard<'_, Inner<S>>> {
        self.inner.lock().map_err(|_| POISONED)
    }

    fn lock_committer(&self) -> Result<MutexGuard<'_, ()>> {
        self.committer.lock().map_err(|_| POISONED)
    }

    /// Entries known durable.
    pub(crate) fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Publishes what the ledger knows (appended, durable) after an append under the lock,
    /// and says what the appender does next. `last` is the index of its last entry.
    pub(crate) fn appended(&self, ledger: &Ledger<S>, entries: u64, last: u64) -> AfterAppend {
        self.appended.fetch_add(entries, Ordering::Relaxed);
        self.size.store(ledger.size(), Ordering::Relaxed);
        // A checkpoint commits inline: publish it (a plain load first: no shared write on
        // the usual path).
        if ledger.durable_size() > self.durable() {
            self.durable
                .fetch_max(ledger.durable_size(), Ordering::AcqRel);
        }
        match self.policy {
            Policy::Sync => AfterAppend::WaitDurable(last),
            // The clock is read only once a commit is due and not begun yet.
            Policy::Interval if ledger.commit_due_by_count() => {
                if ledger.commit_overdue() {
                    AfterAppend::WaitDurable(last)
                } else {
                    AfterAppend::Wake
                }
            }
            Policy::Interval | Policy::None => AfterAppend::Return,
        }
    }

    /// Returns once entry `index` is durable, committing for everyone if no commit running
    /// or finished meanwhile covered it.
    pub(crate) fn commit_through(&self, index: u64) -> Result<()> {
        if self.durable() > index {
            return Ok(());
        }
        let _committer = self.lock_committer()?;
        if self.durable() > index {
            return Ok(()); // the previous committer's sync covered this entry
        }
        self.commit_locked(|_| true)
    }

    /// Commits everything appended so far (`flush`).
    pub(crate) fn commit_all(&self) -> Result<()> {
        let _committer = self.lock_committer()?;
        self.commit_locked(|_| true)
    }

    /// The commit thread's work: commits everything when an appender woke it, or what the
    /// policy says is due on time (`max_delay`), and signs a checkpoint due by time.
    pub(crate) fn commit_if_due(&self, woken: bool) -> Result<()> {
        let _committer = self.lock_committer()?;
        self.commit_locked(|ledger| woken || ledger.commit_due())
    }

    /// One two-buffer commit, the committer lock held: begin under the ledger lock (when
    /// `due` says so), sync without it, finish under it.
    fn commit_locked(&self, due: impl FnOnce(&Ledger<S>) -> bool) -> Result<()> {
        let ticket = {
            let mut inner = self.lock_inner()?;
            let ledger = inner.ledger()?;
            let ticket = if due(ledger) {
                ledger.begin_commit()?
            } else {
                None
            };
            ledger.checkpoint_if_due()?;
            self.durable
                .fetch_max(ledger.durable_size(), Ordering::AcqRel);
            ticket
        };
        let Some(ticket) = ticket else {
            return Ok(());
        };
        let synced = ticket.sync();
        let mut inner = self.lock_inner()?;
        let ledger = inner.ledger()?;
        let finished = ledger.finish_commit(ticket, synced);
        self.durable
            .fetch_max(ledger.durable_size(), Ordering::AcqRel);
        finished
    }
}
