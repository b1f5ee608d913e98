//! The checkpoints file (`checkpoints.wlc`): one record per signed checkpoint.
//!
//! ```text
//! record (8 + m bytes, little-endian), appended and fsync'd one at a time
//!  0  4  note length m u32
//!  4  4  CRC32C of the note
//!  8  m  the signed note, UTF-8 (a C2SP tlog-checkpoint, see `checkpoint.rs`)
//! ```
//!
//! A record cut short at the end of the file is a torn tail (recovery cuts it), and so is a
//! last record with a page the operating system never wrote back ([`lost_page`]); a damaged
//! record in the middle is an error.

use std::path::Path;

use crate::checkpoint::Checkpoint;
use crate::error::{CorruptionKind, LedgerError, Result};

/// One stored checkpoint with its place in the checkpoints file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Byte offset of its record in the checkpoints file.
    pub offset: u64,
    /// The signed note.
    pub note: String,
    /// The checkpoint it holds (read without checking the signature).
    pub checkpoint: Checkpoint,
}

/// One checkpoint record: `u32 LE length ‖ u32 LE CRC32C(note) ‖ note`.
pub(crate) fn encode_checkpoint_record(note: &str) -> Vec<u8> {
    let bytes = note.as_bytes();
    let mut out = Vec::with_capacity(8 + bytes.len());
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(&crate::crc::crc32c(bytes).to_le_bytes());
    out.extend_from_slice(bytes);
    out
}

/// Reads the checkpoints side log. Returns the checkpoints and the length of the good
/// prefix; a damaged record at the very end is a torn tail (the caller may cut it), one in
/// the middle is an error.
pub(crate) fn read_checkpoints(
    bytes: &[u8],
    path: &Path,
) -> Result<(Vec<StoredCheckpoint>, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let header = bytes.get(at..at + 8).and_then(|h| {
            let len = u32::from_le_bytes(h.get(..4)?.try_into().ok()?) as usize;
            let crc = u32::from_le_bytes(h.get(4..8)?.try_into().ok()?);
            Some((len, crc))
        });
        // The writer never writes an empty note, so a length of 0 is no record (eight zero
        // bytes would otherwise pass: the CRC of nothing is 0).
        let record = header.filter(|&(len, _)| len > 0).and_then(|(len, crc)| {
            let note = bytes.get(at + 8..at + 8 + len)?;
            (crate::crc::crc32c(note) == crc).then_some((len, note))
        });
        let Some((len, note)) = record else {
            // Cut short, or zeros to the end (pages a crash lost after the file grew).
            let rest = bytes.get(at..).unwrap_or_default();
            let torn = header.is_none_or(|(len, _)| at + 8 + len >= bytes.len())
                || rest.iter().all(|&b| b == 0)
                || (lost_page(rest, at as u64) && !holds_a_whole_record(rest));
            if torn {
                return Ok((out, at));
            }
            return Err(LedgerError::Corrupt {
                path: path.to_path_buf(),
                offset: at as u64,
                index: out.len() as u64,
                kind: CorruptionKind::BadFrame,
            });
        };
        let bad = || LedgerError::Corrupt {
            path: path.to_path_buf(),
            offset: at as u64,
            index: out.len() as u64,
            kind: CorruptionKind::BadFrame,
        };
        let note = std::str::from_utf8(note).map_err(|_| bad())?.to_owned();
        let body_end = note.rfind("\n\n").ok_or_else(bad)?;
        let checkpoint = Checkpoint::from_body(note.get(..=body_end).ok_or_else(bad)?)?;
        out.push(StoredCheckpoint {
            offset: at as u64,
            note,
            checkpoint,
        });
        at += 8 + len;
    }
    Ok((out, at))
}

/// Whether `tail`, at byte `offset` of its file, shows a page the operating system never
/// wrote back before a crash, by the rule of the entry log's frame walker
/// (`FrameReader::lost_page_within`): zeros from its start to the next 4 KiB boundary (the
/// page that held the old end of the file), or a whole 4 KiB-aligned page of zeros inside
/// it (the last one may be cut short by the end of the file). A record's length and its
/// note (UTF-8 text) hold no such run, so a change made by hand to a whole last record
/// leaves none and stays damage.
pub(crate) fn lost_page(tail: &[u8], offset: u64) -> bool {
    const PAGE: u64 = 4096;
    let end = offset + tail.len() as u64;
    let zeros = |from: u64, to: u64| {
        let (Ok(from), Ok(to)) = (usize::try_from(from - offset), usize::try_from(to - offset))
        else {
            return false;
        };
        tail.get(from..to)
            .is_some_and(|bytes| bytes.iter().all(|&b| b == 0))
    };
    let boundary = (offset / PAGE + 1) * PAGE;
    if boundary <= end && zeros(offset, boundary) {
        return true;
    }
    let mut page = boundary;
    while page < end {
        if zeros(page, (page + PAGE).min(end)) {
            return true;
        }
        page += PAGE;
    }
    false
}

/// Whether a whole, checksum-correct checkpoint record starts anywhere after the first byte
/// of `tail`: a crash cuts one record short and leaves nothing after it, so a tail that
/// holds another record had a length changed in front of it (which would hide the records
/// after it as one long "cut" record).
pub(crate) fn holds_a_whole_record(tail: &[u8]) -> bool {
    (1..tail.len()).any(|at| {
        let Some(header) = tail.get(at..at + 8) else {
            return false;
        };
        let (Some(length), Some(crc)) = (
            header
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes),
            header
                .get(4..)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes),
        ) else {
            return false;
        };
        length > 0
            && tail
                .get(at + 8..at + 8 + length as usize)
                .is_some_and(|note| crate::crc::crc32c(note) == crc)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::NoteSigner;

    fn record(size: u64) -> Vec<u8> {
        let signer = NoteSigner::hmac("whyline.test", b"secret").unwrap();
        let note = Checkpoint {
            origin: "whyline.test/log".into(),
            size,
            root: [size as u8; 32],
        }
        .sign(&signer);
        encode_checkpoint_record(&note)
    }

    /// Three records, read back; the last cut at every length (a torn tail: the good prefix
    /// is the first two), and a damaged note in any record but the last (an error naming the
    /// record's offset and index), a damaged last one being a torn tail.
    #[test]
    fn a_cut_or_damaged_last_record_is_a_torn_tail_and_one_before_it_an_error() {
        let records = [record(1), record(2), record(3)];
        let bytes = records.concat();
        let path = Path::new("checkpoints");
        let (read, good) = read_checkpoints(&bytes, path).unwrap();
        assert_eq!(good, bytes.len());
        let sizes: Vec<u64> = read.iter().map(|c| c.checkpoint.size).collect();
        assert_eq!(sizes, [1, 2, 3]);
        let third = records[0].len() + records[1].len();
        assert_eq!(read[2].offset, third as u64);

        for cut in third..bytes.len() {
            let (read, good) = read_checkpoints(&bytes[..cut], path).unwrap();
            assert_eq!((read.len(), good), (2, third), "cut at {cut}");
        }
        // The first record alone, cut anywhere inside it: nothing good.
        for cut in 0..records[0].len() {
            let (read, good) = read_checkpoints(&records[0][..cut], path).unwrap();
            assert_eq!((read.len(), good), (0, 0), "cut at {cut}");
        }

        for (index, start) in [(0usize, 0usize), (1, records[0].len())] {
            let mut damaged = bytes.clone();
            damaged[start + 20] ^= 1;
            match read_checkpoints(&damaged, path) {
                Err(LedgerError::Corrupt {
                    offset,
                    index: at,
                    kind: CorruptionKind::BadFrame,
                    ..
                }) => assert_eq!((offset, at), (start as u64, index as u64)),
                other => panic!("record {index} damaged: {other:?}"),
            }
        }
        let mut damaged = bytes.clone();
        damaged[third + 20] ^= 1;
        let (read, good) = read_checkpoints(&damaged, path).unwrap();
        assert_eq!((read.len(), good), (2, third));
    }
}
