//! Files on disk: the default [`Store`].
//!
//! A ledger directory holds:
//!
//! ```text
//! LOG/entries.wls      the entry log's first segment: file header, then frames
//! LOG/entries-<start>.wls  later segments, named by the offset of their first byte in the
//!                      log (20 digits), each starting on a frame boundary
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
//! Under a [`LedgerCollector`](crate::LedgerCollector), step 3 is split in two (the
//! two-buffer group commit, [`Store::begin_sync`]): under the writer's lock the buffer is
//! written to the file and a [`SyncTicket`] taken; the `fdatasync` runs on a second handle of
//! the same file ([`SegmentFile::sync_handle`]) without the lock, while other threads append
//! the next batch into the buffer; only the bytes written before the ticket was taken are
//! then called durable.
//!
//! A crash (process kill) loses at most the in-process buffer and leaves the file ending
//! inside at most one frame: a torn tail, which recovery detects, reports and truncates. A
//! power loss may also lose written but unsynced bytes, never synced ones.
//!
//! A failed `write` or `fdatasync` stops the writer ([`LedgerError::WriterFailed`] on every
//! later call): after a failed `fdatasync` the kernel may have dropped the dirty pages, so
//! retrying could report durable what is not. Reopen the store to recover.
//!
//! Segments: once the current segment holds [`SegmentOptions::segment_bytes`], the next
//! append first syncs it, creates the next segment file and syncs the directory, so a
//! segment other than the last is always complete and durable. On open, segments must
//! follow one another without a gap ([`CorruptionKind::SegmentGap`](crate::CorruptionKind)).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{LedgerError, NotALedgerReason, Result};
use crate::store::{Side, Store, SyncHandle, SyncTicket};

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
    /// A second handle on the same file whose `fdatasync` makes what was written through
    /// this one durable, so a sync can run without the writer's lock (for a `File`, a
    /// duplicated descriptor).
    fn sync_handle(&self) -> std::io::Result<Arc<dyn SyncHandle>>;
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

    fn sync_handle(&self) -> std::io::Result<Arc<dyn SyncHandle>> {
        Ok(Arc::new(self.try_clone()?))
    }
}

/// Opens segment files; the default opens them with [`std::fs::OpenOptions`] (create, read,
/// append). Tests pass one that wraps files to inject faults.
pub type SegmentOpener = Box<dyn Fn(&Path) -> std::io::Result<Box<dyn SegmentFile>> + Send + Sync>;

/// Settings of a [`SegmentStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentOptions {
    /// A new segment file starts once the current one holds this many bytes (checked at each
    /// append, so a segment ends on a frame boundary and may exceed this by one frame).
    pub segment_bytes: u64,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 64 << 20,
        }
    }
}

struct Segment {
    /// Logical offset of the segment's first byte.
    start: u64,
    path: PathBuf,
    file: Box<dyn SegmentFile>,
    /// The file's sync handle, made on the first begun sync and kept.
    sync: Option<Arc<dyn SyncHandle>>,
    /// Bytes written to this file.
    len: u64,
}

/// The entry log (in segment files) and its side files in a directory. See the module docs.
pub struct SegmentStore {
    dir: PathBuf,
    entries_path: PathBuf,
    options: SegmentOptions,
    opener: SegmentOpener,
    /// Segments in log order; never empty.
    segments: Vec<Segment>,
    /// Bytes in the files (written, maybe not synced).
    written: u64,
    /// Bytes known durable.
    durable: u64,
    pending: Vec<u8>,
    failed: Option<(&'static str, u64)>,
    /// Opened with [`SegmentStore::open_read_only`]: files opened for reading only, every
    /// write refused with [`LedgerError::ReadOnly`].
    read_only: bool,
}

impl std::fmt::Debug for SegmentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentStore")
            .field("dir", &self.dir)
            .field("segments", &self.segments.len())
            .field("written", &self.written)
            .field("durable", &self.durable)
            .field("pending", &self.pending.len())
            .field("failed", &self.failed)
            .field("read_only", &self.read_only)
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

/// Opens segment files for reading only: what a read-only file system, a write-protected
/// evidence copy or a file the reader may not write still allows.
fn read_only_opener() -> SegmentOpener {
    Box::new(|path: &Path| {
        let file = OpenOptions::new().read(true).open(path)?;
        Ok(Box::new(file) as Box<dyn SegmentFile>)
    })
}

fn default_opener() -> SegmentOpener {
    Box::new(|path: &Path| {
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        Ok(Box::new(file) as Box<dyn SegmentFile>)
    })
}

/// The file name of the segment starting at logical offset `start`: `entries.wls` for the
/// first, `entries-<start, 20 digits>.wls` after it.
pub fn segment_file_name(start: u64) -> String {
    if start == 0 {
        ENTRIES_FILE.to_owned()
    } else {
        format!("entries-{start:020}.wls")
    }
}

/// The start offset a segment file's name gives (0 for [`ENTRIES_FILE`]); `None` for a name
/// no segment has. The caller keeps only starts above 0: the first segment is always
/// [`ENTRIES_FILE`], so a stray `entries-000…0.wls` is not a second one.
fn segment_start(name: &str) -> Option<u64> {
    if name == ENTRIES_FILE {
        return Some(0);
    }
    let digits = name.strip_prefix("entries-")?.strip_suffix(".wls")?;
    if digits.len() != 20 {
        return None;
    }
    digits.parse().ok()
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LedgerError::io(dir, "fsync directory", e))
}

/// Whether `dir` holds a whyline ledger (its first segment, [`ENTRIES_FILE`]).
pub fn is_ledger_dir(dir: &Path) -> bool {
    dir.join(ENTRIES_FILE).is_file()
}

/// [`LedgerError::NotALedger`] unless `dir` holds a whyline ledger, saying whether the
/// directory is missing or holds no entry log. Creates nothing.
pub(crate) fn check_ledger_dir(dir: &Path) -> Result<()> {
    if is_ledger_dir(dir) {
        return Ok(());
    }
    let reason = if dir.exists() {
        NotALedgerReason::NoEntryLog
    } else {
        NotALedgerReason::Missing
    };
    Err(LedgerError::NotALedger {
        path: dir.to_path_buf(),
        reason,
    })
}

impl SegmentStore {
    /// Opens (creating if needed) the ledger directory `dir` with default settings.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, SegmentOptions::default(), default_opener())
    }

    /// Opens the existing ledger in `dir`, never creating anything: a missing directory or
    /// one without an entry log is [`LedgerError::NotALedger`]. Opening changes no byte;
    /// read it with [`verify_store`](crate::verify_store) or a
    /// [`LedgerReader`](crate::LedgerReader), or hand it to
    /// [`Ledger::open`](crate::Ledger::open) to recover and append.
    pub fn open_existing(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        check_ledger_dir(dir)?;
        Self::open(dir)
    }

    /// Opens the existing ledger in `dir` for reading only, as [`open_existing`](Self::open_existing)
    /// does but with every file opened read-only: it works on a read-only file system (a
    /// write-protected evidence copy, a file system the kernel remounted read-only after an
    /// error) and on files the reader may not write. Every write (append, sync of new bytes,
    /// truncation, side files) is refused with [`LedgerError::ReadOnly`]. What
    /// [`verify_store`](crate::verify_store), a [`LedgerReader`](crate::LedgerReader) and the
    /// investigation commands need.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        check_ledger_dir(dir)?;
        let mut store = Self::open_with(dir, SegmentOptions::default(), read_only_opener())?;
        store.read_only = true;
        Ok(store)
    }

    /// Opens (creating if needed) the ledger directory `dir` with these settings.
    pub fn open_with_options(dir: impl AsRef<Path>, options: SegmentOptions) -> Result<Self> {
        Self::open_with(dir, options, default_opener())
    }

    /// Opens the ledger directory `dir`, opening segment files through `opener`.
    pub fn open_with(
        dir: impl AsRef<Path>,
        options: SegmentOptions,
        opener: SegmentOpener,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        if options.segment_bytes == 0 {
            return Err(LedgerError::InvalidSetting {
                setting: "segment_bytes",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        std::fs::create_dir_all(&dir).map_err(|e| LedgerError::io(&dir, "create directory", e))?;
        let entries_path = dir.join(ENTRIES_FILE);
        let mut starts = vec![0u64];
        let listing =
            std::fs::read_dir(&dir).map_err(|e| LedgerError::io(&dir, "list directory", e))?;
        for item in listing {
            let item = item.map_err(|e| LedgerError::io(&dir, "list directory", e))?;
            if let Some(start) = item.file_name().to_str().and_then(segment_start)
                && start > 0
            {
                starts.push(start);
            }
        }
        starts.sort_unstable();
        let mut segments = Vec::with_capacity(starts.len());
        for start in starts {
            let path = dir.join(segment_file_name(start));
            let file = opener(&path).map_err(|e| LedgerError::io(&path, "open", e))?;
            let len = file
                .file_len()
                .map_err(|e| LedgerError::io(&path, "stat", e))?;
            if let Some(previous) = segments.last()
                && previous_end(previous) != start
            {
                // A segment is missing or was cut: the bytes between are gone.
                return Err(LedgerError::Corrupt {
                    path,
                    offset: previous_end(previous),
                    index: 0,
                    kind: crate::error::CorruptionKind::SegmentGap {
                        expected_start: previous_end(previous),
                        found_start: start,
                    },
                });
            }
            segments.push(Segment {
                start,
                path,
                file,
                sync: None,
                len,
            });
        }
        let written = segments.last().map_or(0, previous_end);
        Ok(Self {
            dir,
            entries_path,
            options,
            opener,
            segments,
            written,
            durable: written,
            pending: Vec::with_capacity(WRITE_BUFFER),
            failed: None,
            read_only: false,
        })
    }

    /// The ledger directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    fn check_writer(&self) -> Result<()> {
        if self.read_only {
            return Err(LedgerError::ReadOnly {
                path: self.dir.clone(),
            });
        }
        match self.failed {
            Some((operation, offset)) => Err(LedgerError::WriterFailed {
                path: self.entries_path.clone(),
                operation,
                offset,
            }),
            None => Ok(()),
        }
    }

    fn refuse_if_read_only(&self) -> Result<()> {
        match self.read_only {
            true => Err(LedgerError::ReadOnly {
                path: self.dir.clone(),
            }),
            false => Ok(()),
        }
    }

    fn fail(&mut self, operation: &'static str, path: &Path, error: std::io::Error) -> LedgerError {
        self.failed = Some((operation, self.durable));
        LedgerError::io(path, operation, error)
    }

    /// Writes the buffer to the last segment (no fsync).
    fn write_out(&mut self) -> Result<()> {
        if self.read_only {
            // Appends are refused, so nothing is ever pending: a sync has nothing to do.
            return Ok(());
        }
        self.check_writer()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let Some(last) = self.segments.last_mut() else {
            return Ok(());
        };
        if let Err(error) = last.file.append_all(&self.pending) {
            let path = last.path.clone();
            return Err(self.fail("write", &path, error));
        }
        last.len += self.pending.len() as u64;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Closes the current segment durably and starts the next one at the current end.
    fn roll(&mut self) -> Result<()> {
        self.sync()?;
        let start = self.len();
        let path = self.dir.join(segment_file_name(start));
        let file = match (self.opener)(&path) {
            Ok(file) => file,
            Err(error) => return Err(self.fail("open segment", &path, error)),
        };
        sync_dir(&self.dir)?;
        tracing::debug!(path = %path.display(), start, "segment roll");
        self.segments.push(Segment {
            start,
            path,
            file,
            sync: None,
            len: 0,
        });
        Ok(())
    }

    fn side_path(&self, side: Side) -> PathBuf {
        self.dir.join(match side {
            Side::Checkpoints => CHECKPOINTS_FILE,
            Side::TimeIndex => TIME_INDEX_FILE,
        })
    }
}

fn previous_end(segment: &Segment) -> u64 {
    segment.start + segment.len
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
        let current = self
            .segments
            .last()
            .map_or(0, |s| s.len + self.pending.len() as u64);
        if current >= self.options.segment_bytes {
            self.roll()?;
        }
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
        let Some(last) = self.segments.last_mut() else {
            return Ok(());
        };
        if let Err(error) = last.file.sync_data() {
            let path = last.path.clone();
            return Err(self.fail("fsync", &path, error));
        }
        self.durable = self.written;
        Ok(())
    }

    fn begin_sync(&mut self) -> Result<SyncTicket> {
        self.write_out()?;
        let len = self.written;
        if self.durable == len {
            return Ok(SyncTicket::done(len));
        }
        // Every segment but the last was synced when the next one started.
        let Some(last) = self.segments.last_mut() else {
            return Ok(SyncTicket::done(len));
        };
        let handle = match &last.sync {
            Some(handle) => Arc::clone(handle),
            None => match last.file.sync_handle() {
                Ok(handle) => {
                    last.sync = Some(Arc::clone(&handle));
                    handle
                }
                Err(error) => {
                    let path = last.path.clone();
                    return Err(self.fail("fsync", &path, error));
                }
            },
        };
        Ok(SyncTicket::new(len, handle, last.path.clone()))
    }

    fn finish_sync(&mut self, ticket: SyncTicket, synced: Result<()>) -> Result<()> {
        match synced {
            Ok(()) => {
                // Durable even if a later write failed meanwhile: those bytes came after.
                self.durable = self.durable.max(ticket.len());
                Ok(())
            }
            Err(error) => {
                if self.failed.is_none() {
                    self.failed = Some(("fsync", self.durable));
                }
                Err(error)
            }
        }
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
        // The part in the files, segment by segment, then the part still in the buffer.
        let in_files = usize::try_from(self.written.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let (mut head, tail) = buf.split_at_mut(in_files);
        let mut at = offset;
        for segment in &self.segments {
            if head.is_empty() {
                break;
            }
            let segment_end = previous_end(segment);
            if at >= segment_end {
                continue;
            }
            let take = usize::try_from(segment_end - at)
                .unwrap_or(usize::MAX)
                .min(head.len());
            let (part, rest) = head.split_at_mut(take);
            segment
                .file
                .read_exact_at(part, at - segment.start)
                .map_err(|e| LedgerError::io(&segment.path, "read", e))?;
            at += take as u64;
            head = rest;
        }
        if !head.is_empty() {
            return Err(eof());
        }
        if !tail.is_empty() {
            let from = usize::try_from(at - self.written).map_err(|_| eof())?;
            let source = self.pending.get(from..from + tail.len()).ok_or_else(eof)?;
            tail.copy_from_slice(source);
        }
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.check_writer()?;
        self.write_out()?;
        // Drop whole segments past the cut (never the first), then cut the last one.
        while self.segments.len() > 1 && self.segments.last().is_some_and(|s| s.start >= len) {
            if let Some(segment) = self.segments.pop()
                && let Err(error) = std::fs::remove_file(&segment.path)
            {
                return Err(self.fail("truncate", &segment.path, error));
            }
        }
        if let Some(last) = self.segments.last_mut() {
            let keep = len.saturating_sub(last.start).min(last.len);
            let result = last.file.set_len(keep).and_then(|()| last.file.sync_data());
            if let Err(error) = result {
                let path = last.path.clone();
                return Err(self.fail("truncate", &path, error));
            }
            last.len = keep;
        }
        sync_dir(&self.dir)?;
        self.written = self.segments.last().map_or(0, previous_end);
        self.durable = self.written;
        Ok(())
    }

    fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()> {
        self.refuse_if_read_only()?;
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
        self.refuse_if_read_only()?;
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
            && !self.read_only
            && let Err(error) = self.write_out()
        {
            tracing::warn!(path = %self.entries_path.display(), %error, "writing buffered frames on drop failed");
        }
    }
}
