//! Attacks on stored bytes: each is detected by `verify_store` and names the right entry.

use whyline_ledger::{
    Checkpoint, CorruptionKind, Ledger, LedgerError, MemoryStore, NoteSigner, Store, VerifyOutcome,
    verify_store,
};

use crate::common::{frame_spans, memory_ledger, options, reseal, signer};

const N: u64 = 20;

fn pristine() -> MemoryStore {
    static PRISTINE: std::sync::OnceLock<MemoryStore> = std::sync::OnceLock::new();
    PRISTINE
        .get_or_init(|| memory_ledger(N).into_store().unwrap())
        .clone()
}

/// Verifies `store` and returns the (index, kind) of the first problem.
fn first_problem(store: &MemoryStore) -> (u64, CorruptionKind) {
    let damage = crate::common::damage(store, Some(&signer().verifier()));
    (damage.index, damage.kind)
}

fn edit(f: impl FnOnce(&mut Vec<u8>, &[std::ops::Range<usize>])) -> MemoryStore {
    let mut store = pristine();
    let spans = frame_spans(store.entry_bytes());
    assert_eq!(spans.len() as u64, N);
    f(store.entry_bytes_mut(), &spans);
    store
}

#[test]
fn the_untouched_log_verifies() {
    let store = pristine();
    let report = crate::common::intact(&store, Some(&signer().verifier()));
    assert_eq!(report.entries, N);
    assert_eq!(report.bytes, store.len(), "every byte is the log's");
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.latest_checkpoint.unwrap().size, N);
}

#[test]
fn a_flipped_bit_in_any_payload_names_that_entry() {
    for k in 0..N as usize - 1 {
        let store = edit(|bytes, spans| bytes[spans[k].start + 16 + 20] ^= 0x04);
        assert_eq!(
            first_problem(&store),
            (k as u64, CorruptionKind::ContentChanged),
            "entry {k}"
        );
    }
}

#[test]
fn a_changed_byte_with_recomputed_checksums_is_content_changed() {
    let store = edit(|bytes, spans| {
        bytes[spans[7].start + 16 + 33] ^= 0xff;
        reseal(bytes, spans[7].clone());
    });
    assert_eq!(first_problem(&store), (7, CorruptionKind::ContentChanged));
}

#[test]
fn a_rewritten_chain_hash_is_a_broken_link() {
    let store = edit(|bytes, spans| {
        let chain_at = spans[5].end - 36;
        bytes[chain_at] ^= 1;
        reseal(bytes, spans[5].clone());
    });
    assert_eq!(first_problem(&store), (5, CorruptionKind::LinkBroken));
}

#[test]
fn a_deleted_entry_is_missing() {
    let store = edit(|bytes, spans| {
        bytes.drain(spans[9].clone());
    });
    assert_eq!(
        first_problem(&store),
        (9, CorruptionKind::EntryMissing { found: 10 })
    );
}

#[test]
fn a_duplicated_entry_is_named() {
    let store = edit(|bytes, spans| {
        let copy = bytes[spans[4].clone()].to_vec();
        bytes.splice(spans[5].start..spans[5].start, copy);
    });
    assert_eq!(first_problem(&store), (5, CorruptionKind::Duplicated));
}

/// A frame claiming the previous entry's index with another chain hash (a forged or
/// forked entry, not a copy) is out of order, not a duplicate: only a frame equal to the
/// one before it in index and chain is called duplicated.
#[test]
fn an_earlier_index_with_another_chain_is_no_duplicate() {
    let store = edit(|bytes, spans| {
        let mut forged = bytes[spans[4].clone()].to_vec();
        let chain_at = forged.len() - 36;
        forged[chain_at] ^= 1;
        let len = forged.len();
        reseal(&mut forged, 0..len);
        bytes.splice(spans[5].start..spans[5].start, forged);
    });
    assert_eq!(
        first_problem(&store),
        (5, CorruptionKind::EntriesReordered { found: 4 })
    );
}

#[test]
fn swapped_entries_are_reordered() {
    let store = edit(|bytes, spans| {
        let a = bytes[spans[11].clone()].to_vec();
        let b = bytes[spans[12].clone()].to_vec();
        let mut swapped = b;
        swapped.extend_from_slice(&a);
        bytes.splice(spans[11].start..spans[12].end, swapped);
    });
    assert_eq!(
        first_problem(&store),
        (11, CorruptionKind::EntriesReordered { found: 12 })
    );
}

#[test]
fn an_inserted_entry_is_named() {
    let store = edit(|bytes, spans| {
        // A forged frame claiming index 6, well formed, with made-up content and chain.
        let mut forged = bytes[spans[6].clone()].to_vec();
        forged[16 + 40] ^= 0x55;
        let len = forged.len();
        reseal(&mut forged, 0..len);
        bytes.splice(spans[6].start..spans[6].start, forged);
    });
    assert_eq!(first_problem(&store), (6, CorruptionKind::Inserted));
}

#[test]
fn bytes_cut_from_the_middle_are_detected_at_the_cut() {
    let store = edit(|bytes, spans| {
        bytes.drain(spans[3].start + 10..spans[3].start + 30);
    });
    let (index, kind) = first_problem(&store);
    assert_eq!(index, 3);
    assert!(
        matches!(
            kind,
            CorruptionKind::BadFrame | CorruptionKind::ContentChanged
        ),
        "{kind:?}"
    );
}

#[test]
fn a_log_truncated_before_its_checkpoint_is_caught_by_the_checkpoint() {
    // Cut whole frames off the end: the chain alone cannot see it, the checkpoint can.
    let store = edit(|bytes, spans| bytes.truncate(spans[15].start));
    assert_eq!(
        first_problem(&store),
        (
            16,
            CorruptionKind::CheckpointBeyondLog {
                checkpoint_size: 16
            }
        )
    );
}

#[test]
fn a_log_rewritten_with_a_consistent_chain_fails_the_root_check() {
    // The attacker rebuilds the whole log with one entry changed: chain and CRCs are
    // consistent, but the signed checkpoints commit to the old roots.
    let original = pristine();
    let (mut forged, _) = Ledger::open(
        MemoryStore::new(),
        whyline_ledger::LedgerOptions::without_checkpoints(crate::common::ORIGIN),
    )
    .unwrap();
    for i in 0..N {
        let mut payload = crate::common::payload(i);
        if i == 2 {
            payload[32] ^= 1;
        }
        forged.append(&payload).unwrap();
    }
    let forged = forged.into_store().unwrap();
    let store = MemoryStore::from_bytes(
        forged.entry_bytes().to_vec(),
        original.checkpoint_bytes().to_vec(),
    );
    assert_eq!(first_problem(&store), (8, CorruptionKind::RootMismatch));
}

#[test]
fn a_checkpoint_signed_by_another_key_is_signature_invalid() {
    let mut store = pristine();
    let mallory = NoteSigner::Ed25519 {
        name: "whyline.test".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    };
    let report = crate::common::intact(&store, None);
    let note = Checkpoint {
        origin: crate::common::ORIGIN.into(),
        size: N,
        root: report.root,
    }
    .sign(&mallory);
    // The record layout of docs/ledger-format.md: u32 length, u32 CRC32C, note.
    let mut record = (note.len() as u32).to_le_bytes().to_vec();
    record.extend_from_slice(&crc32c::crc32c(note.as_bytes()).to_le_bytes());
    record.extend_from_slice(note.as_bytes());
    store
        .append_side(whyline_ledger::Side::Checkpoints, &record, true)
        .unwrap();
    let error = crate::common::damage(&store, Some(&signer().verifier()));
    assert!(
        matches!(
            error,
            whyline_ledger::Damage {
                index: 20,
                kind: CorruptionKind::SignatureInvalid,
                ..
            }
        ),
        "{error:?}"
    );
    // Without a key the forged checkpoint's root is still right: only the signature tells.
    crate::common::intact(&store, None);
}

#[test]
fn opening_a_log_damaged_in_the_middle_fails_with_its_position() {
    let store = edit(|bytes, spans| bytes[spans[4].start + 16 + 5] ^= 1);
    let offset = frame_spans(store.entry_bytes())[4].start as u64;
    let error = Ledger::open(store, options()).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Corrupt { index: 4, offset: o, kind: CorruptionKind::ContentChanged, .. } if o == offset
        ),
        "{error:?}"
    );
}

#[test]
fn salvage_keeps_the_good_prefix_and_reports_the_cut() {
    let mut cut_at = 0;
    let store = edit(|bytes, spans| {
        bytes[spans[12].start + 16 + 5] ^= 1;
        cut_at = spans[12].start as u64;
    });
    let length = store.len();
    let (mut ledger, report) = Ledger::open(store, options().salvage()).unwrap();
    let salvaged = report.salvaged.unwrap();
    assert_eq!(salvaged.index, 12);
    assert_eq!(salvaged.kind, CorruptionKind::ContentChanged);
    assert_eq!((salvaged.offset, salvaged.bytes), (cut_at, length - cut_at));
    // The checkpoints at 16 and 20 covered dropped entries: cut and reported.
    assert_eq!(report.dropped_checkpoints, vec![16, 20]);
    assert_eq!(ledger.size(), 12);
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
    // The rescued log takes new entries and checkpoints again.
    ledger.append(&crate::common::payload(12)).unwrap();
    ledger.checkpoint().unwrap();
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
}

/// A salvage cut right after a checkpoint's last entry keeps that checkpoint: only those
/// covering dropped entries go.
#[test]
fn salvage_keeps_a_checkpoint_of_exactly_the_entries_kept() {
    let store = edit(|bytes, spans| bytes[spans[16].start + 16 + 5] ^= 1);
    let (ledger, report) = Ledger::open(store, options().salvage()).unwrap();
    assert_eq!(report.salvaged.unwrap().index, 16);
    assert_eq!(report.dropped_checkpoints, vec![20]);
    assert_eq!(ledger.size(), 16);
    assert_eq!(
        ledger.checkpoints().last().map(|c| c.checkpoint.size),
        Some(16)
    );
    crate::common::intact(ledger.store(), Some(&signer().verifier()));
}

/// Logs above a megabyte are re-hashed on all cores; the verdicts must not change.
#[test]
fn a_large_log_verifies_in_parallel_and_still_names_a_changed_entry() {
    let n = 9_000u64;
    let (mut ledger, _) =
        Ledger::open(MemoryStore::new(), options().checkpoint_every(4_000)).unwrap();
    for i in 0..n {
        ledger.append(&crate::common::payload(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    let root = ledger.root();
    let store = ledger.into_store().unwrap();
    assert!(store.len() > 1 << 20, "large enough for the parallel path");
    let (report, calls) = verify_reporting_progress(&store);
    assert_eq!(
        (report.entries, report.root, report.checkpoints),
        (n, root, 3)
    );
    assert!(calls.len() >= 2, "{calls:?}");
    assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "{calls:?}");
    assert_eq!(calls.last(), Some(&(store.len(), store.len())));
    assert_eq!(report.bytes, store.len());
    let mut damaged = store.clone();
    let spans = frame_spans(damaged.entry_bytes());
    damaged.entry_bytes_mut()[spans[8_500].start + 16 + 30] ^= 0x10;
    assert_eq!(
        first_problem(&damaged),
        (8_500, CorruptionKind::ContentChanged)
    );
    // A forged checkpoint root at a size inside a chunk is caught by the parallel path too.
    let mut forged = store.clone();
    let note = Checkpoint {
        origin: crate::common::ORIGIN.into(),
        size: 7_777,
        root: [1; 32],
    }
    .sign(&signer());
    let mut record = (note.len() as u32).to_le_bytes().to_vec();
    record.extend_from_slice(&crc32c::crc32c(note.as_bytes()).to_le_bytes());
    record.extend_from_slice(note.as_bytes());
    forged
        .append_side(whyline_ledger::Side::Checkpoints, &record, true)
        .unwrap();
    assert_eq!(
        first_problem(&forged),
        (7_777, CorruptionKind::RootMismatch)
    );
}

mod any_change {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever single byte of the entry log changes, verification finds the log broken.
        #[test]
        fn any_changed_byte_is_detected(pick in any::<prop::sample::Index>(), xor in 1u8..=255) {
            let mut store = pristine();
            let len = store.entry_bytes().len();
            let at = pick.index(len);
            store.entry_bytes_mut()[at] ^= xor;
            let result = verify_store(&store, Some(&signer().verifier()));
            prop_assert!(matches!(result, Ok(VerifyOutcome::Broken(_))), "byte {at}: {result:?}");
        }

        /// Random bytes never make verification or opening panic.
        #[test]
        fn random_bytes_are_rejected_without_panicking(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            keep_header in any::<bool>(),
        ) {
            let mut log = if keep_header { b"WLEDGER\0\x02\0\0\0\0\0\0\0".to_vec() } else { Vec::new() };
            log.extend_from_slice(&bytes);
            let store = MemoryStore::from_bytes(log, bytes.clone());
            let _ = verify_store(&store, Some(&signer().verifier()));
            let _ = Ledger::open(store, options());
        }
    }
}

#[test]
fn verification_tells_a_torn_tail_from_a_change_in_the_middle() {
    let pristine = pristine();
    let spans = frame_spans(pristine.entry_bytes());

    // A frame cut short at the end is what a crash leaves: residue of an intact log, as
    // long as no checkpoint covers the cut entry ...
    let last = spans[(N - 1) as usize].clone();
    let cut = pristine.entry_bytes().len() - 7;
    let torn = MemoryStore::from_bytes(pristine.entry_bytes()[..cut].to_vec(), Vec::new());
    let report = crate::common::intact(&torn, None);
    assert_eq!(report.entries, N - 1);
    assert_eq!(report.crash_residue.len(), 1);
    let residue = &report.crash_residue[0];
    assert_eq!(
        (residue.index, residue.offset, residue.bytes),
        (N - 1, last.start as u64, (cut - last.start) as u64)
    );
    assert_eq!(
        VerifyOutcome::Intact(report.clone()).to_json()["crash_residue"][0]["bytes"],
        (cut - last.start) as u64
    );

    // ... while a cut into checkpointed entries is damage: signed entries are gone.
    let mut cut_signed = pristine.clone();
    cut_signed.entry_bytes_mut().truncate(cut);
    let damage = crate::common::damage(&cut_signed, None);
    assert_eq!(
        damage.kind,
        CorruptionKind::CheckpointBeyondLog { checkpoint_size: N }
    );

    // A whole last frame whose body fails its checksum may be a change: damage.
    let mut flipped = pristine.clone();
    flipped.entry_bytes_mut()[last.start + 20] ^= 1;
    let damage = crate::common::damage(&flipped, None);
    assert!(damage.is_torn_tail(), "{damage}");
    assert_eq!((damage.index, damage.intact_entries), (N - 1, N - 1));
    assert_eq!(damage.offset, last.start as u64);

    let mut changed = pristine.clone();
    changed.entry_bytes_mut()[spans[4].start + 20] ^= 1;
    let damage = crate::common::damage(&changed, None);
    assert!(!damage.is_torn_tail(), "{damage}");
    assert_eq!(
        (damage.index, damage.kind, damage.intact_entries),
        (4, CorruptionKind::ContentChanged, 4)
    );
    assert!(
        matches!(
            damage.clone().into_error(),
            LedgerError::Corrupt { index: 4, .. }
        ),
        "{damage}"
    );
    assert_eq!(
        damage.to_string(),
        format!(
            "memory: entry 4 at byte {}: content changed",
            spans[4].start
        )
    );
    // The JSON every front end prints says the same.
    let json = VerifyOutcome::Broken(damage).to_json();
    assert_eq!(json["type"], "problem");
    assert_eq!(json["index"], 4);
    assert_eq!(json["offset"], spans[4].start as u64);
    assert_eq!(json["kind"], "content changed");
    assert_eq!(json["torn_tail"], false);
    assert_eq!(json["intact_entries"], 4);
    let json = verify_store(&pristine, Some(&signer().verifier()))
        .unwrap()
        .to_json();
    assert_eq!(json["type"], "intact");
    assert_eq!(json["entries"], N);
    assert_eq!(json["signatures_checked"], true);
}

#[test]
fn an_edited_time_index_is_named_and_a_short_one_is_crash_lag() {
    use whyline_ledger::{INDEX_BLOCK, INDEX_RECORD_LEN, Side};
    let n = 3 * INDEX_BLOCK + 5;
    let mut store = memory_ledger(n).into_store().unwrap();
    let index = store.read_side(Side::TimeIndex).unwrap();
    assert_eq!(index.len(), 3 * INDEX_RECORD_LEN);
    assert_eq!(
        crate::common::intact(&store, None).time_index_mismatch,
        None
    );

    let mut edited = index.clone();
    edited[INDEX_RECORD_LEN + 9] ^= 0x01;
    store.truncate_side(Side::TimeIndex, 0).unwrap();
    store.append_side(Side::TimeIndex, &edited, false).unwrap();
    let report = crate::common::intact(&store, None);
    assert_eq!(report.time_index_mismatch, Some(1));
    assert_eq!(
        VerifyOutcome::Intact(report).to_json()["time_index_mismatch"],
        1
    );

    // Written without its own sync, the index may trail the log after a crash: not a change.
    store.truncate_side(Side::TimeIndex, 0).unwrap();
    store
        .append_side(Side::TimeIndex, &index[..INDEX_RECORD_LEN + 7], false)
        .unwrap();
    assert_eq!(
        crate::common::intact(&store, None).time_index_mismatch,
        None
    );
}

#[test]
fn a_changed_length_in_front_of_whole_checkpoint_records_is_damage_not_residue() {
    // Found by the tampering campaign: a checkpoint record whose length grew past the end of
    // the file hid the records after it as one record "cut short by a crash".
    let pristine = pristine();
    let side = pristine
        .read_side(whyline_ledger::Side::Checkpoints)
        .unwrap();
    for position in [0usize, 1] {
        // The length field of the record `position` (records follow each other).
        let mut at = 0usize;
        for _ in 0..position {
            let len = u32::from_le_bytes(side[at..at + 4].try_into().unwrap()) as usize;
            at += 8 + len;
        }
        let mut edited = side.clone();
        edited[at + 2] ^= 0x40;
        let mut store = pristine.clone();
        store
            .truncate_side(whyline_ledger::Side::Checkpoints, 0)
            .unwrap();
        store
            .append_side(whyline_ledger::Side::Checkpoints, &edited, true)
            .unwrap();
        let damage = crate::common::damage(&store, Some(&signer().verifier()));
        assert!(
            damage.path.ends_with(whyline_ledger::CHECKPOINTS_FILE),
            "record {position}: {damage}"
        );
        assert_eq!(damage.offset, at as u64, "record {position}");
    }
}

#[test]
fn an_empty_ledger_verifies_as_its_file_header_alone() {
    let (ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    let store = ledger.into_store().unwrap();
    assert!(
        store.len() > 0,
        "a ledger writes its file header when created"
    );
    let (report, calls) = verify_reporting_progress(&store);
    assert_eq!((report.entries, report.bytes), (0, store.len()));
    assert_eq!(calls.last(), Some(&(store.len(), store.len())));
}

#[test]
fn a_store_made_from_bytes_holds_all_of_them_durably() {
    let store = memory_ledger(5).into_store().unwrap();
    let copy = MemoryStore::from_bytes(store.entry_bytes().to_vec(), Vec::new());
    assert_eq!((copy.len(), copy.durable_len()), (store.len(), store.len()));
    assert_eq!(copy.entry_bytes(), store.entry_bytes());
}

/// Verifies an intact `store`: its report and every progress call `(done, total)`.
fn verify_reporting_progress(
    store: &MemoryStore,
) -> (whyline_ledger::VerifyReport, Vec<(u64, u64)>) {
    let mut calls = Vec::new();
    let report = whyline_ledger::verify_store_with_progress(
        store,
        Some(&signer().verifier()),
        &mut |done, total| calls.push((done, total)),
    )
    .unwrap()
    .into_result()
    .unwrap();
    (report, calls)
}

/// Zeros after the last checkpoint record (a page the crash lost) are crash residue, even
/// eight of them, which read as a record of length 0 with the CRC of nothing; a whole last
/// record whose CRC fails is damage, reported with its offset and length.
#[test]
fn zeros_after_the_last_checkpoint_are_residue_and_a_changed_last_checkpoint_is_damage() {
    let good = memory_ledger(20).into_store().unwrap();
    let checkpoints = good.checkpoint_bytes().to_vec();
    for zeros in [8usize, 20] {
        let mut padded = checkpoints.clone();
        padded.extend(std::iter::repeat_n(0u8, zeros));
        let store = MemoryStore::from_bytes(good.entry_bytes().to_vec(), padded);
        let residue = crate::common::residue(&store, Some(&signer().verifier()));
        assert_eq!(residue.len(), 1, "{residue:?}");
        assert_eq!(
            (residue[0].offset, residue[0].bytes),
            (checkpoints.len() as u64, zeros as u64)
        );
        // Reopened for writing, recovery cuts them and the log goes on.
        let (mut ledger, report) = Ledger::open(store, options()).unwrap();
        assert_eq!(report.torn_checkpoint_bytes, zeros as u64);
        assert_eq!(ledger.store().checkpoint_bytes(), &checkpoints[..]);
        ledger.append(&crate::common::payload(20)).unwrap();
        ledger.checkpoint().unwrap();
        crate::common::intact(ledger.store(), Some(&signer().verifier()));
    }
    // The last record cut short and followed by zeros: still residue (a run of zeros is
    // no record, though eight of them pass as a length-0 one with the CRC of nothing).
    let last_start = (good.checkpoint_bytes().len()
        - crate::common::last_checkpoint_record_len(&checkpoints)) as u64;
    let mut cut = checkpoints[..last_start as usize + 18].to_vec();
    cut.extend([0u8; 12]);
    let store = MemoryStore::from_bytes(good.entry_bytes().to_vec(), cut);
    let residue = crate::common::residue(&store, Some(&signer().verifier()));
    assert_eq!((residue[0].offset, residue[0].bytes), (last_start, 30));
    let mut changed = checkpoints.clone();
    let last = changed.len() - 1;
    changed[last] ^= 0x01;
    let store = MemoryStore::from_bytes(good.entry_bytes().to_vec(), changed);
    let damage = crate::common::damage(&store, Some(&signer().verifier()));
    let CorruptionKind::TornTail { bytes } = damage.kind else {
        panic!("{damage}");
    };
    assert_eq!(damage.offset + bytes, checkpoints.len() as u64, "{damage}");
    assert!(bytes > 8, "the whole last record: {damage}");
}

/// A ledger whose checkpoints file ends with a record that crosses a 4 KiB boundary, and
/// the record's `(start, end)`.
fn checkpoints_across_a_page() -> (MemoryStore, usize, usize) {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    for i in 0..400 {
        ledger.append(&crate::common::payload(i)).unwrap();
        ledger.checkpoint().unwrap();
        let bytes = ledger.store().checkpoint_bytes();
        let end = bytes.len();
        let start = end - crate::common::last_checkpoint_record_len(bytes);
        if start / 4096 != (end - 1) / 4096 && end % 4096 != 0 {
            return (ledger.into_store().unwrap(), start, end);
        }
    }
    panic!("no checkpoint record crossed a page in 400");
}

/// A crash after the checkpoints file grew can lose either page of a last record that
/// crosses a 4 KiB boundary: its later page (zeros from the boundary to the end of the
/// file), or the page that held the old end of the file (zeros from the record's start to
/// the boundary). The record is then whole in length but fails its checksum, which a change
/// also does; the lost page tells them apart, as in the entry log: crash residue, cut on
/// reopening. The same record with one bit flipped, or with zeros that stop short of the
/// boundary, is damage.
#[test]
fn a_whole_last_checkpoint_record_with_a_lost_page_is_residue_and_with_a_flipped_bit_damage() {
    let (store, start, end) = checkpoints_across_a_page();
    crate::common::intact(&store, Some(&signer().verifier()));
    crate::common::intact(
        &MemoryStore::from_bytes(
            store.entry_bytes().to_vec(),
            store.checkpoint_bytes().to_vec(),
        ),
        Some(&signer().verifier()),
    );
    let boundary = (start / 4096 + 1) * 4096;
    let entries = store.entry_bytes().to_vec();
    let checkpoints = store.checkpoint_bytes().to_vec();
    for lost in [boundary..end, start..boundary] {
        let mut crashed = checkpoints.clone();
        crashed[lost.clone()].fill(0);
        let store = MemoryStore::from_bytes(entries.clone(), crashed);
        let residue = crate::common::residue(&store, Some(&signer().verifier()));
        assert_eq!(residue.len(), 1, "{lost:?}: {residue:?}");
        assert_eq!(
            (residue[0].offset, residue[0].bytes),
            (start as u64, (end - start) as u64),
            "{lost:?}"
        );
        let (mut ledger, report) = Ledger::open(store, options()).unwrap();
        assert_eq!(report.torn_checkpoint_bytes, (end - start) as u64);
        assert_eq!(ledger.store().checkpoint_bytes(), &checkpoints[..start]);
        // Signed again, the cut checkpoint comes back byte for byte.
        ledger.checkpoint().unwrap();
        assert_eq!(ledger.store().checkpoint_bytes(), &checkpoints[..]);
        crate::common::intact(ledger.store(), Some(&signer().verifier()));
    }
    let changed = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = checkpoints.clone();
        edit(&mut bytes);
        let store = MemoryStore::from_bytes(entries.clone(), bytes);
        crate::common::damage(&store, Some(&signer().verifier()))
    };
    for damage in [
        changed(&|b| b[boundary + 1] ^= 0x04),
        changed(&|b| b[boundary - 3] ^= 0x40),
        changed(&|b| b[boundary + 1..end - 1].fill(0)),
        changed(&|b| b[start + 1..boundary].fill(0)),
    ] {
        assert_eq!(damage.offset, start as u64, "{damage}");
        assert!(
            matches!(damage.kind, CorruptionKind::TornTail { bytes } if bytes == (end - start) as u64),
            "{damage}"
        );
    }
}
