//! One writer per log: a session-level advisory lock held by the writer's connection.
//!
//! The key is the pair (`WRITER_LOCK_CLASS`, the log's `log_id`), taken with
//! `pg_try_advisory_lock(int, int)`: it shows in `pg_locks` as `locktype = 'advisory'`,
//! `classid = 2003595111`, `objid = log_id`, `objsubid = 2`. PostgreSQL releases it when the
//! session ends (the writer closes, its process dies, or its connection drops), so a crashed
//! writer never blocks its successor; a second writer while the first lives gets an error
//! naming the holder, and never appends a frame, so no chain can fork. Readers take no lock.

use std::path::Path;

use postgres::Client;
use whyline_ledger::Result;

use crate::error::{pg_error, store_error};

/// The first half of the writer lock's key: "wlog" in ASCII.
pub const WRITER_LOCK_CLASS: i32 = 0x776c_6f67;

/// Takes the writer lock of log `log_id` for this session, or says who holds it.
pub(crate) fn acquire(client: &mut Client, log_id: i32, log: &str, location: &Path) -> Result<()> {
    let taken: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&WRITER_LOCK_CLASS, &log_id],
        )
        .map_err(|e| pg_error(location, "lock", e))?
        .get(0);
    if taken {
        return Ok(());
    }
    let holder = client
        .query_opt(
            "SELECT a.pid, coalesce(a.application_name, ''), \
                    coalesce(host(a.client_addr), 'a local socket'), \
                    coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?') \
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 \
               AND l.classid = $1::int::oid AND l.objid = $2::int::oid",
            &[&WRITER_LOCK_CLASS, &log_id],
        )
        .map_err(|e| pg_error(location, "lock", e))?;
    let who = match holder {
        Some(row) => {
            let pid: i32 = row.get(0);
            let application: String = row.get(1);
            let client_addr: String = row.get(2);
            let since: String = row.get(3);
            format!(
                "PostgreSQL backend pid {pid} (application {application:?}, from {client_addr}, connected since {since})"
            )
        }
        None => "another session (not visible to this user)".to_owned(),
    };
    Err(store_error(
        location,
        "lock",
        std::io::ErrorKind::WouldBlock,
        format!(
            "log {log:?} already has a writer: {who}; one writer per log, stop it or wait for it to close"
        ),
    ))
}
