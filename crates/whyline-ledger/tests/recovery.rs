//! Crash recovery: a log cut at every byte opens, reports the torn tail and verifies.

use whyline_ledger::{Ledger, MemoryStore, Store};

use crate::common::{frame_spans, options, payload};

#[test]
fn a_log_cut_at_every_byte_recovers_to_the_whole_frames_before_the_cut() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..6 {
        ledger.append(&payload(i)).unwrap();
    }
    let full = ledger.into_store().unwrap().entry_bytes().to_vec();
    let spans = frame_spans(&full);
    for cut in 16..=full.len() {
        let whole = spans.iter().filter(|s| s.end <= cut).count() as u64;
        let boundary = spans.iter().any(|s| s.end == cut) || cut == 16;
        let store = MemoryStore::from_bytes(full[..cut].to_vec(), Vec::new());
        // Verification names what the crash left as residue of an intact log.
        let residue = crate::common::residue(&store, None);
        if boundary {
            assert!(residue.is_empty(), "cut {cut}: {residue:?}");
        } else {
            let start = spans[whole as usize].start;
            assert_eq!(residue.len(), 1, "cut {cut}");
            assert_eq!(
                (residue[0].offset, residue[0].bytes, residue[0].index),
                (start as u64, (cut - start) as u64, whole),
                "cut {cut}"
            );
        }
        let (ledger, report) = Ledger::open(store, options()).unwrap();
        assert_eq!(report.entries, whole, "cut at {cut}");
        let torn = if boundary {
            0
        } else {
            cut - spans[whole as usize].start
        };
        assert_eq!(report.torn_bytes, torn as u64, "cut at {cut}");
        assert_eq!(report.torn_entries, u64::from(!boundary));
        assert_eq!(
            ledger.store().len() as usize,
            if boundary {
                cut
            } else {
                spans[whole as usize].start
            }
        );
        crate::common::intact(ledger.store(), None);
    }
}

#[test]
fn zeros_after_the_last_frame_are_a_torn_tail() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    ledger.append(&payload(0)).unwrap();
    let mut bytes = ledger.into_store().unwrap().entry_bytes().to_vec();
    let good = bytes.len();
    bytes.extend_from_slice(&[0u8; 4096]);
    let (ledger, report) =
        Ledger::open(MemoryStore::from_bytes(bytes, Vec::new()), options()).unwrap();
    assert_eq!((report.entries, report.torn_bytes), (1, 4096));
    assert_eq!(ledger.store().len() as usize, good);
}

#[test]
fn appending_after_recovery_continues_the_chain() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    for i in 0..3 {
        ledger.append(&payload(i)).unwrap();
    }
    let mut store = ledger.into_store().unwrap();
    let len = store.len();
    store.truncate(len - 1).unwrap();
    let (mut ledger, report) = Ledger::open(store, options()).unwrap();
    assert_eq!(report.entries, 2);
    assert_eq!(ledger.append(&payload(2)).unwrap().index, 2);
    ledger.checkpoint().unwrap();
    crate::common::intact(ledger.store(), Some(&crate::common::signer().verifier()));
}

/// Large logs are re-hashed on all cores when opened; the state must be the same as the
/// writer's own (root, chain, time index), and appending must continue the chain.
#[test]
fn reopening_a_large_log_restores_the_writer_state_exactly() {
    let (mut ledger, _) =
        Ledger::open(MemoryStore::new(), options().checkpoint_every(4_000)).unwrap();
    for i in 0..9_000 {
        ledger.append(&payload(i)).unwrap();
    }
    let root = ledger.root();
    let chain = ledger.last_chain_hash();
    assert_eq!(chain, ledger.read_entry(8_999).unwrap().chain_hash);
    // Entries of closed time-index blocks and of the open one read back by index.
    for index in [0, 5, 1_030, 4_500, 8_191, 8_192, 8_999] {
        assert_eq!(ledger.read_entry(index).unwrap().payload, payload(index));
    }
    let blocks = ledger.index_blocks(0, u64::MAX);
    let store = ledger.into_store().unwrap();
    assert!(store.len() > 1 << 20, "large enough for the parallel path");
    let (mut reopened, report) = Ledger::open(store, options().checkpoint_every(4_000)).unwrap();
    assert_eq!(report.entries, 9_000);
    assert!(
        !report.index_rebuilt,
        "the stored time index matches the recomputed one"
    );
    assert_eq!(reopened.root(), root);
    assert_eq!(reopened.last_chain_hash(), chain);
    assert_eq!(reopened.index_blocks(0, u64::MAX), blocks);
    assert_eq!(reopened.append(&payload(9_000)).unwrap().index, 9_000);
    reopened.checkpoint().unwrap();
    crate::common::intact(reopened.store(), Some(&crate::common::signer().verifier()));
}

/// The same recovery on real files through the segment store, cut at every frame boundary
/// (and one byte either side) and every 11th byte: each cut that truncates costs fsyncs.
#[test]
fn a_segment_file_cut_at_every_byte_recovers_on_open() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..3 {
        ledger.append(&payload(i)).unwrap();
    }
    let full = ledger.into_store().unwrap().entry_bytes().to_vec();
    let spans = frame_spans(&full);
    let tmp = tempfile::tempdir().unwrap();
    let mut cuts: Vec<usize> = (0..=full.len()).step_by(11).collect();
    for span in &spans {
        cuts.extend([
            span.start - 1,
            span.start,
            span.start + 1,
            span.end - 1,
            span.end,
        ]);
    }
    cuts.extend([1, 15, 16, 17]);
    cuts.retain(|&c| c <= full.len());
    for cut in cuts {
        let dir = tmp.path().join(format!("cut-{cut}"));
        if dir.exists() {
            continue;
        }
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(whyline_ledger::ENTRIES_FILE), &full[..cut]).unwrap();
        let store = whyline_ledger::SegmentStore::open(&dir).unwrap();
        let (ledger, report) = Ledger::open(store, options()).unwrap();
        let whole = spans.iter().filter(|s| s.end <= cut).count() as u64;
        assert_eq!(report.entries, whole, "cut at {cut}");
        drop(ledger);
        let reopened = whyline_ledger::SegmentStore::open(&dir).unwrap();
        crate::common::intact(&reopened, None);
    }
}

#[test]
fn an_empty_payload_is_refused_and_the_log_is_unchanged() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    let error = ledger.append(&[]).unwrap_err();
    assert!(
        matches!(
            error,
            whyline_ledger::LedgerError::PayloadSize {
                index: 0,
                found: 0,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(ledger.size(), 0);
    assert_eq!(ledger.append(&payload(0)).unwrap().index, 0);
}

#[test]
fn a_torn_checkpoint_record_is_cut_on_open_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ledger, _) = Ledger::open(
        whyline_ledger::SegmentStore::open(dir.path()).unwrap(),
        options(),
    )
    .unwrap();
    for i in 0..10 {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    drop(ledger);
    let path = dir.path().join(whyline_ledger::CHECKPOINTS_FILE);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 20).unwrap();
    // Verification names the cut record as residue; opening cuts it and keeps the earlier
    // checkpoint.
    let store = whyline_ledger::SegmentStore::open(dir.path()).unwrap();
    let residue = crate::common::residue(&store, None);
    assert_eq!(residue.len(), 1, "{residue:?}");
    assert_eq!(residue[0].path, path);
    assert_eq!(
        (residue[0].index, residue[0].offset + residue[0].bytes),
        (1, len - 20)
    );
    let (ledger, report) = Ledger::open(store, options()).unwrap();
    // The cut record's bytes that were left: from its start to the cut end of the file.
    assert_eq!(report.torn_checkpoint_bytes, residue[0].bytes);
    assert!(report.torn_checkpoint_bytes > 0);
    assert_eq!(ledger.checkpoints().len(), 1);
    crate::common::intact(ledger.store(), Some(&crate::common::signer().verifier()));
}
