//! LedgerReader: windows through the time index, the same answers when the index is stale or
//! missing, a clean stop at damage, and not one byte changed.

use whyline_core::{AnyPath, DecisionTrace, from_aprt};
use whyline_ledger::{CorruptionKind, INDEX_BLOCK, LedgerReader, MemoryStore, Side, Store};

use crate::common::{frame_spans, memory_ledger, trace};

const N: u64 = 2 * INDEX_BLOCK + 300;

fn stamp(i: u64) -> u64 {
    trace(i).timestamp_ns
}

fn sequences(entries: &[whyline_ledger::StoredEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.index).collect()
}

fn store() -> MemoryStore {
    memory_ledger(N).into_store().unwrap()
}

#[test]
fn a_window_is_read_through_the_index_across_blocks_and_the_open_tail() {
    let store = store();
    let reader = LedgerReader::new(&store).unwrap();
    // From inside the first block to inside the unindexed tail.
    let read = reader.entries_between(stamp(1000), stamp(2100)).unwrap();
    assert!(read.used_index);
    assert!(read.stopped.is_none());
    assert_eq!(sequences(&read.entries), (1000..=2100).collect::<Vec<_>>());
    let decoded: DecisionTrace<AnyPath> = from_aprt(&read.entries[0].payload).unwrap();
    assert_eq!(decoded.timestamp_ns, stamp(1000));
    let span = reader.time_span().unwrap();
    assert_eq!(span.range, Some((stamp(0), stamp(N - 1))));
    assert!(span.stopped.is_none());
    // A window outside the log is empty.
    assert!(
        reader
            .entries_between(0, stamp(0) - 1)
            .unwrap()
            .entries
            .is_empty()
    );
}

#[test]
fn a_stale_or_missing_index_falls_back_to_a_scan_with_the_same_answer() {
    let good = store();
    let expected = sequences(
        &LedgerReader::new(&good)
            .unwrap()
            .entries_between(stamp(10), stamp(1500))
            .unwrap()
            .entries,
    );
    let entries = good.entry_bytes().to_vec();

    let bare = MemoryStore::from_bytes(entries.clone(), Vec::new());
    let read = LedgerReader::new(&bare)
        .unwrap()
        .entries_between(stamp(10), stamp(1500))
        .unwrap();
    assert!(!read.used_index, "no index: scanned");
    assert_eq!(sequences(&read.entries), expected);

    // An index whose second record points at the wrong frame.
    let mut lying = MemoryStore::from_bytes(entries, Vec::new());
    let mut index = good.read_side(Side::TimeIndex).unwrap();
    index[32 + 8] ^= 0x40;
    lying.append_side(Side::TimeIndex, &index, false).unwrap();
    let read = LedgerReader::new(&lying)
        .unwrap()
        .entries_between(stamp(10), stamp(1500))
        .unwrap();
    assert!(!read.used_index, "a lying index is not trusted");
    assert_eq!(sequences(&read.entries), expected);
}

#[test]
fn a_damaged_frame_stops_the_read_where_it_is_and_changes_nothing() {
    let good = store();
    let mut bytes = good.entry_bytes().to_vec();
    let spans = frame_spans(&bytes);
    let victim = spans[1500].clone();
    bytes[victim.start + 20] ^= 0x01; // inside the payload
    let store = MemoryStore::from_bytes(bytes.clone(), good.checkpoint_bytes().to_vec());
    let mut with_index = store;
    with_index
        .append_side(
            Side::TimeIndex,
            &good.read_side(Side::TimeIndex).unwrap(),
            false,
        )
        .unwrap();
    let reader = LedgerReader::new(&with_index).unwrap();
    let read = reader.entries_between(stamp(1400), stamp(1600)).unwrap();
    assert_eq!(sequences(&read.entries), (1400..1500).collect::<Vec<_>>());
    let stop = read.stopped.expect("the damaged frame ends the read");
    assert_eq!(stop.offset, victim.start as u64);
    assert!(
        matches!(
            stop.kind,
            CorruptionKind::ContentChanged | CorruptionKind::BadFrame
        ),
        "{:?}",
        stop.kind
    );
    assert_eq!(
        with_index.entry_bytes(),
        &bytes[..],
        "reading changed the log"
    );
    assert_eq!(with_index.len(), bytes.len() as u64);
}

#[test]
fn the_first_entry_is_read_whatever_its_payload() {
    let store = store();
    let first = LedgerReader::new(&store)
        .unwrap()
        .first_entry()
        .unwrap()
        .unwrap();
    assert_eq!(first.index, 0);
    assert_eq!(first.payload, crate::common::payload(0));
    assert!(
        LedgerReader::new(&MemoryStore::new())
            .unwrap()
            .first_entry()
            .unwrap()
            .is_none()
    );
}

#[test]
fn opening_read_only_never_creates_a_ledger() {
    use whyline_ledger::{LedgerError, NotALedgerReason, SegmentStore};
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let error = SegmentStore::open_existing(&missing).err().unwrap();
    assert!(
        matches!(&error, LedgerError::NotALedger { path, reason: NotALedgerReason::Missing } if *path == missing),
        "{error:?}"
    );
    assert!(!missing.exists());
    let error = whyline_ledger::Ledger::open_existing(
        tmp.path(),
        whyline_ledger::LedgerOptions::without_checkpoints("test"),
    )
    .err()
    .unwrap();
    assert!(
        matches!(
            &error,
            LedgerError::NotALedger {
                reason: NotALedgerReason::NoEntryLog,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    assert_eq!(
        error.to_string(),
        format!(
            "{} is not a whyline ledger: it has no entries.wls",
            tmp.path().display()
        )
    );
    // A real ledger opens, and opening it read-only leaves its bytes as they were.
    let log = tmp.path().join("log");
    let (mut ledger, _) = whyline_ledger::Ledger::open(
        SegmentStore::open(&log).unwrap(),
        whyline_ledger::LedgerOptions::without_checkpoints("test"),
    )
    .unwrap();
    ledger.append(b"entry").unwrap();
    drop(ledger.into_store().unwrap());
    let before = std::fs::read(log.join("entries.wls")).unwrap();
    let store = SegmentStore::open_existing(&log).unwrap();
    assert_eq!(crate::common::intact(&store, None).entries, 1);
    drop(store);
    assert_eq!(std::fs::read(log.join("entries.wls")).unwrap(), before);
}
