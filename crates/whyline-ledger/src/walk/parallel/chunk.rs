//! Hashing one chunk of the parallel walk: its frames read and CRC-checked, then its hashes
//! a kind at a time through a multi-buffer SHA-256.

use std::cell::RefCell;

use crate::chain::FormatVersion;
use crate::frame::FRAME_HEADER_LEN;
use crate::merkle::{CompactRange, Hash, leaf_hashes};
use crate::time_index::{IndexBuilder, IndexRecord, payload_timestamp};
use crate::time_order::TimeOrder;

use super::CHUNK;

/// A run of up to [`CHUNK`] whole frames, read from the store into a buffer of its own.
pub(super) struct Chunk {
    pub(super) version: FormatVersion,
    /// Position of the chunk in the log: 0, 1, 2, ...
    pub(super) number: u64,
    pub(super) first_index: u64,
    /// Offset of the chunk's first frame in the log.
    pub(super) offset: u64,
    /// The chain hash stored in the frame before the chunk.
    pub(super) previous_chain: Hash,
    /// Holds the chunk's frames at `..len`; what follows is left over from earlier use (the
    /// buffer goes back to the cutter once the chunk is hashed, and is read into again).
    pub(super) buffer: Vec<u8>,
    pub(super) len: usize,
}

impl Chunk {
    /// The chunk's frames.
    pub(super) fn bytes(&self) -> Option<&[u8]> {
        self.buffer.get(..self.len)
    }

    /// Offset just past the chunk's last frame.
    pub(super) fn end_offset(&self) -> u64 {
        self.offset + self.len as u64
    }
}

/// What a chunk hashed to.
pub(super) struct Hashed {
    pub(super) range: CompactRange,
    pub(super) leaves: Option<Vec<Hash>>,
    /// At each tree size asked for inside the chunk: the chunk's part of the range, and of
    /// the time order.
    pub(super) snapshots: Vec<(u64, CompactRange, TimeOrder)>,
    pub(super) time_index: Vec<IndexRecord>,
    pub(super) index_builder: IndexBuilder,
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// One frame of a chunk, read and CRC-checked, waiting for its hashes.
pub(super) struct Frame<'a> {
    /// Offset of the frame in the chunk.
    at: usize,
    payload: &'a [u8],
    /// The chain hash stored after the payload.
    stored: Hash,
}

/// Checks every frame of a chunk; `None` at the first problem of any kind.
///
/// The chunk's hashes are independent of each other once the frames are read (a chain
/// link needs only the previous frame's *stored* chain hash, and the Merkle nodes of one
/// level only the level below), so they are computed a whole chunk at a time by a
/// multi-buffer SHA-256 ([`tape_sha256`]), which keeps four messages in flight through the
/// SHA-NI units where one message at a time leaves them waiting on each round's result:
/// the leaves, then the chain links, then each level of the chunk's subtree.
pub(super) fn hash_chunk(chunk: &Chunk, sizes: &[u64], keep_leaves: bool) -> Option<Hashed> {
    let frames = read_frames(chunk.bytes()?, chunk.first_index)?;
    let payloads: Vec<&[u8]> = frames.iter().map(|frame| frame.payload).collect();
    let mut leaves = Vec::new();
    leaf_hashes(&payloads, &mut leaves);
    check_chain(chunk, &frames, &leaves)?;
    let levels = subtree_levels(leaves);

    let mut snapshots = Vec::new();
    let mut time_index = Vec::new();
    let mut index_builder = IndexBuilder::default();
    let mut wanted = sizes
        .iter()
        .copied()
        .filter(|&s| s > chunk.first_index)
        .peekable();
    let mut index = chunk.first_index;
    for frame in &frames {
        let timestamp = payload_timestamp(frame.payload);
        if let Some(record) = index_builder.push(index, chunk.offset + frame.at as u64, timestamp) {
            time_index.push(record);
        }
        index += 1;
        if wanted.peek() == Some(&index) {
            let range = compact_range(&levels, index - chunk.first_index)?;
            snapshots.push((index, range, index_builder.order()));
            wanted.next();
        }
    }
    let range = compact_range(&levels, frames.len() as u64)?;
    let leaves = if keep_leaves {
        levels.into_iter().next()
    } else {
        None
    };
    Some(Hashed {
        range,
        leaves,
        snapshots,
        time_index,
        index_builder,
    })
}

/// Reads the chunk's frames, checking each one's index and both CRCs.
pub(super) fn read_frames(bytes: &[u8], first_index: u64) -> Option<Vec<Frame<'_>>> {
    let mut frames = Vec::with_capacity(CHUNK as usize);
    let mut at = 0usize;
    let mut index = first_index;
    while at < bytes.len() {
        let header = bytes.get(at..at + FRAME_HEADER_LEN)?;
        let length = u32_at(header, 0)? as usize;
        if u64_at(header, 4)? != index
            || crate::crc::crc32c(header.get(..12)?) != u32_at(header, 12)?
        {
            return None;
        }
        let body_start = at + FRAME_HEADER_LEN;
        let crc_at = body_start + length + 32;
        let body = bytes.get(body_start..crc_at)?;
        if crate::crc::crc32c(body) != u32_at(bytes, crc_at)? {
            return None;
        }
        let (payload, stored) = body.split_at(length);
        frames.push(Frame {
            at,
            payload,
            stored: stored.try_into().ok()?,
        });
        index += 1;
        at = crc_at + 4;
    }
    Some(frames)
}

thread_local! {
    /// The chain links' messages and hashes, kept from one chunk to the next (the threads
    /// that hash chunks live on: see `pool.rs`).
    static LINKS: RefCell<(Vec<[u8; 72]>, Vec<Hash>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Checks every frame's stored chain hash against its link to the previous stored one.
fn check_chain(chunk: &Chunk, frames: &[Frame<'_>], leaves: &[Hash]) -> Option<()> {
    let previous = std::iter::once(&chunk.previous_chain).chain(frames.iter().map(|f| &f.stored));
    let indices = chunk.first_index..;
    match chunk.version {
        FormatVersion::V2 => {
            // `index ‖ previous ‖ leaf`, as `chain::chain_hash` lays it out.
            LINKS
                .with_borrow_mut(|(messages, links)| {
                    messages.clear();
                    messages.extend(indices.zip(previous).zip(leaves).map(
                        |((index, previous), leaf)| {
                            let mut message = [0u8; 72];
                            message[..8].copy_from_slice(&index.to_le_bytes());
                            message[8..40].copy_from_slice(previous);
                            message[40..].copy_from_slice(leaf);
                            message
                        },
                    ));
                    let slices: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
                    links.clear();
                    links.resize(frames.len(), [0u8; 32]);
                    // The messages have no common prefix, but an empty one taken from a
                    // live buffer, not `&[]`: tape-sha256 compares every message's prefix
                    // with the first's, and glibc's EVEX `memcmp` does a masked load at the
                    // pointer even for zero bytes. At the dangling address of an empty
                    // literal AMD CPUs take a microcode assist for that load: 169 ns per
                    // 72-byte message instead of 30 on Zen 5, most of verify's time.
                    let empty = messages.first().map_or(&[][..], |m| &m[..0]);
                    tape_sha256::hash_many_prefixed(empty, &slices, links);
                    frames
                        .iter()
                        .zip(links.iter())
                        .all(|(frame, link)| frame.stored == *link)
                })
                .then_some(())
        }
        FormatVersion::V1 => indices
            .zip(previous)
            .zip(frames.iter().zip(leaves))
            .all(|((index, previous), (frame, leaf))| {
                chunk
                    .version
                    .chain_hash(index, previous, frame.payload, leaf)
                    == frame.stored
            })
            .then_some(()),
    }
}

/// The chunk's perfect subtrees level by level: `levels[0]` the leaves, `levels[l][i]`
/// the root of leaves `i·2^l .. (i+1)·2^l` (only the complete ones), each level hashed in
/// one multi-buffer call.
fn subtree_levels(leaves: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut levels = vec![leaves];
    while let Some(below) = levels.last().filter(|level| level.len() >= 2) {
        let left: Vec<&[u8]> = below.iter().step_by(2).map(|h| h.as_slice()).collect();
        let right: Vec<&[u8]> = below
            .iter()
            .skip(1)
            .step_by(2)
            .map(|h| h.as_slice())
            .collect();
        let mut nodes = vec![[0u8; 32]; right.len()];
        tape_sha256::hash_pairs(&[1], &left[..right.len()], &right, &mut nodes);
        levels.push(nodes);
    }
    levels
}

/// The compact range of the chunk's first `size` leaves, from the subtrees of `levels`: one
/// perfect subtree per set bit of `size`, largest first (no hashing).
fn compact_range(levels: &[Vec<Hash>], size: u64) -> Option<CompactRange> {
    let mut range = CompactRange::new();
    for level in (0..64u32).rev().filter(|&l| size >> l & 1 == 1) {
        let position = usize::try_from(range.size() >> level).ok()?;
        let root = *levels.get(level as usize)?.get(position)?;
        range.append_subtree(level, root)?;
    }
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    #[test]
    fn a_compact_range_from_the_levels_is_the_range_of_appending_the_leaves() {
        for count in 0..70u8 {
            let leaves: Vec<Hash> = (0..count).map(|i| leaf_hash(&[i, count])).collect();
            let levels = subtree_levels(leaves.clone());
            let mut appended = CompactRange::new();
            for size in 0..=u64::from(count) {
                assert_eq!(
                    compact_range(&levels, size),
                    Some(appended.clone()),
                    "{size}"
                );
                if let Some(leaf) = leaves.get(size as usize) {
                    appended.append(*leaf);
                }
            }
        }
    }
}
