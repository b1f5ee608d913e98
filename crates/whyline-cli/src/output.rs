//! Where results and diagnostics go: results to stdout through a locked handle (so a closed
//! pipe is an error we can see, not a panic), diagnostics to stderr.

use std::io::Write;

/// True when the error chain holds a broken pipe: the reader went away, which is not an error
/// for a command-line tool (`whyline trace decode f | head`).
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `whyline: error: ...` with the whole cause chain to stderr.
pub(crate) fn report_error(error: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "whyline: error: {error:#}");
}

/// Prints a diagnostic line (a warning, a note) to stderr.
pub(crate) fn note(message: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "whyline: {message}");
}
