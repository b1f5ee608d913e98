//! The `whyline` command: thin glue over the whyline library crates.
//!
//! Each subcommand lives in its own module under `commands/`, parses its arguments with clap,
//! calls the libraries, writes results to stdout and returns an [`Outcome`]. This file maps
//! outcomes and errors to exit codes, as ripgrep does: 0 ran and found nothing wrong, 1 ran
//! and found a problem (a bad record, a failed verification), 2 usage, input or I/O error. A broken
//! pipe on stdout exits 0 quietly. Every error, the argument parser's included, is printed
//! to stderr as one `whyline: error: ...` line (a usage error adds its usage lines).

mod commands;
mod location;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// What a command found, mapped to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Ran, nothing wrong: exit 0.
    Clean,
    /// Ran and found a problem the user must look at: exit 1.
    Problem,
}

/// whyline: every decision of a model explained when it is made and provable long after.
#[derive(Debug, Parser)]
#[command(name = "whyline", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 when the command ran and found nothing wrong, 1 when it \
ran and found a problem (a bad record, a failed verification), 2 on a usage, input or I/O \
error. Errors are printed as `whyline: error: ...`."
)]
struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: printed to stdout, exit 0.
        Err(error) if !error.use_stderr() => {
            return match error.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(2),
            };
        }
        Err(error) => {
            output::report_usage_error(&error);
            return ExitCode::from(2);
        }
    };
    match commands::run(cli.command) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            output::report_error(&error);
            ExitCode::from(2)
        }
    }
}
