//! Signed checkpoints: when they are due (by count or by time), signing them, and, under the
//! collector's group commit, holding a due checkpoint until its entries are durable.
//!
//! A checkpoint is only ever stored over durable entries: a signed size that a crash could
//! take back would look like a truncated log. Used alone, the ledger commits inline and
//! signs at once. Under a [`LedgerCollector`](crate::LedgerCollector) with `interval` or
//! `sync` durability the commit thread owns durability: signing inline would sync the entry
//! log under the ledger's lock at every checkpoint (at 1M entries/s and a checkpoint every
//! 4,096 entries, 244 syncs a second that every appender waits behind). There the checkpoint's
//! body (size, root, time disorder) is fixed when it falls due and it is signed and stored
//! by the commit that makes its entries durable.

use std::time::Instant;

use super::{CommitMode, Durability, Ledger, Result};
use crate::checkpoint::Checkpoint;
use crate::checkpoint_file::{StoredCheckpoint, encode_checkpoint_record};
use crate::store::{Side, Store};
use crate::time_order::TIME_DISORDER_EXTENSION;

/// A checkpoint fixed when it fell due, waiting for its entries to be durable.
#[derive(Debug)]
pub(super) struct DueCheckpoint {
    checkpoint: Checkpoint,
    disorder_ns: u64,
}

impl<S: Store> Ledger<S> {
    /// Signs a checkpoint when one is due (by count or by time), or fixes it to be signed
    /// once durable; the collector's commit thread calls this beside its commits.
    pub(crate) fn checkpoint_if_due(&mut self) -> Result<()> {
        self.maybe_checkpoint(CommitMode::Deferred)
    }

    pub(super) fn maybe_checkpoint(&mut self, mode: CommitMode) -> Result<()> {
        if self.options.signer.is_none() || self.next_index == self.last_checkpoint_size {
            return Ok(());
        }
        let by_count = self.options.checkpoint_every > 0
            && self.next_index - self.last_checkpoint_size >= self.options.checkpoint_every;
        let by_time = self
            .options
            .checkpoint_interval
            .is_some_and(|interval| self.last_checkpoint_at.elapsed() >= interval);
        if !(by_count || by_time) {
            return Ok(());
        }
        match (mode, self.options.durability) {
            (CommitMode::Deferred, Durability::Interval { .. } | Durability::Sync) => {
                let due = self.due_now();
                self.due_checkpoints.push(due);
                self.last_checkpoint_size = self.next_index;
                self.last_checkpoint_at = Instant::now();
                // Already durable (nothing appended since the last commit): sign now.
                self.publish_durable_checkpoints()
            }
            _ => self.checkpoint().map(drop),
        }
    }

    /// Commits, then signs and stores a checkpoint of the whole log; returns the signed
    /// note. `None` when the ledger has no signer.
    pub fn checkpoint(&mut self) -> Result<Option<String>> {
        if self.options.signer.is_none() {
            return Ok(None);
        }
        let _span = tracing::debug_span!("checkpoint", size = self.next_index).entered();
        // The commit also signs the checkpoints that were waiting for it, so sizes stay in
        // order in the checkpoints file.
        self.commit()?;
        let due = self.due_now();
        let note = self.store_checkpoint(due)?;
        self.last_checkpoint_size = self.next_index;
        self.last_checkpoint_at = Instant::now();
        Ok(note)
    }

    /// Signs and stores, oldest first, every due checkpoint whose entries are durable.
    pub(super) fn publish_durable_checkpoints(&mut self) -> Result<()> {
        while self
            .due_checkpoints
            .first()
            .is_some_and(|due| due.checkpoint.size <= self.durable_entries)
        {
            let due = self.due_checkpoints.remove(0);
            self.store_checkpoint(due)?;
        }
        Ok(())
    }

    /// The checkpoint of the log as it stands.
    fn due_now(&self) -> DueCheckpoint {
        DueCheckpoint {
            checkpoint: Checkpoint {
                origin: self.options.origin.clone(),
                size: self.next_index,
                root: self.range.root(),
            },
            disorder_ns: self.index_builder.order().disorder_ns(),
        }
    }

    /// Signs `due` and stores it durably in the checkpoints side log; `None` without a
    /// signer.
    fn store_checkpoint(&mut self, due: DueCheckpoint) -> Result<Option<String>> {
        let Some(signer) = self.options.signer.as_ref() else {
            return Ok(None);
        };
        let DueCheckpoint {
            checkpoint,
            disorder_ns,
        } = due;
        // The checkpoint states the time disorder of the entries it covers (an extension
        // line, see `time_order.rs`), so window proofs can be checked against it.
        let body = format!(
            "{}{TIME_DISORDER_EXTENSION} {disorder_ns}\n",
            checkpoint.body()
        );
        let note = crate::checkpoint::sign_note(&body, signer);
        let offset = self.checkpoints_len;
        let record = encode_checkpoint_record(&note);
        self.store.append_side(Side::Checkpoints, &record, true)?;
        self.checkpoints_len += record.len() as u64;
        self.checkpoints.push(StoredCheckpoint {
            offset,
            note: note.clone(),
            checkpoint,
        });
        Ok(Some(note))
    }
}
