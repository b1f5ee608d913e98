//! Cutting the log into chunks: walking frame headers and reading each chunk's bytes into a
//! buffer that is used again and again.

use crate::chain::FormatVersion;
use crate::frame::{FRAME_OVERHEAD, MAX_PAYLOAD};
use crate::merkle::Hash;
use crate::store::Store;

use super::CHUNK;
use super::chunk::{Chunk, u32_at};

/// Read past the estimated end of a chunk, so that a chunk of frames a little longer than
/// the mean still needs one read.
const READ_MARGIN: usize = 16 << 10;

/// The first read of a log, before any frame length is known.
const FIRST_READ: usize = 64 << 10;

/// What [`Cutter::cut`] found.
pub(super) enum Cut {
    /// The next chunk.
    Chunk(Chunk),
    /// The end of the log, on a frame boundary.
    End,
    /// Something is wrong: a frame length out of range, or past the end of the log, or
    /// the store failed to read. The sequential walk will name it.
    Refused,
}

/// Walks frame headers and cuts the log into chunks of [`CHUNK`] frames, each read into
/// its own buffer (the buffer handed in: the one the calling thread hashed its last chunk
/// from, so each thread keeps reusing one buffer and no slab is allocated, zero-filled or
/// copied per chunk). Bytes read past a chunk's end are carried over to the next one.
pub(super) struct Cutter<'s, S: ?Sized> {
    store: &'s S,
    version: FormatVersion,
    end: u64,
    /// Offset of the log's first frame.
    first: u64,
    /// Offset of the next frame to cut.
    pub(super) position: u64,
    /// Index of the next frame.
    pub(super) index: u64,
    /// The chain hash stored in the last frame cut.
    pub(super) previous: Hash,
    /// Chunks cut so far.
    pub(super) chunks: u64,
    /// Bytes already read from `position` on.
    carry: Vec<u8>,
}

impl<'s, S: Store + ?Sized> Cutter<'s, S> {
    /// A cutter at the first frame of the log, which starts at `position`.
    pub(super) fn new(store: &'s S, version: FormatVersion, position: u64, previous: Hash) -> Self {
        Self {
            store,
            version,
            end: store.len(),
            first: position,
            position,
            index: 0,
            previous,
            chunks: 0,
            carry: Vec::new(),
        }
    }

    /// Cuts the next chunk into `buffer` (of any length; it grows when it must).
    pub(super) fn cut(&mut self, buffer: Vec<u8>) -> Cut {
        if self.position >= self.end {
            return Cut::End;
        }
        match self.cut_into(buffer) {
            Some(chunk) => Cut::Chunk(chunk),
            None => Cut::Refused,
        }
    }

    fn cut_into(&mut self, mut buffer: Vec<u8>) -> Option<Chunk> {
        let start = self.position;
        let available = usize::try_from(self.end - start).ok()?;
        let mut filled = self.carry.len();
        if buffer.len() < filled {
            buffer.resize(filled, 0);
        }
        buffer.get_mut(..filled)?.copy_from_slice(&self.carry);
        let mut at = 0usize;
        let mut count = 0u64;
        let mut last_chain = self.previous;
        while count < CHUNK && at < available {
            let left = CHUNK - count;
            self.fill(&mut buffer, &mut filled, at + 4, at, count, left)?;
            let length = u32_at(&buffer, at)? as usize;
            if length == 0 || length > MAX_PAYLOAD {
                return None;
            }
            let total = FRAME_OVERHEAD + length;
            if at + total > available {
                return None;
            }
            self.fill(&mut buffer, &mut filled, at + total, at, count, left)?;
            let chain_at = at + total - 36;
            last_chain = buffer.get(chain_at..chain_at + 32)?.try_into().ok()?;
            at += total;
            count += 1;
        }
        self.carry.clear();
        self.carry.extend_from_slice(buffer.get(at..filled)?);
        let chunk = Chunk {
            version: self.version,
            number: self.chunks,
            first_index: self.index,
            offset: start,
            previous_chain: self.previous,
            buffer,
            len: at,
        };
        self.position += at as u64;
        self.index += count;
        self.previous = last_chain;
        self.chunks += 1;
        Some(chunk)
    }

    /// Makes `buffer[..need]` hold the log's bytes from the chunk's start on, reading from
    /// `filled` on when it does not yet: as far as the chunk's `left` more frames should
    /// reach at the mean frame length so far (the chunk's first `count` frames take its
    /// first `at` bytes), so that a chunk usually takes one read and carries little over.
    fn fill(
        &self,
        buffer: &mut Vec<u8>,
        filled: &mut usize,
        need: usize,
        at: usize,
        count: u64,
        left: u64,
    ) -> Option<()> {
        if need <= *filled {
            return Some(());
        }
        let available = usize::try_from(self.end - self.position).ok()?;
        let frames = self.index + count;
        let estimate = match frames {
            0 => FIRST_READ,
            _ => {
                let mean = (self.position - self.first + at as u64) / frames;
                usize::try_from(left.checked_mul(mean)?).ok()? + READ_MARGIN
            }
        };
        let want = need.max(at + estimate).min(available);
        if need > want {
            return None;
        }
        if buffer.len() < want {
            buffer.resize(want, 0);
        }
        self.store
            .read_at(
                self.position + *filled as u64,
                buffer.get_mut(*filled..want)?,
            )
            .ok()?;
        *filled = want;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::path::Path;

    use super::*;
    use crate::Ledger;
    use crate::chain::GENESIS_CHAIN_HASH;
    use crate::error::Result;
    use crate::frame::FILE_HEADER_LEN;
    use crate::store::{MemoryStore, Side};
    use crate::store_conformance::{options, payload};

    /// A memory store that counts the reads of its entry log.
    struct CountingReads {
        inner: MemoryStore,
        reads: Cell<u64>,
    }

    impl Store for CountingReads {
        fn location(&self) -> &Path {
            self.inner.location()
        }
        fn len(&self) -> u64 {
            self.inner.len()
        }
        fn append(&mut self, bytes: &[u8]) -> Result<u64> {
            self.inner.append(bytes)
        }
        fn sync(&mut self) -> Result<()> {
            self.inner.sync()
        }
        fn durable_len(&self) -> u64 {
            self.inner.durable_len()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
            self.reads.set(self.reads.get() + 1);
            self.inner.read_at(offset, buf)
        }
        fn truncate(&mut self, len: u64) -> Result<()> {
            self.inner.truncate(len)
        }
        fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()> {
            self.inner.append_side(side, bytes, durable)
        }
        fn read_side(&self, side: Side) -> Result<Vec<u8>> {
            self.inner.read_side(side)
        }
        fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
            self.inner.truncate_side(side, len)
        }
    }

    /// Frames of near-equal length: each chunk is read in one read, sized by the mean frame
    /// so far plus a margin for frames a little longer (the first chunk's first read is a
    /// fixed 64 KiB, then sized by its first frames). Without the margin, or with a first
    /// read too small, one chunk here takes a second read.
    #[test]
    fn a_log_of_even_frames_is_cut_in_one_read_a_chunk() {
        let (mut ledger, _) =
            Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
        let entries = 5 * CHUNK + 100;
        for i in 0..entries {
            ledger.append(&payload(i)).unwrap();
        }
        let store = CountingReads {
            inner: ledger.into_store().unwrap(),
            reads: Cell::new(0),
        };
        let mut cutter = Cutter::new(
            &store,
            FormatVersion::V2,
            FILE_HEADER_LEN as u64,
            GENESIS_CHAIN_HASH,
        );
        let mut frames = 0;
        loop {
            match cutter.cut(Vec::new()) {
                Cut::Chunk(chunk) => {
                    assert_eq!(chunk.first_index, frames);
                    frames += CHUNK.min(entries - frames);
                }
                Cut::End => break,
                Cut::Refused => panic!("an intact log refused"),
            }
        }
        assert_eq!((frames, cutter.index, cutter.chunks), (entries, entries, 6));
        assert_eq!(cutter.position, store.len());
        let reads = store.reads.get();
        assert_eq!(reads, 6, "one read a chunk");
    }
}
