//! Investigating a stored ledger: verify it, read the incident window without changing a
//! byte, prove it complete, decode the decisions, attach what the model saw and the exact
//! attributions, and build the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use whyline_core::{
    AlertRecord, AnyPath, DecisionTrace, ModelIdentity, ModelRecord, Names, from_aprt,
};
use whyline_ledger::{
    LedgerReader, NoteVerifier, SegmentStore, Store, StoredEntry, VerifyOutcome,
    verify_and_prove_window,
};
use whyline_models::Model;

use crate::anomaly::AnomalyRules;
use crate::attribute::attribute;
use crate::completeness::Completeness;
use crate::error::{ForensicsError, Result};
use crate::inputs::{DecisionEvidence, DecisionInputs, DecisionOutcome};
use crate::report::{IncidentQuery, IncidentReport, IncidentWindow, Integrity};
use crate::sealed::{read_decision_evidence, read_decision_evidence_from};
use crate::time::format_time_ns;
use crate::timeline::timeline_entry;

/// Builds the incident report for `query` from the ledger in `dir`: [`read_window`], then
/// [`IncidentReport::from_window`] with `rules`. [`Investigation`] adds inputs, outcomes and
/// a model file.
pub fn investigate(
    dir: &Path,
    query: IncidentQuery,
    verifier: Option<&NoteVerifier>,
    names: Option<&Names>,
    rules: &AnomalyRules,
) -> Result<IncidentReport> {
    let window = read_window(dir, query, verifier, names)?;
    Ok(IncidentReport::from_window(window, rules))
}

/// An investigation of a stored ledger, set up step by step: the window, the key, and what
/// the log itself does not hold in the clear (the decisions' inputs, their outcomes, the
/// model file for exact attributions).
///
/// ```no_run
/// use std::collections::BTreeMap;
/// use whyline_forensics::{DecisionInputs, IncidentQuery, Investigation};
///
/// let query = IncidentQuery { time_ns: 1_763_908_367_000_000_000, lookback_ns: 30_000_000_000, lookahead_ns: 0 };
/// let mut inputs = BTreeMap::new();
/// inputs.insert(7, DecisionInputs { values: vec![0.9, 35.0], context: Vec::new(), erased: false });
/// let report = Investigation::new("demo/ledger", query)
///     .inputs(inputs)
///     .model_file("demo/model.json")
///     .run()?;
/// println!("{}", whyline_forensics::render_text(&report));
/// # Ok::<(), whyline_forensics::ForensicsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Investigation<'a> {
    dir: PathBuf,
    /// Read this store instead of opening the directory ([`Investigation::store`]).
    store: Option<StoreRef<'a>>,
    query: IncidentQuery,
    verifier: Option<&'a NoteVerifier>,
    names: Option<&'a Names>,
    rules: AnomalyRules,
    /// Given by the caller; `None` reads the sealed inputs from the log (with its key store).
    inputs: Option<BTreeMap<u64, DecisionInputs>>,
    /// Given by the caller; `None` reads the outcome entries from the log.
    outcomes: Option<Vec<DecisionOutcome>>,
    model_file: Option<PathBuf>,
}

impl<'a> Investigation<'a> {
    /// The investigation of `query` in the ledger in `dir`.
    pub fn new(dir: impl Into<PathBuf>, query: IncidentQuery) -> Self {
        Investigation {
            dir: dir.into(),
            store: None,
            query,
            verifier: None,
            names: None,
            rules: AnomalyRules::default(),
            inputs: None,
            outcomes: None,
            model_file: None,
        }
    }

    /// Reads the ledger in `store` (opened by the caller: PostgreSQL, say) instead of the
    /// directory given to [`Investigation::new`], which then only names the log. Such a log
    /// has no subject key store beside it: its sealed inputs stay sealed unless given with
    /// [`Investigation::inputs`].
    pub fn store(&mut self, store: &'a dyn Store) -> &mut Self {
        self.store = Some(StoreRef(store));
        self
    }

    /// Checks checkpoint signatures (and the window proof) with this key.
    pub fn verifier(&mut self, verifier: &'a NoteVerifier) -> &mut Self {
        self.verifier = Some(verifier);
        self
    }

    /// Names to use when the log holds no model record.
    pub fn names(&mut self, names: &'a Names) -> &mut Self {
        self.names = Some(names);
        self
    }

    /// The anomaly rules (default: [`AnomalyRules::default`]).
    pub fn rules(&mut self, rules: AnomalyRules) -> &mut Self {
        self.rules = rules;
        self
    }

    /// The decisions' inputs, by their index in the log. Without this call the
    /// investigation reads the log's own sealed inputs, opened with the subject key store
    /// beside it ([`read_decision_evidence`]); erased ones are marked as erased.
    pub fn inputs(&mut self, inputs: BTreeMap<u64, DecisionInputs>) -> &mut Self {
        self.inputs = Some(inputs);
        self
    }

    /// Outcomes and overrides linked to decisions. Without this call the investigation
    /// reads the log's own outcome entries.
    pub fn outcomes(&mut self, outcomes: Vec<DecisionOutcome>) -> &mut Self {
        self.outcomes = Some(outcomes);
        self
    }

    /// The model file, for exact attributions and training statistics; its SHA-256 must be
    /// the model record's ([`ForensicsError::ModelMismatch`] otherwise).
    pub fn model_file(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.model_file = Some(path.into());
        self
    }

    /// Reads the window ([`read_window`]) and attaches the inputs, outcomes and
    /// attributions.
    pub fn read(&self) -> Result<IncidentWindow> {
        let mut window = match self.store {
            Some(StoreRef(store)) => {
                read_window_from(store, self.query, self.verifier, self.names)?
            }
            None => read_window(&self.dir, self.query, self.verifier, self.names)?,
        };
        let from_log = if self.inputs.is_none() || self.outcomes.is_none() {
            let (from_ns, to_ns) = self.query.window();
            Some(match self.store {
                Some(StoreRef(store)) => read_decision_evidence_from(store, None, from_ns, to_ns)?,
                None => read_decision_evidence(&self.dir, from_ns, to_ns)?,
            })
        } else {
            None
        };
        let (log_inputs, log_outcomes) = from_log.unwrap_or_default();
        window.evidence.inputs = self.inputs.clone().unwrap_or(log_inputs);
        window.evidence.outcomes = self.outcomes.clone().unwrap_or(log_outcomes);
        match &self.model_file {
            Some(path) => {
                let model = load_model(path, window.model.as_ref())?;
                if let Some(stats) = &model.info().feature_stats {
                    window.evidence.training = Some((stats.mean.clone(), stats.std.clone()));
                }
                let (keys, flips) = decision_order(&window);
                attribute(&model, &mut window.evidence, &keys, &flips);
            }
            None => {
                window.evidence.attribution_note = Some(
                    "no model file given (incident --model FILE): no exact attributions".into(),
                );
            }
        }
        Ok(window)
    }

    /// Builds the report.
    pub fn run(&self) -> Result<IncidentReport> {
        Ok(IncidentReport::from_window(self.read()?, &self.rules))
    }
}

/// A store an investigation reads, named by its location in `Debug` output.
#[derive(Clone, Copy)]
struct StoreRef<'a>(&'a dyn Store);

impl std::fmt::Debug for StoreRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Store").field(&self.0.location()).finish()
    }
}

/// Reads the model file and checks it is the model the log recorded.
pub(crate) fn load_model(path: &Path, recorded: Option<&ModelIdentity>) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|source| ForensicsError::ModelFile {
        path: path.to_owned(),
        source,
    })?;
    let Some(recorded) = recorded else {
        return Err(ForensicsError::NoModelRecord {
            path: path.to_owned(),
        });
    };
    let found = ModelIdentity::from_bytes(&bytes, "", "").sha256;
    if found != recorded.sha256 {
        return Err(ForensicsError::ModelMismatch {
            path: path.to_owned(),
            expected: recorded.sha256.clone(),
            found,
        });
    }
    Model::from_bytes(&bytes, path).map_err(|source| ForensicsError::Model {
        path: path.to_owned(),
        source,
    })
}

/// The window's decisions in time order as (key, class), and each decision that differs
/// from the one before it as (key, previous key, new class).
#[allow(clippy::type_complexity)]
fn decision_order(window: &IncidentWindow) -> (Vec<u64>, Vec<(u64, u64, Option<usize>)>) {
    let mut order: Vec<(u64, u64, u64, Option<usize>, String)> = window
        .traces
        .iter()
        .enumerate()
        .map(|(i, trace)| {
            let key = window
                .evidence
                .positions
                .get(i)
                .copied()
                .unwrap_or(trace.sequence);
            let entry = timeline_entry(trace, window.query.time_ns, &window.names);
            (
                trace.timestamp_ns,
                trace.sequence,
                key,
                entry.class,
                entry.decision,
            )
        })
        .collect();
    order.sort_by_key(|o| (o.0, o.1));
    let keys = order.iter().map(|o| o.2).collect();
    let flips = order
        .windows(2)
        .filter(|pair| pair[0].4 != pair[1].4)
        .map(|pair| (pair[1].2, pair[0].2, pair[1].3))
        .collect();
    (keys, flips)
}

/// Reads the window of `query` from the ledger in `dir`.
///
/// The ledger is opened read-only ([`SegmentStore::open_read_only`]: a directory that holds no
/// ledger is [`LedgerError::NotALedger`](whyline_ledger::LedgerError::NotALedger)), verified
/// from its first entry (every hash recomputed; checkpoint signatures checked when `verifier`
/// is given) and the window read through the time index. Nothing is written: a torn tail or a
/// damaged entry is reported, not repaired. The model and its names come from the last model
/// record before the window (a monitor writes one per start), otherwise from `names`.
pub fn read_window(
    dir: &Path,
    query: IncidentQuery,
    verifier: Option<&NoteVerifier>,
    names: Option<&Names>,
) -> Result<IncidentWindow> {
    let store = SegmentStore::open_read_only(dir)?;
    read_window_from(&store, query, verifier, names)
}

/// [`read_window`] from a ledger in any store (PostgreSQL, say), opened by the caller
/// read-only; the report names the log by [`Store::location`].
pub fn read_window_from<S: Store + ?Sized>(
    store: &S,
    query: IncidentQuery,
    verifier: Option<&NoteVerifier>,
    names: Option<&Names>,
) -> Result<IncidentWindow> {
    let dir = store.location();
    // One walk verifies the log and, when it is intact, proves the window complete.
    let (outcome, proof) =
        verify_and_prove_window(store, verifier, query.window().0, query.window().1)?;
    let (integrity, log_entries) = integrity(outcome, verifier);
    let reader = LedgerReader::new(store)?;
    let Some((first, last)) = reader.time_span()?.range else {
        return Err(ForensicsError::EmptyLog {
            path: dir.to_owned(),
        });
    };
    let (from, to) = query.window();
    if to < first || from > last {
        return Err(ForensicsError::TimeOutsideLog {
            time: format_time_ns(query.time_ns),
            first: format_time_ns(first),
            last: format_time_ns(last),
        });
    }
    let entries = reader.entries_between(from, to)?.entries;
    let read: Vec<u64> = entries.iter().map(|e| e.index).collect();
    let completeness = match proof {
        Some(proof) => Completeness::check(proof, verifier, &read),
        None => Completeness::Unproven {
            reason: "the log failed verification".into(),
        },
    };
    let window_start = entries.first().map_or(u64::MAX, |e| e.index);
    let record = model_record(&reader, window_start)?;
    let names = match (&record, names) {
        (Some(record), _) => record.names(),
        (None, Some(names)) => names.clone(),
        (None, None) => Names::none(),
    };
    let (traces, positions, alerts) = decode_entries(&entries)?;
    Ok(IncidentWindow {
        query,
        log: dir.display().to_string(),
        traces,
        alerts,
        names,
        model: record.map(|r| r.identity),
        integrity,
        log_entries,
        completeness,
        evidence: DecisionEvidence {
            positions,
            ..DecisionEvidence::default()
        },
    })
}

/// The log's integrity, and the entries it holds (those verified, when broken).
fn integrity(outcome: VerifyOutcome, verifier: Option<&NoteVerifier>) -> (Integrity, u64) {
    match outcome {
        VerifyOutcome::Intact(report) => (
            Integrity::Verified {
                entries: report.entries,
                root: hex::encode(report.root),
                checkpoints: report.checkpoints,
                signatures_checked: verifier.is_some(),
                crash_residue_bytes: report.crash_residue.iter().map(|r| r.bytes).sum(),
            },
            report.entries,
        ),
        VerifyOutcome::Broken(damage) => (
            Integrity::Broken {
                index: damage.index,
                offset: damage.offset,
                kind: damage.kind.to_string(),
                torn_tail: damage.is_torn_tail(),
                message: format!(
                    "entry {} at byte {}: {}",
                    damage.index, damage.offset, damage.kind
                ),
            },
            damage.intact_entries,
        ),
    }
}

/// The window's decisions (with their indices in the log) and alerts; model records and
/// evidence (sealed inputs, outcomes, erasures) are skipped.
#[allow(clippy::type_complexity)]
fn decode_entries(
    entries: &[StoredEntry],
) -> Result<(Vec<DecisionTrace<AnyPath>>, Vec<u64>, Vec<AlertRecord>)> {
    let mut traces = Vec::with_capacity(entries.len());
    let mut positions = Vec::with_capacity(entries.len());
    let mut alerts = Vec::new();
    for entry in entries {
        let bad_entry = |source| ForensicsError::BadEntry {
            index: entry.index,
            source,
        };
        if ModelRecord::is_model_record(&entry.payload)
            || whyline_core::EntryKind::of(&entry.payload).is_evidence()
        {
            continue;
        }
        if AlertRecord::is_alert_record(&entry.payload) {
            alerts.push(AlertRecord::from_bytes(&entry.payload).map_err(bad_entry)?);
            continue;
        }
        traces.push(from_aprt::<AnyPath>(&entry.payload).map_err(bad_entry)?);
        positions.push(entry.index);
    }
    Ok((traces, positions, alerts))
}

/// The model record in force when the window starts: the last one before it (a restarted
/// or upgraded monitor writes a new one), read from the log's start.
fn model_record<S: Store + ?Sized>(
    reader: &LedgerReader<'_, S>,
    window_start: u64,
) -> Result<Option<ModelRecord>> {
    Ok(reader
        .last_before(window_start, ModelRecord::is_model_record)?
        .and_then(|entry| ModelRecord::from_bytes(&entry.payload).ok()))
}
