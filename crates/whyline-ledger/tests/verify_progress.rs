//! Progress of a long verification: the sequential walk (which a log with anything wrong
//! takes, to name it) reports every 64 Ki entries, not only at its end.

use whyline_ledger::{Ledger, MemoryStore, Store};

use crate::common::{frame_spans, options, residue};

#[test]
fn the_sequential_walk_reports_every_64_ki_entries() {
    const ENTRIES: usize = (1 << 16) + 100;
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..ENTRIES as u64 {
        ledger.append(&i.to_le_bytes()).unwrap();
    }
    let mut store = ledger.into_store().unwrap();
    let spans = frame_spans(store.entry_bytes());
    assert_eq!(spans.len(), ENTRIES);
    // A last frame cut short, as a crash leaves it: the parallel walk declines the log and
    // the sequential walk reads all of it.
    let cut = store.entry_bytes().len() - 10;
    store.entry_bytes_mut().truncate(cut);
    assert_eq!(residue(&store, None).len(), 1);

    let mut calls = Vec::new();
    whyline_ledger::verify_store_with_progress(&store, None, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap()
    .into_result()
    .unwrap();
    let after_64_ki = spans[(1 << 16) - 1].end as u64;
    assert!(
        calls.contains(&(after_64_ki, store.len())),
        "a report after entry 65,535 ends at byte {after_64_ki}: {calls:?}"
    );
    assert_eq!(
        calls.last(),
        Some(&(spans[ENTRIES - 2].end as u64, store.len())),
        "the last report: every whole entry"
    );
}
