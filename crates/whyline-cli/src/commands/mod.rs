//! The subcommands, one module each.

mod explain;
mod trace;

use clap::Subcommand;

use crate::Outcome;

/// The subcommands of `whyline`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Explain a model's decisions on input rows (CSV with a header, or JSON lines).
    ///
    /// The model file may be whyline JSON (scikit-learn export), XGBoost JSON or LightGBM
    /// text; its format is detected from its content.
    Explain(explain::ExplainArgs),
    /// Work with APRT trace files (decode them to JSON lines).
    #[command(subcommand)]
    Trace(trace::TraceCommand),
}

/// Runs one subcommand.
pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Explain(args) => explain::run(&args),
        Command::Trace(args) => trace::run(args),
    }
}
