//! The whyline ledger's storage on PostgreSQL: a [`Store`](whyline_ledger::Store) whose entry
//! log, checkpoints and time index are rows, so that many services can reach one log that
//! outlives any one host, and `whyline verify|incident|prove postgres://...` read it as they
//! read a directory.
//!
//! # Overview
//!
//! - [`PostgresStore`]: the store. [`PostgresStore::open`] is the log's one writer (schema
//!   migrations, the writer lock); [`PostgresStore::open_existing`] a reader that changes
//!   nothing. Append buffers; `sync` commits one transaction (group commit), and the
//!   ledger's two-buffer commit runs that transaction without the writer's lock.
//! - [`PostgresLocation`]: `postgres://user@host:port/db?log=NAME`; several logs per database.
//! - [`WRITER_LOCK_CLASS`]: the advisory lock that keeps one writer per log.
//! - `testing` (feature `testing`): a throwaway PostgreSQL cluster for tests and benches.
//!
//! The ledger's bytes stay the record: each row holds the exact bytes of one or more
//! consecutive appends (frames of `docs/ledger-format.md`; a commit packs small frames into
//! rows of up to ~1.9 KB) at its byte offset, and verification re-hashes them with
//! the same code as for files. Views (`whyline_entries`, `whyline_checkpoints`,
//! `whyline_time_index`) decode them for people; `docs/postgres-store.md` gives the schema,
//! the migrations, durability (`synchronous_commit`) and what a DBA may and may not do.
//!
//! # Example
//!
//! ```no_run
//! use whyline_ledger::{Durability, Ledger, LedgerOptions, VerifyOutcome, verify_store};
//! use whyline_store_postgres::PostgresStore;
//!
//! let store = PostgresStore::open("postgres://whyline@127.0.0.1:5432/audit?log=fraud-model")?;
//! let options = LedgerOptions::without_checkpoints("example.com/log").durability(Durability::Sync);
//! let (mut ledger, _recovery) = Ledger::open(store, options)?;
//! let receipt = ledger.append(b"an APRT record")?; // committed when this returns
//! assert_eq!(receipt.index, ledger.size() - 1);
//! drop(ledger);
//!
//! let reader = PostgresStore::open_existing("postgres://whyline@127.0.0.1:5432/audit?log=fraud-model")?;
//! assert!(matches!(verify_store(&reader, None)?, VerifyOutcome::Intact(_)));
//! # Ok::<(), whyline_ledger::LedgerError>(())
//! ```
//!
//! # Guarantees
//!
//! - An append is acknowledged durable ([`Store::sync`](whyline_ledger::Store::sync) `Ok`,
//!   the ledger's `durable_size`) only after its transaction committed; a failed commit
//!   stops the writer ([`LedgerError::WriterFailed`](whyline_ledger::LedgerError::WriterFailed)).
//! - One writer per log: a second gets an error naming the first, never a forked chain.
//! - No panics: driver errors are [`LedgerError::Io`](whyline_ledger::LedgerError::Io) with
//!   the location (password redacted) and the operation.
#![forbid(unsafe_code)]

mod connection;
mod error;
mod location;
mod lock;
mod schema;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use location::{DEFAULT_LOG, PostgresLocation, is_postgres_url};
pub use lock::WRITER_LOCK_CLASS;
pub use schema::SCHEMA_VERSION;
pub use store::PostgresStore;
