//! `whyline incident LOG --at TIME`: the incident report for a time window of a ledger:
//! whether the log is intact, whether the window is complete (a window proof, with its
//! boundary entries and checkpoint), every decision, and with `--model FILE` the exact
//! attributions of the decisions whose inputs the log holds readable.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use whyline_forensics::{
    AnomalyRules, IncidentQuery, Investigation, parse_duration_ns, parse_time_ns, render_html,
    render_json, render_text,
};
use whyline_ledger::keys;

use crate::Outcome;
use crate::location::{LogLocation, log_parser};
use crate::output::{Format, note};

/// Arguments of `whyline incident`.
#[derive(Debug, Args)]
pub(crate) struct IncidentArgs {
    /// The ledger: a directory, or a PostgreSQL log (`postgres://user@host:port/db?log=NAME`).
    #[arg(value_parser = log_parser())]
    log: LogLocation,
    /// The incident time: RFC 3339 (2026-11-23T14:32:47.123Z) or Unix nanoseconds.
    #[arg(long)]
    at: String,
    /// How far before the incident to look (30s, 500ms, 2m).
    #[arg(long, default_value = "30s")]
    before: String,
    /// How far after the incident to look.
    #[arg(long, default_value = "1s")]
    after: String,
    /// Report format.
    #[arg(long, value_parser = Format::parser(ALL_FORMATS), default_value = "text")]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Public key (a verifier key line, as `whyline keygen` writes) to check checkpoint
    /// signatures with; without it only hashes and roots are checked.
    #[arg(long)]
    public_key: Option<PathBuf>,
    /// The model file (its SHA-256 must be the log's model record's): exact attributions of
    /// the decisions whose inputs are readable, and z-scores against its training statistics.
    #[arg(long)]
    model: Option<PathBuf>,
}

/// The report's formats: text laid out like the seed specification's report, one JSON
/// document, or a self-contained HTML page with a timeline chart.
const ALL_FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Html];

/// Runs the command: exit 0 when the log verifies and the window has no anomaly, 1 when the
/// chain is broken or anomalies were found.
pub(crate) fn run(args: &IncidentArgs) -> anyhow::Result<Outcome> {
    let query = IncidentQuery {
        time_ns: parse_time_ns(&args.at)?,
        lookback_ns: parse_duration_ns(&args.before).context("--before")?,
        lookahead_ns: parse_duration_ns(&args.after).context("--after")?,
    };
    let verifier = args
        .public_key
        .as_deref()
        .map(keys::read_verifier)
        .transpose()?;
    let mut investigation = Investigation::new(args.log.path(), query);
    // A PostgreSQL log is opened here, read-only; a directory by the investigation itself
    // (which also finds the subject key store beside it).
    let store = match args.log.as_dir() {
        Some(_) => None,
        None => Some(args.log.open_read_only()?),
    };
    if let Some(store) = &store {
        investigation.store(&**store);
    }
    investigation.rules(AnomalyRules::default());
    if let Some(verifier) = &verifier {
        investigation.verifier(verifier);
    }
    if let Some(model) = &args.model {
        investigation.model_file(model);
    }
    let report = investigation.run()?;
    let rendered = match args.format {
        Format::Text => render_text(&report),
        Format::Json => render_json(&report)? + "\n",
        Format::Html => render_html(&report),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            note(&format!("report written to {}", path.display()));
        }
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    if !report.integrity.is_verified() || !report.anomalies.is_empty() {
        return Ok(Outcome::Problem);
    }
    Ok(Outcome::Clean)
}
