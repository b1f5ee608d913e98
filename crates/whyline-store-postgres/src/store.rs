//! [`PostgresStore`]: the ledger's [`Store`] on PostgreSQL tables.
//!
//! A writer ([`PostgresStore::open`]) migrates the schema, creates its log's row if needed,
//! takes the log's writer lock ([`crate::lock`]) and reads the log's lengths. Appends buffer
//! in memory; `sync` commits them in one transaction, and `begin_sync` hands them to a
//! [`SyncTicket`] whose `sync` commits without the writer's lock (the ledger's two-buffer
//! group commit, see [`crate::connection`]). A reader ([`PostgresStore::open_existing`])
//! changes nothing and takes no lock: it sees the log as committed when it opened.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use postgres::{Client, NoTls};
use whyline_ledger::{LedgerError, NotALedgerReason, Result, Side, Store, SyncHandle, SyncTicket};

use crate::connection::{Batch, Connection, end_of, from_i64, side_name, side_slot, to_i64};
use crate::error::{pg_error, store_error, writer_failed};
use crate::location::PostgresLocation;
use crate::{lock, schema};

/// Whether a store writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Writer,
    ReadOnly,
}

/// The ledger's [`Store`] on PostgreSQL (see the crate docs for the schema and durability).
pub struct PostgresStore {
    connection: Arc<Mutex<Connection>>,
    location: PathBuf,
    log_id: i32,
    mode: Mode,
    /// Bytes in the entry log, committed or pending.
    len: u64,
    /// Bytes of the entry log known committed by this store's own commits.
    durable: u64,
    /// Bytes in each side log, committed or pending.
    side_len: [u64; 2],
    /// Appended since the last hand-over to the session.
    pending: Batch,
    /// The first failed operation and the durable length then: appends are refused.
    failed: Option<(&'static str, u64)>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .field("mode", &self.mode)
            .field("len", &self.len)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Opens the log at `url` for writing (see [`PostgresLocation`] for the URL): applies
    /// missing migrations, creates the log if new, and takes its writer lock. A log that has
    /// a live writer already is refused with a [`LedgerError::Io`] whose operation is
    /// `lock` and whose message names the holder.
    pub fn open(url: &str) -> Result<Self> {
        Self::open_at(&PostgresLocation::parse(url)?)
    }

    /// [`PostgresStore::open`] for a parsed location.
    pub fn open_at(location: &PostgresLocation) -> Result<Self> {
        let path = location.entry_log_path();
        let mut client = connect(location, "whyline writer", &path)?;
        schema::migrate(&mut client, &path)?;
        client
            .execute(
                "INSERT INTO whyline_logs (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                &[&location.log()],
            )
            .map_err(|e| pg_error(&path, "create log", e))?;
        let log_id =
            log_id(&mut client, location.log(), &path)?.ok_or_else(|| not_a_ledger(&path))?;
        lock::acquire(&mut client, log_id, location.log(), &path)?;
        Self::with_client(client, log_id, path, Mode::Writer)
    }

    /// Opens the existing log at `url` to read it, changing nothing and taking no lock:
    /// [`LedgerError::NotALedger`] when the database holds no such log. Every write is
    /// refused. It reads the log as committed when opened.
    pub fn open_existing(url: &str) -> Result<Self> {
        let location = PostgresLocation::parse(url)?;
        let path = location.entry_log_path();
        let mut client = connect(&location, "whyline reader", &path)?;
        schema::check(&mut client, &path)?;
        let log_id =
            log_id(&mut client, location.log(), &path)?.ok_or_else(|| not_a_ledger(&path))?;
        Self::with_client(client, log_id, path, Mode::ReadOnly)
    }

    fn with_client(mut client: Client, log_id: i32, location: PathBuf, mode: Mode) -> Result<Self> {
        let len = entry_len(&mut client, log_id, &location)?;
        let side_len = [
            side_len(&mut client, log_id, Side::Checkpoints, &location)?,
            side_len(&mut client, log_id, Side::TimeIndex, &location)?,
        ];
        tracing::debug!(location = %location.display(), len, ?mode, "postgres store opened");
        let connection = Connection {
            client,
            log_id,
            location: location.clone(),
            committed: len,
            side_committed: side_len,
            queue: Vec::new(),
            failed: false,
            copy: None,
        };
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            location,
            log_id,
            mode,
            len,
            durable: len,
            side_len,
            pending: Batch::default(),
            failed: None,
        })
    }

    /// The log's row id in `whyline_logs` (the second half of its writer lock's key).
    pub fn log_id(&self) -> i32 {
        self.log_id
    }

    /// Whether this store was opened read-only ([`PostgresStore::open_existing`]).
    pub fn is_read_only(&self) -> bool {
        self.mode == Mode::ReadOnly
    }

    fn session(&self) -> Result<MutexGuard<'_, Connection>> {
        lock_session(&self.connection, &self.location)
    }

    /// Refuses writes on a read-only or stopped store.
    fn writable(&self, operation: &'static str) -> Result<()> {
        if let Some((failed, offset)) = self.failed {
            return Err(writer_failed(&self.location, failed, offset));
        }
        match self.mode {
            Mode::Writer => Ok(()),
            Mode::ReadOnly => Err(store_error(
                &self.location,
                operation,
                std::io::ErrorKind::PermissionDenied,
                "the log was opened read-only".into(),
            )),
        }
    }

    /// Hands the pending batch to the session's queue.
    fn hand_over(&mut self, session: &mut Connection) {
        if !self.pending.is_empty() {
            session.queue.push(std::mem::take(&mut self.pending));
        }
    }

    /// Commits everything appended so far; a failure stops the writer.
    fn commit_all(&mut self) -> Result<()> {
        let connection = Arc::clone(&self.connection);
        let mut session = lock_session(&connection, &self.location)?;
        self.hand_over(&mut session);
        match session.commit() {
            Ok(()) => {
                self.durable = self.len;
                Ok(())
            }
            Err(error) => {
                self.failed = Some(("commit", self.durable));
                Err(error)
            }
        }
    }

    /// Copies the pieces `(start, bytes)` that overlap `[offset, offset + buf.len())` into
    /// `buf`; returns how many bytes were filled.
    fn fill<'a>(offset: u64, buf: &mut [u8], pieces: impl Iterator<Item = (u64, &'a [u8])>) -> u64 {
        let end = offset + buf.len() as u64;
        let mut filled = 0;
        for (start, bytes) in pieces {
            let piece_end = start + bytes.len() as u64;
            let (from, to) = (start.max(offset), piece_end.min(end));
            if from >= to {
                continue;
            }
            let source = bytes.get((from - start) as usize..(to - start) as usize);
            let target = buf.get_mut((from - offset) as usize..(to - offset) as usize);
            if let (Some(source), Some(target)) = (source, target) {
                target.copy_from_slice(source);
                filled += to - from;
            }
        }
        filled
    }
}

impl Store for PostgresStore {
    fn location(&self) -> &Path {
        &self.location
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn append(&mut self, bytes: &[u8]) -> Result<u64> {
        self.writable("append")?;
        let offset = self.len;
        self.pending.offsets.push(to_i64(offset));
        self.pending.frames.push(bytes.to_vec());
        self.len += bytes.len() as u64;
        Ok(offset)
    }

    fn sync(&mut self) -> Result<()> {
        self.writable("commit")?;
        self.commit_all()
    }

    fn durable_len(&self) -> u64 {
        self.durable
    }

    fn begin_sync(&mut self) -> Result<SyncTicket> {
        self.writable("commit")?;
        let connection = Arc::clone(&self.connection);
        {
            let mut session = lock_session(&connection, &self.location)?;
            self.hand_over(&mut session);
        }
        Ok(SyncTicket::new(
            self.len,
            Arc::new(Commit { connection }),
            self.location.clone(),
        ))
    }

    fn finish_sync(&mut self, ticket: SyncTicket, synced: Result<()>) -> Result<()> {
        match synced {
            Ok(()) => {
                self.durable = self.durable.max(ticket.len());
                Ok(())
            }
            Err(error) => {
                self.failed.get_or_insert(("commit", self.durable));
                Err(error)
            }
        }
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        let Some(end) = end.filter(|end| *end <= self.len) else {
            return Err(store_error(
                &self.location,
                "read",
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "bytes {offset}.. pass the end of the log ({} bytes)",
                    self.len
                ),
            ));
        };
        if buf.is_empty() {
            return Ok(());
        }
        let mut session = self.session()?;
        let committed = session.committed.min(self.len);
        let mut filled = 0;
        if offset < committed {
            let rows = session.frame_rows(offset, end.min(committed))?;
            let pieces = rows
                .iter()
                .map(|(start, bytes)| (*start, bytes.as_slice()))
                .filter(|(start, _)| *start < committed);
            filled += Self::fill(offset, buf, pieces);
        }
        if end > committed {
            let queued = session.queue.iter().chain(std::iter::once(&self.pending));
            let pieces = queued.flat_map(|batch| {
                batch
                    .offsets
                    .iter()
                    .zip(&batch.frames)
                    .map(|(start, bytes)| (from_i64(*start), bytes.as_slice()))
            });
            filled += Self::fill(
                offset.max(committed),
                &mut buf[(offset.max(committed) - offset) as usize..],
                pieces,
            );
        }
        if filled == buf.len() as u64 {
            Ok(())
        } else {
            Err(store_error(
                &self.location,
                "read",
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "rows of whyline_frames are missing: {} of bytes {offset}..{end} found",
                    filled
                ),
            ))
        }
    }

    fn truncate(&mut self, len: u64) -> Result<()> {
        self.writable("truncate")?;
        if len >= self.len {
            return Ok(());
        }
        self.commit_all()?;
        let result = {
            let mut session = self.session()?;
            let log_id = session.log_id;
            let outcome = (|| -> std::result::Result<(), postgres::Error> {
                let mut transaction = session.client.transaction()?;
                transaction.execute(
                    "DELETE FROM whyline_frames WHERE log_id = $1 AND start_offset >= $2",
                    &[&log_id, &to_i64(len)],
                )?;
                transaction.execute(
                    "UPDATE whyline_frames SET bytes = substring(bytes FROM 1 FOR ($2 - start_offset)::integer) \
                     WHERE log_id = $1 AND start_offset < $2 AND start_offset + length(bytes) > $2",
                    &[&log_id, &to_i64(len)],
                )?;
                transaction.commit()
            })();
            match outcome {
                Ok(()) => {
                    session.committed = len;
                    Ok(())
                }
                Err(error) => {
                    session.failed = true;
                    Err(pg_error(&self.location, "truncate", error))
                }
            }
        };
        match result {
            Ok(()) => {
                self.len = len;
                self.durable = len;
                Ok(())
            }
            Err(error) => {
                self.failed = Some(("truncate", self.durable));
                Err(error)
            }
        }
    }

    fn append_side(&mut self, side: Side, bytes: &[u8], durable: bool) -> Result<()> {
        self.writable("append side log")?;
        let slot = side_slot(side);
        let offset = self.side_len.get(slot).copied().unwrap_or(0);
        self.pending
            .sides
            .push((side, to_i64(offset), bytes.to_vec()));
        if let Some(len) = self.side_len.get_mut(slot) {
            *len += bytes.len() as u64;
        }
        if durable { self.commit_all() } else { Ok(()) }
    }

    fn read_side(&self, side: Side) -> Result<Vec<u8>> {
        let slot = side_slot(side);
        let len = self.side_len.get(slot).copied().unwrap_or(0);
        let mut session = self.session()?;
        let committed = session
            .side_committed
            .get(slot)
            .copied()
            .unwrap_or(0)
            .min(len);
        let rows = session.side_rows(side, committed)?;
        let mut out = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        let mut filled = Self::fill(
            0,
            &mut out[..committed as usize],
            rows.iter().map(|(s, b)| (*s, b.as_slice())),
        );
        let queued = session.queue.iter().chain(std::iter::once(&self.pending));
        let pieces = queued.flat_map(|batch| {
            batch
                .sides
                .iter()
                .filter(move |(s, _, _)| *s == side)
                .map(|(_, start, bytes)| (from_i64(*start), bytes.as_slice()))
        });
        filled += Self::fill(committed, &mut out[committed as usize..], pieces);
        if filled == len {
            Ok(out)
        } else {
            Err(store_error(
                &self.location,
                "read side log",
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "rows of whyline_side_records ({}) are missing: {filled} of {len} bytes found",
                    side_name(side)
                ),
            ))
        }
    }

    fn truncate_side(&mut self, side: Side, len: u64) -> Result<()> {
        self.writable("truncate side log")?;
        let slot = side_slot(side);
        if len >= self.side_len.get(slot).copied().unwrap_or(0) {
            return Ok(());
        }
        self.commit_all()?;
        let mut session = self.session()?;
        let log_id = session.log_id;
        let outcome = (|| -> std::result::Result<(), postgres::Error> {
            let mut transaction = session.client.transaction()?;
            transaction.execute(
                "DELETE FROM whyline_side_records WHERE log_id = $1 AND side = $2 AND start_offset >= $3",
                &[&log_id, &side_name(side), &to_i64(len)],
            )?;
            transaction.execute(
                "UPDATE whyline_side_records SET bytes = substring(bytes FROM 1 FOR ($3 - start_offset)::integer) \
                 WHERE log_id = $1 AND side = $2 AND start_offset < $3 AND start_offset + length(bytes) > $3",
                &[&log_id, &side_name(side), &to_i64(len)],
            )?;
            transaction.commit()
        })();
        match outcome {
            Ok(()) => {
                if let Some(committed) = session.side_committed.get_mut(slot) {
                    *committed = len;
                }
                drop(session);
                if let Some(side_len) = self.side_len.get_mut(slot) {
                    *side_len = len;
                }
                Ok(())
            }
            Err(error) => {
                session.failed = true;
                drop(session);
                self.failed = Some(("truncate side log", self.durable));
                Err(pg_error(&self.location, "truncate side log", error))
            }
        }
    }
}

/// A begun commit: commits the session's queue when run (see [`crate::connection`]).
struct Commit {
    connection: Arc<Mutex<Connection>>,
}

impl SyncHandle for Commit {
    fn sync_data(&self) -> std::io::Result<()> {
        let mut session = self.connection.lock().map_err(|_| {
            std::io::Error::other("a thread panicked while using the PostgreSQL session")
        })?;
        session.commit().map_err(std::io::Error::other)
    }
}

fn lock_session<'a>(
    connection: &'a Mutex<Connection>,
    location: &Path,
) -> Result<MutexGuard<'a, Connection>> {
    connection.lock().map_err(|_| {
        store_error(
            location,
            "lock session",
            std::io::ErrorKind::Other,
            "a thread panicked while using the PostgreSQL session".into(),
        )
    })
}

fn connect(location: &PostgresLocation, application: &str, path: &Path) -> Result<Client> {
    let mut config = postgres::Config::from_str(location.connection_string())
        .map_err(|e| pg_error(path, "parse URL", e))?;
    if config.get_application_name().is_none() {
        config.application_name(application);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config
        .connect(NoTls)
        .map_err(|e| pg_error(path, "connect", e))
}

fn log_id(client: &mut Client, log: &str, path: &Path) -> Result<Option<i32>> {
    let row = client
        .query_opt("SELECT log_id FROM whyline_logs WHERE name = $1", &[&log])
        .map_err(|e| pg_error(path, "find log", e))?;
    Ok(row.map(|row| row.get(0)))
}

fn entry_len(client: &mut Client, log_id: i32, path: &Path) -> Result<u64> {
    let row = client
        .query_opt(
            "SELECT start_offset, length(bytes) FROM whyline_frames \
             WHERE log_id = $1 ORDER BY start_offset DESC LIMIT 1",
            &[&log_id],
        )
        .map_err(|e| pg_error(path, "read length", e))?;
    Ok(row.map_or(0, |row| {
        end_of(
            row.get(0),
            usize::try_from(row.get::<_, i32>(1)).unwrap_or(0),
        )
    }))
}

fn side_len(client: &mut Client, log_id: i32, side: Side, path: &Path) -> Result<u64> {
    let row = client
        .query_opt(
            "SELECT start_offset, length(bytes) FROM whyline_side_records \
             WHERE log_id = $1 AND side = $2 ORDER BY start_offset DESC LIMIT 1",
            &[&log_id, &side_name(side)],
        )
        .map_err(|e| pg_error(path, "read length", e))?;
    Ok(row.map_or(0, |row| {
        end_of(
            row.get(0),
            usize::try_from(row.get::<_, i32>(1)).unwrap_or(0),
        )
    }))
}

fn not_a_ledger(path: &Path) -> LedgerError {
    LedgerError::NotALedger {
        path: path.to_path_buf(),
        reason: NotALedgerReason::Missing,
    }
}
