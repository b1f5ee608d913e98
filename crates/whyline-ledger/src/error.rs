//! The one error type of `whyline-ledger`, with a nested kind for corruption so callers can
//! match coarsely (`LedgerError::Corrupt { .. }`) or finely (`CorruptionKind::LinkBroken`).
//! The ledger, its stores and the ring and stream collectors all return it.
//!
//! Every variant says where: the file (or store) path, the byte offset, the index of the
//! entry in the log, the record in a stream, or the sizes a proof was checked against. A
//! [`TraceCollector`](whyline_core::TraceCollector) method wraps it in
//! [`CoreError::Collector`](whyline_core::CoreError::Collector), which adds the collector
//! and the decision; downcast the source to match it.

use std::path::PathBuf;

use crate::collector::StreamFormat;

/// Result alias used across `whyline-ledger`.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// What is wrong with a stored entry or checkpoint. Verification reports the first one found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorruptionKind {
    /// The log ends inside a frame: a crash mid-write. Recovery truncates it.
    TornTail {
        /// Bytes after the last whole frame.
        bytes: u64,
    },
    /// A frame's bytes no longer match its checksum or its chain hash: the payload was
    /// changed (bit rot, or an edit).
    ContentChanged,
    /// The payload is intact but its stored chain hash does not follow from the previous
    /// entry's: the chain link was rewritten.
    LinkBroken,
    /// The entry with this index is absent; the next one was found in its place.
    EntryMissing {
        /// Index found where the missing one was expected.
        found: u64,
    },
    /// Entries are out of order: this position holds an entry that belongs elsewhere.
    EntriesReordered {
        /// Index found at this position.
        found: u64,
    },
    /// This position repeats the previous entry.
    Duplicated,
    /// An entry that does not belong sits here: the next frame carries this same index.
    Inserted,
    /// A frame header is unreadable (bad header checksum or impossible length).
    BadFrame,
    /// A checkpoint's signature does not verify with the given key.
    SignatureInvalid,
    /// A checkpoint's root differs from the Merkle root of the stored entries.
    RootMismatch,
    /// A checkpoint states a smaller time disorder than its entries have: window proofs
    /// against it could leave entries out.
    TimeDisorderUnderstated {
        /// The disorder the checkpoint states, nanoseconds.
        stated_ns: u64,
        /// The disorder of the entries it covers, nanoseconds.
        actual_ns: u64,
    },
    /// A checkpoint covers more entries than the log holds: entries were cut off.
    CheckpointBeyondLog {
        /// Tree size the checkpoint claims.
        checkpoint_size: u64,
    },
    /// The file does not start with the ledger header, or has an unknown version.
    BadHeader,
    /// A segment file is missing or was cut: the next one does not start where the previous
    /// one ends.
    SegmentGap {
        /// Where the next segment should start.
        expected_start: u64,
        /// Where the next segment found starts.
        found_start: u64,
    },
}

impl std::fmt::Display for CorruptionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorruptionKind::TornTail { bytes } => write!(f, "torn tail ({bytes} bytes)"),
            CorruptionKind::ContentChanged => f.write_str("content changed"),
            CorruptionKind::LinkBroken => f.write_str("chain link broken"),
            CorruptionKind::EntryMissing { found } => {
                write!(f, "entry missing (found index {found} in its place)")
            }
            CorruptionKind::EntriesReordered { found } => {
                write!(f, "entries reordered (found index {found})")
            }
            CorruptionKind::Duplicated => f.write_str("entry duplicated"),
            CorruptionKind::Inserted => f.write_str("entry inserted"),
            CorruptionKind::BadFrame => f.write_str("unreadable frame header"),
            CorruptionKind::SignatureInvalid => f.write_str("checkpoint signature invalid"),
            CorruptionKind::RootMismatch => f.write_str("checkpoint root mismatch"),
            CorruptionKind::CheckpointBeyondLog { checkpoint_size } => write!(
                f,
                "checkpoint of size {checkpoint_size} covers entries the log does not hold"
            ),
            CorruptionKind::BadHeader => f.write_str("bad ledger header"),
            CorruptionKind::TimeDisorderUnderstated {
                stated_ns,
                actual_ns,
            } => write!(
                f,
                "checkpoint states a time disorder of {stated_ns} ns, its entries step back {actual_ns} ns"
            ),
            CorruptionKind::SegmentGap {
                expected_start,
                found_start,
            } => write!(
                f,
                "segment gap: a segment should start at byte {expected_start}, the next found starts at {found_start}"
            ),
        }
    }
}

/// Why a Merkle proof was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofErrorKind {
    /// The index or sizes are impossible (index ≥ size, old size > new size).
    OutOfRange,
    /// The proof has the wrong number of hashes for these sizes.
    WrongLength {
        /// Hashes the sizes call for.
        expected: usize,
        /// Hashes given.
        found: usize,
    },
    /// The hashes recompute a root other than the one given.
    RootMismatch,
}

impl std::fmt::Display for ProofErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofErrorKind::OutOfRange => f.write_str("index or size out of range"),
            ProofErrorKind::WrongLength { expected, found } => {
                write!(f, "proof has {found} hashes, expected {expected}")
            }
            ProofErrorKind::RootMismatch => f.write_str("recomputed root differs"),
        }
    }
}

/// Why a window proof was rejected (beyond its inclusion proofs and its checkpoint, which
/// fail as [`LedgerError::InvalidProof`] and [`LedgerError::Note`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WindowErrorKind {
    /// The window ends before it starts.
    Inverted,
    /// The boundary entry is not a stamped record (no time to compare).
    Unstamped {
        /// The boundary entry's index.
        index: u64,
    },
    /// The entry said to be the last before the window is not stamped before the window's
    /// start less the checkpoint's time disorder.
    NotBefore {
        /// The boundary entry's index.
        index: u64,
        /// Its time, Unix nanoseconds.
        timestamp_ns: u64,
    },
    /// The entry said to be the first after the window is not stamped after the window's end
    /// plus the checkpoint's time disorder.
    NotAfter {
        /// The boundary entry's index.
        index: u64,
        /// Its time, Unix nanoseconds.
        timestamp_ns: u64,
    },
    /// The range does not run from just after the entry before to just before the entry
    /// after (or from the log's start, to the checkpoint's end): entries are left out.
    RangeNotBounded {
        /// First index of the range claimed.
        first: u64,
        /// End (exclusive) of the range claimed.
        end: u64,
        /// First index the boundaries allow.
        expected_first: u64,
        /// End the boundaries allow.
        expected_end: u64,
    },
    /// The time disorder stated beside the checkpoint differs from the one it signs.
    DisorderMismatch {
        /// The disorder the proof states.
        stated_ns: u64,
        /// The disorder the signed checkpoint states.
        signed_ns: u64,
    },
    /// The time stated for a boundary entry differs from the time in the entry itself.
    TimeMismatch {
        /// The boundary entry's index.
        index: u64,
        /// The time the proof states.
        stated_ns: u64,
        /// The time the entry carries.
        entry_ns: u64,
    },
}

impl std::fmt::Display for WindowErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WindowErrorKind::Inverted => f.write_str("the window ends before it starts"),
            WindowErrorKind::Unstamped { index } => {
                write!(f, "boundary entry {index} carries no time")
            }
            WindowErrorKind::NotBefore {
                index,
                timestamp_ns,
            } => write!(
                f,
                "entry {index} (stamped {timestamp_ns} ns) is not before the window by the log's time disorder"
            ),
            WindowErrorKind::NotAfter {
                index,
                timestamp_ns,
            } => write!(
                f,
                "entry {index} (stamped {timestamp_ns} ns) is not after the window by the log's time disorder"
            ),
            WindowErrorKind::RangeNotBounded {
                first,
                end,
                expected_first,
                expected_end,
            } => write!(
                f,
                "range {first}..{end} is not the range {expected_first}..{expected_end} between the boundary entries"
            ),
            WindowErrorKind::DisorderMismatch {
                stated_ns,
                signed_ns,
            } => write!(
                f,
                "the proof states a time disorder of {stated_ns} ns, its checkpoint signs {signed_ns} ns"
            ),
            WindowErrorKind::TimeMismatch {
                index,
                stated_ns,
                entry_ns,
            } => write!(
                f,
                "entry {index} is stamped {entry_ns} ns, the proof states {stated_ns} ns"
            ),
        }
    }
}

/// Why a signed note or checkpoint could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteErrorKind {
    /// The note is not valid UTF-8 or holds control characters.
    BadText,
    /// No blank line separates text from signatures, or a signature line is malformed.
    BadSignatureLine,
    /// The checkpoint body lacks the origin, size or root line, or one is malformed.
    BadBody,
    /// A key string (`name+hash+base64`) is malformed or its key id does not match.
    BadKey,
    /// No signature line from the expected key is present.
    NoSignature,
    /// A signature from the expected key is present but does not verify.
    SignatureInvalid,
}

impl std::fmt::Display for NoteErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoteErrorKind::BadText => f.write_str("not UTF-8 text without control characters"),
            NoteErrorKind::BadSignatureLine => f.write_str("malformed signature block"),
            NoteErrorKind::BadBody => f.write_str("malformed checkpoint body"),
            NoteErrorKind::BadKey => f.write_str(
                "malformed key (expected one line name+hexid+base64, as whyline keygen writes it)",
            ),
            NoteErrorKind::NoSignature => {
                f.write_str("no signature by the expected key (is this the log's verifier key?)")
            }
            NoteErrorKind::SignatureInvalid => f.write_str("signature does not verify"),
        }
    }
}

/// Why a path is not a whyline ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotALedgerReason {
    /// Nothing exists at the path.
    Missing,
    /// The path exists but holds no entry log (`entries.wls`).
    NoEntryLog,
}

impl std::fmt::Display for NotALedgerReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotALedgerReason::Missing => f.write_str("it does not exist"),
            NotALedgerReason::NoEntryLog => {
                write!(f, "it has no {}", crate::segment::ENTRIES_FILE)
            }
        }
    }
}

/// Everything that can go wrong in `whyline-ledger`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// An I/O operation on a ledger file failed.
    #[error("{}: {operation} failed", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done (`write`, `fsync`, `read`, `open`, `truncate`).
        operation: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A directory opened as an existing ledger is not one (opening read-only never creates
    /// it).
    #[error("{} is not a whyline ledger: {reason}", path.display())]
    NotALedger {
        /// The directory.
        path: PathBuf,
        /// What is missing.
        reason: NotALedgerReason,
    },
    /// The store was opened read-only ([`SegmentStore::open_read_only`](crate::SegmentStore::open_read_only))
    /// and something tried to write to it.
    #[error("{}: opened read-only; open the ledger for writing to append, truncate or sync", path.display())]
    ReadOnly {
        /// The ledger directory.
        path: PathBuf,
    },
    /// An earlier write or fsync failed; the writer refuses further appends because what is
    /// on disk is unknown until the ledger is reopened and recovered.
    #[error("{}: writer stopped after a failed {operation} at byte {offset}; reopen to recover", path.display())]
    WriterFailed {
        /// The file.
        path: PathBuf,
        /// The operation that failed first.
        operation: &'static str,
        /// Bytes known written before the failure.
        offset: u64,
    },
    /// Stored bytes are damaged or were changed (found while opening a ledger for writing;
    /// [`verify_store`](crate::verify_store) reports damage as a
    /// [`VerifyOutcome::Broken`](crate::VerifyOutcome::Broken) instead).
    #[error("{}: entry {index} at byte {offset}: {kind}", path.display())]
    Corrupt {
        /// The file (or store name).
        path: PathBuf,
        /// Byte offset of the bad frame (or of the checkpoint in the checkpoints file).
        offset: u64,
        /// Index of the first bad entry (for a checkpoint, its tree size).
        index: u64,
        /// What is wrong.
        kind: CorruptionKind,
    },
    /// A Merkle proof does not verify.
    #[error("proof for index {index} in tree of size {size}: {kind}")]
    InvalidProof {
        /// Leaf index (inclusion) or old tree size (consistency).
        index: u64,
        /// Tree size (new size, for consistency).
        size: u64,
        /// Why.
        kind: ProofErrorKind,
    },
    /// A window proof does not show a complete window.
    #[error("window proof for {from_ns}..={to_ns} ns: {kind}")]
    InvalidWindow {
        /// Start of the window, Unix nanoseconds.
        from_ns: u64,
        /// End of the window, Unix nanoseconds.
        to_ns: u64,
        /// Why.
        kind: WindowErrorKind,
    },
    /// A window cannot be proven complete against this checkpoint: it states no bound on
    /// the log's time disorder (signed before windows could be proven).
    #[error(
        "the checkpoint of size {checkpoint_size} states no bound on the log's time order, so no window can be proven complete against it; sign a new checkpoint (whyline checkpoint --signing-key)"
    )]
    NoTimeBound {
        /// The checkpoint's tree size.
        checkpoint_size: u64,
    },
    /// A proof's tree size or root differ from those of the signed checkpoint it carries.
    #[error("the proof's {what} differs from its signed checkpoint's")]
    CheckpointMismatch {
        /// `"tree size"` or `"root"`.
        what: &'static str,
    },
    /// A proof's checkpoint is for another log.
    #[error("the proof's checkpoint is for log {found:?}, expected {expected:?}")]
    OtherLog {
        /// The origin expected.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// A proof file could not be read.
    #[error("proof file: {detail}")]
    BadProofFile {
        /// What is wrong (the JSON parser's message, an unknown `type`).
        detail: String,
    },
    /// A proof or root was asked for a range the tree does not hold.
    #[error("tree of size {available}: cannot prove {what} {index} in size {size}")]
    OutOfRange {
        /// What was asked (`leaf`, `size`).
        what: &'static str,
        /// The index or old size asked for.
        index: u64,
        /// The tree size asked for.
        size: u64,
        /// Entries available.
        available: u64,
    },
    /// A signed note, checkpoint or key could not be read or verified.
    #[error("note {context}: {kind}")]
    Note {
        /// Which note or key (origin, file, key name).
        context: String,
        /// What is wrong.
        kind: NoteErrorKind,
    },
    /// A proof was asked of a ledger that has no checkpoint to prove against.
    #[error(
        "no checkpoint yet (sign one with whyline checkpoint --signing-key, or append with --signing-key)"
    )]
    NoCheckpoint,
    /// A key file exists already: keys are never replaced.
    #[error("{} exists already (a key file is never replaced)", path.display())]
    KeyExists {
        /// The key file.
        path: PathBuf,
    },
    /// A key file holds no valid key.
    #[error("key file {}: {kind}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its key.
        kind: NoteErrorKind,
    },
    /// A payload is empty or larger than a frame can hold.
    #[error("entry {index}: payload of {found} bytes is outside 1..={limit}")]
    PayloadSize {
        /// Index it would have had.
        index: u64,
        /// Its size.
        found: usize,
        /// The largest size accepted.
        limit: usize,
    },
    /// A record of an ingest body was refused, and with it the whole batch (nothing was
    /// appended).
    #[error("ingest: record {record} at byte {offset}: {kind}")]
    Ingest {
        /// The record (1-based; blank lines of a JSON-lines body are not records).
        record: u64,
        /// Byte offset in the body where the record starts.
        offset: u64,
        /// What is wrong with it.
        kind: crate::ingest::IngestErrorKind,
    },
    /// A tlog-tiles request cannot be served.
    #[error("{path}: {kind}")]
    Tile {
        /// The tile path asked for.
        path: String,
        /// Why.
        kind: crate::tile_path::TileErrorKind,
    },
    /// A setting (of a ledger, a store or a collector builder) is out of range.
    #[error("invalid setting {setting} = {value}: expected {expected}")]
    InvalidSetting {
        /// The setting (the option or builder method).
        setting: &'static str,
        /// What was given.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The operating system's random source failed while generating a key.
    #[error("generating {what}: the operating system's random source failed: {detail}")]
    Random {
        /// What was being generated.
        what: &'static str,
        /// What the random source reported.
        detail: String,
    },
    /// No key store where one was expected (sealing or opening inputs, erasing a subject).
    #[error("{}: no key store (sealed inputs need the subject key store beside the ledger)", path.display())]
    KeyStoreMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The key store file is malformed.
    #[error("key store {}: {detail}", path.display())]
    KeyStore {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A subject's key was destroyed: nothing more is sealed under it.
    #[error(
        "subject {digest} was erased: its key is destroyed and no input is sealed for it again"
    )]
    SubjectErased {
        /// The subject's keyed digest, hex.
        digest: String,
    },
    /// A collector was asked to seal an input without a key store.
    #[error(
        "this ledger collector has no key store: inputs cannot be sealed (give it one with set_sealer)"
    )]
    NoSealer,
    /// An outcome names an entry that is not a decision.
    #[error("entry {index} is not a decision ({found}); outcomes link to decisions")]
    NotADecision {
        /// The entry named.
        index: u64,
        /// What it is (or that the log has no such entry).
        found: String,
    },
    /// The AEAD refused a key (a key of the wrong length: a defect, not bad input).
    #[error("the sealing cipher refused a key")]
    CipherKey,
    /// Sealing failed in the cipher (a plaintext beyond the cipher's limit).
    #[error("sealing the input of decision entry {decision_index} failed")]
    SealFailed {
        /// The decision's entry index.
        decision_index: u64,
    },
    /// A thread panicked while holding a collector's or the ledger's lock.
    #[error("{collector} collector: lock poisoned by a panic in another thread")]
    Poisoned {
        /// Which collector (`"ring"`, `"stream"`, `"ledger"`).
        collector: &'static str,
    },
    /// The stream's writer thread failed to write a record to the sink. The writer stops at
    /// the first error: this record and every later one are not written, and are counted
    /// in [`StreamStats::lost`](crate::collector::StreamStats::lost).
    #[error("stream writer: writing record {record} ({format}) to the sink failed")]
    StreamWrite {
        /// Index (0-based, in queue order) of the record that failed.
        record: u64,
        /// The sink's format.
        format: StreamFormat,
        /// The sink's error.
        #[source]
        source: std::io::Error,
    },
    /// The stream's writer thread failed to flush the sink.
    #[error("stream writer: flushing the sink after {written} records failed")]
    StreamFlush {
        /// Records written into the sink's buffer before the flush.
        written: u64,
        /// The sink's error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the fallback sink failed (in the caller's thread).
    #[error("stream fallback: writing decision {sequence} to the fallback sink failed")]
    Fallback {
        /// Sequence number of the decision being written.
        sequence: u64,
        /// The sink's error.
        #[source]
        source: std::io::Error,
    },
    /// Flushing the fallback sink failed (in the caller's thread).
    #[error("stream fallback: flushing the fallback sink failed")]
    FallbackFlush {
        /// The sink's error.
        #[source]
        source: std::io::Error,
    },
    /// A record could not be rendered as a JSON line.
    #[error("stream: encoding record {record} as JSON failed")]
    Encode {
        /// Index (0-based, in queue order) of the record in the writer; the decision's
        /// sequence number in the fallback sink.
        record: u64,
        /// The codec's error.
        #[source]
        source: whyline_core::CoreError,
    },
    /// The writer failed earlier (its error was returned then) and has stopped: nothing
    /// more is written.
    #[error("stream writer stopped after an earlier error; {lost} records were not written")]
    WriterStopped {
        /// Records accepted but not written so far.
        lost: u64,
    },
    /// The writer thread is no longer running (it panicked, see
    /// [`WriterPanicked`](LedgerError::WriterPanicked) from `close`).
    #[error("stream writer thread ended unexpectedly")]
    WriterGone,
    /// The writer thread panicked (found when joining it).
    #[error("stream writer thread panicked")]
    WriterPanicked,
    /// [`Backpressure::Fallback`](crate::collector::Backpressure::Fallback) was chosen
    /// without a fallback sink.
    #[error(
        "stream collector: backpressure Fallback needs a fallback sink (builder.fallback(sink))"
    )]
    MissingFallback,
    /// The stream's writer thread could not be started.
    #[error("stream writer: starting the writer thread failed")]
    Spawn(#[source] std::io::Error),
    /// The pipelined ledger collector's sequencer failed to append earlier (its error was
    /// returned then) and has stopped: nothing more is appended.
    #[error(
        "pipelined ledger: the sequencer stopped after an earlier error; {lost} entries were not appended"
    )]
    SequencerStopped {
        /// Entries accepted but not appended so far.
        lost: u64,
    },
    /// The pipelined ledger collector's sequencer thread is no longer running (it panicked).
    #[error("pipelined ledger: the sequencer thread ended unexpectedly")]
    SequencerGone,
}

impl LedgerError {
    /// An I/O error with its path and operation.
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        operation: &'static str,
        source: std::io::Error,
    ) -> Self {
        LedgerError::Io {
            path: path.into(),
            operation,
            source,
        }
    }

    /// The corruption kind, when this error is a [`LedgerError::Corrupt`].
    pub fn corruption(&self) -> Option<CorruptionKind> {
        if let LedgerError::Corrupt { kind, .. } = self {
            Some(*kind)
        } else {
            None
        }
    }

    /// This error as the [`CoreError::Collector`](whyline_core::CoreError::Collector) a
    /// [`TraceCollector`](whyline_core::TraceCollector) method returns: `collector` names
    /// the collector, `sequence` the decision being recorded (`None` for a flush, a model
    /// record or an alert).
    pub fn in_collector(
        self,
        collector: &'static str,
        sequence: Option<u64>,
    ) -> whyline_core::CoreError {
        whyline_core::CoreError::Collector {
            collector,
            sequence,
            source: Box::new(self),
        }
    }
}
