//! The schema and its migrations: SQL files in `migrations/`, applied in order when a writer
//! opens a log, each recorded in `whyline_schema_version`.
//!
//! Migrations run one transaction each under a transaction-level advisory lock, so two
//! writers opening their logs at once never apply one twice. A read-only open applies
//! nothing: it checks that the database holds the schema and is not newer than this build.

use std::path::Path;

use postgres::Client;
use whyline_ledger::{LedgerError, NotALedgerReason, Result};

use crate::error::pg_error;

/// One migration: its version (the file's number) and SQL.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in order.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_tables",
        sql: include_str!("../migrations/0001_tables.sql"),
    },
    Migration {
        version: 2,
        name: "0002_views",
        sql: include_str!("../migrations/0002_views.sql"),
    },
    Migration {
        version: 3,
        name: "0003_packed_rows",
        sql: include_str!("../migrations/0003_packed_rows.sql"),
    },
];

/// The schema version this build writes and reads.
// `too_new`'s message names this number: change both together.
pub const SCHEMA_VERSION: i32 = 3;

/// The advisory lock key (`pg_advisory_xact_lock(bigint)`) that serialises migrations:
/// "whylinem" in ASCII.
const MIGRATION_LOCK: i64 = 0x7768_796c_696e_656d;

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS whyline_schema_version (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Applies every migration the database lacks; refuses a database newer than this build.
pub(crate) fn migrate(client: &mut Client, location: &Path) -> Result<()> {
    let fail = |e| pg_error(location, "migrate", e);
    for migration in MIGRATIONS {
        let mut transaction = client.transaction().map_err(fail)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(fail)?;
        transaction.batch_execute(VERSION_TABLE).map_err(fail)?;
        let current = current_version(&mut transaction, location)?;
        if current > SCHEMA_VERSION {
            return Err(too_new(location, current));
        }
        if current >= migration.version {
            continue;
        }
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applying migration"
        );
        transaction.batch_execute(migration.sql).map_err(fail)?;
        transaction
            .execute(
                "INSERT INTO whyline_schema_version (version, name) VALUES ($1, $2)",
                &[&migration.version, &migration.name],
            )
            .map_err(fail)?;
        transaction.commit().map_err(fail)?;
    }
    Ok(())
}

/// Checks, without changing anything, that the database holds this build's schema:
/// [`LedgerError::NotALedger`] when it holds none.
pub(crate) fn check(client: &mut Client, location: &Path) -> Result<()> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('whyline_schema_version') IS NOT NULL",
            &[],
        )
        .map_err(|e| pg_error(location, "read schema", e))?
        .get(0);
    if !exists {
        return Err(LedgerError::NotALedger {
            path: location.to_path_buf(),
            reason: NotALedgerReason::Missing,
        });
    }
    match current_version(client, location)? {
        SCHEMA_VERSION => Ok(()),
        found if found > SCHEMA_VERSION => Err(too_new(location, found)),
        found => Err(LedgerError::InvalidSetting {
            setting: "schema version",
            value: found.to_string(),
            expected: "the current schema: open the log once for writing to migrate it",
        }),
    }
}

fn current_version(client: &mut impl postgres::GenericClient, location: &Path) -> Result<i32> {
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM whyline_schema_version",
            &[],
        )
        .map_err(|e| pg_error(location, "read schema", e))?;
    Ok(row.get(0))
}

fn too_new(location: &Path, found: i32) -> LedgerError {
    tracing::error!(location = %location.display(), found, "schema newer than this build");
    LedgerError::InvalidSetting {
        setting: "schema version",
        value: found.to_string(),
        expected: "at most the version this build knows (3): upgrade whyline",
    }
}
