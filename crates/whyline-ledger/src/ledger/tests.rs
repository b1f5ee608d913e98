//! Blocks of a batch taken into the Merkle frontier by the root its maker computed
//! (`Ledger::append_batch_deferred`): when a root is taken, and that everything else is
//! hashed from the leaves.
//!
//! The roots given here are not the blocks' real roots but markers, so that the ledger's
//! root shows which blocks were taken by their root and which were hashed from their leaves.

use super::*;
use crate::merkle::CompactRange;
use crate::store::MemoryStore;

const BLOCK_LEN: usize = BLOCK as usize;

fn ledger_of(size: u64) -> Ledger<MemoryStore> {
    let options = LedgerOptions::without_checkpoints("whyline.test/blocks");
    let Ok((mut ledger, _)) = Ledger::open(MemoryStore::new(), options) else {
        panic!("a memory ledger opens");
    };
    for i in 0..size {
        assert!(ledger.append(&payload(i)).is_ok());
    }
    ledger
}

fn payload(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

/// A marker standing for a block's root.
fn marker(byte: u8) -> Hash {
    [byte; 32]
}

/// Appends payloads `from..from + count` as one batch with the given block roots, and
/// returns the ledger's root.
fn append_batch(
    ledger: &mut Ledger<MemoryStore>,
    from: u64,
    count: u64,
    blocks: &[BlockRoot],
) -> Hash {
    let payloads: Vec<Vec<u8>> = (from..from + count).map(payload).collect();
    let leaves: Vec<Hash> = payloads.iter().map(|p| leaf_hash(p)).collect();
    let mut receipts = Vec::new();
    let appended = ledger.append_batch_deferred(
        payloads.iter().map(Vec::as_slice),
        &leaves,
        blocks,
        &mut receipts,
    );
    assert!(appended.is_ok(), "{appended:?}");
    assert_eq!(receipts.len() as u64, count);
    ledger.root()
}

/// The root of entries `0..size` where the blocks starting at the given indices are the
/// markers given, every other leaf hashed from its payload.
fn expected_root(size: u64, taken: &[(u64, Hash)]) -> Hash {
    let mut range = CompactRange::new();
    let mut index = 0;
    while index < size {
        if let Some(&(_, root)) = taken.iter().find(|(start, _)| *start == index) {
            assert!(range.append_subtree(8, root).is_some());
            index += BLOCK;
        } else {
            range.append(leaf_hash(&payload(index)));
            index += 1;
        }
    }
    range.root()
}

#[test]
fn blocks_on_the_trees_boundaries_are_taken_by_their_roots() {
    let mut ledger = ledger_of(0);
    let root = append_batch(
        &mut ledger,
        0,
        600,
        &[(0, marker(1)), (BLOCK_LEN, marker(2))],
    );
    assert_eq!(
        root,
        expected_root(600, &[(0, marker(1)), (BLOCK, marker(2))])
    );
}

#[test]
fn a_batch_landing_off_its_makers_boundaries_takes_only_the_blocks_that_land_on_the_trees() {
    // The maker expected the batch at index 0; it lands at 10. Its blocks at offsets 0 and
    // 256 sit across the tree's boundaries and are hashed from their leaves; a block at
    // offset 246 lands at 256, a boundary, and is taken by its root.
    let mut ledger = ledger_of(10);
    let root = append_batch(
        &mut ledger,
        10,
        700,
        &[(0, marker(1)), (246, marker(3)), (BLOCK_LEN, marker(2))],
    );
    assert_eq!(root, expected_root(710, &[(BLOCK, marker(3))]));
}

#[test]
fn a_block_the_batch_cuts_short_is_hashed_from_its_leaves() {
    let mut ledger = ledger_of(0);
    let root = append_batch(&mut ledger, 0, 600, &[(512, marker(4))]);
    assert_eq!(root, expected_root(600, &[]));
}

#[test]
fn a_block_overlapping_the_one_being_stored_is_hashed_from_its_leaves() {
    let mut ledger = ledger_of(0);
    let root = append_batch(&mut ledger, 0, 600, &[(0, marker(1)), (100, marker(5))]);
    assert_eq!(root, expected_root(600, &[(0, marker(1))]));
}

#[test]
fn entries_after_a_block_taken_by_its_root_go_on_from_there() {
    // A block, then single appends and a second batch: the frontier stays in place.
    let mut ledger = ledger_of(0);
    append_batch(&mut ledger, 0, 300, &[(0, marker(1))]);
    for i in 300..320 {
        assert!(ledger.append(&payload(i)).is_ok());
    }
    let root = append_batch(&mut ledger, 320, 500, &[(192, marker(6))]);
    assert_eq!(
        root,
        expected_root(820, &[(0, marker(1)), (512, marker(6))])
    );
}
