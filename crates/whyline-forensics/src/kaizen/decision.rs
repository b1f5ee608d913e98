//! The decisions Kaizen reads from a ledger: each decision with its class, confidence, class
//! probabilities and path contributions, its inputs when the log holds them readable (sealed
//! inputs opened with the key store beside the log), and its outcome when one was recorded;
//! split into the current window and the reference window the drift is measured against.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use whyline_core::{
    AlertRecord, AnyPath, AprtHeader, DecisionPath, DecisionTrace, EntryKind, ModelIdentity,
    ModelRecord, Names, OutcomeRecord, from_aprt,
};
use whyline_ledger::seal::{InputOpener, KeyStore};
use whyline_ledger::{EntryRef, LedgerReader, SegmentStore, StoredEntry};

use crate::error::{ForensicsError, Result};
use crate::inputs::{DecisionInputs, DecisionOutcome};
use crate::investigate::load_model;
use crate::sealed::{decision_evidence, decision_inputs};
use crate::time::format_time_ns;
use crate::timeline::class_and_probabilities;

/// One recorded decision as Kaizen analyses it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KaizenDecision {
    /// The decision's index in the log.
    pub index: u64,
    /// Its sequence number.
    pub sequence: u64,
    /// When it was made, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// The class chosen, for classifiers.
    pub class: Option<usize>,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// The probability of each class, when the path carries them (empty otherwise).
    pub probabilities: Vec<f32>,
    /// The per-feature contributions the decision path carries (empty for a single tree).
    pub contributions: Vec<f32>,
    /// The input row, when the log holds it readable.
    pub inputs: Option<Vec<f64>>,
    /// The outcome or override recorded for the decision (the last one, when several).
    pub outcome: Option<DecisionOutcome>,
}

impl KaizenDecision {
    /// The decision made from a trace, without inputs or outcome.
    pub fn from_trace(index: u64, trace: &DecisionTrace<AnyPath>) -> Self {
        let (class, probabilities) = class_and_probabilities(&trace.path, trace.output);
        KaizenDecision {
            index,
            sequence: trace.sequence,
            timestamp_ns: trace.timestamp_ns,
            class,
            confidence: trace.path.confidence(),
            probabilities,
            contributions: trace.path.feature_contributions().to_vec(),
            inputs: None,
            outcome: None,
        }
    }

    /// The best class other than the chosen one, with its probability.
    pub fn runner_up(&self) -> Option<(usize, f32)> {
        self.probabilities
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| Some(*i) != self.class)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    }

    /// The chosen class's probability minus the runner-up's, when both are known.
    pub fn margin(&self) -> Option<f32> {
        let chosen = self.probabilities.get(self.class?)?;
        let (_, second) = self.runner_up()?;
        Some(chosen - second)
    }
}

/// Where the reference window the drift is measured against came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceRule {
    /// The decisions before the current window's start (`--from`).
    BeforeWindow,
    /// No decision precedes the window: its first half (by time) against its second half.
    FirstHalf,
}

/// What a Kaizen analysis reads: the current window's decisions, the reference window's,
/// the names, and what the log could not give.
#[derive(Clone, Debug, PartialEq)]
pub struct KaizenData {
    /// The log analysed.
    pub log: String,
    /// Feature and class names.
    pub names: Names,
    /// The model the log's model record names.
    pub model: Option<ModelIdentity>,
    /// Training mean and standard deviation per feature, from the model file.
    pub training: Option<(Vec<f64>, Vec<f64>)>,
    /// The reference window's decisions, in time order.
    pub reference: Vec<KaizenDecision>,
    /// The current window's decisions, in time order.
    pub current: Vec<KaizenDecision>,
    /// How the reference window was chosen.
    pub reference_rule: ReferenceRule,
    /// The current window's bounds, Unix epoch nanoseconds.
    pub window: (u64, u64),
    /// What the reader could not do (no key store, a damaged tail).
    pub notes: Vec<String>,
}

/// The current window of a Kaizen analysis: decisions stamped in `[from_ns, to_ns]`
/// (`None`: the log's first or last decision); the reference window is what precedes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KaizenWindow {
    /// Start of the current window, Unix epoch nanoseconds.
    pub from_ns: Option<u64>,
    /// End of the current window, Unix epoch nanoseconds.
    pub to_ns: Option<u64>,
}

/// Reads the decisions of the ledger in `dir` for a Kaizen analysis. The ledger is read, not
/// verified (`whyline verify` does that); inputs are opened with the key store at its
/// default place (`LOG/keys/subjects.wks`); `model_file`, when given, must be the model the
/// log recorded and adds its training statistics.
pub fn read_kaizen_data(
    dir: &Path,
    window: KaizenWindow,
    model_file: Option<&Path>,
) -> Result<KaizenData> {
    if let (Some(from), Some(to)) = (window.from_ns, window.to_ns)
        && from > to
    {
        return Err(ForensicsError::BadRange {
            from: format_time_ns(from),
            to: format_time_ns(to),
        });
    }
    let store = SegmentStore::open_read_only(dir)?;
    let reader = LedgerReader::new(&store)?;
    // One pass: decisions are decoded as they stream by (their payloads are not kept; an
    // input sealed at the end of a decision's entry is opened there); model records, sealed
    // inputs of their own entries and outcomes are kept for the second step.
    let keys = KeyStore::open(&KeyStore::default_path(dir)).ok();
    let mut opener = keys.as_ref().map(InputOpener::new);
    let mut trailer_inputs: BTreeMap<u64, DecisionInputs> = BTreeMap::new();
    let mut has_sealed = false;
    let mut kept: Vec<StoredEntry> = Vec::new();
    let mut decisions: Vec<KaizenDecision> = Vec::new();
    let stopped = reader.for_each_entry(|entry: EntryRef<'_>| -> Result<()> {
        let kind = EntryKind::of(entry.payload);
        if ModelRecord::is_model_record(entry.payload) || kind.is_evidence() {
            has_sealed |= kind == EntryKind::SealedInput;
            kept.push(StoredEntry {
                index: entry.index,
                offset: entry.offset,
                payload: entry.payload.to_vec(),
                chain_hash: *entry.chain_hash,
            });
        } else if !AlertRecord::is_alert_record(entry.payload) {
            let trace =
                from_aprt::<AnyPath>(entry.payload).map_err(|source| ForensicsError::BadEntry {
                    index: entry.index,
                    source,
                })?;
            decisions.push(KaizenDecision::from_trace(entry.index, &trace));
            let has_trailer = AprtHeader::read(entry.payload, 0)
                .is_ok_and(|header| header.record_len() < entry.payload.len());
            has_sealed |= has_trailer;
            if has_trailer
                && let Some(opener) = opener.as_mut()
                && let Some((index, input)) = opener.open(entry.payload)
                && index == entry.index
                && let Some(input) = decision_inputs(input)
            {
                trailer_inputs.insert(index, input);
            }
        }
        Ok(())
    })?;
    let mut notes = Vec::new();
    if let Some(stop) = &stopped {
        notes.push(format!(
            "the log could not be read past byte {} ({}); whyline verify says more",
            stop.offset, stop.kind
        ));
    }
    if has_sealed && keys.is_none() {
        notes.push(format!(
            "the log holds sealed inputs but no key store at {}: inputs unreadable",
            KeyStore::default_path(dir).display()
        ));
    }
    // Inputs as the incident report opens them; outcomes read here (decision_evidence keeps
    // only those of decisions among the entries it is given, and decisions are not kept).
    let (mut inputs, _) = decision_evidence(&kept, keys.as_ref(), 0, u64::MAX);
    inputs.append(&mut trailer_inputs);
    let mut outcome_of: BTreeMap<u64, DecisionOutcome> = BTreeMap::new();
    for entry in &kept {
        if EntryKind::of(&entry.payload) == EntryKind::Outcome
            && let Ok(record) = OutcomeRecord::from_bytes(&entry.payload)
        {
            outcome_of.insert(
                record.decision_index,
                DecisionOutcome {
                    index: record.decision_index,
                    label: record.label,
                    by: record.by,
                    override_action: record.override_action,
                    note: record.note,
                },
            );
        }
    }
    let record = kept
        .iter()
        .rev()
        .find(|e| ModelRecord::is_model_record(&e.payload))
        .and_then(|e| ModelRecord::from_bytes(&e.payload).ok());
    drop(kept);
    if decisions.is_empty() {
        return Err(ForensicsError::EmptyLog {
            path: dir.to_owned(),
        });
    }
    for decision in &mut decisions {
        decision.inputs = inputs
            .remove(&decision.index)
            .filter(|i| !i.erased && !i.values.is_empty())
            .map(|i| i.values);
        decision.outcome = outcome_of.remove(&decision.index);
    }
    decisions.sort_by_key(|d| (d.timestamp_ns, d.sequence));
    let first = decisions.first().map_or(0, |d| d.timestamp_ns);
    let last = decisions.last().map_or(0, |d| d.timestamp_ns);
    let from = window.from_ns.unwrap_or(first);
    let to = window.to_ns.unwrap_or(last);
    if from > to {
        return Err(ForensicsError::BadRange {
            from: format_time_ns(from),
            to: format_time_ns(to),
        });
    }
    let (before, rest): (Vec<KaizenDecision>, Vec<KaizenDecision>) =
        decisions.into_iter().partition(|d| d.timestamp_ns < from);
    let current: Vec<KaizenDecision> = rest.into_iter().filter(|d| d.timestamp_ns <= to).collect();
    if current.is_empty() {
        return Err(ForensicsError::EmptyWindow {
            from: format_time_ns(from),
            to: format_time_ns(to),
            first: format_time_ns(first),
            last: format_time_ns(last),
        });
    }
    let (reference, current, reference_rule) = if before.is_empty() {
        let half = current.len() / 2;
        let mut current = current;
        let second = current.split_off(half);
        (current, second, ReferenceRule::FirstHalf)
    } else {
        (before, current, ReferenceRule::BeforeWindow)
    };
    // The current window starts at its first decision (the second half's, when halved).
    let from = current.first().map_or(from, |d| d.timestamp_ns.max(from));
    let mut names = record.as_ref().map_or_else(Names::none, ModelRecord::names);
    let mut training = None;
    if let Some(path) = model_file {
        let model = load_model(path, record.as_ref().map(|r| &r.identity))?;
        if names.features.is_empty() {
            names = model.info().names.clone();
        }
        if let Some(stats) = &model.info().feature_stats {
            training = Some((stats.mean.clone(), stats.std.clone()));
        }
    }
    Ok(KaizenData {
        log: dir.display().to_string(),
        names,
        model: record.map(|r| r.identity),
        training,
        reference,
        current,
        reference_rule,
        window: (from, to),
        notes,
    })
}

/// A feature's name, or `feature[j]`.
pub(crate) fn feature_name(names: &Names, j: usize) -> String {
    names
        .features
        .get(j)
        .cloned()
        .unwrap_or_else(|| format!("feature[{j}]"))
}

/// A class's name, or `class c`.
pub(crate) fn class_name(names: &Names, c: usize) -> String {
    names
        .classes
        .get(c)
        .cloned()
        .unwrap_or_else(|| format!("class {c}"))
}
