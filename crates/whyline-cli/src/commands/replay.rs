//! `whyline replay LOG --model FILE`: every recorded decision whose input is readable, made
//! again from its sealed input.
//!
//! With the model in force (same SHA-256 as the log's model record) each re-made trace must
//! be byte-identical: `replayed N, identical N, different 0, erased K`, exit 1 naming the
//! first difference otherwise. With another model (one `--model` whose SHA-256 is not the
//! log's), the decisions whose output changes, with their attribution shifts; exit 1 when
//! any changes. A log whose model changes mid-way takes `--model` once per model.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use whyline_forensics::{
    ReplayDifference, ReplayOptions, ReplayReport, format_time_ns, parse_time_ns, replay,
};
use whyline_ledger::seal::KeyStore;
use whyline_models::Model;

use crate::Outcome;
use crate::output::{Format, TEXT_OR_JSON, problem};

/// Arguments of `whyline replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The ledger directory.
    log: PathBuf,
    /// A model file (any format `whyline explain` reads); repeat for a log whose model
    /// changes, each matched to its model record by SHA-256.
    #[arg(long, required = true)]
    model: Vec<PathBuf>,
    /// Replay decisions from this time: RFC 3339 or Unix nanoseconds (as `incident --at`).
    #[arg(long)]
    from: Option<String>,
    /// Replay decisions up to this time.
    #[arg(long)]
    to: Option<String>,
    /// The log was checked with `whyline verify` and nothing was appended since: skip
    /// re-hashing each decision to check that its sealed input names it (the link then rests
    /// on the verified chain; only inputs recorded as entries of their own need that link,
    /// an input sealed inside its decision's entry is bound to it by the entry itself), and
    /// the frames' body CRCs, which verify checked (a trace changed since then shows as a
    /// difference instead of a damaged frame).
    #[arg(long)]
    chain_verified: bool,
    /// The subject key store (default: LOG/keys/subjects.wks).
    #[arg(long)]
    key_store: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_parser = Format::parser(TEXT_OR_JSON), default_value = "text")]
    format: Format,
}

pub(crate) fn run(args: &ReplayArgs) -> anyhow::Result<Outcome> {
    let models = args
        .model
        .iter()
        .map(|path| Model::load(path).with_context(|| format!("loading {}", path.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let key_store = args
        .key_store
        .clone()
        .unwrap_or_else(|| KeyStore::default_path(&args.log));
    let keys = KeyStore::open(&key_store)?;
    let options = ReplayOptions {
        from_ns: args
            .from
            .as_deref()
            .map(parse_time_ns)
            .transpose()?
            .unwrap_or(0),
        to_ns: args
            .to
            .as_deref()
            .map(parse_time_ns)
            .transpose()?
            .unwrap_or(u64::MAX),
        threads: 0,
        chain_verified: args.chain_verified,
    };
    let report = replay(&args.log, &keys, &models, options)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Html => return Err(Format::Html.unsupported("replay")),
        Format::Json => {
            let mut value = serde_json::to_value(&report)?;
            if let Some(map) = value.as_object_mut() {
                map.insert("type".into(), "replay".into());
            }
            writeln!(out, "{value}")?;
        }
        Format::Text => write_text(&mut out, &report)?,
    }
    if let Some(offset) = report.stopped_at {
        problem(&format!(
            "the log is damaged at byte {offset}: decisions after it were not replayed (see whyline verify)"
        ));
        return Ok(Outcome::Problem);
    }
    if let Some(first) = report
        .differences
        .iter()
        .find(|d| d.first_differing_byte.is_some())
    {
        problem(&format!(
            "decision entry {} (sequence {}) differs from its record at byte {}",
            first.index,
            first.sequence,
            first.first_differing_byte.unwrap_or(0)
        ));
    }
    Ok(if report.is_clean() {
        Outcome::Clean
    } else {
        Outcome::Problem
    })
}

fn write_text(out: &mut impl Write, report: &ReplayReport) -> std::io::Result<()> {
    writeln!(
        out,
        "replayed {}, identical {}, different {}, erased {}",
        report.replayed - report.changed - report.unchanged,
        report.identical,
        report.different,
        report.erased
    )?;
    if report.changed + report.unchanged > 0 {
        writeln!(
            out,
            "with another model: replayed {}, changed {}, unchanged {}",
            report.changed + report.unchanged,
            report.changed,
            report.unchanged
        )?;
    }
    if report.unreadable > 0 {
        writeln!(
            out,
            "unreadable inputs: {} ({})",
            report.unreadable,
            report.first_unreadable.as_deref().unwrap_or("")
        )?;
    }
    if report.without_input > 0 {
        writeln!(
            out,
            "decisions recorded without an input: {}",
            report.without_input
        )?;
    }
    for difference in &report.differences {
        write_difference(out, difference)?;
    }
    Ok(())
}

fn write_difference(out: &mut impl Write, d: &ReplayDifference) -> std::io::Result<()> {
    let what = match d.first_differing_byte {
        Some(byte) => format!("differs at byte {byte}"),
        None => "changes".to_owned(),
    };
    write!(
        out,
        "  entry {} (sequence {}, {}) {what}: output {} -> {}",
        d.index,
        d.sequence,
        format_time_ns(d.timestamp_ns),
        d.recorded_output,
        d.replayed_output
    )?;
    if !d.attribution_shifts.is_empty() {
        let shifts: Vec<String> = d
            .attribution_shifts
            .iter()
            .map(|s| format!("{} {:+.3} -> {:+.3}", s.feature, s.recorded, s.replayed))
            .collect();
        write!(out, "; attributions {}", shifts.join(", "))?;
    }
    writeln!(out)
}
