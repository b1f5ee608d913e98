//! The ledger's evidence entries as the incident report takes them: sealed inputs opened with
//! the subject key store ([`DecisionInputs`], erased ones marked), and the outcome records
//! ([`DecisionOutcome`]).

use std::collections::BTreeMap;
use std::path::Path;

use whyline_core::{EntryKind, OutcomeRecord};
use whyline_ledger::seal::{KeyStore, open_sealed};
use whyline_ledger::{
    LedgerReader, RecordedInput, SegmentStore, Store, StoredEntry, payload_timestamp,
};

use crate::error::Result;
use crate::inputs::{DecisionInputs, DecisionOutcome};

/// The inputs (opened with `keys`; erased ones marked, unreadable ones left out) and the
/// outcomes of the decisions stamped in `[from_ns, to_ns]` among `entries` (the log in
/// order, as [`LedgerReader::all_entries`] reads it: an outcome is stamped when it was
/// recorded, usually after the window).
pub fn decision_evidence(
    entries: &[StoredEntry],
    keys: Option<&KeyStore>,
    from_ns: u64,
    to_ns: u64,
) -> (BTreeMap<u64, DecisionInputs>, Vec<DecisionOutcome>) {
    let in_window = |entry: &StoredEntry| {
        payload_timestamp(&entry.payload).is_some_and(|t| t >= from_ns && t <= to_ns)
    };
    let mut inputs = BTreeMap::new();
    let mut outcomes = Vec::new();
    for entry in entries {
        match EntryKind::of(&entry.payload) {
            // A sealed input is its own entry (version 1) or the end of its decision's
            // (version 2), which must be the entry it names.
            kind @ (EntryKind::SealedInput | EntryKind::Decision) if in_window(entry) => {
                let Some(keys) = keys else { continue };
                let Some((index, input)) = open_sealed(keys, &entry.payload) else {
                    continue;
                };
                if kind == EntryKind::Decision && index != entry.index {
                    continue;
                }
                if let Some(input) = decision_inputs(input) {
                    inputs.insert(index, input);
                }
            }
            EntryKind::Outcome => {
                if let Ok(record) = OutcomeRecord::from_bytes(&entry.payload) {
                    outcomes.push(record);
                }
            }
            _ => {}
        }
    }
    // Keep the outcomes of the window's decisions.
    let decisions: std::collections::BTreeSet<u64> = entries
        .iter()
        .filter(|e| EntryKind::of(&e.payload) == EntryKind::Decision && in_window(e))
        .map(|e| e.index)
        .collect();
    let outcomes = outcomes
        .into_iter()
        .filter(|o| decisions.contains(&o.decision_index))
        .map(|o| DecisionOutcome {
            index: o.decision_index,
            label: o.label,
            by: o.by,
            override_action: o.override_action,
            note: o.note,
        })
        .collect();
    (inputs, outcomes)
}

/// An opened input as the report shows it: `None` when it could not be read.
pub(crate) fn decision_inputs(input: RecordedInput) -> Option<DecisionInputs> {
    match input {
        RecordedInput::Sealed { values, context } => {
            let context = context
                .into_iter()
                .map(|(name, value)| {
                    let json = serde_json::to_value(&value).unwrap_or(serde_json::Value::Null);
                    (name, json)
                })
                .collect();
            Some(DecisionInputs {
                values,
                context,
                erased: false,
            })
        }
        RecordedInput::Erased => Some(DecisionInputs {
            erased: true,
            ..DecisionInputs::default()
        }),
        RecordedInput::Unreadable(_) => None,
    }
}

/// [`decision_evidence`] for the ledger in `dir`, with its key store at the default place
/// (`LOG/keys/subjects.wks`) when there is one: without it, no inputs.
pub fn read_decision_evidence(
    dir: &Path,
    from_ns: u64,
    to_ns: u64,
) -> Result<(BTreeMap<u64, DecisionInputs>, Vec<DecisionOutcome>)> {
    let keys = KeyStore::open(&KeyStore::default_path(dir)).ok();
    let store = SegmentStore::open_read_only(dir)?;
    read_decision_evidence_from(&store, keys.as_ref(), from_ns, to_ns)
}

/// [`decision_evidence`] for the ledger in any store (PostgreSQL, say), with the key store
/// `keys` when there is one: without it, no inputs.
pub fn read_decision_evidence_from<S: Store + ?Sized>(
    store: &S,
    keys: Option<&KeyStore>,
    from_ns: u64,
    to_ns: u64,
) -> Result<(BTreeMap<u64, DecisionInputs>, Vec<DecisionOutcome>)> {
    // Sealed inputs are stamped with their decision's time; outcomes with the time they were
    // recorded, after the window. So: every entry from the window's start to the log's end
    // (the time index skips what comes before).
    let entries = LedgerReader::new(store)?
        .entries_between(from_ns, u64::MAX)?
        .entries;
    Ok(decision_evidence(&entries, keys, from_ns, to_ns))
}
