//! Following a ledger directory that another process is writing (`whyline top DIR`).
//!
//! [`LedgerTail`] reads the segment files as they are on disk, through its own read-only
//! handles: it never opens a [`Ledger`](crate::Ledger), takes no lock the writer holds and
//! changes no byte. Each [`read_new`](LedgerTail::read_new) re-reads the length of the last
//! segment (and lists the directory for segments started since), walks the frames from where
//! the last call stopped and lends each whole entry to the caller.
//!
//! The writer appends frames with plain `write` calls, so a reader may see the end of the log
//! inside a frame: the header written, the body not yet, or part of a buffer. That is not
//! damage. The read stops before the last whole entry's successor, reports how many bytes lie
//! past it ([`TailRead::pending_bytes`]) and starts there again next time, when the rest has
//! arrived. Only a frame that is damaged with more log after it ([`ReadStop`] with a kind
//! other than a torn tail) is reported as damage, exactly as [`LedgerReader`](crate::LedgerReader)
//! would; a tail that stays torn forever is what a crash left, and `whyline recover` (or the
//! writer's next open) cuts it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{LedgerError, Result};
use crate::frame::{Cursor, FILE_HEADER_LEN, FrameSource, Next};
use crate::reader::{EntryRef, ReadStop};
use crate::segment::{ENTRIES_FILE, TIME_INDEX_FILE, check_ledger_dir, segment_file_name};
use crate::time_index::INDEX_RECORD_LEN;

/// One segment file, opened read-only.
struct TailSegment {
    /// Logical offset of its first byte.
    start: u64,
    path: PathBuf,
    file: File,
    /// Its length when last looked at.
    len: u64,
}

/// The segment files as they are on disk now.
struct TailSegments {
    dir: PathBuf,
    entries_path: PathBuf,
    segments: Vec<TailSegment>,
}

impl TailSegments {
    fn open(dir: &Path) -> Result<Self> {
        let entries_path = dir.join(ENTRIES_FILE);
        let file =
            File::open(&entries_path).map_err(|e| LedgerError::io(&entries_path, "open", e))?;
        let mut segments = Self {
            dir: dir.to_path_buf(),
            entries_path: entries_path.clone(),
            segments: vec![TailSegment {
                start: 0,
                path: entries_path,
                file,
                len: 0,
            }],
        };
        segments.refresh()?;
        Ok(segments)
    }

    /// Re-reads the last segment's length, then opens the segments that start where the last
    /// one ends (a writer starts the next segment only once the current one is complete).
    fn refresh(&mut self) -> Result<()> {
        loop {
            let Some(last) = self.segments.last_mut() else {
                return Ok(());
            };
            last.len = last
                .file
                .metadata()
                .map_err(|e| LedgerError::io(&last.path, "stat", e))?
                .len();
            let next_start = last.start + last.len;
            let path = self.dir.join(segment_file_name(next_start));
            match File::open(&path) {
                Ok(file) => self.segments.push(TailSegment {
                    start: next_start,
                    path,
                    file,
                    len: 0,
                }),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(LedgerError::io(&path, "open", error)),
            }
        }
    }
}

impl FrameSource for TailSegments {
    fn location(&self) -> &Path {
        &self.entries_path
    }

    fn len(&self) -> u64 {
        self.segments.last().map_or(0, |s| s.start + s.len)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let mut at = offset;
        let mut rest = buf;
        for segment in &self.segments {
            if rest.is_empty() {
                break;
            }
            let end = segment.start + segment.len;
            if at >= end || at < segment.start {
                continue;
            }
            let take = usize::try_from(end - at)
                .unwrap_or(usize::MAX)
                .min(rest.len());
            let (part, after) = rest.split_at_mut(take);
            segment
                .file
                .read_exact_at(part, at - segment.start)
                .map_err(|e| LedgerError::io(&segment.path, "read", e))?;
            at += take as u64;
            rest = after;
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err(LedgerError::io(
                &self.entries_path,
                "read",
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ))
        }
    }
}

/// What one [`LedgerTail::read_new`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TailRead {
    /// Whole entries lent to the caller.
    pub entries: u64,
    /// Bytes past the last whole entry: a frame the writer is still writing (read again
    /// later), or what a crash left.
    pub pending_bytes: u64,
    /// Set when a damaged frame with more log after it stopped the read (not a torn tail):
    /// the read stays there.
    pub damaged: Option<ReadStop>,
    /// Set when the log is now shorter than where the tail had read to (it was cut or
    /// replaced); the value is its length. Nothing is read until it grows past it again.
    pub cut_to: Option<u64>,
}

/// Follows a ledger directory another process appends to. See the module docs.
pub struct LedgerTail {
    segments: TailSegments,
    /// Byte offset of the next frame to read (0: the file header is not read yet).
    position: u64,
    /// Index of the next entry.
    next_index: u64,
}

impl std::fmt::Debug for LedgerTail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerTail")
            .field("dir", &self.segments.dir)
            .field("position", &self.position)
            .field("next_index", &self.next_index)
            .finish()
    }
}

impl LedgerTail {
    /// Follows the ledger in `dir` from its first entry. A missing directory, or one without
    /// an entry log, is [`LedgerError::NotALedger`]; nothing is created.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        check_ledger_dir(dir)?;
        Ok(Self {
            segments: TailSegments::open(dir)?,
            position: 0,
            next_index: 0,
        })
    }

    /// Moves the tail to the start of the last block of the time index (so the next read
    /// returns the last 1,024 to 2,047 entries rather than the whole log) and returns the
    /// index it starts at. The index is derived data: a record is used only when the frame
    /// it points at carries its first index; otherwise the tail stays where it is and `None`
    /// is returned. Call it before the first [`read_new`](Self::read_new).
    pub fn skip_to_last_indexed_block(&mut self) -> Result<Option<u64>> {
        let path = self.segments.dir.join(TIME_INDEX_FILE);
        let side = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(LedgerError::io(&path, "read", error)),
        };
        let whole = side.len() / INDEX_RECORD_LEN * INDEX_RECORD_LEN;
        let Some(record) = side
            .get(..whole)
            .and_then(|s| s.chunks_exact(INDEX_RECORD_LEN).next_back())
        else {
            return Ok(None);
        };
        let word = |at: usize| {
            record
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes)
        };
        let (first_index, offset) = (word(0), word(8));
        self.segments.refresh()?;
        let mut cursor = Cursor::new(&self.segments)?;
        cursor.seek(offset);
        if matches!(cursor.next()?, Next::Frame(frame) if frame.index == first_index) {
            self.position = offset;
            self.next_index = first_index;
            return Ok(Some(first_index));
        }
        Ok(None)
    }

    /// Index of the next entry the tail will lend.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Bytes of the log read so far (the offset after the last whole entry lent).
    pub fn position(&self) -> u64 {
        self.position.max(FILE_HEADER_LEN as u64)
    }

    /// Lends every whole entry appended since the last call to `visit`, in log order, and
    /// says where it stopped. An error from `visit` stops the read (the entries before it
    /// count as read) and is returned.
    pub fn read_new<E: From<LedgerError>>(
        &mut self,
        mut visit: impl FnMut(EntryRef<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<TailRead, E> {
        self.segments.refresh()?;
        let mut read = TailRead::default();
        let end = self.segments.len();
        if end < self.position {
            read.cut_to = Some(end);
            return Ok(read);
        }
        if end < FILE_HEADER_LEN as u64 {
            // The writer has not finished the file header yet.
            read.pending_bytes = end;
            return Ok(read);
        }
        let mut cursor = Cursor::new(&self.segments)?;
        if self.position > 0 {
            cursor.seek(self.position);
        }
        loop {
            match cursor.next()? {
                Next::End => break,
                Next::Frame(frame) => {
                    visit(EntryRef {
                        index: frame.index,
                        offset: frame.offset,
                        payload: cursor.payload(&frame),
                        chain_hash: &frame.chain,
                    })?;
                    read.entries += 1;
                    self.position = frame.offset + frame.len;
                    self.next_index = frame.index + 1;
                }
                Next::Torn { bytes, .. } => {
                    read.pending_bytes = bytes;
                    break;
                }
                Next::Damaged { offset, kind } => {
                    read.damaged = Some(ReadStop { offset, kind });
                    break;
                }
            }
        }
        self.position = self.position.max(cursor.position());
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CorruptionKind;
    use crate::{Ledger, LedgerOptions, SegmentOptions, SegmentStore, Store};

    fn payload(i: u64) -> Vec<u8> {
        format!("entry {i}").into_bytes()
    }

    type Seen = Vec<(u64, Vec<u8>)>;

    fn collect(tail: &mut LedgerTail) -> Result<(Seen, TailRead)> {
        let mut seen = Vec::new();
        let read = tail.read_new(|entry| {
            seen.push((entry.index, entry.payload.to_vec()));
            Ok::<(), LedgerError>(())
        })?;
        Ok((seen, read))
    }

    #[test]
    fn entries_appended_while_tailing_are_read_once_each() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| LedgerError::io(Path::new("tmp"), "tempdir", e))?;
        let store = SegmentStore::open(dir.path())?;
        let (mut ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("t"))?;
        let mut tail = LedgerTail::open(dir.path())?;
        for i in 0..3 {
            ledger.append(&payload(i))?;
        }
        ledger.commit()?;
        let (seen, read) = collect(&mut tail)?;
        assert_eq!(seen.iter().map(|e| e.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(seen[2].1, payload(2));
        assert_eq!(read.pending_bytes, 0);
        let (seen, _) = collect(&mut tail)?;
        assert!(seen.is_empty(), "read again: {seen:?}");
        for i in 3..5 {
            ledger.append(&payload(i))?;
        }
        ledger.commit()?;
        let (seen, _) = collect(&mut tail)?;
        assert_eq!(seen.iter().map(|e| e.0).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(tail.next_index(), 5);
        Ok(())
    }

    #[test]
    fn a_half_written_frame_is_pending_not_damage_and_is_read_once_whole() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| LedgerError::io(Path::new("tmp"), "tempdir", e))?;
        {
            let store = SegmentStore::open(dir.path())?;
            let (mut ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("t"))?;
            for i in 0..3 {
                ledger.append(&payload(i))?;
            }
            ledger.commit()?;
        }
        let path = dir.path().join(ENTRIES_FILE);
        let whole = std::fs::read(&path).map_err(|e| LedgerError::io(&path, "read", e))?;
        // Cut the file inside the last frame at every byte: the tail reads two entries and
        // waits; once the rest is written it reads the third.
        let frame_len = (whole.len() - FILE_HEADER_LEN) / 3;
        for cut in (whole.len() - frame_len + 1)..whole.len() {
            std::fs::write(&path, &whole[..cut]).map_err(|e| LedgerError::io(&path, "write", e))?;
            let mut tail = LedgerTail::open(dir.path())?;
            let (seen, read) = collect(&mut tail)?;
            assert_eq!(seen.len(), 2, "cut at {cut}");
            assert_eq!(read.damaged, None, "cut at {cut}");
            assert_eq!(read.pending_bytes, (cut - (whole.len() - frame_len)) as u64);
            std::fs::write(&path, &whole).map_err(|e| LedgerError::io(&path, "write", e))?;
            let (seen, read) = collect(&mut tail)?;
            assert_eq!(
                seen.iter().map(|e| e.0).collect::<Vec<_>>(),
                [2],
                "cut at {cut}"
            );
            assert_eq!(read.pending_bytes, 0);
        }
        Ok(())
    }

    #[test]
    fn a_changed_frame_in_the_middle_is_damage() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| LedgerError::io(Path::new("tmp"), "tempdir", e))?;
        {
            let store = SegmentStore::open(dir.path())?;
            let (mut ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("t"))?;
            for i in 0..3 {
                ledger.append(&payload(i))?;
            }
            ledger.commit()?;
        }
        let path = dir.path().join(ENTRIES_FILE);
        let mut bytes = std::fs::read(&path).map_err(|e| LedgerError::io(&path, "read", e))?;
        let frame_len = (bytes.len() - FILE_HEADER_LEN) / 3;
        // A payload byte of the second entry.
        let at = FILE_HEADER_LEN + frame_len + 17;
        bytes[at] ^= 0xff;
        std::fs::write(&path, &bytes).map_err(|e| LedgerError::io(&path, "write", e))?;
        let mut tail = LedgerTail::open(dir.path())?;
        let (seen, read) = collect(&mut tail)?;
        assert_eq!(seen.len(), 1);
        assert!(
            matches!(
                read.damaged,
                Some(ReadStop {
                    kind: CorruptionKind::ContentChanged,
                    ..
                })
            ),
            "{read:?}"
        );
        Ok(())
    }

    #[test]
    fn the_tail_follows_into_new_segments_and_can_start_at_the_last_block() -> Result<()> {
        let dir =
            tempfile::tempdir().map_err(|e| LedgerError::io(Path::new("tmp"), "tempdir", e))?;
        let store = SegmentStore::open_with_options(
            dir.path(),
            SegmentOptions {
                segment_bytes: 4096,
            },
        )?;
        let (mut ledger, _) = Ledger::open(store, LedgerOptions::without_checkpoints("t"))?;
        let mut tail = LedgerTail::open(dir.path())?;
        let mut count = 0;
        for round in 0..3 {
            for i in 0..1000 {
                ledger.append(&payload(round * 1000 + i))?;
            }
            ledger.commit()?;
            let (seen, read) = collect(&mut tail)?;
            assert_eq!(read.damaged, None);
            count += seen.len();
            assert!(
                seen.iter()
                    .enumerate()
                    .all(|(i, e)| e.0 == (round * 1000) + i as u64)
            );
        }
        assert_eq!(count, 3000);
        assert!(Store::len(ledger.store()) > 3 * 4096);
        drop(ledger);
        let mut late = LedgerTail::open(dir.path())?;
        let start = late.skip_to_last_indexed_block()?;
        // Blocks 0..1024 and 1024..2048 are closed and indexed; 2048.. is still open.
        assert_eq!(start, Some(1024));
        let (seen, _) = collect(&mut late)?;
        assert_eq!(seen.first().map(|e| e.0), Some(1024));
        assert_eq!(seen.len(), 3000 - 1024);
        Ok(())
    }
}
