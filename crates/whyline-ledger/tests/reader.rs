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

    let span = LedgerReader::new(&bare).unwrap().time_span().unwrap();
    assert_eq!(span.range, Some((stamp(0), stamp(N - 1))));

    // An index whose second record points at the wrong frame, and whose first claims an
    // earlier time than any entry holds.
    let mut lying = MemoryStore::from_bytes(entries, Vec::new());
    let mut index = good.read_side(Side::TimeIndex).unwrap();
    index[32 + 8] ^= 0x40;
    index[16..24].copy_from_slice(&0u64.to_le_bytes());
    lying.append_side(Side::TimeIndex, &index, false).unwrap();
    let read = LedgerReader::new(&lying)
        .unwrap()
        .entries_between(stamp(10), stamp(1500))
        .unwrap();
    assert!(!read.used_index, "a lying index is not trusted");
    assert_eq!(sequences(&read.entries), expected);
    let span = LedgerReader::new(&lying).unwrap().time_span().unwrap();
    assert_eq!(
        span.range,
        Some((stamp(0), stamp(N - 1))),
        "the span is scanned"
    );
    assert!(span.stopped.is_none());

    // An index whose first record points at the end of the log (past the last frame), the
    // last one being right: not trusted either.
    let mut lying = MemoryStore::from_bytes(good.entry_bytes().to_vec(), Vec::new());
    let mut index = good.read_side(Side::TimeIndex).unwrap();
    index[8..16].copy_from_slice(&lying.len().to_le_bytes());
    index[16..24].copy_from_slice(&0u64.to_le_bytes());
    lying.append_side(Side::TimeIndex, &index, false).unwrap();
    let span = LedgerReader::new(&lying).unwrap().time_span().unwrap();
    assert_eq!(
        span.range,
        Some((stamp(0), stamp(N - 1))),
        "an index past the end"
    );
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

/// The entry log of `store()` cut `into` bytes inside frame `frame`: a torn tail.
fn torn_at(frame: usize, into: usize) -> (MemoryStore, std::ops::Range<usize>) {
    let bytes = store().entry_bytes().to_vec();
    let span = frame_spans(&bytes)[frame].clone();
    let cut = bytes[..span.start + into].to_vec();
    (MemoryStore::from_bytes(cut, Vec::new()), span)
}

/// `store()` with a payload byte of frame `frame` flipped, and its time index kept.
fn damaged_at(frame: usize) -> (MemoryStore, std::ops::Range<usize>) {
    let good = store();
    let mut bytes = good.entry_bytes().to_vec();
    let span = frame_spans(&bytes)[frame].clone();
    bytes[span.start + 20] ^= 0x01;
    let mut damaged = MemoryStore::from_bytes(bytes, Vec::new());
    damaged
        .append_side(
            Side::TimeIndex,
            &good.read_side(Side::TimeIndex).unwrap(),
            false,
        )
        .unwrap();
    (damaged, span)
}

/// Why a visit stopped in the tests of `for_each_entry`.
#[derive(Debug, PartialEq)]
enum VisitStop {
    Enough(u64),
    Ledger(String),
}

impl From<whyline_ledger::LedgerError> for VisitStop {
    fn from(error: whyline_ledger::LedgerError) -> Self {
        VisitStop::Ledger(error.to_string())
    }
}

#[test]
fn for_each_entry_lends_every_entry_with_its_stored_frame_fields() {
    let store = store();
    let bytes = store.entry_bytes().to_vec();
    let spans = frame_spans(&bytes);
    let mut seen = 0u64;
    let stop = LedgerReader::new(&store)
        .unwrap()
        .for_each_entry(|entry| {
            let span = &spans[entry.index as usize];
            assert_eq!(entry.index, seen, "in log order");
            assert_eq!(entry.offset, span.start as u64);
            assert_eq!(entry.payload, &crate::common::payload(entry.index)[..]);
            // The chain hash is the 32 bytes before the body CRC (docs/ledger-format.md).
            assert_eq!(&entry.chain_hash[..], &bytes[span.end - 36..span.end - 4]);
            seen += 1;
            Ok::<(), VisitStop>(())
        })
        .unwrap();
    assert_eq!(stop, None);
    assert_eq!(seen, N);
}

#[test]
fn for_each_entry_stops_at_a_torn_tail_or_a_damaged_frame_and_says_where() {
    let (torn, span) = torn_at(700, 10);
    let mut seen = Vec::new();
    let stop = LedgerReader::new(&torn)
        .unwrap()
        .for_each_entry(|entry| {
            seen.push(entry.index);
            Ok::<(), VisitStop>(())
        })
        .unwrap();
    assert_eq!(seen, (0..700).collect::<Vec<_>>());
    assert_eq!(
        stop,
        Some(whyline_ledger::ReadStop {
            offset: span.start as u64,
            kind: CorruptionKind::TornTail { bytes: 10 },
        })
    );

    let (damaged, span) = damaged_at(300);
    let mut count = 0;
    let stop = LedgerReader::new(&damaged)
        .unwrap()
        .for_each_entry(|_| {
            count += 1;
            Ok::<(), VisitStop>(())
        })
        .unwrap();
    assert_eq!(count, 300);
    assert_eq!(
        stop,
        Some(whyline_ledger::ReadStop {
            offset: span.start as u64,
            kind: CorruptionKind::ContentChanged,
        })
    );
}

/// A verified log is read without its body CRCs: a body changed since (byte 20 of a frame,
/// inside its payload) comes through as it now is instead of stopping the read, while the
/// frames' headers still find every frame and a torn tail still ends the read where it is.
#[test]
fn a_verified_logs_reader_skips_the_body_crcs_and_nothing_else() {
    let (damaged, span) = damaged_at(300);
    let mut payloads = Vec::new();
    let stop = LedgerReader::new(&damaged)
        .unwrap()
        .for_each_entry_of_verified_log(|entry| {
            payloads.push((entry.index, entry.offset, entry.payload.to_vec()));
            Ok::<(), VisitStop>(())
        })
        .unwrap();
    assert_eq!(stop, None);
    assert_eq!(payloads.len() as u64, N);
    for (index, offset, payload) in &payloads {
        let mut expected = crate::common::payload(*index);
        if *index == 300 {
            assert_eq!(*offset, span.start as u64);
            expected[20 - 16] ^= 0x01; // the frame header is 16 bytes
        }
        assert_eq!(payload, &expected, "entry {index}");
    }

    let (torn, span) = torn_at(700, 10);
    let mut seen = 0u64;
    let stop = LedgerReader::new(&torn)
        .unwrap()
        .for_each_entry_of_verified_log(|_| {
            seen += 1;
            Ok::<(), VisitStop>(())
        })
        .unwrap();
    assert_eq!(seen, 700);
    assert_eq!(
        stop,
        Some(whyline_ledger::ReadStop {
            offset: span.start as u64,
            kind: CorruptionKind::TornTail { bytes: 10 },
        })
    );
}

#[test]
fn an_error_from_the_visitor_stops_for_each_entry_and_is_returned() {
    let store = store();
    let mut seen = Vec::new();
    let result = LedgerReader::new(&store).unwrap().for_each_entry(|entry| {
        if entry.index == 3 {
            return Err(VisitStop::Enough(entry.index));
        }
        seen.push(entry.index);
        Ok(())
    });
    assert_eq!(result, Err(VisitStop::Enough(3)));
    assert_eq!(seen, [0, 1, 2]);
}

/// The sequence number of a decision payload.
fn sequence_of(payload: &[u8]) -> u64 {
    from_aprt::<AnyPath>(payload).unwrap().sequence
}

#[test]
fn last_before_finds_the_last_matching_entry_before_the_end_index() {
    let store = store();
    let reader = LedgerReader::new(&store).unwrap();
    let every_hundredth = |p: &[u8]| sequence_of(p).is_multiple_of(100);
    let found = reader.last_before(1234, every_hundredth).unwrap().unwrap();
    assert_eq!(found.index, 1200);
    assert_eq!(found.payload, crate::common::payload(1200));
    let spans = frame_spans(store.entry_bytes());
    assert_eq!(found.offset, spans[1200].start as u64);
    // The end is exclusive.
    assert_eq!(
        reader
            .last_before(1200, every_hundredth)
            .unwrap()
            .unwrap()
            .index,
        1100
    );
    // Past the log's end: the last match of the whole log.
    assert_eq!(
        reader
            .last_before(u64::MAX, every_hundredth)
            .unwrap()
            .unwrap()
            .index,
        2300
    );
    assert!(reader.last_before(0, |_| true).unwrap().is_none());
    assert!(reader.last_before(N, |_| false).unwrap().is_none());
}

#[test]
fn last_before_reads_no_further_than_a_damaged_frame() {
    let (damaged, _) = damaged_at(450);
    let reader = LedgerReader::new(&damaged).unwrap();
    let found = reader
        .last_before(1234, |p| sequence_of(p).is_multiple_of(100))
        .unwrap();
    // Entry 1200 lies past the damage: the last one that can be read is 400.
    assert_eq!(found.map(|e| e.index), Some(400));
}

#[test]
fn all_entries_and_time_span_stop_at_a_torn_tail_or_a_damaged_frame() {
    let (torn, span) = torn_at(900, 25);
    let reader = LedgerReader::new(&torn).unwrap();
    let torn_stop = Some(whyline_ledger::ReadStop {
        offset: span.start as u64,
        kind: CorruptionKind::TornTail { bytes: 25 },
    });
    let all = reader.all_entries().unwrap();
    assert_eq!(sequences(&all.entries), (0..900).collect::<Vec<_>>());
    assert_eq!(all.stopped, torn_stop);
    // No time index: the span is a scan from the start.
    let span_read = reader.time_span().unwrap();
    assert_eq!(span_read.range, Some((stamp(0), stamp(899))));
    assert_eq!(span_read.stopped, torn_stop);
    // A scanned window reaching the torn tail stops there too.
    let window = reader.entries_between(stamp(850), u64::MAX).unwrap();
    assert!(!window.used_index);
    assert_eq!(sequences(&window.entries), (850..900).collect::<Vec<_>>());
    assert_eq!(window.stopped, torn_stop);

    // A damaged frame after the last indexed block: the span covers the blocks and the
    // entries before the damage.
    let (damaged, span) = damaged_at(2100);
    let reader = LedgerReader::new(&damaged).unwrap();
    let damage_stop = Some(whyline_ledger::ReadStop {
        offset: span.start as u64,
        kind: CorruptionKind::ContentChanged,
    });
    let all = reader.all_entries().unwrap();
    assert_eq!(all.entries.len(), 2100);
    assert_eq!(all.stopped, damage_stop);
    let span_read = reader.time_span().unwrap();
    assert_eq!(span_read.range, Some((stamp(0), stamp(2099))));
    assert_eq!(span_read.stopped, damage_stop);
}

#[test]
fn the_skip_over_the_last_indexed_block_stops_at_a_cut_or_damaged_log() {
    // The index names blocks 0 and 1; the log is cut inside block 1, so the read of the
    // entries after the last block meets the cut while skipping that block.
    let good = store();
    let index = good.read_side(Side::TimeIndex).unwrap();
    assert_eq!(index.len(), 2 * 32, "two closed blocks");
    let bytes = good.entry_bytes().to_vec();
    let spans = frame_spans(&bytes);
    let with_index = |entries: Vec<u8>| {
        let mut store = MemoryStore::from_bytes(entries, Vec::new());
        store.append_side(Side::TimeIndex, &index, false).unwrap();
        store
    };
    let after_blocks = stamp(2 * INDEX_BLOCK);

    // Cut at a frame boundary: the skip reaches the end.
    let cut = with_index(bytes[..spans[1500].start].to_vec());
    let read = LedgerReader::new(&cut)
        .unwrap()
        .entries_between(after_blocks, u64::MAX)
        .unwrap();
    assert!(read.used_index);
    assert!(read.entries.is_empty());
    assert_eq!(read.stopped, None);

    // Cut inside a frame: the skip reports the torn tail.
    let torn = with_index(bytes[..spans[1500].start + 7].to_vec());
    let read = LedgerReader::new(&torn)
        .unwrap()
        .entries_between(after_blocks, u64::MAX)
        .unwrap();
    assert!(read.used_index);
    assert!(read.entries.is_empty());
    assert_eq!(
        read.stopped,
        Some(whyline_ledger::ReadStop {
            offset: spans[1500].start as u64,
            kind: CorruptionKind::TornTail { bytes: 7 },
        })
    );

    // A damaged frame inside the skipped block.
    let (damaged, span) = damaged_at(1500);
    let read = LedgerReader::new(&damaged)
        .unwrap()
        .entries_between(after_blocks, u64::MAX)
        .unwrap();
    assert!(read.used_index);
    assert!(read.entries.is_empty());
    assert_eq!(
        read.stopped,
        Some(whyline_ledger::ReadStop {
            offset: span.start as u64,
            kind: CorruptionKind::ContentChanged,
        })
    );
}

#[test]
fn a_lying_record_for_a_block_in_the_window_makes_the_read_scan_the_log() {
    let good = store();
    let bytes = good.entry_bytes().to_vec();
    let spans = frame_spans(&bytes);
    let mut index = good.read_side(Side::TimeIndex).unwrap();
    // The first record (entries 0..1024) now points at entry 5's frame: still inside the
    // log and numbered right, so only reading that block finds the lie.
    index[8..16].copy_from_slice(&(spans[5].start as u64).to_le_bytes());
    let mut lying = MemoryStore::from_bytes(bytes, Vec::new());
    lying.append_side(Side::TimeIndex, &index, false).unwrap();
    let read = LedgerReader::new(&lying)
        .unwrap()
        .entries_between(stamp(10), stamp(20))
        .unwrap();
    assert!(!read.used_index);
    assert_eq!(sequences(&read.entries), (10..=20).collect::<Vec<_>>());
    // An index numbering its blocks wrongly is not used for the span either.
    let mut misnumbered = good.read_side(Side::TimeIndex).unwrap();
    misnumbered[0] = 1;
    let mut store = MemoryStore::from_bytes(good.entry_bytes().to_vec(), Vec::new());
    store
        .append_side(Side::TimeIndex, &misnumbered, false)
        .unwrap();
    let reader = LedgerReader::new(&store).unwrap();
    assert_eq!(
        reader.time_span().unwrap().range,
        Some((stamp(0), stamp(N - 1)))
    );
}
