//! The store conformance suite of `whyline-ledger`, the same checks as for the memory store
//! and segment files, against a real PostgreSQL server.

use whyline_ledger::store_conformance as conformance;
use whyline_store_postgres::PostgresStore;

use crate::common::Db;

#[test]
fn append_returns_consecutive_offsets_and_reads_back() {
    let db = Db::new();
    conformance::append_returns_consecutive_offsets_and_reads_back(&mut db.writer("a")).unwrap();
}

#[test]
fn sync_makes_everything_durable() {
    let db = Db::new();
    conformance::sync_makes_everything_durable(&mut db.writer("a")).unwrap();
}

#[test]
fn truncate_cuts_the_log() {
    let db = Db::new();
    conformance::truncate_cuts_the_log(&mut db.writer("a")).unwrap();
}

#[test]
fn side_logs_append_read_and_truncate() {
    let db = Db::new();
    conformance::side_logs_append_read_and_truncate(&mut db.writer("a")).unwrap();
}

#[test]
fn ledger_round_trip() {
    let db = Db::new();
    let url = db.url("round-trip");
    conformance::ledger_round_trip(|old| {
        drop(old);
        PostgresStore::open(&url)
    })
    .unwrap();
}

#[test]
fn torn_tail_is_truncated_and_reported() {
    let db = Db::new();
    let url = db.url("torn");
    conformance::torn_tail_is_truncated_and_reported(
        |old| {
            drop(old);
            PostgresStore::open(&url)
        },
        |store, len| {
            // A torn last frame, as a crash of a file store leaves it: cut the last row.
            let log_id = store.log_id();
            drop(store);
            db.sql()
                .execute(
                    "UPDATE whyline_frames SET bytes = substring(bytes FROM 1 FOR ($2 - start_offset)::integer) \
                     WHERE log_id = $1 AND start_offset < $2 AND start_offset + length(bytes) > $2",
                    &[&log_id, &(len as i64)],
                )
                .unwrap();
            PostgresStore::open(&url)
        },
    )
    .unwrap();
}

/// Two logs in one database are independent.
#[test]
fn logs_of_one_database_are_independent() {
    let db = Db::new();
    let mut a = db.writer("a");
    let mut b = db.writer("b");
    use whyline_ledger::Store;
    a.append(b"aaaa").unwrap();
    b.append(b"bb").unwrap();
    a.sync().unwrap();
    b.sync().unwrap();
    drop((a, b));
    let a = PostgresStore::open_existing(&db.url("a")).unwrap();
    let b = PostgresStore::open_existing(&db.url("b")).unwrap();
    assert_eq!((a.len(), b.len()), (4, 2));
    let mut buf = [0u8; 2];
    b.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"bb");
}
