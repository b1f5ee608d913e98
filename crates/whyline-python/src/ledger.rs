//! The ledger read back: verification, incident reports and the recorded decisions, through
//! the same library calls as `whyline verify` and `whyline incident`.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use whyline::forensics::{
    AnomalyRules, Investigation, parse_duration_ns, parse_time_ns, render_html, render_json,
    render_text,
};
use whyline::ledger::keys;
use whyline::{
    AnyPath, IncidentQuery, LedgerReader, NoteVerifier, SegmentStore, from_aprt, verify_store,
};

use crate::errors::{self, Kind};

fn verifier(public_key: Option<&Path>) -> PyResult<Option<NoteVerifier>> {
    public_key
        .map(keys::read_verifier)
        .transpose()
        .map_err(|e| errors::ledger(&e))
}

/// Verifies the ledger in `path` (read-only) as `whyline verify --format json` does, with
/// checkpoint signatures checked when `public_key` (a verifier key file) is given: the JSON
/// object `whyline verify` prints.
#[pyfunction]
#[pyo3(signature = (path, public_key=None))]
pub(crate) fn verify(
    py: Python<'_>,
    path: PathBuf,
    public_key: Option<PathBuf>,
) -> PyResult<String> {
    let verifier = verifier(public_key.as_deref())?;
    py.detach(|| {
        let store = SegmentStore::open_read_only(&path)?;
        verify_store(&store, verifier.as_ref())
    })
    .map(|outcome| outcome.to_json().to_string())
    .map_err(|e| errors::ledger(&e))
}

/// The incident report of the window `at − before … at + after` (RFC 3339 or Unix
/// nanoseconds; durations like `30s`, `500ms`), as `whyline incident` builds it: its JSON
/// document, its text and its HTML page. `model` (the model file whose SHA-256 the log's
/// model record names) adds exact attributions, as `whyline incident --model`.
#[pyfunction]
#[pyo3(signature = (path, at, before="30s", after="1s", public_key=None, model=None))]
pub(crate) fn investigate_window(
    py: Python<'_>,
    path: PathBuf,
    at: &str,
    before: &str,
    after: &str,
    public_key: Option<PathBuf>,
    model: Option<PathBuf>,
) -> PyResult<(String, String, String)> {
    let window = |what: &str, e: &dyn std::error::Error| {
        errors::raise(Kind::Ledger, format!("{what}: {}", errors::message(e)))
    };
    let query = IncidentQuery {
        time_ns: parse_time_ns(at).map_err(|e| window("at", &e))?,
        lookback_ns: parse_duration_ns(before).map_err(|e| window("before", &e))?,
        lookahead_ns: parse_duration_ns(after).map_err(|e| window("after", &e))?,
    };
    let verifier = verifier(public_key.as_deref())?;
    py.detach(|| {
        let mut investigation = Investigation::new(&path, query);
        investigation.rules(AnomalyRules::default());
        if let Some(verifier) = &verifier {
            investigation.verifier(verifier);
        }
        if let Some(model) = &model {
            investigation.model_file(model);
        }
        let report = investigation.run()?;
        let json = render_json(&report)?;
        Ok((json, render_text(&report), render_html(&report)))
    })
    .map_err(|e: whyline::forensics::ForensicsError| errors::ledger(&e))
}

/// The decisions recorded in `path` stamped `start_ns ..= end_ns`, in log order: one
/// `(entry index, JSON trace)` per decision, the trace as whyline's JSON codec writes it.
/// Entries of other kinds (the model record, alerts, evidence) are left out.
#[pyfunction]
#[pyo3(signature = (path, start_ns=0, end_ns=u64::MAX))]
pub(crate) fn decisions(
    py: Python<'_>,
    path: PathBuf,
    start_ns: u64,
    end_ns: u64,
) -> PyResult<Vec<(u64, String)>> {
    py.detach(
        || -> Result<Vec<(u64, String)>, Box<dyn std::error::Error + Send + Sync>> {
            let store = SegmentStore::open_read_only(&path)?;
            let read = LedgerReader::new(&store)?.entries_between(start_ns, end_ns)?;
            if let Some(stop) = read.stopped {
                return Err(
                    format!("{}: byte {}: {}", path.display(), stop.offset, stop.kind).into(),
                );
            }
            let mut out = Vec::new();
            for entry in read.entries {
                if let Ok(trace) = from_aprt::<AnyPath>(&entry.payload) {
                    out.push((entry.index, whyline::core::to_json(&trace)?));
                }
            }
            Ok(out)
        },
    )
    .map_err(|e| errors::ledger(&*e))
}
