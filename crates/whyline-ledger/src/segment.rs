//! Files on disk: the default [`Store`].
//!
//! A ledger directory holds three files:
//!
//! ```text
//! LOG/entries.wls      the entry log: file header, then frames (see docs/ledger-format.md)
//! LOG/checkpoints.wlc  signed checkpoints, each as u32 length ‖ u32 CRC32C ‖ note bytes
//! LOG/time.wli         the sparse time index, 32-byte records
//! ```
//!
//! # The life of an entry
//!
//! 1. [`Store::append`] copies the frame into an in-process buffer; it is readable at once.
//! 2. The buffer is written to the file (one `write` for many frames) when it passes
//!    64 KiB, on [`Store::sync`], and when the store is dropped.
//! 3. [`Store::sync`] writes the buffer and calls `fdatasync`; only then is the entry durable
//!    and only then may a receipt call it so.
//!
//! A crash (process kill) loses at most the in-process buffer and leaves the file ending
//! inside at most one frame: a torn tail, which recovery detects, reports and truncates. A
//! power loss may also lose written but unsynced bytes, never synced ones.
//!
//! A failed `write` or `fdatasync` stops the writer ([`LedgerError::WriterFailed`] on every
//! later call): after a failed `fdatasync` the kernel may have dropped the dirty pages, so
//! retrying could report durable what is not. Reopen the store to recover.
//!
//! All entries go to one file for now; rolling to several segment files is not implemented.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{LedgerError, Result};
use crate::store::{Side, Store};

/// The entry log's file name inside a ledger directory.
pub const ENTRIES_FILE: &str = "entries.wls";
/// The checkpoints file name.
pub const CHECKPOINTS_FILE: &str = "checkpoints.wlc";
/// The time index file name.
pub const TIME_INDEX_FILE: &str = "time.wli";

const WRITE_BUFFER: usize = 64 << 10;

/// The file operations the entry log needs. Implemented for [`std::fs::File`]; implement it
/// to inject faults (tests) or to put the entry log elsewhere.
pub trait SegmentFile: Send {
    /// Writes all of `bytes` at the end of the file.
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes written bytes durable (`fdatasync`).
    fn sync_data(&mut self) -> std::io::Result<()>;
    /// Fills `buf` from `offset`.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
    /// Cuts or extends the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> std::io::Result<()>;
    /// The file's length.
    fn file_len(&self) -> std::io::Result<u64>;
}

impl SegmentFile for File {
    fn append_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        File::sync_data(self)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        File::set_len(self, len)
    }

    fn file_len(&self) -> std::io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// The entry log and its side files in a directory. See the module docs.
pub struct SegmentStore {
    dir: PathBuf,
    entries_path: PathBuf,
    file: Box<dyn SegmentFile>,
    /// Bytes in the file (written, maybe not synced).
    written: u64,
    /// Bytes known durable.
    durable: u64,
    pending: Vec<u8>,
    failed: Option<(&'static str, u64)>,
}

impl std::fmt::Debug for SegmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentStore")
            .field("dir", &self.dir)
            .field("written", &self.written)
            .field("durable", &self.durable)
            .field("pending", &self.pending.len())
            .field("failed", &self.failed)
            .finish()
    }
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| LedgerError::io(path, "open", e))
}

impl SegmentStore {
    /// Opens (creating if needed) the ledger directory `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| LedgerError::io(&dir, "create directory", e))?;
        let entries_path = dir.join(ENTRIES_FILE);
        let file = open_append(&entries_path)?;
        Self::with_file(dir, Box::new(file))
    }

    /// Opens the ledger directory `dir` with the entry log behind `file` (which must hold
    /// that directory's entry log, or be empty). Used to inject faults.
    pub fn with_file(dir: impl AsRef<Path>, file: Box<dyn SegmentFile>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| LedgerError::io(&dir, "create directory", e))?;
        let entries_path = dir.join(ENTRIES_FILE);
        let written = file
            .file_len()
            .map_err(|e| LedgerError::io(&entries_path, "stat", e))?;
        Ok(Self {
            dir,
            entries_path,
            file,
            written,
            durable: written,
            pending: Vec::with_capacity(WRITE_BUFFER),
            failed: None,
        })
    }

    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check_writer(&self) -> Result<()> {
        match self.failed {
            Some((operation, offset)) => Err(LedgerError::WriterFailed {
                path: self.entries_path.clone(),
                operation,
                offset,
            }),
            None => Ok(()),
        }
    }

    /// Writes the buffer to the file (no fsync).
    fn write_out(&mut self) -> Result<()> {
        self.check_writer()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.file.append_all(&self.pending) {
            self.failed = Some(("write", self.written));
            return Err(LedgerError::io(&self.entries_path, "write", error));
        }
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    fn side_path(&self, side: Side) -> PathBuf {
        self.dir.join(match side {
            Side::Checkpoints => CHECKPOINTS_FILE,
            Side::TimeIndex => TIME_INDEX_FILE,
        })
    }
}

impl Store for SegmentStore {
    fn location(&self) -> &Path {
        &self.entries_path
    }

    fn len(&self) -> u64 {
        self.written + self.pending.len() as u64
    }

    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        self.check_writer()?;
        let offset = self.len();
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= WRITE_BUFFER {
            self.write_out()?;
        }
        Ok(offset)
    }

    fn sync(&mut self) -> Result<()> {
        self.write_out()?;
        if self.durable == self.written {
            return Ok(());
        }
        if let Err(error) = self.file.sync_data() {
            self.failed = Some(("fsync", self.durable));
            return Err(LedgerError::io(&self.entries_path, "fsync", error));
        }
        self.durable = self.written;
        Ok(())
    }

    fn durable_len(&self) -> u64 {
        self.durable
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let eof = || {
            LedgerError::io(
                &self.entries_path,
                "read",
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            )
        };
        let end = offset.checked_add(buf.len() as u64).ok_or_else(eof)?;
        if end > self.len() {
            return Err(eof());
        }
        // The part in the file, then the part still in the buffer.
        let in_file = usize::try_from(self.written.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let (head, tail) = buf.split_at_mut(in_file);
        if !head.is_empty() {
            self.file
                .read_exact_at(head, offset)
                .map_err(|e| LedgerError::io(&self.entries_path, "read", e))?;
        }
        if !tail.is_empty() {
            let from =
                usize::try_from(offset + in_file as u64 - self.written).map_err(|_| eof())?;
            let source = self.pending.get(from..from + tail.len()).ok_or_else(eof)?;
            tail.copy_from_slice(source);
        }
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.check_writer()?;
        self.write_out()?;
        let result = self.file.set_len(len).and_then(|()| self.file.sync_data());
        if let Err(error) = result {
            self.failed = Some(("truncate", self.durable));
            return Err(LedgerError::io(&self.entries_path, "truncate", error));
        }
        self.written = len;
        self.durable = len;
        Ok(())
    }

    fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()> {
        let path = self.side_path(side);
        let mut file = open_append(&path)?;
        file.write_all(bytes)
            .map_err(|e| LedgerError::io(&path, "write", e))?;
        if durable {
            file.sync_data()
                .map_err(|e| LedgerError::io(&path, "fsync", e))?;
        }
        Ok(())
    }

    fn read_side(&self, side: Side) -> Result<Vec<u8>> {
        let path = self.side_path(side);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(LedgerError::io(&path, "read", error)),
        }
    }

    fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
        let path = self.side_path(side);
        let file = open_append(&path)?;
        file.set_len(len)
            .and_then(|()| file.sync_data())
            .map_err(|e| LedgerError::io(&path, "truncate", e))
    }
}

impl Drop for SegmentStore {
    fn drop(&mut self) {
        // Hand buffered frames to the OS so a clean exit loses nothing; durability still
        // needs an explicit sync, and a failure here is only logged (callers wanting to
        // see it call `sync` before dropping).
        if self.failed.is_none()
            && let Err(error) = self.write_out()
        {
            tracing::warn!(path = %self.entries_path.display(), %error, "writing buffered frames on drop failed");
        }
    }
}
