//! [`BatchedRange`]: the writer's Merkle frontier, with its interior nodes hashed a block of
//! leaves at a time.
//!
//! A [`CompactRange`] appended one leaf at a time hashes one interior node per leaf on
//! average, one message after another: ~90 ns a node on the Zen 5 hosts, a quarter of an
//! in-memory append. Nodes of different subtrees do not depend on each other, so the writer
//! keeps the leaves of the current block of [`BLOCK`] aligned leaves and, when the block is
//! full, hashes its subtree level by level through the multi-buffer SHA-256
//! ([`tape_sha256`]), many nodes in flight (~40 ns a node at the widest levels here), and
//! appends the block's root to the frontier as one perfect subtree. The root of the whole
//! range, when asked for in the middle of a block, folds the waiting leaves into a copy
//! of the frontier one at a time.
//!
//! Nothing leaves the writer but the roots, which are those of the RFC 6962 tree over the
//! same leaves: the tests compare them with [`CompactRange`] at every size.

use crate::merkle::{CompactRange, Hash, node_hash};

/// Leaves per block: a perfect subtree of `2^BLOCK_LEVEL` leaves.
const BLOCK_LEVEL: u32 = 8;
/// Leaves hashed together ([`BatchedRange`]): 256, wide enough that most of a block's
/// nodes are hashed many at a time, small enough that a root asked for mid-block folds at
/// most 255 leaves one by one.
pub(crate) const BLOCK: u64 = 1 << BLOCK_LEVEL;
/// Levels with fewer nodes than this are hashed one node at a time.
const WIDE: usize = 16;

/// The root of the perfect subtree over `leaves` (a power of two of them, [`BLOCK`] in
/// practice), level by level, the wide levels through the multi-buffer SHA-256.
pub(crate) fn block_root(leaves: &[Hash]) -> Hash {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        if level.len() / 2 >= WIDE {
            // Each pair of neighbours is one node's 64-byte message after the prefix.
            let pairs: Vec<&[u8]> = level.as_flattened().chunks_exact(64).collect();
            let mut nodes = vec![[0u8; 32]; pairs.len()];
            tape_sha256::hash_many_prefixed(&[1], &pairs, &mut nodes);
            level = nodes;
            continue;
        }
        // Too few for the lanes: one at a time through SHA-NI is faster.
        level = level
            .chunks_exact(2)
            .filter_map(|pair| match pair {
                [left, right] => Some(node_hash(left, right)),
                _ => None,
            })
            .collect();
    }
    level.first().copied().unwrap_or_default()
}

/// The root of one whole Merkle block of a batch, computed by the batch's maker with
/// [`block_root`]: `(offset, root)`, the offset of the block's first entry counted from the
/// batch's first entry (see `Ledger::append_batch_deferred`).
pub(crate) type BlockRoot = (usize, Hash);

/// A Merkle frontier whose interior nodes are hashed a block at a time. See the module docs.
#[derive(Clone, Debug, Default)]
pub(crate) struct BatchedRange {
    /// Every leaf before the waiting ones.
    range: CompactRange,
    /// Leaves of the current block, which starts at a multiple of [`BLOCK`]: empty when the
    /// range's size is not one (a log reopened mid-block appends one leaf at a time until
    /// the next block starts).
    waiting: Vec<Hash>,
}

impl BatchedRange {
    /// The range continuing `range`.
    pub(crate) fn new(range: CompactRange) -> Self {
        Self {
            range,
            waiting: Vec::new(),
        }
    }

    /// Leaves appended.
    #[cfg(test)]
    fn size(&self) -> u64 {
        self.range.size() + self.waiting.len() as u64
    }

    /// Appends one leaf hash.
    #[inline]
    pub(crate) fn append(&mut self, leaf: Hash) {
        if self.waiting.is_empty() && !self.range.size().is_multiple_of(BLOCK) {
            self.range.append(leaf);
            return;
        }
        self.waiting.push(leaf);
        if self.waiting.len() as u64 == BLOCK {
            self.fold_block();
        }
    }

    /// Hashes the full block's subtree level by level and appends its root.
    fn fold_block(&mut self) {
        let appended = self
            .range
            .append_subtree(BLOCK_LEVEL, block_root(&self.waiting));
        if appended.is_none() {
            // A block starts at a multiple of its size, so its subtree always fits; were it
            // not to, the leaves go in one at a time, which is exact anyway.
            for &leaf in &self.waiting {
                self.range.append(leaf);
            }
        }
        self.waiting.clear();
    }

    /// Whether a whole block may be appended by its root now: the size is a multiple of
    /// [`BLOCK`] and no leaf is waiting.
    pub(crate) fn at_block_boundary(&self) -> bool {
        self.waiting.is_empty() && self.range.size().is_multiple_of(BLOCK)
    }

    /// Appends a whole block of [`BLOCK`] leaves by the root of their subtree, which the
    /// caller computed with [`block_root`] (the pipelined collector's callers do, off the
    /// sequencer's thread). `None`, and nothing changed, unless the range's size is a
    /// multiple of [`BLOCK`] with no leaf waiting.
    pub(crate) fn append_block(&mut self, root: Hash) -> Option<()> {
        if !self.waiting.is_empty() {
            return None;
        }
        self.range.append_subtree(BLOCK_LEVEL, root)
    }

    /// `MTH` of everything appended.
    pub(crate) fn root(&self) -> Hash {
        if self.waiting.is_empty() {
            return self.range.root();
        }
        let mut range = self.range.clone();
        for &leaf in &self.waiting {
            range.append(leaf);
        }
        range.root()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::leaf_hash;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    /// Every size from empty to past three blocks, from an empty start and from starts in
    /// the middle of a block (a reopened log): the same root as one leaf at a time.
    #[test]
    fn roots_match_the_compact_range_at_every_size() {
        let all = leaves(3 * BLOCK + 40);
        for start in [0, 1, 17, BLOCK - 1, BLOCK, BLOCK + 3] {
            let mut reference = CompactRange::new();
            for &leaf in &all[..start as usize] {
                reference.append(leaf);
            }
            let mut batched = BatchedRange::new(reference.clone());
            for &leaf in &all[start as usize..] {
                reference.append(leaf);
                batched.append(leaf);
                assert_eq!(batched.size(), reference.size());
                assert_eq!(
                    batched.root(),
                    reference.root(),
                    "start {start}, size {}",
                    reference.size()
                );
            }
        }
    }

    /// A block is hashed when full: nothing waits at a block boundary.
    #[test]
    fn a_full_block_is_folded_into_the_frontier() {
        let mut batched = BatchedRange::default();
        for leaf in leaves(BLOCK) {
            batched.append(leaf);
        }
        assert!(batched.waiting.is_empty());
        assert_eq!(batched.range.size(), BLOCK);
        batched.append([7; 32]);
        assert_eq!(batched.waiting.len(), 1);
    }

    /// A block appended by its root (computed by `block_root`) gives the tree the same
    /// root as its leaves one by one, at every boundary; off a boundary, or with a leaf
    /// waiting, it is refused and nothing changes.
    #[test]
    fn a_block_appended_by_its_root_is_its_leaves() {
        let all = leaves(3 * BLOCK);
        let mut by_root = BatchedRange::default();
        let mut reference = CompactRange::new();
        for block in all.chunks_exact(BLOCK as usize) {
            assert!(by_root.at_block_boundary());
            assert_eq!(by_root.append_block(block_root(block)), Some(()));
            block.iter().for_each(|&leaf| reference.append(leaf));
            assert_eq!(by_root.root(), reference.root());
            assert_eq!(
                by_root.root(),
                crate::merkle::root_from_leaf_hashes(&all[..reference.size() as usize])
            );
        }
        by_root.append([7; 32]);
        assert!(!by_root.at_block_boundary());
        let before = by_root.root();
        assert_eq!(
            by_root.append_block(block_root(&all[..BLOCK as usize])),
            None
        );
        assert_eq!(by_root.root(), before);
        let mut reopened = BatchedRange::new(reference.clone());
        reopened.range.append([8; 32]);
        assert_eq!(reopened.append_block([9; 32]), None);
    }
}
