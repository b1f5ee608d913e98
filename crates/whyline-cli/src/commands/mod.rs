//! The subcommands, one module each.

mod trace;

use clap::Subcommand;

use crate::Outcome;

/// The subcommands of `whyline`.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Work with APRT trace files (decode them to JSON lines).
    #[command(subcommand)]
    Trace(trace::TraceCommand),
}

/// Runs one subcommand.
pub(crate) fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Trace(args) => trace::run(args),
    }
}
