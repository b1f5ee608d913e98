//! Helpers shared by the test modules: traces, payloads, and a reader of the documented
//! frame layout written independently of the crate's own parser.

use std::ops::Range;

use whyline_core::{DecisionTrace, LinearPath, to_aprt};
use whyline_ledger::{Durability, Ledger, LedgerOptions, MemoryStore, NoteSigner};

pub(crate) const ORIGIN: &str = "whyline.test/ledger";

/// A fixed Ed25519 signer (seed bytes 7, 7, ...).
pub(crate) fn signer() -> NoteSigner {
    NoteSigner::Ed25519 {
        name: "whyline.test".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
    }
}

pub(crate) fn options() -> LedgerOptions {
    LedgerOptions::signed(ORIGIN, signer())
        .durability(Durability::None)
        .checkpoint_every(8)
}

pub(crate) fn trace(i: u64) -> DecisionTrace<LinearPath> {
    DecisionTrace {
        timestamp_ns: 1_700_000_000_000_000_000 + i * 1_000,
        sequence: i,
        input_hash: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        output: i as f32 * 0.5,
        latency_ns: 1_000 * (1 + i),
        path: LinearPath {
            contributions: vec![0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8],
            intercept: 0.25,
            logit: i as f32,
            prediction: i as f32,
            probability: None,
        },
    }
}

pub(crate) fn payload(i: u64) -> Vec<u8> {
    to_aprt(&trace(i))
}

/// A memory ledger with `n` entries, checkpointed every 8 and at the end.
pub(crate) fn memory_ledger(n: u64) -> Ledger<MemoryStore> {
    let (mut ledger, _) = Ledger::open(MemoryStore::new(), options()).unwrap();
    for i in 0..n {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.checkpoint().unwrap();
    ledger
}

/// The byte ranges of each frame, read from the layout in docs/ledger-format.md:
/// 16-byte file header, then frames of 4 (length) + 8 (index) + 4 (CRC) + n + 32 + 4.
pub(crate) fn frame_spans(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut at = 16;
    while at + 16 <= bytes.len() {
        let n = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + 16 + n + 36;
        if end > bytes.len() {
            break;
        }
        spans.push(at..end);
        at = end;
    }
    spans
}

/// Recomputes both CRCs of the frame at `span` (an attacker who knows the format).
pub(crate) fn reseal(bytes: &mut [u8], span: Range<usize>) {
    let frame = &mut bytes[span];
    let header = crc32c::crc32c(&frame[..12]);
    frame[12..16].copy_from_slice(&header.to_le_bytes());
    let body_end = frame.len() - 4;
    let body = crc32c::crc32c(&frame[16..body_end]);
    frame[body_end..].copy_from_slice(&body.to_le_bytes());
}

/// Verifies `store`, which must be intact, and returns the report.
pub(crate) fn intact<S: whyline_ledger::Store + ?Sized>(
    store: &S,
    verifier: Option<&whyline_ledger::NoteVerifier>,
) -> whyline_ledger::VerifyReport {
    match whyline_ledger::verify_store(store, verifier).unwrap() {
        whyline_ledger::VerifyOutcome::Intact(report) => report,
        whyline_ledger::VerifyOutcome::Broken(damage) => {
            panic!("expected an intact log, found {damage}")
        }
    }
}

/// Verifies `store`, which must be intact apart from what a crash left at its end, and
/// returns that residue (one per file: the entry log, the checkpoints file).
pub(crate) fn residue<S: whyline_ledger::Store + ?Sized>(
    store: &S,
    verifier: Option<&whyline_ledger::NoteVerifier>,
) -> Vec<whyline_ledger::CrashResidue> {
    intact(store, verifier).crash_residue
}

/// Verifies `store`, which must be broken, and returns the first problem.
pub(crate) fn damage<S: whyline_ledger::Store + ?Sized>(
    store: &S,
    verifier: Option<&whyline_ledger::NoteVerifier>,
) -> whyline_ledger::Damage {
    match whyline_ledger::verify_store(store, verifier).unwrap() {
        whyline_ledger::VerifyOutcome::Broken(damage) => damage,
        whyline_ledger::VerifyOutcome::Intact(report) => {
            panic!("expected a broken log, found an intact one: {report:?}")
        }
    }
}

/// After a writer stopped on a failing file system: reopens the segment log in `dir` for
/// writing with synced appends (recovery cuts any residue), checks that entries
/// `0..acknowledged` hold their payloads, appends 100 more, checkpoints, and checks that the
/// log verifies with exactly those entries. Returns the recovery report and the entry count.
pub(crate) fn reopen_check_and_continue(
    dir: &std::path::Path,
    segments: whyline_ledger::SegmentOptions,
    acknowledged: u64,
) -> (whyline_ledger::RecoveryReport, u64) {
    let store = whyline_ledger::SegmentStore::open_with_options(dir, segments).unwrap();
    let (mut ledger, recovery) =
        Ledger::open(store, options().durability(Durability::Sync)).unwrap();
    for index in 0..acknowledged {
        let entry = ledger.read_entry(index).unwrap();
        assert_eq!(entry.payload, payload(index), "entry {index}");
    }
    let first_new = ledger.size();
    assert!(first_new >= acknowledged);
    for i in 0..100 {
        let receipt = ledger.append(&payload(first_new + i)).unwrap();
        assert_eq!(receipt.index, first_new + i);
    }
    ledger.checkpoint().unwrap();
    drop(ledger);
    let report = intact(
        &whyline_ledger::SegmentStore::open_read_only(dir).unwrap(),
        Some(&signer().verifier()),
    );
    assert_eq!(report.entries, first_new + 100);
    (recovery, report.entries)
}

/// Appends `payload(i)` for `i` from `next` on until an append fails, then checks that the
/// writer stopped (the next append is `WriterFailed`). Returns the entries acknowledged in
/// all (`next` plus those appended here) and the error. Panics, saying `never`, when `limit`
/// appends went in without one failing.
pub(crate) fn append_until_the_writer_stops<S: whyline_ledger::Store>(
    ledger: &mut Ledger<S>,
    mut next: u64,
    limit: u64,
    never: &str,
) -> (u64, whyline_ledger::LedgerError) {
    let error = loop {
        match ledger.append(&payload(next)) {
            Ok(receipt) => assert_eq!(receipt.index, next),
            Err(error) => break error,
        }
        next += 1;
        assert!(next < limit, "{never}");
    };
    let again = ledger.append(&payload(0)).unwrap_err();
    assert!(
        matches!(again, whyline_ledger::LedgerError::WriterFailed { .. }),
        "the writer stopped: {again:?}"
    );
    (next, error)
}

/// Ends a kill-trial child process once the test that runs the trials is gone. A parent
/// killed from outside (a mutation run's timeout, a Ctrl-C) never kills its child, which
/// would append, or wait for its kill, for ever as an orphan: cargo-mutants left a dozen
/// such children spinning on 12-07 before this guard.
pub(crate) fn exit_with_parent() {
    let parent = std::os::unix::process::parent_id();
    std::thread::spawn(move || {
        loop {
            if std::os::unix::process::parent_id() != parent {
                std::process::exit(0);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    });
}

/// The length of the last record of a checkpoints file (records: length u32, CRC32C u32,
/// note; docs/ledger-format.md), walking the records from the start.
pub(crate) fn last_checkpoint_record_len(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut last = 0;
    while at + 8 <= bytes.len() {
        last = 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += last;
    }
    last
}
