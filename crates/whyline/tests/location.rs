//! `LogLocation`: a path is a directory, a `postgres://` URL needs the `postgres` feature
//! (refused by name without it), and the readers' and the existing writer's opens never
//! create a ledger.

use std::ffi::OsStr;

use whyline::ledger::Store;
use whyline::ledger::{LedgerError, NotALedgerReason};
use whyline::{Ledger, LedgerOptions, LogLocation, WhylineError};

/// Only in a build without the feature (`cargo test --workspace` turns it on through
/// `whyline-cli`; `src/location.rs` tests the URL then).
#[cfg(not(feature = "postgres"))]
#[test]
fn a_database_url_is_refused_by_a_build_without_postgres() {
    for url in [
        "postgres://whyline:secret@127.0.0.1/audit?log=fleet",
        "postgresql://u@h/db",
    ] {
        let error = LogLocation::parse(OsStr::new(url)).unwrap_err();
        assert!(matches!(error, WhylineError::NoPostgres), "{error:?}");
        assert!(matches!(
            LogLocation::postgres(url),
            Err(WhylineError::NoPostgres)
        ));
    }
}

#[test]
fn a_path_is_a_directory_even_when_it_starts_like_a_scheme() {
    let dir = LogLocation::parse(OsStr::new("postgres-logs/fleet")).unwrap();
    assert_eq!(
        dir.as_dir(),
        Some(std::path::Path::new("postgres-logs/fleet"))
    );
    assert_eq!(
        format!("{dir:?}"),
        "LogLocation(\"postgres-logs/fleet\")",
        "Debug shows the path"
    );
}

#[test]
fn readers_and_the_existing_writer_open_a_ledger_but_never_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = LogLocation::Dir(dir.path().join("missing"));
    let empty = LogLocation::Dir(dir.path().to_owned());
    for (location, reason) in [
        (&missing, NotALedgerReason::Missing),
        (&empty, NotALedgerReason::NoEntryLog),
    ] {
        for opened in [location.open_read_only(), location.open_existing_writer()] {
            let Err(WhylineError::Ledger(LedgerError::NotALedger {
                path,
                reason: found,
            })) = opened
            else {
                panic!("{location:?} opened");
            };
            assert_eq!(path, location.path());
            assert_eq!(found, reason);
        }
    }
    assert!(!dir.path().join("missing").exists(), "nothing created");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A ledger with one entry: the writer appends, the read-only view sees it.
    let log = dir.path().join("log");
    let location = LogLocation::Dir(log.clone());
    let (mut ledger, _) = Ledger::open(
        location.open_writer().unwrap(),
        LedgerOptions::without_checkpoints("t"),
    )
    .unwrap();
    ledger.append(b"first").unwrap();
    ledger.commit().unwrap();
    drop(ledger);
    let (mut ledger, _) = Ledger::open(
        location.open_existing_writer().unwrap(),
        LedgerOptions::without_checkpoints("t"),
    )
    .unwrap();
    assert_eq!(ledger.size(), 1);
    ledger.append(b"second").unwrap();
    ledger.commit().unwrap();
    drop(ledger);
    let view = location.open_read_only().unwrap();
    assert_eq!(view.location(), log.join(whyline::ledger::ENTRIES_FILE));
    let entries = whyline::LedgerReader::new(&view)
        .unwrap()
        .all_entries()
        .unwrap()
        .entries;
    let payloads: Vec<&[u8]> = entries.iter().map(|e| e.payload.as_slice()).collect();
    assert_eq!(payloads, [b"first".as_slice(), b"second".as_slice()]);
}
