//! Investigating a stored ledger: verify it, read the incident window without changing a
//! byte, decode the decisions, and build the report.

use std::path::Path;

use whyline_core::{AlertRecord, AnyPath, ModelRecord, Names, from_aprt};
use whyline_ledger::{
    ENTRIES_FILE, LedgerError, LedgerReader, NoteVerifier, SegmentStore, verify_store,
};

use crate::anomaly::AnomalyRules;
use crate::error::{ForensicsError, Result};
use crate::report::{IncidentQuery, IncidentReport, Integrity};
use crate::time::format_time_ns;

/// Builds the incident report for `query` from the ledger in `dir`.
///
/// The ledger is verified from its first entry (every hash recomputed; checkpoint signatures
/// checked when `verifier` is given) and the window read through the time index. Nothing is
/// written: a torn tail or a damaged entry is reported, not repaired. The model and its names
/// come from the last model record before the window (a monitor writes one per start),
/// otherwise from `names`.
pub fn investigate(
    dir: &Path,
    query: IncidentQuery,
    verifier: Option<&NoteVerifier>,
    names: Option<&Names>,
    rules: &AnomalyRules,
) -> Result<IncidentReport> {
    if !dir.join(ENTRIES_FILE).is_file() {
        let reason = if dir.exists() {
            format!("it has no {ENTRIES_FILE}")
        } else {
            "it does not exist".to_owned()
        };
        return Err(ForensicsError::NotALedger {
            path: dir.to_owned(),
            reason,
        });
    }
    let store = SegmentStore::open(dir).map_err(|e| match e {
        LedgerError::Corrupt { .. } | LedgerError::Io { .. } => ForensicsError::NotALedger {
            path: dir.to_owned(),
            reason: e.to_string(),
        },
        other => ForensicsError::Ledger(other),
    })?;
    let (integrity, log_entries) = match verify_store(&store, verifier) {
        Ok(report) => (
            Integrity::Verified {
                entries: report.entries,
                root: hex(&report.root),
                checkpoints: report.checkpoints,
                signatures_checked: verifier.is_some(),
            },
            report.entries,
        ),
        Err(LedgerError::Corrupt {
            offset,
            sequence,
            kind,
            ..
        }) => {
            let message = format!("entry {sequence} at byte {offset}: {kind}");
            (
                Integrity::Broken {
                    sequence,
                    offset,
                    kind: kind.to_string(),
                    message,
                },
                sequence,
            )
        }
        Err(other) => return Err(ForensicsError::Ledger(other)),
    };

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

    let window = reader.entries_between(from, to)?;
    let window_start = window.entries.first().map_or(u64::MAX, |e| e.sequence);
    let record = model_record(&reader, window_start)?;
    let names = match (&record, names) {
        (Some(record), _) => record.names(),
        (None, Some(names)) => names.clone(),
        (None, None) => Names::none(),
    };
    let mut traces = Vec::with_capacity(window.entries.len());
    let mut alerts = Vec::new();
    for entry in &window.entries {
        if ModelRecord::is_model_record(&entry.payload) {
            continue;
        }
        if AlertRecord::is_alert_record(&entry.payload) {
            let alert = AlertRecord::from_bytes(&entry.payload).map_err(|source| {
                ForensicsError::BadEntry {
                    sequence: entry.sequence,
                    source,
                }
            })?;
            alerts.push(alert);
            continue;
        }
        let trace =
            from_aprt::<AnyPath>(&entry.payload).map_err(|source| ForensicsError::BadEntry {
                sequence: entry.sequence,
                source,
            })?;
        traces.push(trace);
    }
    let mut report = IncidentReport::build(
        query,
        dir.display().to_string(),
        traces,
        integrity,
        &names,
        rules,
        log_entries,
    );
    report.add_alerts(&alerts, &names);
    report.model = record.map(|r| r.identity);
    Ok(report)
}

/// The model record in force when the window starts: the last one before it (a restarted
/// or upgraded monitor writes a new one), read from the log's start.
fn model_record<S: whyline_ledger::Store + ?Sized>(
    reader: &LedgerReader<'_, S>,
    window_start: u64,
) -> Result<Option<ModelRecord>> {
    Ok(reader
        .last_before(window_start, ModelRecord::is_model_record)?
        .and_then(|entry| ModelRecord::from_bytes(&entry.payload).ok()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
