//! Where results and diagnostics go: results to stdout through a locked handle (so a closed
//! pipe is an error we can see, not a panic), diagnostics to stderr, every error with the one
//! prefix `whyline: error:`. Also the one `--format` value set every reporting command
//! shares.

use std::io::Write;

use clap::ValueEnum;
use clap::builder::{PossibleValuesParser, TypedValueParser};

/// The one error prefix of the command.
const ERROR_PREFIX: &str = "whyline: error: ";

/// How a command prints its results; each command accepts the subset it supports (see
/// [`Format::parser`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people at a terminal; may change between versions.
    Text,
    /// JSON: one object per line with a `type` field (one document for `incident`).
    Json,
    /// A self-contained HTML page.
    Html,
}

/// `text` and `json`: the formats of most commands.
pub(crate) const TEXT_OR_JSON: &[Format] = &[Format::Text, Format::Json];

impl Format {
    /// A clap value parser accepting only `supported`: any other value is a usage error
    /// that lists the supported ones (exit 2), and `--help` shows only those.
    pub(crate) fn parser(supported: &'static [Format]) -> impl TypedValueParser<Value = Format> {
        PossibleValuesParser::new(supported.iter().filter_map(Format::to_possible_value))
            .try_map(|name| Format::from_str(&name, false))
    }

    /// The error for a format a command does not write (its parser refuses it first).
    pub(crate) fn unsupported(self, command: &str) -> anyhow::Error {
        let name = self
            .to_possible_value()
            .map_or_else(String::new, |value| value.get_name().to_owned());
        anyhow::anyhow!("whyline {command} does not write --format {name}")
    }
}

/// True when the error chain holds a broken pipe: the reader went away, which is not an error
/// for a command-line tool (`whyline trace decode f | head`).
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, `outer: cause: root`, leaving out a cause whose
/// text the line already holds (an error that prints its source, a transparent wrapper).
pub(crate) fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if cause.is_empty() || text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// Prints `whyline: error: ...` with the whole cause chain to stderr.
pub(crate) fn report_error(error: &anyhow::Error) {
    problem(&error_chain(error));
}

/// Prints a usage error from the argument parser with the one prefix, keeping its usage
/// lines and hint.
pub(crate) fn report_usage_error(error: &clap::Error) {
    let rendered = error.render().to_string();
    let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{ERROR_PREFIX}{message}");
}

/// Prints a problem the command found (the reason for exit 1, or a row it had to skip) as
/// `whyline: error: ...`.
pub(crate) fn problem(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{ERROR_PREFIX}{message}");
}

/// Prints a diagnostic line (a note, a recovery) to stderr as `whyline: ...`.
pub(crate) fn note(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "whyline: {message}");
}
