//! [`LogLocation`]: where a ledger lives (a directory of segment files, or a log in
//! PostgreSQL), and how its one writer and its readers open it.
//!
//! A recorder ([`RecorderBuilder::build_at`](crate::RecorderBuilder::build_at)) opens the
//! writer's store here; a server's read routes open a read-only view per request with
//! [`LogLocation::open_read_only`], which takes no lock and repairs nothing, so the writer
//! keeps appending. Every store comes boxed (`Box<dyn Store>`, itself a
//! [`Store`]), so the code above it is the same for both.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use whyline_ledger::{SegmentStore, Store};

use crate::error::Result;

/// Where a ledger lives.
///
/// ```
/// use whyline::LogLocation;
///
/// let dir = LogLocation::parse("audit/ledger".as_ref())?;
/// assert_eq!(dir.as_dir(), Some(std::path::Path::new("audit/ledger")));
/// # Ok::<(), whyline::WhylineError>(())
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum LogLocation {
    /// A directory of segment files (created by the writer if missing).
    Dir(PathBuf),
    /// A log in PostgreSQL (`postgres://USER@HOST:PORT/DB?log=NAME`, see
    /// `docs/postgres-store.md`); feature `postgres`.
    #[cfg(feature = "postgres")]
    Postgres {
        /// The URL as given (it may hold a password: never shown).
        url: String,
        /// The URL without its password, as messages name the log.
        shown: PathBuf,
    },
}

impl std::fmt::Debug for LogLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the URL as given: it may hold a password.
        f.debug_tuple("LogLocation").field(&self.path()).finish()
    }
}

impl LogLocation {
    /// Reads a location as a command line names it: a `postgres://` or `postgresql://` URL is
    /// a PostgreSQL log (checked now, so that a bad URL fails before any work), anything else
    /// a directory. Without the `postgres` feature a URL is refused
    /// ([`WhylineError::NoPostgres`](crate::WhylineError::NoPostgres)).
    pub fn parse(text: &OsStr) -> Result<Self> {
        match text.to_str() {
            Some(url) if is_postgres_url(url) => Self::postgres(url),
            _ => Ok(Self::Dir(PathBuf::from(text))),
        }
    }

    /// A PostgreSQL log at `url` (checked now).
    #[cfg(feature = "postgres")]
    pub fn postgres(url: &str) -> Result<Self> {
        let location = whyline_store_postgres::PostgresLocation::parse(url)?;
        Ok(Self::Postgres {
            url: url.to_owned(),
            shown: location.display_path(),
        })
    }

    /// A PostgreSQL log at `url`: refused ([`NoPostgres`](crate::WhylineError::NoPostgres)), this build has no
    /// PostgreSQL store.
    #[cfg(not(feature = "postgres"))]
    pub fn postgres(_url: &str) -> Result<Self> {
        Err(crate::WhylineError::NoPostgres)
    }

    /// The location as messages show it: the directory, or the URL without its password.
    pub fn path(&self) -> &Path {
        match self {
            Self::Dir(dir) => dir,
            #[cfg(feature = "postgres")]
            Self::Postgres { shown, .. } => shown,
        }
    }

    /// The directory, when the ledger is one; `None` for a database.
    pub fn as_dir(&self) -> Option<&Path> {
        match self {
            Self::Dir(dir) => Some(dir),
            #[cfg(feature = "postgres")]
            Self::Postgres { .. } => None,
        }
    }

    /// Opens the ledger for its one writer, creating it if missing (a directory and its
    /// files; a PostgreSQL log, its schema migrated and its writer lock taken, so that a
    /// second writer is refused with an error naming the first).
    pub fn open_writer(&self) -> Result<Box<dyn Store>> {
        Ok(match self {
            Self::Dir(dir) => Box::new(SegmentStore::open(dir)?),
            #[cfg(feature = "postgres")]
            Self::Postgres { url, .. } => {
                Box::new(whyline_store_postgres::PostgresStore::open(url)?)
            }
        })
    }

    /// Opens the existing ledger for writing (a PostgreSQL log takes its writer lock), and
    /// never creates one: a location holding no ledger is
    /// [`LedgerError::NotALedger`](whyline_ledger::LedgerError::NotALedger).
    pub fn open_existing_writer(&self) -> Result<Box<dyn Store>> {
        Ok(match self {
            Self::Dir(dir) => Box::new(SegmentStore::open_existing(dir)?),
            #[cfg(feature = "postgres")]
            Self::Postgres { url, .. } => {
                // Check it exists first: opening for writing would create it.
                drop(whyline_store_postgres::PostgresStore::open_existing(url)?);
                Box::new(whyline_store_postgres::PostgresStore::open(url)?)
            }
        })
    }

    /// Opens the existing ledger without changing anything and without taking the writer's
    /// lock (a view as committed now; the writer may keep appending). A location holding no
    /// ledger is [`LedgerError::NotALedger`](whyline_ledger::LedgerError::NotALedger).
    pub fn open_read_only(&self) -> Result<Box<dyn Store>> {
        Ok(match self {
            Self::Dir(dir) => Box::new(SegmentStore::open_read_only(dir)?),
            #[cfg(feature = "postgres")]
            Self::Postgres { url, .. } => {
                Box::new(whyline_store_postgres::PostgresStore::open_existing(url)?)
            }
        })
    }
}

/// Whether `text` is a PostgreSQL URL (`postgres://` or `postgresql://`).
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "postgres")]
    use crate::WhylineError;

    #[test]
    fn a_path_is_a_directory_and_a_url_is_not() {
        let dir = LogLocation::parse(OsStr::new("some/dir")).unwrap();
        assert_eq!(dir.as_dir(), Some(Path::new("some/dir")));
        assert!(is_postgres_url("postgresql://u@h/db"));
        assert!(!is_postgres_url("postgres-logs/dir"));
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_url_shows_without_its_password() {
        let url = "postgres://whyline:secret@127.0.0.1:5432/audit?log=fleet";
        let location = LogLocation::parse(OsStr::new(url)).unwrap();
        assert_eq!(location.as_dir(), None);
        let shown = location.path().display().to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("log=fleet"), "{shown}");
        let debug = format!("{location:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }

    /// A server nobody listens on: reaching it would fail with a connection error, so an
    /// error of another kind shows the recorder refused before connecting.
    #[cfg(feature = "postgres")]
    const UNREACHABLE: &str =
        "postgres://whyline:secret@127.0.0.1:1/audit?log=fleet&connect_timeout=1";

    #[cfg(feature = "postgres")]
    fn build_at(profile: &str, key_dir: Option<&Path>) -> crate::Result<()> {
        let settings =
            whyline_monitor::MonitorSettings::from_toml(profile, Path::new("test.toml")).unwrap();
        let location = LogLocation::parse(OsStr::new(UNREACHABLE)).unwrap();
        crate::RecorderBuilder::new(&settings)
            .build_at::<whyline_core::AnyPath>(&location, key_dir)
            .map(drop)
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_database_log_whose_profile_needs_keys_is_refused_without_a_key_dir() {
        for (profile, wanted) in [
            (
                "[inference_monitor]\ncollector = \"ledger\"\nsigning = \"ed25519\"\n",
                "signing",
            ),
            (
                "[inference_monitor]\ncollector = \"ledger\"\nrecord_inputs = true\n",
                "record_inputs",
            ),
            (
                "[inference_monitor]\ncollector = \"ledger\"\ndigest_key_file = \"digest.key\"\n",
                "digest_key_file",
            ),
        ] {
            let error = build_at(profile, None).unwrap_err();
            assert!(
                matches!(&error, WhylineError::NeedsKeyDir { setting, .. } if *setting == wanted),
                "{wanted}: {error:?}"
            );
            let message = error.to_string();
            assert!(
                message.contains("log=fleet") && !message.contains("secret"),
                "{message}"
            );
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_database_log_refuses_a_storage_path_and_other_collectors() {
        let error = build_at(
            "[inference_monitor]\ncollector = \"ledger\"\nstorage_path = \"ledger\"\n",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                WhylineError::NotADirectory {
                    setting: "storage_path",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = build_at("[inference_monitor]\ncollector = \"ring\"\n", None).unwrap_err();
        assert!(
            matches!(error, WhylineError::NeedsLedger { .. }),
            "{error:?}"
        );
        // With its keys given a home, the recorder goes on to connect (and fails to here).
        let keys = tempfile::tempdir().unwrap();
        let error = build_at(
            "[inference_monitor]\ncollector = \"ledger\"\nsigning = \"ed25519\"\n",
            Some(keys.path()),
        )
        .unwrap_err();
        assert!(matches!(error, WhylineError::Ledger(_)), "{error:?}");
        assert!(keys.path().join("ledger.key").is_file());
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_bad_log_name_is_refused_when_parsed() {
        let error = LogLocation::parse(OsStr::new("postgres://u@h/db?log=a b")).unwrap_err();
        assert!(matches!(error, WhylineError::Ledger(_)), "{error:?}");
    }
}
