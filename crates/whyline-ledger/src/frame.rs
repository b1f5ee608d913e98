//! The framing of entries in the entry log, and a buffered cursor that walks frames and tells
//! a torn tail (a crash mid-write) from damage in the middle.
//!
//! ```text
//! file header (16 bytes, once)
//!  0  8  magic "WLEDGER\0"
//!  8  4  format version u32 LE (2 for new logs; 1 still read: see `chain.rs`)
//! 12  4  reserved, 0 (a reader rejects anything else)
//!
//! frame (52 + n bytes)
//!  0  4  payload length n u32 LE (1 ..= 16 MiB)
//!  4  8  index u64 LE (0, 1, 2, ... in file order)
//! 12  4  header CRC32C of bytes 0..12
//! 16  n  payload: the entry's APRT record
//! 16+n 32 chain hash (v2: SHA-256(index LE ‖ previous chain hash ‖ leaf hash))
//! 48+n 4  body CRC32C of bytes 16..48+n
//! ```
//!
//! The header has its own checksum so that a damaged length can never make the rest of the
//! file look like a torn tail: only a header that is whole and correct is trusted to say
//! where the frame ends.

use std::ops::Range;

use crate::chain::FormatVersion;
use crate::error::{CorruptionKind, LedgerError, Result};
use crate::merkle::Hash;
use crate::store::Store;

/// What a [`Cursor`] reads frames from: every [`Store`], and the read-only view of a
/// directory another process writes (`tail.rs`).
pub(crate) trait FrameSource {
    /// Where the entry log lives, for errors.
    fn location(&self) -> &std::path::Path;
    /// Bytes readable now.
    fn len(&self) -> u64;
    /// Fills `buf` from `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()>;
}

impl<S: Store + ?Sized> FrameSource for S {
    fn location(&self) -> &std::path::Path {
        Store::location(self)
    }

    fn len(&self) -> u64 {
        Store::len(self)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        Store::read_at(self, offset, buf)
    }
}

/// The magic that opens an entry log.
pub(crate) const FILE_MAGIC: [u8; 8] = *b"WLEDGER\0";
/// Bytes of the file header.
pub(crate) const FILE_HEADER_LEN: usize = 16;
/// Bytes of a frame header.
pub(crate) const FRAME_HEADER_LEN: usize = 16;
/// Bytes a frame adds around its payload.
pub const FRAME_OVERHEAD: usize = FRAME_HEADER_LEN + 32 + 4;
/// The largest payload a frame holds.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// The file header bytes of a log of this version.
pub(crate) fn file_header(version: FormatVersion) -> [u8; FILE_HEADER_LEN] {
    let mut out = [0u8; FILE_HEADER_LEN];
    out[..8].copy_from_slice(&FILE_MAGIC);
    out[8..12].copy_from_slice(&version.as_u32().to_le_bytes());
    out
}

/// The version a whole file header names; `None` when any byte is wrong (magic, an unknown
/// version, a reserved byte not zero).
pub(crate) fn header_version(header: &[u8]) -> Option<FormatVersion> {
    let version = FormatVersion::from_u32(u32_at(header, 8)?)?;
    (header == file_header(version)).then_some(version)
}

/// Appends one frame to `out`.
pub(crate) fn encode_frame(out: &mut Vec<u8>, index: u64, payload: &[u8], chain: &Hash) {
    let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let start = out.len();
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    let header_crc = crate::crc::crc32c(&out[start..start + 12]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    let body_start = out.len();
    out.extend_from_slice(payload);
    out.extend_from_slice(chain);
    let body_crc = crate::crc::crc32c(&out[body_start..]);
    out.extend_from_slice(&body_crc.to_le_bytes());
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let field: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(field))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let field: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(field))
}

/// One whole, checksum-correct frame found by the [`Cursor`].
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    /// Byte offset of the frame in the entry log.
    pub(crate) offset: u64,
    /// Total bytes of the frame.
    pub(crate) len: u64,
    /// The index the frame claims.
    pub(crate) index: u64,
    /// The stored chain hash.
    pub(crate) chain: Hash,
    /// Where the payload sits in the cursor's buffer (valid until the next read).
    pub(crate) payload: Range<usize>,
}

/// What the cursor found at its position.
#[derive(Debug)]
pub(crate) enum Next {
    /// The end of the log, exactly at a frame boundary.
    End,
    /// A whole frame.
    Frame(Frame),
    /// The log ends inside a frame (or in zeros a crash left): a torn tail.
    Torn {
        /// Where the torn frame starts.
        offset: u64,
        /// Bytes from there to the end.
        bytes: u64,
        /// Whether the frame is all there (its header checks and its length fits) and only
        /// its body checksum fails: a crash that persisted the length before the data, or a
        /// change to the last entry, which nothing tells apart. Otherwise (a frame cut
        /// short, zeros) only a crash leaves it.
        whole_frame: bool,
    },
    /// A frame in the middle is damaged.
    Damaged {
        /// Where the damaged frame starts.
        offset: u64,
        /// [`CorruptionKind::BadFrame`] or [`CorruptionKind::ContentChanged`].
        kind: CorruptionKind,
    },
}

/// Walks the frames of a store's entry log through a large read buffer.
pub(crate) struct Cursor<'s, S: FrameSource + ?Sized> {
    store: &'s S,
    end: u64,
    position: u64,
    buffer: Vec<u8>,
    buffer_start: u64,
    version: FormatVersion,
    /// Bytes read at once when the buffer runs out.
    read_ahead: usize,
    /// Whether each frame's body CRC is checked (always, but for a log just verified).
    check_bodies: bool,
}

const READ_CHUNK: usize = 1 << 20;

/// The page size whose loss a crash can leave as zeros in the middle of an unsynced tail.
const PAGE: u64 = 4096;

impl<'s, S: FrameSource + ?Sized> Cursor<'s, S> {
    /// A cursor over `store`, checking the file header first.
    pub(crate) fn new(store: &'s S) -> Result<Self> {
        let end = store.len();
        let mut cursor = Cursor {
            store,
            end,
            position: 0,
            buffer: Vec::new(),
            buffer_start: 0,
            version: FormatVersion::CURRENT,
            read_ahead: READ_CHUNK,
            check_bodies: true,
        };
        if end == 0 {
            return Ok(cursor);
        }
        // Read on its own, not through the 1 MiB read-ahead: a cursor that seeks elsewhere
        // (a reader jumping to an indexed block) would otherwise read a chunk it never uses.
        let mut header = [0u8; FILE_HEADER_LEN];
        let whole = end >= FILE_HEADER_LEN as u64;
        if whole {
            store.read_at(0, &mut header)?;
        }
        // Every header byte is checked, the reserved ones too: a change anywhere is seen.
        let version = header_version(&header).filter(|_| whole);
        let Some(version) = version else {
            return Err(LedgerError::Corrupt {
                path: store.location().to_path_buf(),
                offset: 0,
                index: 0,
                kind: CorruptionKind::BadHeader,
            });
        };
        cursor.version = version;
        cursor.position = FILE_HEADER_LEN as u64;
        Ok(cursor)
    }

    /// Reads `bytes` at a time instead of 1 MiB: for a reader of a few frames (a tile), whose
    /// read-ahead would otherwise cost more than the frames.
    pub(crate) fn with_read_ahead(mut self, bytes: usize) -> Self {
        self.read_ahead = bytes.max(FRAME_HEADER_LEN);
        self
    }

    /// Does not check the frames' body CRCs (see
    /// [`LedgerReader::for_each_entry_of_verified_log`](crate::LedgerReader::for_each_entry_of_verified_log)).
    pub(crate) fn without_body_crcs(mut self) -> Self {
        self.check_bodies = false;
        self
    }

    /// The log's format version (from its header; the current one for an empty log).
    pub(crate) fn version(&self) -> FormatVersion {
        self.version
    }

    /// The byte offset of the next frame.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Bytes `[offset, offset + len)` from the buffer, refilling it if needed; `None` when
    /// they run past the end of the log.
    fn window(&mut self, offset: u64, len: usize) -> Result<Option<&[u8]>> {
        let Some(stop) = offset.checked_add(len as u64) else {
            return Ok(None);
        };
        if stop > self.end {
            return Ok(None);
        }
        let buffer_end = self.buffer_start + self.buffer.len() as u64;
        if offset < self.buffer_start || stop > buffer_end {
            let want = usize::try_from(self.end - offset)
                .unwrap_or(usize::MAX)
                .min(len.max(self.read_ahead));
            self.buffer.resize(want, 0);
            self.store.read_at(offset, &mut self.buffer)?;
            self.buffer_start = offset;
        }
        let from = usize::try_from(offset - self.buffer_start).unwrap_or(usize::MAX);
        Ok(self.buffer.get(from..from.saturating_add(len)))
    }

    /// The payload bytes of a frame returned by the last call to [`Cursor::next`].
    pub(crate) fn payload(&self, frame: &Frame) -> &[u8] {
        self.buffer.get(frame.payload.clone()).unwrap_or(&[])
    }

    /// Whether everything from `offset` to the end is zero bytes (what a crash can leave
    /// after extending a file).
    fn zeros_to_end(&mut self, offset: u64) -> Result<bool> {
        let mut at = offset;
        while at < self.end {
            let len = usize::try_from(self.end - at)
                .unwrap_or(READ_CHUNK)
                .min(READ_CHUNK);
            let Some(bytes) = self.window(at, len)? else {
                return Ok(false);
            };
            if bytes.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            at += len as u64;
        }
        Ok(true)
    }

    /// Whether the bad frame spanning `[offset, span_end)` shows the mark of a page the
    /// operating system never wrote back before a crash: appended pages reach the disk in
    /// any order, and one that did not reads as zeros (a new block, or the zeroed tail of
    /// the page that held the old end of file). So: the bytes from `offset` to the next
    /// 4 KiB boundary are all zero (the page holding the last durable byte, lost past it),
    /// or a whole 4 KiB-aligned page overlapping the frame is (the last one may be cut short
    /// by the end of the file). A change made by hand (a bit
    /// flip, an edited byte) leaves neither; a frame whose payload legitimately holds an
    /// aligned 4 KiB run of zeros would have passed its checksum and never gets here.
    /// Everything after such a page was appended after it, so no sync covered it: it is
    /// crash residue, cut on open like a torn tail (docs/reliability.md).
    fn lost_page_within(&mut self, offset: u64, span_end: u64) -> Result<bool> {
        let span_end = span_end.min(self.end);
        let first_boundary = (offset / PAGE + 1) * PAGE;
        if first_boundary <= self.end && self.all_zero(offset, first_boundary)? {
            return Ok(true);
        }
        let mut page = first_boundary;
        // The last page may be cut short by the end of the file.
        while page < span_end {
            if self.all_zero(page, (page + PAGE).min(self.end))? {
                return Ok(true);
            }
            page += PAGE;
        }
        Ok(false)
    }

    /// Whether `[from, to)` (inside the log) is all zero bytes.
    fn all_zero(&mut self, from: u64, to: u64) -> Result<bool> {
        let len = usize::try_from(to - from).unwrap_or(usize::MAX);
        Ok(self
            .window(from, len)?
            .is_some_and(|bytes| bytes.iter().all(|&b| b == 0)))
    }

    /// Reads the frame at the cursor and advances past it when it is whole.
    pub(crate) fn next(&mut self) -> Result<Next> {
        let offset = self.position;
        if offset >= self.end {
            return Ok(Next::End);
        }
        let torn = Next::Torn {
            offset,
            bytes: self.end - offset,
            whole_frame: false,
        };
        let Some(header) = self.window(offset, FRAME_HEADER_LEN)? else {
            return Ok(torn);
        };
        let (Some(length), Some(index), Some(crc)) =
            (u32_at(header, 0), u64_at(header, 4), u32_at(header, 12))
        else {
            return Ok(torn);
        };
        let header_ok = header
            .get(..12)
            .is_some_and(|bytes| crate::crc::crc32c(bytes) == crc);
        let length = length as usize;
        if !header_ok || length == 0 || length > MAX_PAYLOAD {
            if self.zeros_to_end(offset)?
                || self.lost_page_within(offset, offset + FRAME_HEADER_LEN as u64)?
            {
                return Ok(torn);
            }
            return Ok(Next::Damaged {
                offset,
                kind: CorruptionKind::BadFrame,
            });
        }
        let total = FRAME_OVERHEAD + length;
        let buffer_start = {
            let Some(_) = self.window(offset, total)? else {
                return Ok(torn);
            };
            self.buffer_start
        };
        let from = usize::try_from(offset - buffer_start).unwrap_or(usize::MAX);
        let body = from + FRAME_HEADER_LEN;
        let chain_at = body + length;
        let crc_at = chain_at + 32;
        let body_ok = match (self.buffer.get(body..crc_at), u32_at(&self.buffer, crc_at)) {
            (Some(bytes), Some(stored)) => {
                !self.check_bodies || crate::crc::crc32c(bytes) == stored
            }
            _ => false,
        };
        let chain: Option<Hash> = self
            .buffer
            .get(chain_at..crc_at)
            .and_then(|b| b.try_into().ok());
        let (true, Some(chain)) = (body_ok, chain) else {
            if offset + total as u64 == self.end {
                return Ok(Next::Torn {
                    offset,
                    bytes: self.end - offset,
                    whole_frame: true,
                });
            }
            if self.lost_page_within(offset, offset + total as u64)? {
                return Ok(torn);
            }
            return Ok(Next::Damaged {
                offset,
                kind: CorruptionKind::ContentChanged,
            });
        };
        self.position = offset + total as u64;
        Ok(Next::Frame(Frame {
            offset,
            len: total as u64,
            index,
            chain,
            payload: body..chain_at,
        }))
    }

    /// Moves the cursor to `offset` (a frame boundary found earlier).
    pub(crate) fn seek(&mut self, offset: u64) {
        self.position = offset;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    /// A log of frames with these payloads; returns its bytes and each frame's offset.
    fn log_of(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<usize>) {
        let mut bytes = file_header(FormatVersion::V2).to_vec();
        let mut offsets = Vec::new();
        for (index, payload) in payloads.iter().enumerate() {
            offsets.push(bytes.len());
            encode_frame(&mut bytes, index as u64, payload, &[index as u8; 32]);
        }
        (bytes, offsets)
    }

    /// What the cursor finds after reading every frame it can.
    fn walk(bytes: Vec<u8>) -> (usize, Next) {
        let store = MemoryStore::from_bytes(bytes, Vec::new());
        let mut cursor = Cursor::new(&store).unwrap();
        let mut frames = 0;
        loop {
            match cursor.next().unwrap() {
                Next::Frame(_) => frames += 1,
                other => return (frames, other),
            }
        }
    }

    fn damaged_at(found: (usize, Next)) -> (usize, u64, CorruptionKind) {
        match found {
            (frames, Next::Damaged { offset, kind }) => (frames, offset, kind),
            other => panic!("not damage: {other:?}"),
        }
    }

    fn torn_at(found: (usize, Next)) -> (usize, u64, u64, bool) {
        match found {
            (
                frames,
                Next::Torn {
                    offset,
                    bytes,
                    whole_frame,
                },
            ) => (frames, offset, bytes, whole_frame),
            other => panic!("not a torn tail: {other:?}"),
        }
    }

    /// A bit flipped in the header of a frame in the middle is damage, even when the page
    /// after the header is zeros (the frame's own payload) and the header's first byte is
    /// zero: only pages the header overlaps are taken for lost ones.
    #[test]
    fn a_flipped_header_bit_before_a_page_of_zeros_is_damage() {
        // The second frame's header ends exactly at the 4 KiB boundary; its payload of
        // 8,192 zero bytes (length 0x2000: first header byte 0) fills the pages after.
        let (mut bytes, offsets) = log_of(&[vec![0x55; 4012], vec![0; 8192], vec![0x55; 100]]);
        assert_eq!(offsets[1], 4080);
        bytes[4084] ^= 1;
        assert_eq!(damaged_at(walk(bytes)), (1, 4080, CorruptionKind::BadFrame));
    }

    /// A crash that lost the page holding the second half of a frame header (it reads as
    /// zeros) left crash residue: a torn tail at that frame, though frames follow.
    #[test]
    fn a_header_cut_by_a_lost_page_is_a_torn_tail() {
        let (mut bytes, offsets) = log_of(&[vec![0x55; 4022], vec![0x55; 8192], vec![0x55; 100]]);
        assert_eq!(offsets[1], 4090);
        bytes[4096..8192].fill(0);
        let (frames, offset, _, whole_frame) = torn_at(walk(bytes));
        assert_eq!((frames, offset, whole_frame), (1, 4090, false));
    }

    /// A lost page anywhere inside a long frame's body, not only its first page, is crash
    /// residue; a bit flipped in a frame's body is damage even when a later frame holds a
    /// page of zeros.
    #[test]
    fn a_lost_page_deep_in_a_frame_is_residue_and_a_flipped_bit_is_damage() {
        let (mut bytes, offsets) = log_of(&[vec![0x55; 4012], vec![0x55; 16384], vec![0x55; 100]]);
        assert_eq!(offsets[1], 4080);
        bytes[8192..12288].fill(0);
        let (frames, offset, _, whole_frame) = torn_at(walk(bytes));
        assert_eq!((frames, offset, whole_frame), (1, 4080, false));

        let (mut bytes, offsets) = log_of(&[vec![0x55; 1000], vec![0; 12000], vec![0x55; 100]]);
        bytes[offsets[0] + 500] ^= 1;
        assert_eq!(
            damaged_at(walk(bytes)),
            (0, 16, CorruptionKind::ContentChanged)
        );
    }

    /// A header whose checksum holds but whose length is 0 or past [`MAX_PAYLOAD`] is a bad
    /// frame; a payload of exactly `MAX_PAYLOAD` bytes is a frame.
    #[test]
    fn lengths_outside_one_to_max_payload_are_bad_frames() {
        for length in [0u32, MAX_PAYLOAD as u32 + 1] {
            let (mut bytes, offsets) = log_of(&[vec![0x55; 100], vec![0x55; 100]]);
            let at = offsets[1];
            bytes[at..at + 4].copy_from_slice(&length.to_le_bytes());
            let crc = crate::crc::crc32c(&bytes[at..at + 12]);
            bytes[at + 12..at + 16].copy_from_slice(&crc.to_le_bytes());
            assert_eq!(
                damaged_at(walk(bytes)),
                (1, at as u64, CorruptionKind::BadFrame),
                "length {length}"
            );
        }
        let (bytes, _) = log_of(&[vec![0x55; MAX_PAYLOAD], vec![0x55; 100]]);
        assert!(matches!(walk(bytes), (2, Next::End)));
    }

    /// The last frame whole but for its body checksum is a torn tail of exactly its bytes.
    #[test]
    fn a_last_frame_failing_only_its_body_checksum_is_a_whole_torn_frame() {
        let (mut bytes, offsets) = log_of(&[vec![0x55; 100], vec![0x55; 300]]);
        let end = bytes.len();
        bytes[offsets[1] + 40] ^= 1;
        assert_eq!(
            torn_at(walk(bytes)),
            (1, offsets[1] as u64, (end - offsets[1]) as u64, true)
        );
    }

    /// A cursor sent back to a frame it read before (as the readers' `seek` does) reads it
    /// again from the log, not from whatever its buffer holds now: with a read-ahead of one
    /// frame, every frame of a walk, then each one again after a seek back, in reverse.
    #[test]
    fn a_cursor_sent_back_reads_the_frame_there_again() {
        let payloads: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i + 1; 40 + i as usize]).collect();
        let (bytes, _) = log_of(&payloads);
        let store = MemoryStore::from_bytes(bytes, Vec::new());
        let mut cursor = Cursor::new(&store)
            .unwrap()
            .with_read_ahead(FRAME_OVERHEAD + 48);
        let mut offsets = Vec::new();
        while let Next::Frame(frame) = cursor.next().unwrap() {
            assert_eq!(cursor.payload(&frame)[0], frame.index as u8 + 1);
            offsets.push((frame.offset, frame.index));
        }
        assert_eq!(offsets.len(), 6);
        for &(offset, index) in offsets.iter().rev() {
            cursor.seek(offset);
            let Next::Frame(frame) = cursor.next().unwrap() else {
                panic!("no frame at {offset}");
            };
            assert_eq!((frame.offset, frame.index), (offset, index));
            assert_eq!(
                cursor.payload(&frame),
                vec![index as u8 + 1; 40 + index as usize]
            );
            assert_eq!(frame.chain, [index as u8; 32]);
        }
    }
}
