//! The tile cache over a log that does not hold what it is asked for: fewer entries, an
//! entry missing, a damaged frame. Each is refused at the entry concerned; nothing is
//! hashed past it.

use whyline_ledger::{CorruptionKind, LedgerError, MemoryStore, TileCache};

use crate::common::{frame_spans, memory_ledger};

fn entries(n: u64) -> Vec<u8> {
    memory_ledger(n)
        .into_store()
        .unwrap()
        .entry_bytes()
        .to_vec()
}

#[test]
fn catching_up_past_the_end_of_the_log_is_out_of_range_at_the_first_absent_entry() {
    let store = MemoryStore::from_bytes(entries(10), Vec::new());
    let mut cache = TileCache::new();
    let error = cache.catch_up(&store, 20).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::OutOfRange {
                what: "entry",
                index: 10,
                size: 20,
                available: 10
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        cache.covered(),
        10,
        "the entries that are there were hashed"
    );
}

#[test]
fn a_missing_or_damaged_entry_stops_the_cache_at_that_entry() {
    let bytes = entries(12);
    let spans = frame_spans(&bytes);
    // Entry 3 cut out: entry 4 stands where 3 should.
    let mut missing = bytes[..spans[3].start].to_vec();
    missing.extend_from_slice(&bytes[spans[4].start..]);
    let error = TileCache::new()
        .catch_up(&MemoryStore::from_bytes(missing, Vec::new()), 12)
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Corrupt {
                index: 3,
                kind: CorruptionKind::EntryMissing { found: 4 },
                ..
            }
        ),
        "{error:?}"
    );
    let mut damaged = bytes.clone();
    damaged[spans[6].start + 20] ^= 0x01;
    let error = TileCache::new()
        .catch_up(&MemoryStore::from_bytes(damaged, Vec::new()), 12)
        .unwrap_err();
    assert_eq!(error.corruption(), Some(CorruptionKind::ContentChanged));
    assert_eq!(
        error.to_string(),
        format!(
            "memory: entry 6 at byte {}: content changed",
            spans[6].start
        )
    );
}
