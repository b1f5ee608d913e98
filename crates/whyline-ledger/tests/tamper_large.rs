//! Attacks on a log large enough for the parallel walk (over 1 MiB): each is detected and
//! named at its entry as on a small log, whichever walk meets it first.

use whyline_ledger::{CorruptionKind, Ledger, MemoryStore};

use crate::common::{damage, frame_spans, options, payload, signer};

const N: usize = 9_000;

fn large() -> MemoryStore {
    static LARGE: std::sync::OnceLock<MemoryStore> = std::sync::OnceLock::new();
    LARGE
        .get_or_init(|| {
            let (mut ledger, _) =
                Ledger::open(MemoryStore::new(), options().checkpoint_every(1_000)).unwrap();
            for i in 0..N as u64 {
                ledger.append(&payload(i)).unwrap();
            }
            ledger.checkpoint().unwrap();
            let store = ledger.into_store().unwrap();
            assert!(
                whyline_ledger::Store::len(&store) > 1 << 20,
                "large enough for the parallel walk"
            );
            store
        })
        .clone()
}

fn first_problem(store: &MemoryStore) -> (u64, CorruptionKind) {
    let damage = damage(store, Some(&signer().verifier()));
    (damage.index, damage.kind)
}

/// Only the header's own CRC changed: length, index and body are as written, so nothing
/// but that CRC tells.
#[test]
fn a_changed_header_crc_alone_is_a_bad_frame() {
    let mut store = large();
    let spans = frame_spans(store.entry_bytes());
    assert_eq!(spans.len(), N);
    store.entry_bytes_mut()[spans[6_500].start + 13] ^= 0x01;
    assert_eq!(first_problem(&store), (6_500, CorruptionKind::BadFrame));
}

/// Two frames swapped with their checksums recomputed: each frame is well formed, only its
/// index is out of place.
#[test]
fn swapped_entries_are_reordered() {
    let mut store = large();
    let spans = frame_spans(store.entry_bytes());
    let bytes = store.entry_bytes_mut();
    let (a, b) = (spans[7_000].clone(), spans[7_001].clone());
    let mut swapped = bytes[b.clone()].to_vec();
    swapped.extend_from_slice(&bytes[a.clone()]);
    bytes.splice(a.start..b.end, swapped);
    assert_eq!(
        first_problem(&store),
        (7_000, CorruptionKind::EntriesReordered { found: 7_001 })
    );
}

/// A frame one byte longer than the format allows, appended with every checksum and its
/// chain hash right (what a forger who knows the format writes): the length alone makes
/// it a bad frame, which the parallel walk must not take either.
#[test]
fn a_well_formed_frame_longer_than_the_format_allows_is_a_bad_frame() {
    let mut store = large();
    let spans = frame_spans(store.entry_bytes());
    let last = spans[N - 1].clone();
    let bytes = store.entry_bytes_mut();
    let previous: [u8; 32] = bytes[last.end - 36..last.end - 4].try_into().unwrap();
    let payload = vec![0x5a; whyline_ledger::MAX_PAYLOAD + 1];
    let chain =
        whyline_ledger::chain_hash(N as u64, &previous, &whyline_ledger::leaf_hash(&payload));
    let mut frame = Vec::with_capacity(payload.len() + whyline_ledger::FRAME_OVERHEAD);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&(N as u64).to_le_bytes());
    frame.extend_from_slice(&crc32c::crc32c(&frame[..12]).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(&chain);
    frame.extend_from_slice(&crc32c::crc32c(&frame[16..]).to_le_bytes());
    bytes.extend_from_slice(&frame);
    assert_eq!(first_problem(&store), (N as u64, CorruptionKind::BadFrame));
}
