//! What a ledger's options say and what time alone makes due: `tick` commits entries
//! pending longer than `max_delay` and signs a checkpoint once the checkpoint interval has
//! passed, and nothing before; a store chosen at run time (`Box<dyn Store>`) commits the
//! same way.

use std::time::Duration;

use whyline_ledger::{
    Durability, Ledger, LedgerCollector, LedgerError, LedgerOptions, MAX_PAYLOAD, MemoryStore,
    SegmentStore, Store,
};

use crate::common::{ORIGIN, payload, signer, trace};

#[test]
fn options_report_what_they_were_given() {
    let signed = LedgerOptions::signed(ORIGIN, signer()).checkpoint_every(8);
    assert_eq!(signed.origin(), ORIGIN);
    assert_eq!(signed.checkpoint_entries(), 8);
    assert_eq!(signed.signer().map(|s| s.key_id()), Some(signer().key_id()));
    let bare = LedgerOptions::without_checkpoints(ORIGIN);
    assert!(bare.signer().is_none());
}

fn interval(max_delay: Duration) -> LedgerOptions {
    LedgerOptions::without_checkpoints(ORIGIN).durability(Durability::Interval {
        entries: 1_000,
        max_delay,
    })
}

/// `Interval { entries, .. }` commits when `entries` are pending, counted from the last
/// commit, and not before: with an hour's delay, the durable size steps by ten.
#[test]
fn an_interval_commits_each_time_its_count_of_entries_is_pending() {
    let options = LedgerOptions::without_checkpoints(ORIGIN).durability(Durability::Interval {
        entries: 10,
        max_delay: Duration::from_secs(3600),
    });
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options).unwrap();
    for i in 0..35 {
        ledger.append(&payload(i)).unwrap();
        assert_eq!(ledger.durable_size(), (i + 1) / 10 * 10, "after entry {i}");
    }
}

/// An entry's payload is 1 to [`MAX_PAYLOAD`] bytes: the largest is taken and read back,
/// one byte more refused at the index it would have had, and nothing appended.
#[test]
fn the_largest_payload_is_taken_and_one_byte_more_refused() {
    let (mut ledger, _) = Ledger::open(
        MemoryStore::new(),
        LedgerOptions::without_checkpoints(ORIGIN),
    )
    .unwrap();
    let largest = vec![0x5a; MAX_PAYLOAD];
    assert_eq!(ledger.append(&largest).unwrap().index, 0);
    assert_eq!(ledger.read_entry(0).unwrap().payload, largest);
    let error = ledger.append(&vec![0x5a; MAX_PAYLOAD + 1]).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::PayloadSize { index: 1, found, limit }
                if found == MAX_PAYLOAD + 1 && limit == MAX_PAYLOAD
        ),
        "{error:?}"
    );
    assert_eq!(ledger.size(), 1);
}

#[test]
fn tick_commits_only_what_waited_longer_than_max_delay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut patient, _) = Ledger::open(
        SegmentStore::open(dir.path().join("patient")).unwrap(),
        interval(Duration::from_secs(3600)),
    )
    .unwrap();
    let (mut eager, _) = Ledger::open(
        SegmentStore::open(dir.path().join("eager")).unwrap(),
        interval(Duration::from_millis(1)),
    )
    .unwrap();
    for i in 0..3 {
        patient.append(&payload(i)).unwrap();
        eager.append(&payload(i)).unwrap();
    }
    assert_eq!((patient.durable_size(), eager.durable_size()), (0, 0));
    std::thread::sleep(Duration::from_millis(5));
    patient.tick().unwrap();
    eager.tick().unwrap();
    assert_eq!(patient.durable_size(), 0, "an hour has not passed");
    assert_eq!(eager.durable_size(), 3);
    assert_eq!(eager.store().durable_len(), eager.store().len());
}

#[test]
fn tick_signs_a_checkpoint_once_the_interval_has_passed() {
    let options = LedgerOptions::signed(ORIGIN, signer())
        .checkpoint_every(0)
        .checkpoint_interval(Duration::from_millis(1));
    let dir = tempfile::tempdir().unwrap();
    let (mut ledger, _) = Ledger::open(SegmentStore::open(dir.path()).unwrap(), options).unwrap();
    assert_eq!(ledger.tick_period(), Some(Duration::from_millis(1)));
    for i in 0..5 {
        ledger.append(&payload(i)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(5));
    ledger.tick().unwrap();
    let latest = ledger.latest_checkpoint().expect("a checkpoint was signed");
    assert_eq!(latest.checkpoint.size, 5);
    assert_eq!(latest.checkpoint.root, ledger.root());
}

#[test]
fn a_boxed_store_chosen_at_run_time_commits_like_the_store_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store: Box<dyn Store> = Box::new(SegmentStore::open(dir.path()).unwrap());
    let options = LedgerOptions::without_checkpoints(ORIGIN).durability(Durability::Sync);
    let (collector, _) = LedgerCollector::open(store, options).unwrap();
    for i in 0..4 {
        let receipt = collector.append(&trace(i)).unwrap();
        // Under sync the receipt is durable when it is returned.
        assert!(collector.durable_size() > receipt.index);
    }
    let ledger = collector.into_ledger().unwrap();
    assert_eq!(ledger.store().location(), dir.path().join("entries.wls"));
    assert_eq!(ledger.store().durable_len(), ledger.store().len());
    assert!(!ledger.store().is_empty());
    drop(ledger);
    let reopened = SegmentStore::open_existing(dir.path()).unwrap();
    assert_eq!(reopened.dir(), dir.path());
    assert_eq!(crate::common::intact(&reopened, None).entries, 4);
    let debug = format!("{reopened:?}");
    assert!(
        debug.starts_with("SegmentStore { dir: ") && debug.contains("segments: 1"),
        "{debug}"
    );
}
