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

use std::path::{Path, PathBuf};

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

    /// A store holding these entry-log bytes (for tests that damage a log on purpose).
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
