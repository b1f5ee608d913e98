//! Checks every [`Store`] must pass, written once and run against each store: the memory
//! store and segment files in this crate's tests, PostgreSQL in `whyline-store-postgres`'s
//! (tantivy's `directory/tests.rs` pattern, made public so other crates' stores run it too).
//!
//! The byte-level checks take a fresh, empty `&mut dyn Store`. The ledger-level checks take
//! `reopen`, which closes a store handed back by a ledger (`Some(store)`, or `None` for the
//! first open) and returns the same log opened again, as a restarted process would; a memory
//! store "reopens" by handing the value back. A failed check returns a
//! [`ConformanceError`] naming the check and what was expected and found.
//!
//! ```
//! use whyline_ledger::MemoryStore;
//! use whyline_ledger::store_conformance as conformance;
//!
//! conformance::append_returns_consecutive_offsets_and_reads_back(&mut MemoryStore::new())?;
//! conformance::ledger_round_trip(|old: Option<MemoryStore>| Ok(old.unwrap_or_default()))?;
//! # Ok::<(), whyline_ledger::collector::conformance::ConformanceError>(())
//! ```

use whyline_core::{DecisionTrace, LinearPath, to_aprt};

pub use crate::collector::conformance::ConformanceError;
use crate::{
    Durability, FRAME_OVERHEAD, Ledger, LedgerError, LedgerOptions, NoteSigner, NoteVerifier,
    Result as LedgerResult, Side, Store, VerifyOutcome, VerifyReport, verify_store,
};

/// The origin of the ledgers the checks write.
pub const ORIGIN: &str = "whyline.test/store-conformance";

/// The fixed Ed25519 signer of the checks' ledgers (seed bytes 7, 7, ...).
pub fn signer() -> NoteSigner {
    NoteSigner::Ed25519 {
        name: "whyline.test".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]),
    }
}

/// The options of the checks' ledgers: signed, no durability of their own, a checkpoint
/// every 8 entries.
pub fn options() -> LedgerOptions {
    LedgerOptions::signed(ORIGIN, signer())
        .durability(Durability::None)
        .checkpoint_every(8)
}

/// The `i`-th payload the checks append: the APRT record of a small linear decision.
pub fn payload(i: u64) -> Vec<u8> {
    to_aprt(&DecisionTrace {
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
    })
}

fn fail<T>(
    check: &'static str,
    expected: impl std::fmt::Debug,
    found: impl std::fmt::Debug,
) -> Result<T, ConformanceError> {
    Err(ConformanceError {
        check,
        expected: format!("{expected:?}"),
        found: format!("{found:?}"),
    })
}

fn ensure_eq<T: PartialEq + std::fmt::Debug>(
    check: &'static str,
    expected: T,
    found: T,
) -> Result<(), ConformanceError> {
    if expected == found {
        Ok(())
    } else {
        fail(check, expected, found)
    }
}

/// A store or ledger call that must succeed.
fn ok<T>(check: &'static str, result: LedgerResult<T>) -> Result<T, ConformanceError> {
    result.or_else(|error| fail(check, "Ok", error.to_string()))
}

/// Verifies `store`, which must be intact.
pub fn intact<S: Store + ?Sized>(
    check: &'static str,
    store: &S,
    verifier: Option<&NoteVerifier>,
) -> Result<VerifyReport, ConformanceError> {
    match ok(check, verify_store(store, verifier))? {
        VerifyOutcome::Intact(report) => Ok(report),
        VerifyOutcome::Broken(damage) => fail(check, "an intact log", damage.to_string()),
    }
}

/// Appends return consecutive offsets, bytes read back, and a read past the end is an
/// I/O error.
pub fn append_returns_consecutive_offsets_and_reads_back(
    store: &mut dyn Store,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "append_returns_consecutive_offsets_and_reads_back";
    ensure_eq(CHECK, 0, store.len())?;
    ensure_eq(CHECK, 0, ok(CHECK, store.append(b"hello"))?)?;
    ensure_eq(CHECK, 5, ok(CHECK, store.append(b", world"))?)?;
    ensure_eq(CHECK, 12, store.len())?;
    let mut buf = [0u8; 7];
    ok(CHECK, store.read_at(5, &mut buf))?;
    ensure_eq(CHECK, b", world", &buf)?;
    let mut whole = [0u8; 12];
    ok(CHECK, store.read_at(0, &mut whole))?;
    ensure_eq(CHECK, b"hello, world", &whole)?;
    let mut past = [0u8; 2];
    match store.read_at(11, &mut past) {
        Err(LedgerError::Io { .. }) => Ok(()),
        other => fail(CHECK, "Err(LedgerError::Io)", other),
    }
}

/// `sync` makes every appended byte durable, and only those.
pub fn sync_makes_everything_durable(store: &mut dyn Store) -> Result<(), ConformanceError> {
    const CHECK: &str = "sync_makes_everything_durable";
    ok(CHECK, store.append(&[1u8; 100]))?;
    ok(CHECK, store.sync())?;
    ensure_eq(CHECK, 100, store.durable_len())?;
    ok(CHECK, store.append(&[2u8; 10]))?;
    ensure_eq(CHECK, 100, store.durable_len())?;
    ok(CHECK, store.sync())?;
    ensure_eq(CHECK, 110, store.durable_len())?;
    let mut buf = [0u8; 12];
    ok(CHECK, store.read_at(98, &mut buf))?;
    ensure_eq(CHECK, [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], buf)
}

/// `truncate` cuts the log, and the next append starts at the cut.
pub fn truncate_cuts_the_log(store: &mut dyn Store) -> Result<(), ConformanceError> {
    const CHECK: &str = "truncate_cuts_the_log";
    ok(CHECK, store.append(&[3u8; 50]))?;
    ok(CHECK, store.sync())?;
    ok(CHECK, store.truncate(20))?;
    ensure_eq(CHECK, 20, store.len())?;
    ensure_eq(CHECK, 20, ok(CHECK, store.append(b"x"))?)?;
    let mut buf = [0u8; 2];
    ok(CHECK, store.read_at(19, &mut buf))?;
    ensure_eq(CHECK, [3, b'x'], buf)
}

/// Side logs append, read back whole, and truncate.
pub fn side_logs_append_read_and_truncate(store: &mut dyn Store) -> Result<(), ConformanceError> {
    const CHECK: &str = "side_logs_append_read_and_truncate";
    ensure_eq(
        CHECK,
        Vec::new(),
        ok(CHECK, store.read_side(Side::Checkpoints))?,
    )?;
    ok(CHECK, store.append_side(Side::Checkpoints, b"one", true))?;
    ok(CHECK, store.append_side(Side::Checkpoints, b"two", true))?;
    ok(CHECK, store.append_side(Side::TimeIndex, b"idx", false))?;
    ensure_eq(
        CHECK,
        b"onetwo".to_vec(),
        ok(CHECK, store.read_side(Side::Checkpoints))?,
    )?;
    ensure_eq(
        CHECK,
        b"idx".to_vec(),
        ok(CHECK, store.read_side(Side::TimeIndex))?,
    )?;
    ok(CHECK, store.truncate_side(Side::Checkpoints, 3))?;
    ensure_eq(
        CHECK,
        b"one".to_vec(),
        ok(CHECK, store.read_side(Side::Checkpoints))?,
    )
}

/// A ledger over the store: append 20 entries durably, checkpoint, close, verify, reopen and
/// read back.
pub fn ledger_round_trip<S: Store>(
    mut reopen: impl FnMut(Option<S>) -> LedgerResult<S>,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "ledger_round_trip";
    let store = ok(CHECK, reopen(None))?;
    let (mut ledger, report) = ok(
        CHECK,
        Ledger::open(store, options().durability(Durability::Sync)),
    )?;
    ensure_eq(CHECK, 0, report.entries)?;
    for i in 0..20 {
        let receipt = ok(CHECK, ledger.append(&payload(i)))?;
        ensure_eq(CHECK, i, receipt.index)?;
        ensure_eq(CHECK, crate::leaf_hash(&payload(i)), receipt.leaf_hash)?;
        ensure_eq(CHECK, i + 1, ledger.durable_size())?;
    }
    ok(CHECK, ledger.checkpoint())?;
    let root = ledger.root();
    let store = ok(CHECK, reopen(Some(ok(CHECK, ledger.into_store())?)))?;
    let report = intact(CHECK, &store, Some(&signer().verifier()))?;
    ensure_eq(
        CHECK,
        (20, root, 3),
        (report.entries, report.root, report.checkpoints),
    )?;
    let (ledger, report) = ok(CHECK, Ledger::open(store, options()))?;
    ensure_eq(CHECK, (20, 0), (report.entries, report.torn_bytes))?;
    ensure_eq(CHECK, root, ledger.root())?;
    ensure_eq(
        CHECK,
        payload(13),
        ok(CHECK, ledger.read_entry(13))?.payload,
    )?;
    match ledger.read_entry(20) {
        Err(LedgerError::OutOfRange { index: 20, .. }) => Ok(()),
        other => fail(CHECK, "Err(OutOfRange { index: 20 })", other),
    }
}

/// A torn tail (the last frame cut 10 bytes short by `cut`, which gets the closed store and
/// the length to cut it to, and returns it reopened) is reported by verification, cut on
/// open, and the log verifies again.
pub fn torn_tail_is_truncated_and_reported<S: Store>(
    mut reopen: impl FnMut(Option<S>) -> LedgerResult<S>,
    mut cut: impl FnMut(S, u64) -> LedgerResult<S>,
) -> Result<(), ConformanceError> {
    const CHECK: &str = "torn_tail_is_truncated_and_reported";
    let store = ok(CHECK, reopen(None))?;
    let (mut ledger, _) = ok(CHECK, Ledger::open(store, options().checkpoint_every(0)))?;
    for i in 0..5 {
        ok(CHECK, ledger.append(&payload(i)))?;
    }
    let store = ok(CHECK, ledger.into_store())?;
    let len = store.len();
    let store = ok(CHECK, cut(store, len - 10))?;
    let torn = (payload(4).len() + FRAME_OVERHEAD - 10) as u64;
    let residue = intact(CHECK, &store, None)?.crash_residue;
    ensure_eq(CHECK, vec![torn], residue.iter().map(|r| r.bytes).collect())?;
    let (ledger, report) = ok(CHECK, Ledger::open(store, options()))?;
    ensure_eq(
        CHECK,
        (4, 1, torn),
        (report.entries, report.torn_entries, report.torn_bytes),
    )?;
    ensure_eq(CHECK, 4, ledger.size())?;
    let store = ok(CHECK, reopen(Some(ok(CHECK, ledger.into_store())?)))?;
    let report = intact(CHECK, &store, None)?;
    ensure_eq(CHECK, (4, 0), (report.entries, report.crash_residue.len()))
}
