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
/// written: a torn tail or a damaged entry is reported, not repaired. Names come from the
/// log's model record when it has one, otherwise from `names`.
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

    let record = model_record(&reader)?;
    let names = match (&record, names) {
        (Some(record), _) => record.names(),
        (None, Some(names)) => names.clone(),
        (None, None) => Names::none(),
    };
    let window = reader.entries_between(from, to)?;
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

/// The log's model record: its first entry, when that is one.
fn model_record<S: whyline_ledger::Store + ?Sized>(
    reader: &LedgerReader<'_, S>,
) -> Result<Option<ModelRecord>> {
    Ok(reader
        .first_entry()?
        .filter(|entry| ModelRecord::is_model_record(&entry.payload))
        .and_then(|entry| ModelRecord::from_bytes(&entry.payload).ok()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
