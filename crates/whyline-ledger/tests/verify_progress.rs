//! Progress of a long verification: the sequential walk (which a log with anything wrong
//! takes, to name it) reports every 64 Ki entries, not only at its end.

use whyline_ledger::{Ledger, MemoryStore, Store};

use crate::common::{frame_spans, options, residue};

/// Verifies `store`, which must be intact (crash residue allowed), and returns every
/// progress report `(bytes done, bytes total)`.
fn progress_of(store: &MemoryStore) -> Vec<(u64, u64)> {
    let mut calls = Vec::new();
    whyline_ledger::verify_store_with_progress(store, None, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap()
    .into_result()
    .unwrap();
    calls
}

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

    let calls = progress_of(&store);
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

/// On a log large enough for the parallel walk, the reports grow with the chunks joined,
/// each the end of a whole entry, up to the end of the log.
#[test]
fn the_parallel_walk_reports_growing_offsets_of_whole_entries() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..30_000u64 {
        ledger
            .append(&[i.to_le_bytes(), [7; 8], [9; 8]].concat())
            .unwrap();
    }
    let store = ledger.into_store().unwrap();
    assert!(store.len() > 1 << 20, "large enough for the parallel walk");
    let ends: std::collections::BTreeSet<u64> = frame_spans(store.entry_bytes())
        .iter()
        .map(|span| span.end as u64)
        .collect();
    let calls = progress_of(&store);
    assert!(calls.len() >= 3, "{calls:?}");
    assert!(calls.iter().all(|&(_, total)| total == store.len()));
    assert!(
        calls.windows(2).all(|pair| pair[0].0 <= pair[1].0),
        "growing: {calls:?}"
    );
    assert!(
        calls.iter().all(|(done, _)| ends.contains(done)),
        "each at the end of an entry: {calls:?}"
    );
    assert_eq!(calls.last(), Some(&(store.len(), store.len())));
}
