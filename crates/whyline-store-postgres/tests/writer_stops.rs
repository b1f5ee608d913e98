//! A writer whose session is gone stops at the first failure and names it: a commit ticket
//! run after an earlier ticket failed, a truncation of the entry log or of a side log. Each
//! leaves the writer refusing appends (`WriterFailed` naming the operation and the durable
//! length) until the log is reopened.

use std::time::{Duration, Instant};

use whyline_ledger::{LedgerError, Side, Store};

use crate::common::Db;

/// Ends the writer's PostgreSQL session from outside and waits until it is gone.
fn kill_writer_session(db: &Db) {
    let mut sql = db.sql();
    let killed: i64 = sql
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'whyline writer' AND datname = current_database()",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(killed, 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: i64 = sql
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'whyline writer'",
                &[],
            )
            .unwrap()
            .get(0);
        if left == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the writer's session outlived its termination"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The messages of `error` and of every source under it, joined.
fn chain(error: &LedgerError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(next) = source {
        text.push_str(" <- ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

fn assert_stopped(store: &mut impl Store, operation: &'static str, durable: u64) {
    let error = store.append(b"more").unwrap_err();
    assert!(
        matches!(error, LedgerError::WriterFailed { operation: o, offset, .. } if o == operation && offset == durable),
        "{error:?}"
    );
}

#[test]
fn a_ticket_run_after_an_earlier_ticket_failed_is_refused_and_the_writer_stops() {
    let db = Db::new();
    let mut writer = db.writer("tickets");
    writer.append(b"one").unwrap();
    let first = writer.begin_sync().unwrap();
    writer.append(b"two").unwrap();
    let second = writer.begin_sync().unwrap();
    assert_eq!((first.len(), second.len()), (3, 6));
    kill_writer_session(&db);

    let failed = first.sync();
    let error = writer.finish_sync(first, failed).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "fsync",
                ..
            }
        ),
        "{error:?}"
    );
    // The second ticket's batch went with the failed transaction; it is refused, not
    // committed after a hole.
    let refused = second.sync();
    let error = writer.finish_sync(second, refused).unwrap_err();
    let text = chain(&error);
    assert!(
        text.contains("an earlier commit of this writer failed; reopen to recover"),
        "{text}"
    );
    assert_eq!(writer.durable_len(), 0);
    assert_stopped(&mut writer, "commit", 0);
    drop(writer);
    let rows: i64 = db
        .sql()
        .query_one("SELECT count(*) FROM whyline_frames", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "nothing of either ticket was committed");
}

#[test]
fn a_truncation_that_fails_stops_the_writer_naming_the_truncation() {
    let db = Db::new();
    let mut writer = db.writer("cut");
    for bytes in [&b"first"[..], &b"second"[..]] {
        writer.append(bytes).unwrap();
        writer.sync().unwrap();
    }
    // Cutting at or past the end changes nothing.
    writer.truncate(11).unwrap();
    writer.truncate(40).unwrap();
    assert_eq!(writer.len(), 11);
    kill_writer_session(&db);
    let error = writer.truncate(5).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "truncate",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(writer.len(), 11, "a failed truncation cuts nothing");
    assert_stopped(&mut writer, "truncate", 11);
}

#[test]
fn a_side_log_truncation_that_fails_stops_the_writer_naming_it() {
    let db = Db::new();
    let mut writer = db.writer("side-cut");
    writer
        .append_side(Side::TimeIndex, b"0123456789", true)
        .unwrap();
    writer.truncate_side(Side::TimeIndex, 10).unwrap();
    writer.truncate_side(Side::TimeIndex, 99).unwrap();
    assert_eq!(writer.read_side(Side::TimeIndex).unwrap(), b"0123456789");
    kill_writer_session(&db);
    let error = writer.truncate_side(Side::TimeIndex, 4).unwrap_err();
    assert!(
        matches!(
            error,
            LedgerError::Io {
                operation: "truncate side log",
                ..
            }
        ),
        "{error:?}"
    );
    assert_stopped(&mut writer, "truncate side log", 0);
}
