//! Recovery: what [`Ledger::open`](crate::Ledger::open) does to a log before it appends.
//!
//! In order, each step a function below:
//!
//! 1. [`repair_header`]: a log shorter than its 16-byte header that holds a prefix of it (a
//!    crash while creating the log) is cut to nothing; an empty log gets its header.
//! 2. [`read_checkpoint_file`]: a torn record at the end of the checkpoints file is cut.
//! 3. The one frame walker re-hashes the entry log ([`walk_fast`]); [`cut_damage`] cuts a
//!    torn tail, and damage in the middle either fails the open
//!    ([`LedgerError::Corrupt`]) or, when salvaging, is cut with everything after it.
//! 4. [`drop_checkpoints_beyond`]: when salvaging cut entries, the checkpoints that covered
//!    them are cut from the checkpoints file (they could never verify again).
//! 5. The checkpoints are checked against the recomputed roots (and the signer's key).
//! 6. [`rebuild_time_index`]: the time index, derived data, is rewritten when it disagrees
//!    with the entry log.
//!
//! Everything repaired is reported in the [`RecoveryReport`].

use crate::chain::FormatVersion;
use crate::checkpoint::NoteVerifier;
use crate::checkpoint_file::{StoredCheckpoint, read_checkpoints};
use crate::error::{CorruptionKind, LedgerError, Result};
use crate::frame::file_header;
use crate::store::{Side, Store};
use crate::verify::{check_checkpoints, checkpoint_sizes};
use crate::walk::{Stop, Walk, walk_fast};

/// What opening a ledger found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Entries in the log after recovery.
    pub entries: u64,
    /// Bytes of a torn tail cut off (0 when the log ended cleanly).
    pub torn_bytes: u64,
    /// Entries in that torn tail (partial frames: 0 or 1).
    pub torn_entries: u64,
    /// When salvaging: the damage that was cut off, with everything after it.
    pub salvaged: Option<SalvageReport>,
    /// Bytes of a torn checkpoint record cut off.
    pub torn_checkpoint_bytes: u64,
    /// When salvaging: tree sizes of the checkpoints cut from the checkpoints file because
    /// they covered entries the salvage dropped.
    pub dropped_checkpoints: Vec<u64>,
    /// Whether the time index was rebuilt from the entry log.
    pub index_rebuilt: bool,
}

/// Damage cut off by [`LedgerOptions::salvage`](crate::LedgerOptions::salvage).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SalvageReport {
    /// Byte offset of the first bad frame.
    pub offset: u64,
    /// Index it should have had.
    pub index: u64,
    /// What was wrong.
    pub kind: CorruptionKind,
    /// Bytes dropped.
    pub bytes: u64,
}

/// The state of a recovered log, from which the writer continues.
pub(crate) struct Recovered {
    /// What the walk learnt from the (now whole) log.
    pub(crate) walk: Walk,
    /// The checkpoints kept, oldest first.
    pub(crate) checkpoints: Vec<StoredCheckpoint>,
    /// Bytes of the checkpoints file after recovery.
    pub(crate) checkpoints_len: u64,
}

/// Recovers the log in `store` (see the module docs). `salvage` keeps the good prefix of a
/// log damaged in the middle; `verifier` checks the checkpoints' signatures.
pub(crate) fn recover<S: Store>(
    store: &mut S,
    salvage: bool,
    verifier: Option<&NoteVerifier>,
) -> Result<(Recovered, RecoveryReport)> {
    let _span = tracing::info_span!("recovery", path = %store.location().display()).entered();
    let mut report = RecoveryReport::default();
    repair_header(store, &mut report)?;
    let checkpoints_path = store.location().with_file_name(crate::CHECKPOINTS_FILE);
    let (checkpoints, checkpoints_len) = read_checkpoint_file(store, &mut report)?;
    let (walk, stop) = walk_fast(
        store,
        &checkpoint_sizes(&checkpoints),
        false,
        &mut |_, _| {},
    )?;
    cut_damage(store, stop, salvage, &mut report)?;
    let (checkpoints, checkpoints_len) =
        drop_checkpoints_beyond(store, checkpoints, checkpoints_len, &walk, &mut report)?;
    if let Some(damage) = check_checkpoints(&checkpoints, &walk, verifier, &checkpoints_path) {
        return Err(damage.into_error());
    }
    rebuild_time_index(store, &walk, &mut report)?;
    report.entries = walk.entries;
    let recovered = Recovered {
        walk,
        checkpoints,
        checkpoints_len,
    };
    Ok((recovered, report))
}

/// Step 1: cuts a torn header (a crash while the log was created); writes the header of an
/// empty log.
fn repair_header<S: Store>(store: &mut S, report: &mut RecoveryReport) -> Result<()> {
    // A crash while creating the log can only have left a prefix of the header this build
    // writes; an existing log of an older version is whole and kept as it is.
    let header = file_header(FormatVersion::CURRENT);
    let held = usize::try_from(store.len()).unwrap_or(usize::MAX);
    if held > 0 && held < header.len() {
        let mut bytes = vec![0u8; held];
        store.read_at(0, &mut bytes)?;
        if header.get(..held) == Some(&bytes[..]) {
            store.truncate(0)?;
            report.torn_bytes = held as u64;
        }
    }
    if store.is_empty() {
        store.append(&header)?;
        store.sync()?;
    }
    Ok(())
}

/// Step 2: reads the checkpoints file, cutting a torn record at its end; returns the
/// checkpoints and the length of the file after the cut.
fn read_checkpoint_file<S: Store>(
    store: &mut S,
    report: &mut RecoveryReport,
) -> Result<(Vec<StoredCheckpoint>, u64)> {
    let path = store.location().with_file_name(crate::CHECKPOINTS_FILE);
    let side = store.read_side(Side::Checkpoints)?;
    let (checkpoints, good) = read_checkpoints(&side, &path)?;
    if good < side.len() {
        store.truncate_side(Side::Checkpoints, good as u64)?;
        report.torn_checkpoint_bytes = (side.len() - good) as u64;
    }
    Ok((checkpoints, good as u64))
}

/// Step 3: cuts a torn tail; fails on damage in the middle unless salvaging, which cuts it
/// with everything after it.
fn cut_damage<S: Store>(
    store: &mut S,
    stop: Stop,
    salvage: bool,
    report: &mut RecoveryReport,
) -> Result<()> {
    match stop {
        Stop::Clean => {}
        Stop::Torn { offset, bytes, .. } => {
            tracing::warn!(offset, bytes, "torn tail truncated");
            store.truncate(offset)?;
            report.torn_bytes = bytes;
            report.torn_entries = 1;
        }
        Stop::Bad {
            offset,
            index,
            kind,
        } => {
            if !salvage {
                return Err(LedgerError::Corrupt {
                    path: store.location().to_path_buf(),
                    offset,
                    index,
                    kind,
                });
            }
            let bytes = store.len() - offset;
            tracing::warn!(offset, index, %kind, bytes, "salvage: damaged log cut");
            store.truncate(offset)?;
            report.salvaged = Some(SalvageReport {
                offset,
                index,
                kind,
                bytes,
            });
        }
    }
    Ok(())
}

/// Step 4: after a salvage, cuts the checkpoints that cover entries the salvage dropped
/// (they stay in the report); returns the checkpoints kept and the file's new length.
fn drop_checkpoints_beyond<S: Store>(
    store: &mut S,
    mut checkpoints: Vec<StoredCheckpoint>,
    checkpoints_len: u64,
    walk: &Walk,
    report: &mut RecoveryReport,
) -> Result<(Vec<StoredCheckpoint>, u64)> {
    if report.salvaged.is_none() {
        return Ok((checkpoints, checkpoints_len));
    }
    let Some(first_beyond) = checkpoints
        .iter()
        .position(|c| c.checkpoint.size > walk.entries)
    else {
        return Ok((checkpoints, checkpoints_len));
    };
    let cut_at = checkpoints
        .get(first_beyond)
        .map_or(checkpoints_len, |c| c.offset);
    store.truncate_side(Side::Checkpoints, cut_at)?;
    let dropped = checkpoints.split_off(first_beyond);
    report.dropped_checkpoints = dropped.iter().map(|c| c.checkpoint.size).collect();
    tracing::warn!(
        count = dropped.len(),
        "salvage: checkpoints beyond the cut dropped"
    );
    Ok((checkpoints, cut_at))
}

/// Step 6: rewrites the time index when it disagrees with the entry log.
fn rebuild_time_index<S: Store>(
    store: &mut S,
    walk: &Walk,
    report: &mut RecoveryReport,
) -> Result<()> {
    let expected: Vec<u8> = walk.time_index.iter().flat_map(|r| r.to_bytes()).collect();
    if store.read_side(Side::TimeIndex)? != expected {
        store.truncate_side(Side::TimeIndex, 0)?;
        store.append_side(Side::TimeIndex, &expected, false)?;
        report.index_rebuilt = true;
    }
    Ok(())
}
