//! Window proofs (issue 10 §5): honest windows are accepted and hold exactly the entries
//! stamped in them; a hidden entry, a checkpoint of another log and a rewritten time are
//! rejected; a clock going backwards keeps its time and widens windows by the disorder the
//! checkpoint signs; a checkpoint without that bound proves no window, and one that
//! understates it fails verification.

use whyline_core::to_aprt;
use whyline_ledger::{
    CorruptionKind, Evidence, Ledger, LedgerError, LedgerOptions, LedgerReader, MemoryStore,
    NoteSigner, ProofErrorKind, WindowErrorKind, WindowEvidence, leaf_hash, payload_timestamp,
};

use crate::common::{ORIGIN, intact, options, signer, trace};

const START: u64 = 1_700_000_000_000_000_000;

/// Decision `i` stamped `START + 1000·(i / 3)`: three decisions share each time, so windows
/// end on ties.
fn decision(i: u64) -> Vec<u8> {
    let mut t = trace(i);
    t.timestamp_ns = START + 1_000 * (i / 3);
    to_aprt(&t)
}

/// An entry without a time (as a model record is).
fn unstamped() -> Vec<u8> {
    b"an entry that carries no time".to_vec()
}

/// 2600 entries over three time-index blocks: decisions, with an unstamped entry every
/// 500 entries. Returns the ledger and every entry's time (`None`: unstamped).
fn ledger() -> (Ledger<MemoryStore>, Vec<Option<u64>>) {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    let mut times = Vec::new();
    for i in 0..2600u64 {
        let payload = if i % 500 == 250 {
            unstamped()
        } else {
            decision(i)
        };
        times.push(payload_timestamp(&payload));
        ledger.append(&payload).unwrap();
    }
    ledger.checkpoint().unwrap();
    (ledger, times)
}

/// The oracle: indices of the entries stamped in `[from, to]`, by brute force.
fn stamped_in(times: &[Option<u64>], from: u64, to: u64) -> Vec<u64> {
    (0..times.len() as u64)
        .filter(|&i| times[i as usize].is_some_and(|t| (from..=to).contains(&t)))
        .collect()
}

fn verify(proof: &WindowEvidence) -> Result<(), LedgerError> {
    proof.verify(&signer().verifier(), ORIGIN).map(|_| ())
}

#[test]
fn honest_windows_are_accepted_and_hold_every_entry_stamped_in_them() {
    let (ledger, times) = ledger();
    let at = |k: u64| START + 1_000 * k;
    let windows = [
        (at(0), at(0)),             // the first time: range starts at the log's start
        (0, at(10)),                // from before the log
        (at(100), at(450)),         // across a block boundary
        (at(300) + 1, at(301) - 1), // between two times: an empty range
        (at(866), u64::MAX),        // to the checkpoint's end
        (at(5), at(866)),           // everything but the first entries
        (at(340), at(342)),         // around the block boundary at index 1024
        // Exactly the time that spans the boundary at index 1024 (entries 1023 to 1025): the
        // second block's smallest time is `from` and the first block's largest is `to`, so
        // the entries before and after are in the neighbouring blocks, not these.
        (at(341), at(341)),
    ];
    for (from, to) in windows {
        let proof = ledger.prove_window(from, to).unwrap();
        verify(&proof).unwrap_or_else(|e| panic!("{from}..{to}: {e}"));
        let expected = stamped_in(&times, from, to);
        let range: Vec<u64> = (proof.first_index..proof.end_index)
            .filter(|&i| times[i as usize].is_some())
            .collect();
        assert_eq!(range, expected, "window {from}..{to}");
        // Read back from JSON, as verify-proof does.
        let json = serde_json::to_string(&proof).unwrap();
        let Evidence::Window(read) = Evidence::from_json(&json).unwrap() else {
            panic!("not read back as a window proof: {json}");
        };
        assert_eq!(read, proof);
        // The log it names, read from its checkpoint (verify-proof picks the key by it).
        assert_eq!(proof.origin().unwrap(), ORIGIN);
    }
    let start = ledger.prove_window(0, at(0)).unwrap();
    assert!(start.before.is_none() && start.first_index == 0);
    let end = ledger.prove_window(at(866), u64::MAX).unwrap();
    assert!(end.after.is_none() && end.end_index == 2600);
}

#[test]
fn the_read_only_reader_proves_the_same_window_as_the_writer() {
    let (ledger, _) = ledger();
    let (from, to) = (START + 100_000, START + 450_000);
    let written = ledger.prove_window(from, to).unwrap();
    let store = ledger.into_store().unwrap();
    let read = LedgerReader::new(&store)
        .unwrap()
        .prove_window(from, to)
        .unwrap();
    assert_eq!(read, written);
}

#[test]
fn a_window_shrunk_to_hide_an_entry_is_rejected() {
    let (ledger, _) = ledger();
    let honest = ledger
        .prove_window(START + 100_000, START + 450_000)
        .unwrap();
    verify(&honest).unwrap();

    // The range claims one entry fewer at either end.
    for (first, end) in [
        (honest.first_index + 1, honest.end_index),
        (honest.first_index, honest.end_index - 1),
    ] {
        let shrunk = WindowEvidence {
            first_index: first,
            end_index: end,
            ..honest.clone()
        };
        let error = verify(&shrunk).unwrap_err();
        assert!(
            matches!(
                error,
                LedgerError::InvalidWindow {
                    kind: WindowErrorKind::RangeNotBounded { .. },
                    ..
                }
            ),
            "{error:?}"
        );
    }

    // The boundary moved inside the window, with a genuine inclusion proof for it.
    let inside_after = ledger
        .prove_window(START + 100_000, START + 449_000)
        .unwrap();
    let shrunk = WindowEvidence {
        after: inside_after.after.clone(),
        end_index: inside_after.end_index,
        ..honest.clone()
    };
    let error = verify(&shrunk).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::NotAfter { .. },
                ..
            }
        ),
        "{error:?}"
    );
    let inside_before = ledger
        .prove_window(START + 101_000, START + 450_000)
        .unwrap();
    let shrunk = WindowEvidence {
        before: inside_before.before.clone(),
        first_index: inside_before.first_index,
        ..honest.clone()
    };
    let error = verify(&shrunk).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::NotBefore { .. },
                ..
            }
        ),
        "{error:?}"
    );

    // A boundary dropped ("the log starts here") leaves the earlier entries out.
    let shrunk = WindowEvidence {
        before: None,
        ..honest.clone()
    };
    let error = verify(&shrunk).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::RangeNotBounded { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_checkpoint_of_another_log_is_rejected() {
    let (ledger, _) = ledger();
    let honest = ledger
        .prove_window(START + 100_000, START + 450_000)
        .unwrap();

    // Another key: the note carries no signature by the key the auditor holds.
    let other_key = NoteSigner::generate_ed25519("whyline.test")
        .unwrap()
        .verifier();
    let error = honest.verify(&other_key, ORIGIN).unwrap_err();
    assert!(matches!(error, LedgerError::Note { .. }), "{error:?}");

    // Another origin, same key: the log the auditor asked about is not this one.
    let error = honest
        .verify(&signer().verifier(), "whyline.test/other")
        .unwrap_err();
    assert!(matches!(error, LedgerError::OtherLog { .. }), "{error:?}");

    // The checkpoint swapped for one of another log (same key, other origin and entries).
    let options = LedgerOptions::signed("whyline.test/other", signer()).checkpoint_every(0);
    let (mut other, _) = Ledger::open(MemoryStore::new(), options).unwrap();
    for i in 0..2600 {
        other.append(&decision(i + 1)).unwrap();
    }
    let note = other.checkpoint().unwrap().unwrap();
    let swapped = WindowEvidence {
        checkpoint: note,
        ..honest.clone()
    };
    let error = verify(&swapped).unwrap_err();
    assert!(matches!(error, LedgerError::OtherLog { .. }), "{error:?}");
    let error = swapped
        .verify(&signer().verifier(), "whyline.test/other")
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::CheckpointMismatch { what: "root" }),
        "{error:?}"
    );
}

#[test]
fn a_rewritten_boundary_time_no_longer_matches_its_leaf() {
    let (ledger, _) = ledger();
    let honest = ledger
        .prove_window(START + 100_000, START + 450_000)
        .unwrap();
    // The entry after the window is moved into it: its time is rewritten to one inside.
    let mut after = honest.after.clone().unwrap();
    let inside = START + 300_000;
    after.entry[8..16].copy_from_slice(&inside.to_le_bytes());
    after.timestamp_ns = inside;
    let rewritten = WindowEvidence {
        to_ns: START + 449_999,
        after: Some(after.clone()),
        ..honest.clone()
    };
    // Moving the window to end before it, the forged time (inside) fails the time check...
    let error = verify(&rewritten).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::NotAfter { .. },
                ..
            }
        ),
        "{error:?}"
    );
    // ... and a time rewritten to one still after the window fails the leaf hash.
    let later = START + 500_000;
    after.entry[8..16].copy_from_slice(&later.to_le_bytes());
    after.timestamp_ns = later;
    let rewritten = WindowEvidence {
        after: Some(after.clone()),
        ..honest.clone()
    };
    let error = verify(&rewritten).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidProof {
                kind: ProofErrorKind::RootMismatch,
                ..
            }
        ),
        "{error:?}"
    );
    // Only the stated time changed: it must be the entry's own.
    let mut stated = honest.after.clone().unwrap();
    stated.timestamp_ns += 1;
    let error = verify(&WindowEvidence {
        after: Some(stated),
        ..honest.clone()
    })
    .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::InvalidWindow {
                kind: WindowErrorKind::TimeMismatch { .. },
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_clock_going_backwards_keeps_its_time_and_widens_the_window_by_the_signed_disorder() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    // Times in microseconds after START; the clock steps back 6 µs at entry 3 (14 after 20)
    // and 2 µs at entry 42 (406 after 408: a second thread stamping before it took the lock).
    let mut times: Vec<u64> = (0..60).map(|i| 10 * i).collect();
    times[3] = 14;
    times[41] = 408;
    times[42] = 406;
    let stamped = |i: usize| {
        let mut t = trace(i as u64);
        t.timestamp_ns = START + 1_000 * times[i];
        to_aprt(&t)
    };
    for i in 0..times.len() {
        let receipt = ledger.append(&stamped(i)).unwrap();
        // The entry is stored as the collector encoded it, own time included.
        assert_eq!(receipt.leaf_hash, leaf_hash(&stamped(i)));
    }
    let note = ledger.checkpoint().unwrap().unwrap();
    assert!(note.contains("\nwhyline-time-disorder-ns 6000\n"), "{note}");
    let order = ledger.time_order();
    assert_eq!(order.disorder_ns(), 6_000);
    assert_eq!(order.first_backward().map(|s| s.index), Some(3));
    let report = intact(ledger.store(), Some(&signer().verifier()));
    assert_eq!(
        (report.time_order.map(|s| s.index), report.time_disorder_ns),
        (Some(3), 6_000)
    );

    let times: Vec<Option<u64>> = times.iter().map(|t| Some(START + 1_000 * t)).collect();
    for (from, to) in [(15, 15), (14, 30), (395, 405), (0, 5), (100, 590)] {
        let (from, to) = (START + 1_000 * from, START + 1_000 * to);
        let proof = ledger.prove_window(from, to).unwrap();
        verify(&proof).unwrap();
        assert_eq!(proof.time_disorder_ns, 6_000);
        let range: Vec<u64> = (proof.first_index..proof.end_index).collect();
        // Every entry stamped in the window is in the range ...
        for index in stamped_in(&times, from, to) {
            assert!(range.contains(&index), "{index} missing from {range:?}");
        }
        // ... and the range holds nothing stamped further than D from the window.
        let widened = stamped_in(&times, from.saturating_sub(6_000), to + 6_000);
        assert!(
            range.iter().all(|i| widened.contains(i)),
            "{range:?} beyond {widened:?}"
        );
    }
}

/// A log whose checkpoint was signed without the time-disorder line (as before window
/// proofs existed), entry 5 stamped earlier than entry 4.
fn old_store() -> MemoryStore {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..12 {
        let mut t = trace(i);
        if i == 5 {
            t.timestamp_ns = START;
        }
        ledger.append(&to_aprt(&t)).unwrap();
    }
    let root = ledger.root();
    let store = ledger.into_store().unwrap();
    let note = whyline_ledger::Checkpoint {
        origin: ORIGIN.into(),
        size: 12,
        root,
    }
    .sign(&signer());
    let mut record = (note.len() as u32).to_le_bytes().to_vec();
    record.extend_from_slice(&crc32c::crc32c(note.as_bytes()).to_le_bytes());
    record.extend_from_slice(note.as_bytes());
    MemoryStore::from_bytes(store.entry_bytes().to_vec(), record)
}

#[test]
fn a_checkpoint_that_states_no_time_bound_proves_no_window_until_a_new_one_is_signed() {
    let store = old_store();
    let report = intact(&store, Some(&signer().verifier()));
    assert_eq!(report.time_order.map(|s| s.index), Some(5));
    let error = LedgerReader::new(&store)
        .unwrap()
        .prove_window(START, u64::MAX)
        .unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::NoTimeBound {
                checkpoint_size: 12
            }
        ),
        "{error:?}"
    );
    let (mut ledger, _) = Ledger::open(store, options()).unwrap();
    let error = ledger.prove_window(START, u64::MAX).unwrap_err();
    assert!(
        matches!(error, LedgerError::NoTimeBound { .. }),
        "{error:?}"
    );
    ledger.append(&crate::common::payload(12)).unwrap();
    ledger.checkpoint().unwrap();
    verify(&ledger.prove_window(START, START + 7_000).unwrap()).unwrap();
}

#[test]
fn a_checkpoint_that_understates_the_disorder_fails_verification() {
    let store = old_store();
    // Re-sign the same checkpoint claiming the log is in order.
    let (entries, checkpoints) = (
        store.entry_bytes().to_vec(),
        store.checkpoint_bytes().to_vec(),
    );
    let note = std::str::from_utf8(&checkpoints[8..]).unwrap();
    let body_end = note.find("\n\n").unwrap() + 1;
    let lying = whyline_ledger::sign_note(
        &format!("{}whyline-time-disorder-ns 0\n", &note[..body_end]),
        &signer(),
    );
    let mut record = (lying.len() as u32).to_le_bytes().to_vec();
    record.extend_from_slice(&crc32c::crc32c(lying.as_bytes()).to_le_bytes());
    record.extend_from_slice(lying.as_bytes());
    let store = MemoryStore::from_bytes(entries, record);
    let damage = crate::common::damage(&store, Some(&signer().verifier()));
    assert!(
        matches!(
            damage.kind,
            CorruptionKind::TimeDisorderUnderstated { stated_ns: 0, actual_ns } if actual_ns > 0
        ),
        "{damage}"
    );
}

#[test]
fn verifying_and_proving_in_one_walk_gives_the_writers_proof_on_a_large_log() {
    // Over 1 MiB: verification takes the parallel walk, which now keeps the leaves.
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..12_000 {
        ledger.append(&decision(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    assert!(ledger.store().entry_bytes().len() > 1 << 20);
    let (from, to) = (START + 1_000_000, START + 2_500_000);
    let written = ledger.prove_window(from, to).unwrap();
    let (outcome, proof) = whyline_ledger::verify_and_prove_window(
        ledger.store(),
        Some(&signer().verifier()),
        from,
        to,
    )
    .unwrap();
    assert!(outcome.is_intact());
    assert_eq!(proof.unwrap().unwrap(), written);
    verify(&written).unwrap();
}

#[test]
fn a_time_index_block_says_whether_it_holds_a_stamped_entry() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for _ in 0..10 {
        ledger.append(&unstamped()).unwrap();
    }
    let blocks = ledger.index_blocks(0, u64::MAX);
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert!(!blocks[0].is_stamped(), "{blocks:?}");
    ledger.append(&decision(10)).unwrap();
    let blocks = ledger.index_blocks(0, u64::MAX);
    assert!(blocks[0].is_stamped(), "{blocks:?}");
    assert_eq!(blocks[0].min_timestamp_ns, blocks[0].max_timestamp_ns);
}

/// Entries stamped at the same time are in order: verified in parallel (a log above a
/// megabyte is walked in chunks joined in log order), no chunk boundary between two equal
/// times is taken for a clock stepping back.
#[test]
fn equal_times_across_the_parallel_walks_chunks_are_no_step_back() {
    let (mut ledger, _) =
        Ledger::open(MemoryStore::new(), options().checkpoint_every(4_000)).unwrap();
    for i in 0..9_000 {
        let mut t = trace(i);
        t.timestamp_ns = START;
        ledger.append(&to_aprt(&t)).unwrap();
    }
    ledger.checkpoint().unwrap();
    let store = ledger.into_store().unwrap();
    assert!(
        whyline_ledger::Store::len(&store) > 1 << 20,
        "large enough for the parallel walk"
    );
    let report = intact(&store, Some(&signer().verifier()));
    assert_eq!(report.entries, 9_000);
    assert_eq!((report.time_order, report.time_disorder_ns), (None, 0));
}

/// Entries appended after the latest checkpoint are outside its tree: a window is proved
/// against the checkpoint's entries only, even when the entries after it fill a time-index
/// block of their own that starts exactly at the checkpoint's size.
#[test]
fn entries_after_the_checkpoint_are_not_searched_for_a_windows_boundaries() {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options().checkpoint_every(0)).unwrap();
    for i in 0..2048 {
        ledger.append(&decision(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    for i in 2048..2100 {
        ledger.append(&decision(i)).unwrap();
    }
    let blocks = ledger.index_blocks(0, u64::MAX);
    assert_eq!(
        blocks.last().map(|b| b.first_index),
        Some(2048),
        "a block starts at the checkpoint's size: {blocks:?}"
    );
    // After everything the checkpoint holds, before what came after it.
    let from = START + 1_000 * 683;
    let proof = ledger.prove_window(from, u64::MAX).unwrap();
    verify(&proof).unwrap();
    assert_eq!(proof.tree_size, 2048);
    assert_eq!((proof.first_index, proof.end_index), (2048, 2048));
    assert_eq!(proof.before.as_ref().map(|b| b.index), Some(2047));
}
