//! `whyline provenance LOG (--node ID | --decision INDEX)`: the path from an incident back to
//! its root causes, read from the provenance graph recorded in the log
//! ([`whyline::ProvenanceRecorder`]), in causal order with its time span and anomaly points.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use whyline_core::provenance::NodeId;
use whyline_forensics::provenance::{
    AnomalyThresholds, ProvenanceGraph, render_dot, render_html, render_json, render_text,
};

use crate::Outcome;
use crate::output::note;

/// Arguments of `whyline provenance`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("start").required(true).args(["node", "decision"])))]
pub(crate) struct ProvenanceArgs {
    /// The ledger directory.
    log: PathBuf,
    /// The incident node: the ledger index of a provenance node entry.
    #[arg(long, value_name = "ID")]
    node: Option<u64>,
    /// Start from the inference node of the decision at this ledger index (the latest, when
    /// several name it).
    #[arg(long, value_name = "INDEX")]
    decision: Option<u64>,
    /// Edges to walk back from the incident, at least 1.
    #[arg(long, value_name = "N", default_value_t = 32)]
    depth: usize,
    /// Output: text for people, one JSON document, Graphviz DOT (`dot -Tsvg`), or a
    /// self-contained HTML page.
    #[arg(long, value_enum, default_value_t = ProvenanceFormat::Text)]
    format: ProvenanceFormat,
    /// Write the output to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Confidence below which a decision or action is marked low.
    #[arg(long, value_name = "C", default_value_t = AnomalyThresholds::default().low_confidence)]
    low_confidence: f32,
}

/// The formats of `whyline provenance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProvenanceFormat {
    /// For people at a terminal.
    Text,
    /// One JSON document.
    Json,
    /// A Graphviz digraph.
    Dot,
    /// A self-contained HTML page.
    Html,
}

/// Runs the command: exit 0 when the path holds no anomaly, 1 when it does.
pub(crate) fn run(args: &ProvenanceArgs) -> anyhow::Result<Outcome> {
    if !args.log.is_dir() {
        anyhow::bail!(
            "{} is not a ledger directory (give the directory a recorder wrote)",
            args.log.display()
        );
    }
    let graph = ProvenanceGraph::read_dir(&args.log)
        .with_context(|| format!("reading the provenance graph of {}", args.log.display()))?;
    if let Some(stop) = graph.stopped() {
        note(&format!(
            "the log ends early at byte {} ({:?}): the graph holds what comes before; run whyline verify",
            stop.offset, stop.kind
        ));
    }
    let incident: NodeId = graph.resolve(args.node, args.decision)?;
    let thresholds = AnomalyThresholds {
        low_confidence: args.low_confidence,
        ..AnomalyThresholds::default()
    };
    let path = graph.reconstruct_attack_path(incident, args.depth, &thresholds)?;
    let rendered = match args.format {
        ProvenanceFormat::Text => render_text(&path),
        ProvenanceFormat::Json => render_json(&path)? + "\n",
        ProvenanceFormat::Dot => render_dot(&path),
        ProvenanceFormat::Html => render_html(&path),
    };
    match &args.out {
        Some(file) => {
            std::fs::write(file, &rendered)
                .with_context(|| format!("writing {}", file.display()))?;
            note(&format!("provenance written to {}", file.display()));
        }
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    Ok(if path.anomalies.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Problem
    })
}
