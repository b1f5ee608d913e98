//! Renderers of an [`IncidentReport`](crate::IncidentReport): text for people at a terminal,
//! JSON for tools, and a self-contained HTML page.

pub(crate) mod html;
pub(crate) mod text;

use crate::error::Result;
use crate::report::IncidentReport;

/// Renders the report as pretty JSON.
pub fn render_json(report: &IncidentReport) -> Result<String> {
    Ok(serde_json::to_string_pretty(report)?)
}

pub use html::render_html;
pub use text::render_text;

/// `T-2.340s` / `T+0.120s` / `T-0.000s`.
pub(crate) fn relative(ms: f64) -> String {
    let sign = if ms > 0.0 { '+' } else { '-' };
    format!("T{sign}{:.3}s", ms.abs() / 1000.0)
}
