//! `whyline kaizen LOG`: continuous improvement from the recorded decisions: where the model
//! hesitates (uncertainty clusters of the low-confidence decisions' inputs), what moved
//! between a reference window and the current one (PSI and two-sample Kolmogorov–Smirnov of
//! inputs, attributions and confidence), which classes it confuses (near-boundary decisions,
//! flips, transitions), where the recorded outcomes say it was wrong, and what to retrain on,
//! each recommendation with its evidence (docs/kaizen.md).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use whyline::{KaizenAnalyzer, KaizenSettings, KaizenWindow};
use whyline_forensics::{
    parse_time_ns, render_kaizen_html, render_kaizen_json, render_kaizen_text,
};

use crate::Outcome;
use crate::output::{Format, note};

/// Arguments of `whyline kaizen`.
#[derive(Debug, Args)]
pub(crate) struct KaizenArgs {
    /// The ledger directory.
    log: PathBuf,
    /// The model file (its SHA-256 must be the log's model record's): cluster centres are
    /// compared with its training statistics.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Start of the current window: RFC 3339 or Unix nanoseconds (default: the first
    /// decision). The decisions before it are the reference window for drift.
    #[arg(long)]
    from: Option<String>,
    /// End of the current window (default: the last decision).
    #[arg(long)]
    to: Option<String>,
    /// Report format.
    #[arg(long, value_parser = Format::parser(ALL_FORMATS), default_value = "text")]
    format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Decisions below this confidence are uncertain (clustered).
    #[arg(long, default_value_t = KaizenSettings::default().low_confidence)]
    low_confidence: f32,
    /// A decision is near the boundary when its class leads the runner-up by at most this.
    #[arg(long, default_value_t = KaizenSettings::default().boundary_margin)]
    margin: f32,
    /// The largest number of clusters tried.
    #[arg(long, default_value_t = KaizenSettings::default().max_clusters)]
    max_clusters: usize,
}

const ALL_FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Html];

/// Runs the command: exit 0 when the analysis recommends nothing, 1 when it recommends
/// retraining (the report says on what evidence), 2 on bad input.
pub(crate) fn run(args: &KaizenArgs) -> anyhow::Result<Outcome> {
    let window = KaizenWindow {
        from_ns: args
            .from
            .as_deref()
            .map(parse_time_ns)
            .transpose()
            .context("--from")?,
        to_ns: args
            .to
            .as_deref()
            .map(parse_time_ns)
            .transpose()
            .context("--to")?,
    };
    if !(0.0..=1.0).contains(&args.low_confidence) || !(0.0..=1.0).contains(&args.margin) {
        anyhow::bail!("--low-confidence and --margin are probabilities, between 0 and 1");
    }
    if args.max_clusters < 2 {
        anyhow::bail!("--max-clusters must be at least 2");
    }
    let settings = KaizenSettings {
        low_confidence: args.low_confidence,
        boundary_margin: args.margin,
        max_clusters: args.max_clusters,
        ..KaizenSettings::default()
    };
    let analysis =
        KaizenAnalyzer::new(settings).analyze_log(&args.log, window, args.model.as_deref())?;
    if analysis.with_inputs == 0 {
        note(&format!(
            "{} holds no readable inputs in the window: no uncertainty clusters and no input drift (the report analyses decisions, attributions and outcomes)",
            args.log.display()
        ));
    }
    let rendered = match args.format {
        Format::Text => render_kaizen_text(&analysis),
        Format::Json => render_kaizen_json(&analysis)? + "\n",
        Format::Html => render_kaizen_html(&analysis),
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            note(&format!("report written to {}", path.display()));
        }
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    Ok(if analysis.recommendations.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Problem
    })
}
