//! RFC 6962 / RFC 9162 Merkle tree hashing: pure math, no I/O.
//!
//! ```text
//! leaf hash  = SHA-256(0x00 ‖ entry bytes)                  RFC 9162 §2.1.1
//! node hash  = SHA-256(0x01 ‖ left ‖ right)
//! MTH({})    = SHA-256()                                    (the empty string)
//! MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
//! ```
//!
//! Three views of one tree:
//! - [`CompactRange`]: the O(log n) frontier (one hash per set bit of the size); appends in
//!   amortised O(1) hashes and gives the root in O(log n). The writer and the verifier keep
//!   only this.
//! - [`MerkleTree`]: every complete subtree, level by level (about 64 bytes per leaf); a
//!   [`HashReader`] for proofs.
//! - [`HashReader`]: the one read-only method the proof code needs, as azul's `tlog_core`
//!   reads stored hashes; [`subtree_hash`] builds any `MTH(D[start:end])` on top of it.

use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ bytes)`: the hash of one leaf (RFC 9162 §2.1.1).
#[inline]
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    sha256_parts(&[&[0u8], bytes])
}

/// [`leaf_hash`] of every payload, into `out` (cleared first): many payloads at once, by a
/// multi-buffer SHA-256 ([`tape_sha256`]) that keeps several messages in flight through the
/// CPU's SHA units (SHA-NI on x86-64, AVX2 lanes without it), about twice the rate of
/// hashing them one at a time here. No crate of the RustCrypto family hashes independent
/// messages side by side, and the workspace forbids the `unsafe` such a kernel needs.
/// Fewer than four payloads (one group of lanes) are hashed one at a time, which is as fast.
pub fn leaf_hashes(payloads: &[&[u8]], out: &mut Vec<Hash>) {
    out.clear();
    if payloads.len() < 4 {
        out.extend(payloads.iter().map(|payload| leaf_hash(payload)));
        return;
    }
    out.resize(payloads.len(), [0u8; 32]);
    tape_sha256::hash_many_prefixed(&[0], payloads, out);
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node (RFC 9162 §2.1.1).
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut blocks = [0u8; 128];
    blocks[0] = 1;
    blocks[1..33].copy_from_slice(left);
    blocks[33..65].copy_from_slice(right);
    sha256_two_blocks(blocks, 65)
}

/// SHA-256 of a 72-byte message (the version-2 chain link): two blocks.
#[inline]
pub(crate) fn sha256_72(message: &[u8; 72]) -> Hash {
    let mut blocks = [0u8; 128];
    blocks[..72].copy_from_slice(message);
    sha256_two_blocks(blocks, 72)
}

/// SHA-256 of the `len` (56..=119) bytes at the start of `blocks`, the rest zero: the
/// padding lands at fixed offsets and both blocks go to one compression call.
#[inline]
fn sha256_two_blocks(mut blocks: [u8; 128], len: usize) -> Hash {
    debug_assert!((56..=119).contains(&len));
    if let Some(marker) = blocks.get_mut(len) {
        *marker = 0x80;
    }
    blocks[120..].copy_from_slice(&((len as u64) * 8).to_be_bytes());
    let (first, second) = blocks.split_at(64);
    let mut pair = [[0u8; 64]; 2];
    pair[0].copy_from_slice(first);
    pair[1].copy_from_slice(second);
    compress_from_iv(&pair)
}

/// The SHA-256 digest of already padded blocks.
#[inline]
fn compress_from_iv(blocks: &[[u8; 64]]) -> Hash {
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, blocks);
    let mut out = [0u8; 32];
    for (dst, word) in out.chunks_exact_mut(4).zip(state) {
        dst.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Blocks a short message is padded into on the stack: messages up to 4·64 − 9 bytes.
const SHORT_BLOCKS: usize = 4;

/// SHA-256 of the concatenation of `parts`. A message that fits [`SHORT_BLOCKS`] blocks
/// with its padding is laid out on the stack and compressed in one call (no hasher state,
/// no buffering): the leaf of a typical record is such a message. Longer ones go through
/// the streaming hasher.
#[inline]
fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let blocks = (len + 9).div_ceil(64);
    if blocks > SHORT_BLOCKS {
        let mut hasher = Sha256::new();
        parts.iter().for_each(|part| hasher.update(part));
        return hasher.finalize().into();
    }
    let mut buffer = [[0u8; 64]; SHORT_BLOCKS];
    let bytes = buffer.as_flattened_mut();
    let mut at = 0;
    for part in parts {
        if let Some(dst) = bytes.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
    if let Some(marker) = bytes.get_mut(at) {
        *marker = 0x80;
    }
    let end = blocks * 64;
    if let Some(length) = bytes.get_mut(end - 8..end) {
        length.copy_from_slice(&((len as u64) * 8).to_be_bytes());
    }
    compress_from_iv(buffer.get(..blocks).unwrap_or(&[]))
}

/// `SHA-256()`: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly smaller than `n` (`n` ≥ 2): RFC 9162's split point `k`.
#[inline]
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[n])` over leaf hashes, by the recursive definition: the reference the faster
/// structures are tested against. O(n) hashes, O(log n) stack.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let k = usize::try_from(split_point(leaves.len() as u64)).unwrap_or(leaves.len() / 2);
            let (left, right) = leaves.split_at(k);
            node_hash(&root_from_leaf_hashes(left), &root_from_leaf_hashes(right))
        }
    }
}

/// Reads stored hashes of complete subtrees: the only access proof generation needs.
///
/// `node(level, index)` is the root of the perfect subtree over leaves
/// `[index·2^level, (index+1)·2^level)`; level 0 is the leaf hashes themselves.
pub trait HashReader {
    /// Number of leaves the reader holds.
    fn size(&self) -> u64;

    /// The hash of the complete subtree at `level`, `index`. Fails with
    /// [`LedgerError::OutOfRange`] when that subtree is not complete in this tree.
    fn node(&self, level: u32, index: u64) -> Result<Hash>;
}

/// `MTH(D[start:end])` through a [`HashReader`]: one read for an aligned power-of-two range,
/// otherwise split at RFC 9162's `k` and recurse (O(log n) reads for the ranges proofs ask).
pub fn subtree_hash<R: HashReader + ?Sized>(reader: &R, start: u64, end: u64) -> Result<Hash> {
    if end <= start || end > reader.size() {
        if start == end && end <= reader.size() {
            return Ok(empty_root());
        }
        return Err(LedgerError::OutOfRange {
            what: "range",
            index: start,
            size: end,
            available: reader.size(),
        });
    }
    let len = end - start;
    if len.is_power_of_two() && start.is_multiple_of(len) {
        let level = len.trailing_zeros();
        return reader.node(level, start >> level);
    }
    let k = if len.is_power_of_two() {
        len / 2
    } else {
        split_point(len)
    };
    let left = subtree_hash(reader, start, start + k)?;
    let right = subtree_hash(reader, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The frontier of a Merkle tree: the roots of its perfect subtrees, largest (leftmost) first,
/// one per set bit of the size. Enough to append and to compute the root, in O(log n) memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    peaks: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash: merges equal-sized peaks, one node hash per trailing one bit of
    /// the old size (amortised one hash per leaf).
    #[inline]
    pub fn append(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => hash = node_hash(&left, &hash),
                None => break,
            }
            size >>= 1;
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// [`append`](Self::append), calling `on_node(height, hash)` for each interior node the
    /// append completes (height 1 and up, bottom first): how the tile cache collects the
    /// subtree hashes of its upper tile levels without hashing anything twice.
    #[inline]
    pub(crate) fn append_observed(&mut self, leaf: Hash, mut on_node: impl FnMut(u32, &Hash)) {
        let mut hash = leaf;
        let mut size = self.size;
        let mut height = 0;
        while size & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => hash = node_hash(&left, &hash),
                None => break,
            }
            height += 1;
            on_node(height, &hash);
            size >>= 1;
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// Appends the root of a perfect subtree of `2^level` leaves; `None` (and no change)
    /// unless the size is a multiple of `2^level`, where such a subtree can sit.
    pub fn append_subtree(&mut self, level: u32, root: Hash) -> Option<()> {
        let width = 1u64.checked_shl(level)?;
        if !self.size.is_multiple_of(width) {
            return None;
        }
        let mut hash = root;
        let mut size = self.size >> level;
        while size & 1 == 1 {
            let left = self.peaks.pop()?;
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.peaks.push(hash);
        self.size = self.size.checked_add(width)?;
        Some(())
    }

    /// This tree followed by the leaves of `right` (a range that starts at this range's
    /// end); `None` when `right`'s subtrees cannot sit at this size (its largest subtree is
    /// wider than this size's alignment).
    pub fn concat(&self, right: &CompactRange) -> Option<CompactRange> {
        let mut out = self.clone();
        let mut levels = (0..64u32).rev().filter(|l| right.size >> l & 1 == 1);
        for peak in &right.peaks {
            out.append_subtree(levels.next()?, *peak)?;
        }
        Some(out)
    }

    /// `MTH` of everything appended: the peaks folded right to left.
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// Every complete subtree hash of a tree, level by level: `levels[l][i]` is
/// [`HashReader::node`]`(l, i)`. About 64 bytes per leaf.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of these leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.append(leaf);
        }
        tree
    }

    /// Appends one leaf hash, completing the subtrees it closes.
    pub fn append(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                return;
            };
            row.push(hash);
            if row.len() % 2 == 1 {
                return;
            }
            let (Some(right), Some(left)) = (row.last(), row.iter().rev().nth(1)) else {
                return;
            };
            hash = node_hash(left, right);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |row| row.len() as u64)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).unwrap_or_else(|_| empty_root())
    }

    /// The root the tree had when it held `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        subtree_hash(self, 0, size)
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Result<Hash> {
        self.node(0, index)
    }
}

impl HashReader for MerkleTree {
    fn size(&self) -> u64 {
        MerkleTree::size(self)
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let found = usize::try_from(level)
            .ok()
            .and_then(|l| self.levels.get(l))
            .and_then(|row| usize::try_from(index).ok().and_then(|i| row.get(i)));
        found.copied().ok_or(LedgerError::OutOfRange {
            what: "node",
            index,
            size: u64::from(level),
            available: self.size(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_hashes_of_many_payloads_are_sha256_of_each_one_prefixed() {
        // Every length across the block and padding edges, up to several blocks, and empty.
        let payloads: Vec<Vec<u8>> = (0..300usize)
            .map(|len| (0..len).map(|i| (i * 31 + len) as u8).collect())
            .collect();
        let slices: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let mut out = vec![[9u8; 32]; 3];
        let expected: Vec<Hash> = payloads
            .iter()
            .map(|p| {
                Sha256::new()
                    .chain_update([0u8])
                    .chain_update(p)
                    .finalize()
                    .into()
            })
            .collect();
        for count in [300, 5, 4, 3, 1] {
            leaf_hashes(&slices[..count], &mut out);
            assert_eq!(out, expected[..count], "{count}");
        }
        leaf_hashes(&[], &mut out);
        assert!(out.is_empty());
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn compact_range_and_tree_agree_with_the_recursive_definition() {
        let all = leaves(70);
        let mut range = CompactRange::new();
        let mut tree = MerkleTree::new();
        assert_eq!(range.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            range.append(*leaf);
            tree.append(*leaf);
            let expected = root_from_leaf_hashes(&all[..=i]);
            assert_eq!(range.root(), expected, "compact range at size {}", i + 1);
            assert_eq!(tree.root(), expected, "tree at size {}", i + 1);
        }
        for size in 0..=70u64 {
            assert_eq!(
                tree.root_at(size).unwrap(),
                root_from_leaf_hashes(&all[..size as usize])
            );
        }
    }

    #[test]
    fn concatenated_ranges_have_the_root_of_the_whole() {
        let all = leaves(100);
        for split in [0usize, 8, 16, 32, 64] {
            let mut left = CompactRange::new();
            all[..split].iter().for_each(|l| left.append(*l));
            for end in split..=100 {
                let mut right = CompactRange::new();
                all[split..end].iter().for_each(|l| right.append(*l));
                match left.concat(&right) {
                    Some(whole) => {
                        assert_eq!(whole.root(), root_from_leaf_hashes(&all[..end]));
                        assert_eq!(whole.size(), end as u64);
                    }
                    None => assert!(split > 0 && (end - split) > (split & split.wrapping_neg())),
                }
            }
        }
    }

    #[test]
    fn subtree_hash_outside_the_tree_is_out_of_range() {
        let tree = MerkleTree::from_leaf_hashes(leaves(5));
        // Past the end, backwards, and empty past the end.
        for (start, end) in [(0, 6), (4, 2), (6, 6)] {
            let error = subtree_hash(&tree, start, end).unwrap_err();
            assert!(
                matches!(error, LedgerError::OutOfRange { available: 5, .. }),
                "[{start}, {end}): {error:?}"
            );
        }
        // An empty range inside the tree or at its end is the empty tree's root.
        for at in [0, 3, 5] {
            assert_eq!(subtree_hash(&tree, at, at).unwrap(), empty_root());
        }
    }

    /// Every range of a 20-leaf tree, aligned or not, whatever its length (powers of two
    /// starting off their alignment too): `MTH` of the leaves in it.
    #[test]
    fn subtree_hash_of_every_range_is_the_root_of_its_leaves() {
        let all = leaves(20);
        let tree = MerkleTree::from_leaf_hashes(all.clone());
        for start in 0..20 {
            for end in start + 1..=20 {
                assert_eq!(
                    subtree_hash(&tree, start as u64, end as u64).unwrap(),
                    root_from_leaf_hashes(&all[start..end]),
                    "[{start}, {end})"
                );
            }
        }
    }

    #[test]
    fn short_messages_hash_as_the_streaming_hasher_does() {
        // Oracle: sha2's streaming hasher, at every length around each block boundary and
        // past the stack buffer.
        let bytes: Vec<u8> = (0..400u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..bytes.len() {
            let (a, b) = bytes[..len].split_at(len / 3);
            let expected: Hash = Sha256::digest(&bytes[..len]).into();
            assert_eq!(sha256_parts(&[a, b]), expected, "length {len}");
        }
        for len in 56..=119 {
            let mut blocks = [0u8; 128];
            blocks[..len].copy_from_slice(&bytes[..len]);
            let expected: Hash = Sha256::digest(&bytes[..len]).into();
            assert_eq!(sha256_two_blocks(blocks, len), expected, "length {len}");
        }
        assert_eq!(
            hex::encode(sha256_parts(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn split_point_is_the_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
    }
}
