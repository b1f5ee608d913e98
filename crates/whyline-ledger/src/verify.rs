//! Verification: re-hash every stored byte and name the first bad entry.
//!
//! The log is walked by the one frame walker ([`walk`](crate::walk)), which recovery uses
//! too: it checks each frame's checksums, that indices run 0, 1, 2, ..., that each chain hash
//! follows from the previous one by the rule of the log's format version
//! ([`FormatVersion`](crate::FormatVersion)), and feeds each payload's leaf hash to a
//! [`CompactRange`](crate::CompactRange) so the Merkle root at every checkpoint's size can be
//! compared. When a frame is wrong the walk looks at the next frame to tell the kinds apart:
//!
//! | found at position `i` | kind |
//! |---|---|
//! | checksum fails, frame is last | crash residue ([`CrashResidue`]), not damage |
//! | checksum fails, frames follow | [`CorruptionKind::ContentChanged`] (or `BadFrame` for a header) |
//! | index `i+1`…, next frame is `i` | [`CorruptionKind::EntriesReordered`] |
//! | index `j > i`, otherwise | [`CorruptionKind::EntryMissing`] |
//! | index `i-1` with the previous chain hash | [`CorruptionKind::Duplicated`] |
//! | index `i`, chain wrong, next frame also `i` | [`CorruptionKind::Inserted`] |
//! | index `i`, chain wrong, next links to the recomputed hash | [`CorruptionKind::LinkBroken`] |
//! | index `i`, chain wrong, otherwise | [`CorruptionKind::ContentChanged`] |
//!
//! The walk also follows the stored times (`time_order.rs`): a backward step is not damage
//! (entries keep their own time) and is reported in [`VerifyReport::time_order`]; a
//! checkpoint that states a smaller time disorder than its entries have is
//! [`CorruptionKind::TimeDisorderUnderstated`], since window proofs against it could leave
//! entries out.
//!
//! Checkpoints are then checked in order: signature (with the verifier's key), size within
//! the log, root equal to the recomputed root at that size.
//!
//! A frame cut short at the end of the log (or a checkpoint record at the end of its file)
//! is what a crash mid-append leaves: bytes that no receipt and no checkpoint covers. It is
//! reported as [`VerifyReport::crash_residue`] of an intact log, unless a checkpoint covers
//! entries at or past the cut, which is damage ([`CorruptionKind::CheckpointBeyondLog`]):
//! signed entries are gone.
//!
//! Damage is a finding, not a failure: [`verify_store`] returns a [`VerifyOutcome`], either
//! [`Intact`](VerifyOutcome::Intact) or [`Broken`](VerifyOutcome::Broken) at the first bad
//! entry, and keeps `Err` for what stopped it from looking (an unreadable file).

use std::path::{Path, PathBuf};

use crate::chain::FormatVersion;
use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::checkpoint_file::{StoredCheckpoint, holds_a_whole_record, lost_page, read_checkpoints};
use crate::error::{CorruptionKind, LedgerError, Result};
use crate::merkle::Hash;
use crate::store::{Side, Store};
use crate::time_order::{BackwardStep, stated_time_disorder};
use crate::walk::{Stop, Walk, walk_fast};

/// What a verification of an intact log covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Bytes of the entry log checked.
    pub bytes: u64,
    /// Merkle root of all entries.
    pub root: Hash,
    /// Checkpoints whose root (and signature, when a key was given) were checked.
    pub checkpoints: u64,
    /// The largest checkpoint, if any.
    pub latest_checkpoint: Option<Checkpoint>,
    /// Whether checkpoint signatures were checked (a verifier key was given).
    pub signatures_checked: bool,
    /// The log's format version, whose chain rule was checked.
    pub format_version: FormatVersion,
    /// The first place the stored times go backwards: `None` for a log in time order.
    pub time_order: Option<BackwardStep>,
    /// The time disorder of the whole log (the largest backward step, nanoseconds; see
    /// `time_order.rs`): window proofs widen each end of their range by it.
    pub time_disorder_ns: u64,
    /// What a crash left past the last whole entry (or checkpoint record): bytes of an
    /// append cut short, which no receipt and no checkpoint covers. Not damage: the log
    /// verifies without them, and reopening it for writing (or `whyline recover`) cuts them.
    /// Empty for a log that ended cleanly.
    pub crash_residue: Vec<CrashResidue>,
    /// The first record of the stored time index that disagrees with the one rebuilt from
    /// the entry log, if any: derived data was changed (a reader checks every record it uses
    /// against the entry it points at, so it cannot hide entries, and opening for writing
    /// rebuilds it). A stored index shorter or longer than the rebuilt one is a crash's lag,
    /// not a disagreement (it is written without its own sync).
    pub time_index_mismatch: Option<u64>,
}

/// Bytes past the last whole record of a file: an append that a crash cut short. Only
/// bytes beyond everything a checkpoint covers count as residue; a cut into checkpointed
/// entries is damage ([`CorruptionKind::CheckpointBeyondLog`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashResidue {
    /// The file holding them: the entry log or the checkpoints file.
    pub path: PathBuf,
    /// Byte offset where they start (the end of the last whole record).
    pub offset: u64,
    /// How many bytes.
    pub bytes: u64,
    /// The index the cut entry would have had (for the checkpoints file, the number of
    /// whole checkpoint records before it).
    pub index: u64,
}

impl std::fmt::Display for CrashResidue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} bytes at byte {} after the last whole record ({} before it): an append cut short by a crash, covered by no receipt or checkpoint",
            self.path.display(),
            self.bytes,
            self.offset,
            self.index
        )
    }
}

impl CrashResidue {
    /// The residue as JSON: `{"path","offset","bytes","index"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "path": self.path.display().to_string(),
            "offset": self.offset,
            "bytes": self.bytes,
            "index": self.index,
        })
    }
}

/// The first problem verification found: where the log breaks and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The file holding it: the entry log, or the checkpoints file for a checkpoint problem.
    pub path: PathBuf,
    /// Byte offset of the bad frame (or of the checkpoint record in the checkpoints file).
    pub offset: u64,
    /// Index of the first bad entry (for a checkpoint problem, the checkpoint's tree size).
    pub index: u64,
    /// What is wrong.
    pub kind: CorruptionKind,
    /// Entries from the start of the log that verified before the problem.
    pub intact_entries: u64,
}

impl Damage {
    /// Whether this is a torn tail (the log ends inside an entry or a checkpoint record: a
    /// crash mid-write) rather than a change to what was written (tampering, bit rot).
    pub fn is_torn_tail(&self) -> bool {
        matches!(self.kind, CorruptionKind::TornTail { .. })
    }

    /// The damage as the error a writer returns on it ([`LedgerError::Corrupt`]).
    pub fn into_error(self) -> LedgerError {
        LedgerError::Corrupt {
            path: self.path,
            offset: self.offset,
            index: self.index,
            kind: self.kind,
        }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: entry {} at byte {}: {}",
            self.path.display(),
            self.index,
            self.offset,
            self.kind
        )
    }
}

/// What [`verify_store`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum VerifyOutcome {
    /// Every entry re-hashed, every chain link and checkpoint checked.
    Intact(VerifyReport),
    /// The first problem, entry problems first (in log order), then checkpoint problems (in
    /// file order).
    Broken(Damage),
}

impl VerifyOutcome {
    /// Whether the log is intact.
    pub fn is_intact(&self) -> bool {
        matches!(self, VerifyOutcome::Intact(_))
    }

    /// The report of an intact log; a broken one as [`LedgerError::Corrupt`].
    pub fn into_result(self) -> Result<VerifyReport> {
        match self {
            VerifyOutcome::Intact(report) => Ok(report),
            VerifyOutcome::Broken(damage) => Err(damage.into_error()),
        }
    }

    /// The outcome as one JSON object, the same for every front end:
    /// `{"type":"intact","entries","bytes","checkpoints","signatures_checked","root",
    /// "crash_residue":[...]}` or
    /// `{"type":"problem","path","index","offset","kind","torn_tail","intact_entries"}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            VerifyOutcome::Intact(report) => serde_json::json!({
                "type": "intact",
                "entries": report.entries,
                "bytes": report.bytes,
                "checkpoints": report.checkpoints,
                "signatures_checked": report.signatures_checked,
                "format_version": report.format_version.as_u32(),
                "root": hex::encode(report.root),
                "time_ordered": report.time_order.is_none(),
                "first_backward_step": report.time_order,
                "time_disorder_ns": report.time_disorder_ns,
                "crash_residue": report
                    .crash_residue
                    .iter()
                    .map(CrashResidue::to_json)
                    .collect::<Vec<_>>(),
                "time_index_mismatch": report.time_index_mismatch,
            }),
            VerifyOutcome::Broken(damage) => serde_json::json!({
                "type": "problem",
                "path": damage.path.display().to_string(),
                "index": damage.index,
                "offset": damage.offset,
                "kind": damage.kind.to_string(),
                "torn_tail": damage.is_torn_tail(),
                "intact_entries": damage.intact_entries,
            }),
        }
    }
}

/// Verifies everything in `store`: frame checksums, indices, chain links, the Merkle root
/// at each checkpoint, and, when `verifier` is given, each checkpoint's signature.
///
/// A torn tail past every checkpoint is crash residue, not damage: the log is intact and
/// the residue is named in [`VerifyReport::crash_residue`]; opening the ledger for writing
/// cuts it. `Err` only when the store cannot be read.
pub fn verify_store<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
) -> Result<VerifyOutcome> {
    verify_store_with_progress(store, verifier, &mut |_, _| {})
}

/// [`verify_store`], calling `progress(bytes verified, bytes total)` now and then (every
/// 64 Ki entries, or every few chunks on the parallel path) and once at the end, so a
/// command can draw a progress bar on long logs.
pub fn verify_store_with_progress<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyOutcome> {
    Ok(verify_walk(store, verifier, false, progress)?.0)
}

/// What an intact log's verification walked: the walk (with every leaf hash when asked)
/// and the checkpoints.
pub(crate) type Walked = (Walk, Vec<StoredCheckpoint>);

/// [`verify_store_with_progress`], also returning the walk of an intact log (every leaf
/// hash kept when `keep_leaves`), so a proof can be made without walking the log again.
pub(crate) fn verify_walk<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
    keep_leaves: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(VerifyOutcome, Option<Walked>)> {
    let _span = tracing::info_span!("verify", path = %store.location().display()).entered();
    let checkpoints_path = store.location().with_file_name(crate::CHECKPOINTS_FILE);
    let side = store.read_side(Side::Checkpoints)?;
    let (checkpoints, good) = match read_checkpoints(&side, &checkpoints_path) {
        Err(error) => return Ok((unreadable(error)?, None)),
        Ok(read) => read,
    };
    let (walk, stop) = match walk_fast(
        store,
        &checkpoint_sizes(&checkpoints),
        keep_leaves,
        progress,
    ) {
        Err(error) => return Ok((unreadable(error)?, None)),
        Ok(walked) => walked,
    };
    progress(walk.end_offset, store.len());
    let path = store.location().to_path_buf();
    let broken = |path, offset, index, kind| {
        Ok((
            VerifyOutcome::Broken(Damage {
                path,
                offset,
                index,
                kind,
                intact_entries: walk.entries,
            }),
            None,
        ))
    };
    let mut crash_residue = Vec::new();
    match stop {
        Stop::Clean => {}
        // A last entry whose body fails its checksum may be a change: damage, as before.
        Stop::Torn {
            offset,
            bytes,
            whole_frame: true,
        } => {
            return broken(
                path,
                offset,
                walk.entries,
                CorruptionKind::TornTail { bytes },
            );
        }
        // Checked against the checkpoints below: residue only when none covers the cut.
        Stop::Torn { offset, bytes, .. } => crash_residue.push(CrashResidue {
            path: path.clone(),
            offset,
            bytes,
            index: walk.entries,
        }),
        Stop::Bad {
            offset,
            index,
            kind,
        } => return broken(path, offset, index, kind),
    }
    if good != side.len()
        && !checkpoint_tail_is_cut_short(side.get(good..).unwrap_or_default(), good as u64)
    {
        // A whole last record whose checksum fails (or whose length was changed) may be a
        // change, as a whole last frame: damage.
        return broken(
            checkpoints_path,
            good as u64,
            checkpoints.len() as u64,
            CorruptionKind::TornTail {
                bytes: (side.len() - good) as u64,
            },
        );
    }
    if good != side.len() {
        crash_residue.push(CrashResidue {
            path: checkpoints_path.clone(),
            offset: good as u64,
            bytes: (side.len() - good) as u64,
            index: checkpoints.len() as u64,
        });
    }
    if let Some(damage) = check_checkpoints(&checkpoints, &walk, verifier, &checkpoints_path) {
        return Ok((VerifyOutcome::Broken(damage), None));
    }
    let latest_checkpoint = checkpoints
        .iter()
        .map(|c| &c.checkpoint)
        .max_by_key(|c| c.size)
        .cloned();
    let report = VerifyReport {
        entries: walk.entries,
        bytes: walk.end_offset,
        root: walk.range.root(),
        checkpoints: checkpoints.len() as u64,
        latest_checkpoint,
        signatures_checked: verifier.is_some(),
        format_version: walk.version,
        time_order: walk.index_builder.order().first_backward(),
        time_disorder_ns: walk.index_builder.order().disorder_ns(),
        crash_residue,
        time_index_mismatch: time_index_mismatch(&store.read_side(Side::TimeIndex)?, &walk),
    };
    Ok((VerifyOutcome::Intact(report), Some((walk, checkpoints))))
}

/// Whether the bytes after the last whole checkpoint record are a record cut short or zeros
/// (what a crash mid-write leaves) rather than a whole record that fails its checksum: records are
/// `length u32, CRC32C u32, note`. A tail holding the whole note its CRC names, under a
/// length that says otherwise, is a changed length, not a cut.
fn checkpoint_tail_is_cut_short(tail: &[u8], offset: u64) -> bool {
    if tail.iter().all(|&b| b == 0) {
        return true; // pages a crash lost after the file grew: zeros to the end
    }
    if lost_page(tail, offset) && !holds_a_whole_record(tail) {
        // A whole last record the crash left with one of its pages never written back.
        return true;
    }
    let (Some(length), Some(crc)) = (
        tail.get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes),
        tail.get(4..8)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes),
    ) else {
        return true; // not even a whole header
    };
    let note = tail.get(8..).unwrap_or_default();
    let whole = note.len() >= length as usize;
    !whole && crate::crc::crc32c(note) != crc && !holds_a_whole_record(tail)
}

/// The first stored time-index record that differs from the rebuilt one, comparing the
/// records both hold (whole records only: a crash may leave the index short or long).
fn time_index_mismatch(stored: &[u8], walk: &Walk) -> Option<u64> {
    stored
        .chunks_exact(crate::time_index::INDEX_RECORD_LEN)
        .zip(&walk.time_index)
        .position(|(stored, rebuilt)| stored != rebuilt.to_bytes())
        .map(|position| position as u64)
}

/// A checkpoint that states a smaller time disorder than its entries have (one that states
/// none bounds nothing and proves no window).
fn understated_disorder(stored: &StoredCheckpoint, walk: &Walk) -> Option<CorruptionKind> {
    let body_end = stored.note.rfind("\n\n")?;
    let stated_ns = stated_time_disorder(stored.note.get(..=body_end)?)?;
    let actual_ns = walk.disorders.get(&stored.checkpoint.size).copied()?;
    (stated_ns < actual_ns).then_some(CorruptionKind::TimeDisorderUnderstated {
        stated_ns,
        actual_ns,
    })
}

/// A file whose very structure is damaged (a bad entry-log header, a bad checkpoint record
/// in the middle) is a broken log, found before any entry could be verified; any other error
/// stays an error.
fn unreadable(error: LedgerError) -> Result<VerifyOutcome> {
    match error {
        LedgerError::Corrupt {
            path,
            offset,
            index,
            kind,
        } => Ok(VerifyOutcome::Broken(Damage {
            path,
            offset,
            index,
            kind,
            intact_entries: 0,
        })),
        other => Err(other),
    }
}

/// The distinct tree sizes of `checkpoints`, sorted: the sizes a walk records roots at.
pub(crate) fn checkpoint_sizes(checkpoints: &[StoredCheckpoint]) -> Vec<u64> {
    let mut sizes: Vec<u64> = checkpoints.iter().map(|c| c.checkpoint.size).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// Checks each checkpoint against the walk (signature, size, root); the first problem.
pub(crate) fn check_checkpoints(
    checkpoints: &[StoredCheckpoint],
    walk: &Walk,
    verifier: Option<&NoteVerifier>,
    path: &Path,
) -> Option<Damage> {
    checkpoints.iter().find_map(|stored| {
        let size = stored.checkpoint.size;
        let kind = if verifier.is_some_and(|v| Checkpoint::verify(&stored.note, v).is_err()) {
            CorruptionKind::SignatureInvalid
        } else if size > walk.entries {
            CorruptionKind::CheckpointBeyondLog {
                checkpoint_size: size,
            }
        } else if walk.roots.get(&size) != Some(&stored.checkpoint.root) {
            CorruptionKind::RootMismatch
        } else {
            understated_disorder(stored, walk)?
        };
        Some(Damage {
            path: path.to_path_buf(),
            offset: stored.offset,
            index: size,
            kind,
            intact_entries: walk.entries,
        })
    })
}
