//! One writer per log: a second writer is refused with a message naming the first, never
//! forks the chain; readers take no lock and cannot write.

use whyline_ledger::store_conformance::{options, payload};
use whyline_ledger::{Durability, Ledger, LedgerError, NotALedgerReason, Store};
use whyline_store_postgres::PostgresStore;

use crate::common::{Db, entries, intact};

#[test]
fn a_second_writer_is_refused_with_a_message_naming_the_first() {
    let db = Db::new();
    let (mut first, _) =
        Ledger::open(db.writer("fleet"), options().durability(Durability::Sync)).unwrap();
    first.append(&payload(0)).unwrap();

    let error = PostgresStore::open(&db.url("fleet")).unwrap_err();
    let LedgerError::Io {
        operation, source, ..
    } = &error
    else {
        panic!("expected an Io error from the lock, found {error:?}");
    };
    assert_eq!(*operation, "lock");
    assert_eq!(source.kind(), std::io::ErrorKind::WouldBlock);
    let message = source.to_string();
    assert!(
        message.contains("log \"fleet\" already has a writer")
            && message.contains("PostgreSQL backend pid")
            && message.contains("whyline writer"),
        "{message}"
    );

    // The first writer goes on; its chain is the only one.
    first.append(&payload(1)).unwrap();
    drop(first);
    let reader = PostgresStore::open_existing(&db.url("fleet")).unwrap();
    assert_eq!(intact(&reader).entries, 2);
    assert_eq!(entries(&reader), vec![payload(0), payload(1)]);
}

#[test]
fn the_lock_is_per_log_and_released_when_the_writer_closes() {
    let db = Db::new();
    let a = db.writer("a");
    let _b = db.writer("b");
    assert!(PostgresStore::open(&db.url("a")).is_err());
    drop(a);
    let mut again = PostgresStore::open(&db.url("a")).unwrap();
    again.append(b"x").unwrap();
    again.sync().unwrap();
}

#[test]
fn a_reader_takes_no_lock_and_cannot_write() {
    let db = Db::new();
    let mut writer = db.writer("a");
    writer.append(b"hello").unwrap();
    writer.sync().unwrap();
    let mut reader = PostgresStore::open_existing(&db.url("a")).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.len(), 5);
    let error = reader.append(b"x").unwrap_err();
    assert!(
        matches!(&error, LedgerError::Io { operation: "append", source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied),
        "{error:?}"
    );
    // The writer still writes while the reader is open.
    writer.append(b", world").unwrap();
    writer.sync().unwrap();
}

#[test]
fn opening_a_missing_log_read_only_is_not_a_ledger_and_creates_nothing() {
    let db = Db::new();
    let error = PostgresStore::open_existing(&db.url("nothing")).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::NotALedger {
                reason: NotALedgerReason::Missing,
                ..
            }
        ),
        "{error:?}"
    );
    let tables: i64 = db
        .sql()
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'whyline%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
    // Once a writer created the schema, the log still has to exist.
    drop(db.writer("other"));
    let error = PostgresStore::open_existing(&db.url("nothing")).unwrap_err();
    assert!(matches!(error, LedgerError::NotALedger { .. }), "{error:?}");
}

#[test]
fn migrations_are_recorded_once_in_schema_version() {
    let db = Db::new();
    drop(db.writer("a"));
    drop(db.writer("b"));
    let rows = db
        .sql()
        .query(
            "SELECT version, name FROM whyline_schema_version ORDER BY version",
            &[],
        )
        .unwrap();
    let found: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        found,
        vec![
            (1, "0001_tables".to_owned()),
            (2, "0002_views".to_owned()),
            (3, "0003_packed_rows".to_owned())
        ]
    );
    assert_eq!(whyline_store_postgres::SCHEMA_VERSION, 3);
}
