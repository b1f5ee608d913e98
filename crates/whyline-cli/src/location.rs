//! Where a ledger lives, as a command line names it: a directory of segment files, or a log in
//! PostgreSQL (`postgres://user@host:port/db?log=NAME`, see `docs/postgres-store.md`).
//!
//! Read commands (`verify`, `incident`, `prove`) open either read-only through
//! [`LogLocation::open_read_only`] and then run the same library code on the store; only the
//! name printed differs (the URL without its password).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use whyline_ledger::{Ledger, LedgerOptions, RecoveryReport, SegmentStore, Store};
use whyline_store_postgres::{PostgresLocation, PostgresStore, is_postgres_url};

/// A ledger's location: a directory or a PostgreSQL log.
#[derive(Clone, Debug)]
pub(crate) enum LogLocation {
    /// A ledger directory (segment files).
    Dir(PathBuf),
    /// A log in PostgreSQL: the URL as given, and its redacted form for messages.
    Postgres {
        /// The URL as given (may hold a password: never printed).
        url: String,
        /// The URL without password, with `?log=NAME`.
        shown: PathBuf,
    },
}

impl LogLocation {
    /// Reads a command-line argument: a `postgres://` or `postgresql://` URL is a PostgreSQL
    /// log (checked now, so a bad URL is a usage error), anything else a directory.
    pub(crate) fn parse(text: &OsStr) -> anyhow::Result<Self> {
        match text.to_str() {
            Some(url) if is_postgres_url(url) => {
                let location = PostgresLocation::parse(url)?;
                Ok(Self::Postgres {
                    url: url.to_owned(),
                    shown: location.display_path(),
                })
            }
            _ => Ok(Self::Dir(PathBuf::from(text))),
        }
    }

    /// The location as messages show it (a PostgreSQL URL without its password).
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::Dir(dir) => dir,
            Self::Postgres { shown, .. } => shown,
        }
    }

    /// The location for `{}` in messages.
    pub(crate) fn display(&self) -> std::path::Display<'_> {
        self.path().display()
    }

    /// Opens the existing ledger without changing anything and without taking the writer's
    /// lock; a location holding no ledger is `LedgerError::NotALedger`.
    pub(crate) fn open_read_only(&self) -> anyhow::Result<Box<dyn Store>> {
        Ok(match self {
            Self::Dir(dir) => Box::new(SegmentStore::open_existing(dir)?),
            Self::Postgres { url, .. } => Box::new(PostgresStore::open_existing(url)?),
        })
    }

    /// Opens the existing ledger for writing (a PostgreSQL log takes its writer lock) and
    /// recovers it; never creates one.
    pub(crate) fn open_ledger(
        &self,
        options: LedgerOptions,
    ) -> whyline_ledger::Result<(Ledger<Box<dyn Store>>, RecoveryReport)> {
        let store: Box<dyn Store> = match self {
            Self::Dir(dir) => Box::new(SegmentStore::open_existing(dir)?),
            Self::Postgres { url, .. } => {
                // Check it exists first: opening for writing would create it.
                drop(PostgresStore::open_existing(url)?);
                Box::new(PostgresStore::open(url)?)
            }
        };
        Ledger::open(store, options)
    }
}

/// clap's value parser for a `LOG` argument (any path, UTF-8 or not, or a URL).
pub(crate) fn log_parser() -> impl clap::builder::TypedValueParser<Value = LogLocation> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new()
        .try_map(|text: std::ffi::OsString| LogLocation::parse(&text))
}
