//! The storage seam: an append-only byte log plus two small side logs, and nothing else.
//!
//! A [`Store`] knows bytes and offsets, never frames, trees or traces; framing, the hash
//! chain, Merkle trees, checkpoints, recovery and verification are written once on top
//! (tantivy's `Directory`, cut to what a ledger needs). [`MemoryStore`] is the test double;
//! [`SegmentStore`](crate::SegmentStore) keeps files; PostgreSQL or a replicated stream can
//! come later behind the same trait.
//!
//! # Durability contract
//!
//! - [`Store::append`] makes bytes readable at once, not durable.
//! - [`Store::sync`] returns `Ok` only when every byte appended so far is on stable storage
//!   (for files: written and `fdatasync`ed). After any failed write or sync the store
//!   refuses further appends with [`LedgerError::WriterFailed`]: what reached the disk is
//!   unknown until the store is reopened and recovered. It never retries blindly.
//! - [`Store::append_side`] with `durable = true` returns once the side record is durable.
//! - [`Store::begin_sync`] and [`Store::finish_sync`] split a sync in two for the
//!   two-buffer group commit: `begin_sync` (under the writer's lock) hands everything
//!   appended so far to the operating system and returns a [`SyncTicket`]; the ticket's
//!   [`SyncTicket::sync`] runs without the store, so appends go on filling the next batch
//!   while this one reaches the disk; `finish_sync` (under the lock again) records the
//!   outcome. Bytes appended after `begin_sync` are not covered by its ticket. A failed
//!   ticket stops the writer as a failed [`Store::sync`] does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{LedgerError, Result};

/// The side logs a store keeps next to the entry log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Signed checkpoints, appended rarely and always durably.
    Checkpoints,
    /// The sparse time index: one fixed-size record per block of entries; can be rebuilt
    /// from the entry log, so it is never synced on its own.
    TimeIndex,
}

/// Append-only storage of ledger bytes. See the module docs for the durability contract.
pub trait Store: Send {
    /// Where the store lives, for error messages (a directory, or a name).
    fn location(&self) -> &Path;

    /// Bytes in the entry log, durable or not.
    fn len(&self) -> u64;

    /// Whether the entry log is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `bytes` at the end of the entry log and returns the offset where they start.
    /// Readable at once; durable only after [`Store::sync`].
    fn append(&mut self, bytes: &[u8]) -> Result<u64>;

    /// Makes every appended byte durable. An error is fatal to the writer.
    fn sync(&mut self) -> Result<()>;

    /// Bytes of the entry log known durable (at the last successful sync or open).
    fn durable_len(&self) -> u64;

    /// Begins a sync that finishes without the store (see the module docs): makes every
    /// byte appended so far reach the operating system and returns the ticket that makes
    /// them durable. The default syncs at once and returns a ticket with nothing left to
    /// do: right for every store, only not concurrent.
    fn begin_sync(&mut self) -> Result<SyncTicket> {
        self.sync()?;
        Ok(SyncTicket::done(self.len()))
    }

    /// Records the outcome of a ticket from [`Store::begin_sync`], `synced` being what
    /// [`SyncTicket::sync`] returned: on success the ticket's bytes count as durable, on
    /// failure the writer stops and the error is returned.
    fn finish_sync(&mut self, ticket: SyncTicket, synced: Result<()>) -> Result<()> {
        let _ = ticket;
        synced
    }

    /// Fills `buf` from the entry log at `offset`; fails when the range passes the end.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;

    /// Cuts the entry log to `len` bytes, durably (recovery drops a torn tail this way).
    fn truncate(&mut self, len: u64) -> Result<()>;

    /// Appends a record to a side log; durable on return when `durable`.
    fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()>;

    /// The whole content of a side log.
    fn read_side(&self, side: Side) -> Result<Vec<u8>>;

    /// Cuts a side log to `len` bytes.
    fn truncate_side(&mut self, side: Side, len: u64) -> Result<()>;
}

/// A boxed store is a store, so that a ledger or a reader can be opened over a store chosen
/// at run time (`Ledger<Box<dyn Store>>`: segment files or PostgreSQL, from a command line).
impl<S: Store + ?Sized> Store for Box<S> {
    fn location(&self) -> &Path {
        (**self).location()
    }

    fn len(&self) -> u64 {
        (**self).len()
    }

    fn is_empty(&self) -> bool {
        (**self).is_empty()
    }

    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        (**self).append(bytes)
    }

    fn sync(&mut self) -> Result<()> {
        (**self).sync()
    }

    fn durable_len(&self) -> u64 {
        (**self).durable_len()
    }

    fn begin_sync(&mut self) -> Result<SyncTicket> {
        (**self).begin_sync()
    }

    fn finish_sync(&mut self, ticket: SyncTicket, synced: Result<()>) -> Result<()> {
        (**self).finish_sync(ticket, synced)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        (**self).read_at(offset, buf)
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        (**self).truncate(len)
    }

    fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()> {
        (**self).append_side(side, bytes, durable)
    }

    fn read_side(&self, side: Side) -> Result<Vec<u8>> {
        (**self).read_side(side)
    }

    fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
        (**self).truncate_side(side, len)
    }
}

/// Makes the bytes written to one file durable without the store that wrote them: a second
/// handle on the file, so that a sync runs outside the writer's lock
/// ([`SyncTicket::sync`]). Implemented for [`std::fs::File`] (`fdatasync`).
pub trait SyncHandle: Send + Sync {
    /// Makes every byte written to the file so far durable (`fdatasync`).
    fn sync_data(&self) -> std::io::Result<()>;
}

impl SyncHandle for std::fs::File {
    fn sync_data(&self) -> std::io::Result<()> {
        std::fs::File::sync_data(self)
    }
}

/// One begun sync: the bytes of the entry log it covers and the file handle that makes them
/// durable. Returned by [`Store::begin_sync`], run with [`SyncTicket::sync`] without the
/// store, handed back to [`Store::finish_sync`].
#[must_use = "a begun sync is durable only once run and handed back to Store::finish_sync"]
pub struct SyncTicket {
    len: u64,
    target: Option<(Arc<dyn SyncHandle>, PathBuf)>,
}

impl std::fmt::Debug for SyncTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncTicket")
            .field("len", &self.len)
            .field("file", &self.target.as_ref().map(|(_, path)| path))
            .finish()
    }
}

impl SyncTicket {
    /// A ticket with nothing left to do: the first `len` bytes are durable already.
    pub fn done(len: u64) -> Self {
        Self { len, target: None }
    }

    /// A ticket that makes the first `len` bytes of the entry log durable by syncing the
    /// file at `path` through `handle` (every earlier file being durable already).
    pub fn new(len: u64, handle: Arc<dyn SyncHandle>, path: PathBuf) -> Self {
        Self {
            len,
            target: Some((handle, path)),
        }
    }

    /// Bytes of the entry log durable once the ticket ran successfully.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the ticket covers no byte at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Runs the sync (the slow part: call it without holding the store's lock). An error
    /// names the file; hand it to [`Store::finish_sync`], which stops the writer.
    pub fn sync(&self) -> Result<()> {
        match &self.target {
            Some((handle, path)) => handle
                .sync_data()
                .map_err(|error| LedgerError::io(path, "fsync", error)),
            None => Ok(()),
        }
    }
}

/// A store in memory: the test double, and the backend of an in-memory ledger.
///
/// `sync` succeeds at once (there is nothing to make durable); `durable_len` follows it, so
/// tests of receipts behave as with files.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    name: PathBuf,
    entries: Vec<u8>,
    durable: u64,
    checkpoints: Vec<u8>,
    time_index: Vec<u8>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store named `memory`.
    pub fn new() -> Self {
        Self {
            name: PathBuf::from("memory"),
            entries: Vec::new(),
            durable: 0,
            checkpoints: Vec::new(),
            time_index: Vec::new(),
        }
    }

    /// A store holding these entry-log bytes, all of them durable, and these checkpoint
    /// bytes (for tests that damage a log on purpose).
    pub fn from_bytes(entries: Vec<u8>, checkpoints: Vec<u8>) -> Self {
        let durable = entries.len() as u64;
        Self {
            entries,
            durable,
            checkpoints,
            ..Self::new()
        }
    }

    /// The entry-log bytes.
    pub fn entry_bytes(&self) -> &[u8] {
        &self.entries
    }

    /// Mutable entry-log bytes, to damage them in tests.
    pub fn entry_bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.entries
    }

    /// The checkpoints side log.
    pub fn checkpoint_bytes(&self) -> &[u8] {
        &self.checkpoints
    }

    fn side_mut(&mut self, side: Side) -> &mut Vec<u8> {
        match side {
            Side::Checkpoints => &mut self.checkpoints,
            Side::TimeIndex => &mut self.time_index,
        }
    }
}

impl Store for MemoryStore {
    fn location(&self) -> &Path {
        &self.name
    }

    fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        let offset = self.entries.len() as u64;
        self.entries.extend_from_slice(bytes);
        Ok(offset)
    }

    fn sync(&mut self) -> Result<()> {
        self.durable = self.entries.len() as u64;
        Ok(())
    }

    fn durable_len(&self) -> u64 {
        self.durable
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let source = usize::try_from(offset)
            .ok()
            .and_then(|start| self.entries.get(start..start.checked_add(buf.len())?));
        match source {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(LedgerError::io(
                &self.name,
                "read",
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            )),
        }
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.entries.truncate(len);
        self.durable = self.durable.min(self.entries.len() as u64);
        Ok(())
    }

    fn append_side(&mut self, side: Side, bytes: &[u8], _durable: bool) -> Result<()> {
        self.side_mut(side).extend_from_slice(bytes);
        Ok(())
    }

    fn read_side(&self, side: Side) -> Result<Vec<u8>> {
        Ok(match side {
            Side::Checkpoints => self.checkpoints.clone(),
            Side::TimeIndex => self.time_index.clone(),
        })
    }

    fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        self.side_mut(side).truncate(len);
        Ok(())
    }
}
