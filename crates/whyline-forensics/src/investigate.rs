//! Investigating a stored ledger: verify it, read the incident window without changing a
//! byte, decode the decisions, and build the report.

use std::path::Path;

use whyline_core::{AlertRecord, AnyPath, DecisionTrace, ModelRecord, Names, from_aprt};
use whyline_ledger::{
    LedgerReader, NoteVerifier, SegmentStore, Store, StoredEntry, VerifyOutcome, verify_store,
};

use crate::anomaly::AnomalyRules;
use crate::error::{ForensicsError, Result};
use crate::report::{IncidentQuery, IncidentReport, IncidentWindow, Integrity};
use crate::time::format_time_ns;

/// Builds the incident report for `query` from the ledger in `dir`: [`read_window`], then
/// [`IncidentReport::from_window`] with `rules`.
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

/// Reads the window of `query` from the ledger in `dir`.
///
/// The ledger is opened read-only ([`SegmentStore::open_existing`]: a directory that holds no
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
    let store = SegmentStore::open_existing(dir)?;
    let (integrity, log_entries) = integrity(&store, verifier)?;
    let reader = LedgerReader::new(&store)?;
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
    let window_start = entries.first().map_or(u64::MAX, |e| e.index);
    let record = model_record(&reader, window_start)?;
    let names = match (&record, names) {
        (Some(record), _) => record.names(),
        (None, Some(names)) => names.clone(),
        (None, None) => Names::none(),
    };
    let (traces, alerts) = decode_entries(&entries)?;
    Ok(IncidentWindow {
        query,
        log: dir.display().to_string(),
        traces,
        alerts,
        names,
        model: record.map(|r| r.identity),
        integrity,
        log_entries,
    })
}

/// Verifies the log: its integrity, and the entries it holds (those verified, when broken).
fn integrity<S: Store + ?Sized>(
    store: &S,
    verifier: Option<&NoteVerifier>,
) -> Result<(Integrity, u64)> {
    Ok(match verify_store(store, verifier)? {
        VerifyOutcome::Intact(report) => (
            Integrity::Verified {
                entries: report.entries,
                root: hex::encode(report.root),
                checkpoints: report.checkpoints,
                signatures_checked: verifier.is_some(),
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
    })
}

/// The window's decisions and alerts; model records are skipped.
fn decode_entries(
    entries: &[StoredEntry],
) -> Result<(Vec<DecisionTrace<AnyPath>>, Vec<AlertRecord>)> {
    let mut traces = Vec::with_capacity(entries.len());
    let mut alerts = Vec::new();
    for entry in entries {
        let bad_entry = |source| ForensicsError::BadEntry {
            index: entry.index,
            source,
        };
        if ModelRecord::is_model_record(&entry.payload) {
            continue;
        }
        if AlertRecord::is_alert_record(&entry.payload) {
            alerts.push(AlertRecord::from_bytes(&entry.payload).map_err(bad_entry)?);
            continue;
        }
        traces.push(from_aprt::<AnyPath>(&entry.payload).map_err(bad_entry)?);
    }
    Ok((traces, alerts))
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
