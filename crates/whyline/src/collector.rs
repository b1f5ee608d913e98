//! [`RecorderCollector`]: the collector a profile names, whichever it is.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use whyline_core::{
    AlertRecord, CollectorStats, DecisionTrace, Durability, InputEvidence, ModelRecord,
    RecordOutcome, TraceCollector,
};
use whyline_ledger::collector::{DynamicRingCollector, RingSlot, StreamCollector};
use whyline_ledger::{
    IngestFormat, LedgerCollector, NoteVerifier, Receipt, Store, TileCache, TilePath,
};
use whyline_monitor::CollectorChoice;

use crate::error::{Result, WhylineError};
use crate::location::LogLocation;

/// The collector a profile's `collector` names: a ring, a stream to a file, or a ledger (in a
/// directory, or in PostgreSQL).
///
/// # Why an enum
///
/// The kind is read from a file at run time, so it cannot be a type parameter chosen at
/// compile time: a `Recorder<C>` would make every caller name the collector the profile was
/// supposed to choose. A `Box<dyn TraceCollector<P>>` would choose at run time too, but would
/// hide the concrete collector (a ledger's checkpoints, a ring's recent traces) behind the
/// trait and cost a virtual call per decision. An enum keeps all three concrete (see
/// [`as_ledger`](Self::as_ledger) and the other accessors), costs one predictable branch per
/// record, and lets [`InferenceMonitor`](whyline_monitor::InferenceMonitor) own it as a plain
/// value. A caller who knows the kind at compile time can still build that collector itself
/// and skip the branch.
#[derive(Debug)]
#[non_exhaustive]
// One per recorder, built once and then shared or owned in place, never moved per decision:
// boxing the ledger would add a pointer chase to every record for no saving.
#[allow(clippy::large_enum_variant)]
pub enum RecorderCollector<P> {
    /// The last `ring_size` decisions in memory; writes no file.
    Ring(DynamicRingCollector<P>),
    /// A bounded queue and a background writer to one file.
    Stream {
        /// The collector.
        collector: StreamCollector<P>,
        /// The file it writes.
        file: PathBuf,
        /// When the file is synced (the stream's writer syncs through its sink).
        durability: Durability,
    },
    /// The tamper-evident ledger: a directory of segment files or a log in PostgreSQL.
    Ledger {
        /// The collector, over the store opened at `location` (boxed: which store it is
        /// was chosen at run time).
        collector: LedgerCollector<Box<dyn Store>>,
        /// Where the ledger lives (read-only views are opened there).
        location: LogLocation,
    },
}

impl<P> RecorderCollector<P> {
    /// Which collector this is, in the profile's words.
    pub fn kind(&self) -> CollectorChoice {
        match self {
            RecorderCollector::Ring(_) => CollectorChoice::Ring,
            RecorderCollector::Stream { .. } => CollectorChoice::Stream,
            RecorderCollector::Ledger { .. } => CollectorChoice::Ledger,
        }
    }

    /// The ring, when this is one.
    pub fn as_ring(&self) -> Option<&DynamicRingCollector<P>> {
        match self {
            RecorderCollector::Ring(ring) => Some(ring),
            RecorderCollector::Stream { .. } | RecorderCollector::Ledger { .. } => None,
        }
    }

    /// The stream, when this is one.
    pub fn as_stream(&self) -> Option<&StreamCollector<P>> {
        match self {
            RecorderCollector::Stream { collector, .. } => Some(collector),
            RecorderCollector::Ring(_) | RecorderCollector::Ledger { .. } => None,
        }
    }

    /// The ledger collector, when this is one.
    pub fn as_ledger(&self) -> Option<&LedgerCollector<Box<dyn Store>>> {
        match self {
            RecorderCollector::Ledger { collector, .. } => Some(collector),
            RecorderCollector::Ring(_) | RecorderCollector::Stream { .. } => None,
        }
    }

    /// Where the traces go: the stream's file, or the ledger's directory (or, for a ledger
    /// in PostgreSQL, its URL without password); `None` for a ring.
    pub fn location(&self) -> Option<&Path> {
        match self {
            RecorderCollector::Ring(_) => None,
            RecorderCollector::Stream { file, .. } => Some(file),
            RecorderCollector::Ledger { location, .. } => Some(location.path()),
        }
    }

    /// Where the ledger lives, when this is a ledger: to open read-only views of it
    /// ([`LogLocation::open_read_only`]).
    pub fn log_location(&self) -> Option<&LogLocation> {
        match self {
            RecorderCollector::Ledger { location, .. } => Some(location),
            RecorderCollector::Ring(_) | RecorderCollector::Stream { .. } => None,
        }
    }

    /// The durability in force, read from the collector: a ledger's options, the stream's
    /// file sink; a ring keeps traces in memory ([`Durability::None`]).
    pub fn durability(&self) -> Result<Durability> {
        Ok(match self {
            RecorderCollector::Ring(_) => Durability::None,
            RecorderCollector::Stream { durability, .. } => *durability,
            RecorderCollector::Ledger { collector, .. } => {
                collector.with_ledger(|ledger| ledger.options().durability_policy())?
            }
        })
    }

    /// Entries between signed checkpoints, read from the ledger's options; `None` for a
    /// ring, a stream, or a ledger that signs nothing (and so writes no checkpoints).
    pub fn checkpoint_every(&self) -> Result<Option<u64>> {
        match self {
            RecorderCollector::Ledger { collector, .. } => Ok(collector.with_ledger(|ledger| {
                let options = ledger.options();
                options.signer().map(|_| options.checkpoint_entries())
            })?),
            RecorderCollector::Ring(_) | RecorderCollector::Stream { .. } => Ok(None),
        }
    }

    /// The verifier of the ledger's checkpoint signatures, when it signs them.
    pub fn verifier(&self) -> Result<Option<NoteVerifier>> {
        match self {
            RecorderCollector::Ledger { collector, .. } => Ok(collector
                .with_ledger(|ledger| ledger.options().signer().map(|signer| signer.verifier()))?),
            RecorderCollector::Ring(_) | RecorderCollector::Stream { .. } => Ok(None),
        }
    }

    /// Signs a checkpoint of everything appended so far (a ledger that signs), and returns
    /// the signed note; `None` for other collectors.
    pub fn checkpoint(&self) -> Result<Option<String>> {
        match self {
            RecorderCollector::Ledger { collector, .. } => {
                Ok(collector.with_ledger(|ledger| ledger.checkpoint())??)
            }
            RecorderCollector::Ring(_) | RecorderCollector::Stream { .. } => Ok(None),
        }
    }
}

impl<P> RecorderCollector<P> {
    /// Decision ingest (the library side of `whyline serve`'s `POST /v1/decisions`): reads a
    /// body of JSON lines or APRT records, appends it as one batch and returns one receipt
    /// per entry once the batch is durable under the profile's policy (see
    /// [`LedgerCollector::ingest`]). A bad record refuses the whole batch
    /// ([`LedgerError::Ingest`](whyline_ledger::LedgerError::Ingest), nothing appended);
    /// a ring or stream collector refuses ingest ([`WhylineError::NeedsLedger`]), since
    /// neither gives receipts.
    pub fn ingest(&self, body: &[u8], format: IngestFormat) -> Result<Vec<Receipt>> {
        match self {
            RecorderCollector::Ledger { collector, .. } => Ok(collector.ingest(body, format)?),
            RecorderCollector::Ring(_) | RecorderCollector::Stream { .. } => {
                Err(WhylineError::NeedsLedger {
                    operation: "decision ingest",
                    found: self.kind(),
                })
            }
        }
    }
}

impl<P> RecorderCollector<P> {
    /// The latest signed checkpoint note of the ledger (`GET /checkpoint` of tlog-tiles);
    /// `None` before the first checkpoint; [`WhylineError::NeedsLedger`] for a ring or stream.
    pub fn latest_checkpoint(&self) -> Result<Option<String>> {
        let collector = self.ledger_for("a checkpoint")?;
        Ok(collector.with_ledger(|ledger| {
            ledger
                .checkpoints()
                .last()
                .map(|stored| stored.note.clone())
        })?)
    }

    /// The tlog-tiles tile or entry bundle `path` of the tree of the latest signed checkpoint
    /// (`GET /tile/...`; see [`TileCache::read_ledger_tile`], whose cache the caller keeps
    /// between requests). Holds the ledger lock while it reads.
    pub fn read_tile(&self, cache: &mut TileCache, path: &TilePath) -> Result<Vec<u8>> {
        let collector = self.ledger_for("a tlog tile")?;
        Ok(collector.with_ledger(|ledger| cache.read_ledger_tile(ledger, path))??)
    }

    fn ledger_for(&self, operation: &'static str) -> Result<&LedgerCollector<Box<dyn Store>>> {
        self.as_ledger().ok_or(WhylineError::NeedsLedger {
            operation,
            found: self.kind(),
        })
    }
}

/// Every method goes to the collector inside.
impl<P: RingSlot> TraceCollector<P> for RecorderCollector<P> {
    #[inline]
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        match self {
            RecorderCollector::Ring(ring) => ring.record(trace),
            RecorderCollector::Stream { collector, .. } => collector.record(trace),
            RecorderCollector::Ledger { collector, .. } => collector.record(trace),
        }
    }

    #[inline]
    fn record_exclusive(
        &mut self,
        trace: &DecisionTrace<P>,
    ) -> whyline_core::Result<RecordOutcome> {
        match self {
            RecorderCollector::Ring(ring) => ring.record_exclusive(trace),
            RecorderCollector::Stream { collector, .. } => collector.record_exclusive(trace),
            RecorderCollector::Ledger { collector, .. } => {
                TraceCollector::<P>::record_exclusive(collector, trace)
            }
        }
    }

    fn record_model(&self, model: &ModelRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        match self {
            RecorderCollector::Ring(ring) => ring.record_model(model),
            RecorderCollector::Stream { collector, .. } => collector.record_model(model),
            RecorderCollector::Ledger { collector, .. } => {
                TraceCollector::<P>::record_model(collector, model)
            }
        }
    }

    fn record_alert(&self, alert: &AlertRecord) -> whyline_core::Result<Option<RecordOutcome>> {
        match self {
            RecorderCollector::Ring(ring) => ring.record_alert(alert),
            RecorderCollector::Stream { collector, .. } => collector.record_alert(alert),
            RecorderCollector::Ledger { collector, .. } => {
                TraceCollector::<P>::record_alert(collector, alert)
            }
        }
    }

    fn record_with_alerts(
        &self,
        trace: &DecisionTrace<P>,
        alerts: &[AlertRecord],
    ) -> whyline_core::Result<RecordOutcome> {
        match self {
            RecorderCollector::Ring(ring) => ring.record_with_alerts(trace, alerts),
            RecorderCollector::Stream { collector, .. } => {
                collector.record_with_alerts(trace, alerts)
            }
            RecorderCollector::Ledger { collector, .. } => {
                collector.record_with_alerts(trace, alerts)
            }
        }
    }

    fn record_input(
        &self,
        input: &InputEvidence<'_>,
    ) -> whyline_core::Result<Option<RecordOutcome>> {
        match self {
            RecorderCollector::Ring(ring) => ring.record_input(input),
            RecorderCollector::Stream { collector, .. } => collector.record_input(input),
            RecorderCollector::Ledger { collector, .. } => {
                TraceCollector::<P>::record_input(collector, input)
            }
        }
    }

    fn record_with_input(
        &mut self,
        trace: &DecisionTrace<P>,
        input: &InputEvidence<'_>,
    ) -> whyline_core::Result<(RecordOutcome, Option<RecordOutcome>)> {
        match self {
            RecorderCollector::Ring(ring) => ring.record_with_input(trace, input),
            RecorderCollector::Stream { collector, .. } => {
                collector.record_with_input(trace, input)
            }
            RecorderCollector::Ledger { collector, .. } => {
                collector.record_with_input(trace, input)
            }
        }
    }

    fn keeps_inputs(&self) -> bool {
        match self {
            RecorderCollector::Ring(ring) => ring.keeps_inputs(),
            RecorderCollector::Stream { collector, .. } => collector.keeps_inputs(),
            RecorderCollector::Ledger { collector, .. } => {
                TraceCollector::<P>::keeps_inputs(collector)
            }
        }
    }

    fn keeps_alerts(&self) -> bool {
        match self {
            RecorderCollector::Ring(ring) => ring.keeps_alerts(),
            RecorderCollector::Stream { collector, .. } => collector.keeps_alerts(),
            RecorderCollector::Ledger { collector, .. } => {
                TraceCollector::<P>::keeps_alerts(collector)
            }
        }
    }

    #[inline]
    fn enabled(&self) -> bool {
        match self {
            RecorderCollector::Ring(ring) => ring.enabled(),
            RecorderCollector::Stream { collector, .. } => collector.enabled(),
            RecorderCollector::Ledger { collector, .. } => TraceCollector::<P>::enabled(collector),
        }
    }

    fn flush(&self) -> whyline_core::Result<()> {
        match self {
            RecorderCollector::Ring(ring) => ring.flush(),
            RecorderCollector::Stream { collector, .. } => collector.flush(),
            RecorderCollector::Ledger { collector, .. } => TraceCollector::<P>::flush(collector),
        }
    }

    fn len(&self) -> u64 {
        match self {
            RecorderCollector::Ring(ring) => ring.len(),
            RecorderCollector::Stream { collector, .. } => collector.len(),
            RecorderCollector::Ledger { collector, .. } => TraceCollector::<P>::len(collector),
        }
    }

    fn stats(&self) -> CollectorStats {
        match self {
            RecorderCollector::Ring(ring) => ring.stats(),
            RecorderCollector::Stream { collector, .. } => collector.stats(),
            RecorderCollector::Ledger { collector, .. } => TraceCollector::<P>::stats(collector),
        }
    }
}

/// The stream's file, synced per its durability: with [`Durability::Interval`] the writer
/// thread's writes sync the file once `max_delay` has passed since the last sync, and every
/// flush (the writer flushes when it goes idle, on `flush` and on close) syncs it; with
/// [`Durability::None`] nothing is synced. (A stream cannot honour `Sync`: its writer runs in
/// the background, and profiles refuse the combination.)
pub(crate) struct DurableFile {
    file: File,
    path: PathBuf,
    durability: Durability,
    last_sync: Instant,
}

impl DurableFile {
    pub(crate) fn new(file: File, path: PathBuf, durability: Durability) -> Self {
        Self {
            file,
            path,
            durability,
            last_sync: Instant::now(),
        }
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()?;
        self.last_sync = Instant::now();
        tracing::trace!(path = %self.path.display(), "stream file synced");
        Ok(())
    }
}

impl Write for DurableFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        if let Durability::Interval { max_delay, .. } = self.durability
            && self.last_sync.elapsed() >= max_delay
        {
            self.sync()?;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        match self.durability {
            Durability::None => Ok(()),
            Durability::Interval { .. } | Durability::Sync => self.sync(),
        }
    }
}
