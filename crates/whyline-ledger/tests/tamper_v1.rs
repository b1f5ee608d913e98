//! The attacks of `tamper.rs` on a version-1 log (the chain over the whole record), the
//! golden one built by `fixtures/ledger/build.py`: the verifier checks a v1 log by the v1
//! rule and names every kind of damage as it does for the version-2 logs written today.

use whyline_ledger::{CorruptionKind, FormatVersion, MemoryStore, Store};

use crate::common::{frame_spans, reseal};

const V1_LOG: &[u8] = include_bytes!("fixtures/ledger/entries.wls");
const N: usize = 5;

fn edit(f: impl FnOnce(&mut Vec<u8>, &[std::ops::Range<usize>])) -> (u64, CorruptionKind) {
    let mut bytes = V1_LOG.to_vec();
    let spans = frame_spans(&bytes);
    assert_eq!(spans.len(), N);
    f(&mut bytes, &spans);
    let damage = crate::common::damage(&MemoryStore::from_bytes(bytes, Vec::new()), None);
    (damage.index, damage.kind)
}

#[test]
fn the_untouched_v1_log_verifies_by_the_v1_rule() {
    let store = MemoryStore::from_bytes(V1_LOG.to_vec(), Vec::new());
    let report = crate::common::intact(&store, None);
    assert_eq!(
        (report.entries, report.format_version),
        (N as u64, FormatVersion::V1)
    );
}

#[test]
fn a_flipped_bit_in_any_v1_payload_names_that_entry() {
    for k in 0..N - 1 {
        let found = edit(|bytes, spans| bytes[spans[k].start + 16 + 20] ^= 0x04);
        assert_eq!(
            found,
            (k as u64, CorruptionKind::ContentChanged),
            "entry {k}"
        );
    }
}

#[test]
fn a_changed_v1_byte_with_recomputed_checksums_is_content_changed() {
    let found = edit(|bytes, spans| {
        bytes[spans[2].start + 16 + 33] ^= 0xff;
        reseal(bytes, spans[2].clone());
    });
    assert_eq!(found, (2, CorruptionKind::ContentChanged));
}

#[test]
fn a_rewritten_v1_chain_hash_is_a_broken_link() {
    let found = edit(|bytes, spans| {
        let chain_at = spans[1].end - 36;
        bytes[chain_at] ^= 1;
        reseal(bytes, spans[1].clone());
    });
    assert_eq!(found, (1, CorruptionKind::LinkBroken));
}

#[test]
fn deleted_duplicated_swapped_and_inserted_v1_entries_are_named() {
    let deleted = edit(|bytes, spans| {
        bytes.drain(spans[2].clone());
    });
    assert_eq!(deleted, (2, CorruptionKind::EntryMissing { found: 3 }));

    let duplicated = edit(|bytes, spans| {
        let copy = bytes[spans[1].clone()].to_vec();
        bytes.splice(spans[2].start..spans[2].start, copy);
    });
    assert_eq!(duplicated, (2, CorruptionKind::Duplicated));

    let swapped = edit(|bytes, spans| {
        let mut swapped = bytes[spans[3].clone()].to_vec();
        swapped.extend_from_slice(&bytes[spans[2].clone()]);
        bytes.splice(spans[2].start..spans[3].end, swapped);
    });
    assert_eq!(swapped, (2, CorruptionKind::EntriesReordered { found: 3 }));

    let inserted = edit(|bytes, spans| {
        let mut forged = bytes[spans[3].clone()].to_vec();
        forged[16 + 40] ^= 0x55;
        let len = forged.len();
        reseal(&mut forged, 0..len);
        bytes.splice(spans[3].start..spans[3].start, forged);
    });
    assert_eq!(inserted, (3, CorruptionKind::Inserted));
}

#[test]
fn any_changed_byte_of_the_v1_log_is_detected() {
    // Exhaustive over the fixture's bytes (it is small): every position, one bit.
    for at in 0..V1_LOG.len() {
        let mut bytes = V1_LOG.to_vec();
        bytes[at] ^= 0x10;
        let store = MemoryStore::from_bytes(bytes, Vec::new());
        let outcome = whyline_ledger::verify_store(&store, None).unwrap();
        assert!(!outcome.is_intact(), "byte {at}");
    }
}

#[test]
fn a_large_v1_log_verifies_in_parallel_by_the_v1_rule_and_still_names_a_changed_entry() {
    // The only way to a large v1 log today: continue the golden one.
    let store = MemoryStore::from_bytes(V1_LOG.to_vec(), Vec::new());
    let options = whyline_ledger::LedgerOptions::without_checkpoints("v1")
        .durability(whyline_ledger::Durability::None);
    let (mut ledger, _) = whyline_ledger::Ledger::open(store, options).unwrap();
    for i in 0..9_000 {
        ledger.append(&crate::common::payload(i)).unwrap();
    }
    let store = ledger.into_store().unwrap();
    assert!(store.len() > 1 << 20, "large enough for the parallel path");
    // Oracle: the documented v1 formula over the stored frames.
    let bytes = store.entry_bytes();
    let mut previous = [0u8; 32];
    for (index, span) in frame_spans(bytes).into_iter().enumerate() {
        let payload = &bytes[span.start + 16..span.end - 36];
        let chain = whyline_ledger::chain_hash_v1(index as u64, &previous, payload);
        assert_eq!(&bytes[span.end - 36..span.end - 4], &chain, "entry {index}");
        previous = chain;
    }
    let mut calls = 0;
    let report = whyline_ledger::verify_store_with_progress(&store, None, &mut |_, _| calls += 1)
        .unwrap()
        .into_result()
        .unwrap();
    assert!(calls >= 2, "the parallel path reports per chunk");
    assert_eq!(
        (report.entries, report.format_version),
        (9_005, FormatVersion::V1)
    );
    let mut damaged = store.clone();
    let spans = frame_spans(damaged.entry_bytes());
    damaged.entry_bytes_mut()[spans[8_500].start + 16 + 30] ^= 0x10;
    let damage = crate::common::damage(&damaged, None);
    assert_eq!(
        (damage.index, damage.kind),
        (8_500, CorruptionKind::ContentChanged)
    );
}
