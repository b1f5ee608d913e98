//! Schema versions: a database migrated by a newer build is refused by writers and readers;
//! one migrated by an older build is refused by a reader (which changes nothing) and
//! migrated by the next writer.

use whyline_ledger::{LedgerError, Store};
use whyline_store_postgres::{PostgresStore, SCHEMA_VERSION};

use crate::common::Db;

/// The `InvalidSetting` error's value and expected text; panics on any other error.
fn invalid_setting(error: LedgerError) -> (String, &'static str) {
    match error {
        LedgerError::InvalidSetting {
            setting: "schema version",
            value,
            expected,
        } => (value, expected),
        other => panic!("expected a refused schema version, found {other:?}"),
    }
}

fn versions(db: &Db) -> Vec<i32> {
    db.sql()
        .query(
            "SELECT version FROM whyline_schema_version ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

#[test]
fn a_schema_newer_than_this_build_is_refused_by_writers_and_readers_naming_both_versions() {
    let db = Db::new();
    let mut writer = db.writer("future");
    writer.append(b"kept").unwrap();
    writer.sync().unwrap();
    drop(writer);
    let newer = SCHEMA_VERSION + 1;
    db.sql()
        .execute(
            "INSERT INTO whyline_schema_version (version, name) VALUES ($1, 'from a newer build')",
            &[&newer],
        )
        .unwrap();

    let (value, expected) = invalid_setting(PostgresStore::open(&db.url("future")).unwrap_err());
    assert_eq!(value, newer.to_string());
    assert!(expected.contains("upgrade whyline"), "{expected}");
    assert!(
        expected.contains(&format!("({SCHEMA_VERSION})")),
        "the refusal names the version this build knows, {SCHEMA_VERSION}: {expected}"
    );
    let (value, expected) =
        invalid_setting(PostgresStore::open_existing(&db.url("future")).unwrap_err());
    assert_eq!(value, newer.to_string());
    assert!(
        expected.contains(&format!("({SCHEMA_VERSION})")),
        "{expected}"
    );
    // Refusing changed nothing: the newer version is still recorded, the log still there.
    assert_eq!(*versions(&db).last().unwrap(), newer);
    let rows: i64 = db
        .sql()
        .query_one("SELECT count(*) FROM whyline_frames", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[test]
fn a_schema_of_an_older_build_is_refused_by_a_reader_and_migrated_by_the_next_writer() {
    let db = Db::new();
    // What a build of schema version 2 left: its two migrations and one log with a frame.
    db.sql()
        .batch_execute(&format!(
            "CREATE TABLE whyline_schema_version (version integer PRIMARY KEY, name text NOT NULL, \
               applied_at timestamptz NOT NULL DEFAULT now());
             {}
             {}
             INSERT INTO whyline_schema_version (version, name) VALUES (1, '0001_tables'), (2, '0002_views');",
            include_str!("../migrations/0001_tables.sql"),
            include_str!("../migrations/0002_views.sql"),
        ))
        .unwrap();
    db.sql()
        .batch_execute(
            "INSERT INTO whyline_logs (name) VALUES ('old');
             INSERT INTO whyline_frames (log_id, start_offset, bytes)
               SELECT log_id, 0, '\\x6f6c64'::bytea FROM whyline_logs WHERE name = 'old';",
        )
        .unwrap();

    let error = PostgresStore::open_existing(&db.url("old")).unwrap_err();
    let (value, expected) = invalid_setting(error);
    assert_eq!(value, "2");
    assert_eq!(
        expected,
        "the current schema: open the log once for writing to migrate it"
    );
    assert_eq!(versions(&db), vec![1, 2], "a reader migrates nothing");

    // A writer migrates to this build's version and keeps the old rows.
    let writer = PostgresStore::open(&db.url("old")).unwrap();
    assert_eq!(writer.len(), 3);
    let mut buf = [0u8; 3];
    writer.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"old");
    drop(writer);
    assert_eq!(versions(&db), (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    let reader = PostgresStore::open_existing(&db.url("old")).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(reader.len(), 3);
}
