//! Faults against a real server: the connection dropped mid-batch, the server restarted
//! with appends pending, a transaction that fails at COMMIT. For each: no acknowledged
//! (committed) entry is lost, no entry is there twice, the failed writer refuses further
//! appends (`WriterFailed`), and reopening recovers a log that verifies and continues.

use whyline_ledger::store_conformance::{options, payload};
use whyline_ledger::{Durability, Ledger, LedgerError, Store};
use whyline_store_postgres::PostgresStore;
use whyline_store_postgres::testing::StopMode;

use crate::common::{Db, entries, intact};

/// A ledger with `acknowledged` entries committed and `pending` more appended, not committed.
fn ledger_with_pending(db: &Db, acknowledged: u64, pending: u64) -> Ledger<PostgresStore> {
    let (mut ledger, _) = Ledger::open(
        db.writer("faults"),
        options().durability(Durability::None).checkpoint_every(0),
    )
    .unwrap();
    for i in 0..acknowledged {
        ledger.append(&payload(i)).unwrap();
    }
    ledger.commit().unwrap();
    assert_eq!(ledger.durable_size(), acknowledged);
    for i in acknowledged..acknowledged + pending {
        ledger.append(&payload(i)).unwrap();
    }
    assert_eq!(ledger.durable_size(), acknowledged);
    ledger
}

/// The failed writer refuses the next append with `WriterFailed`.
fn assert_writer_stopped(ledger: &mut Ledger<PostgresStore>) {
    let error = ledger.append(&payload(999)).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::WriterFailed {
                operation: "commit",
                ..
            }
        ),
        "{error:?}"
    );
}

/// Reopens the log, recovers it, checks it holds exactly `expected` entries (payloads 0..n,
/// each once, in order), verifies it, and appends 3 more.
fn reopen_recover_and_continue(db: &Db, expected: u64) {
    let (mut ledger, report) = Ledger::open(
        PostgresStore::open(&db.url("faults")).unwrap(),
        options().durability(Durability::Sync),
    )
    .unwrap();
    assert_eq!(report.entries, expected);
    assert_eq!(report.torn_bytes, 0);
    for i in expected..expected + 3 {
        assert_eq!(ledger.append(&payload(i)).unwrap().index, i);
    }
    ledger.checkpoint().unwrap();
    drop(ledger);
    let reader = PostgresStore::open_existing(&db.url("faults")).unwrap();
    assert_eq!(intact(&reader).entries, expected + 3);
    let want: Vec<Vec<u8>> = (0..expected + 3).map(payload).collect();
    assert_eq!(entries(&reader), want);
}

#[test]
fn a_connection_dropped_mid_batch_loses_no_acknowledged_entry() {
    let db = Db::new();
    let mut ledger = ledger_with_pending(&db, 10, 5);
    let killed: i64 = db
        .sql()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'whyline writer' AND datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    let error = ledger.commit().unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "commit",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(ledger.durable_size(), 10);
    assert_writer_stopped(&mut ledger);
    drop(ledger);
    reopen_recover_and_continue(&db, 10);
}

#[test]
fn a_server_restart_with_appends_pending_loses_no_acknowledged_entry() {
    let db = Db::new();
    let mut ledger = ledger_with_pending(&db, 12, 4);
    db.cluster.stop(StopMode::Immediate).unwrap();
    db.cluster.start_again().unwrap();
    let error = ledger.commit().unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "commit",
                ..
            }
        ),
        "{error:?}"
    );
    assert_writer_stopped(&mut ledger);
    drop(ledger);
    reopen_recover_and_continue(&db, 12);
}

#[test]
fn a_transaction_that_fails_at_commit_stops_the_writer_and_appends_nothing() {
    let db = Db::new();
    let mut ledger = ledger_with_pending(&db, 9, 6);
    // A deferred constraint trigger raises at COMMIT for any frame past the committed ones.
    let committed = ledger.store().durable_len() as i64;
    db.sql()
        .batch_execute(&format!(
            "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS \
               $$ BEGIN RAISE EXCEPTION 'refused at commit (test)'; END $$; \
             CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON whyline_frames \
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
               WHEN (NEW.start_offset >= {committed}) EXECUTE FUNCTION refuse_at_commit();"
        ))
        .unwrap();
    let error = ledger.commit().unwrap_err();
    let LedgerError::Io {
        operation: "commit",
        source,
        ..
    } = &error
    else {
        panic!("expected a failed commit, found {error:?}");
    };
    let chain = format!("{source}: {:?}", std::error::Error::source(source));
    assert!(chain.contains("refused at commit"), "{chain}");
    assert_writer_stopped(&mut ledger);
    drop(ledger);
    // Nothing of the refused transaction is there: the rows end where the commits ended.
    let rows_end: i64 = db
        .sql()
        .query_one(
            "SELECT coalesce(max(start_offset + length(bytes)), 0) FROM whyline_frames",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows_end, committed);
    db.sql()
        .batch_execute("DROP TRIGGER refuse_at_commit ON whyline_frames")
        .unwrap();
    reopen_recover_and_continue(&db, 9);
}

/// The two-buffer group commit of the collector (commits run outside the writer's lock,
/// through `begin_sync` tickets) from several threads: every receipt is in the log once.
#[test]
fn group_commit_from_several_threads_keeps_every_receipted_entry_once() {
    use whyline_ledger::LedgerCollector;
    let db = Db::new();
    let policy = Durability::Interval {
        entries: 64,
        max_delay: std::time::Duration::from_millis(2),
    };
    let (collector, _) = LedgerCollector::open(
        db.writer("faults"),
        options().durability(policy).checkpoint_every(256),
    )
    .unwrap();
    let payloads: Vec<Vec<u8>> = (0..800).map(payload).collect();
    std::thread::scope(|scope| {
        for chunk in payloads.chunks(200) {
            let collector = &collector;
            scope.spawn(move || {
                for batch in chunk.chunks(20) {
                    let receipts = collector
                        .append_batch(batch.iter().map(Vec::as_slice))
                        .unwrap();
                    let last = receipts.last().unwrap().index;
                    collector.wait_durable(last).unwrap();
                }
            });
        }
    });
    assert_eq!(collector.durable_size(), 800);
    drop(collector.into_ledger().unwrap());
    let reader = PostgresStore::open_existing(&db.url("faults")).unwrap();
    assert_eq!(intact(&reader).entries, 800);
    let mut found = entries(&reader);
    found.sort();
    let mut want = payloads;
    want.sort();
    assert_eq!(found, want);
}
