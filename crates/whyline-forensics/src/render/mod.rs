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
/// An input value as the model saw it: a value that is exactly an `f32` (every row of an
/// `f32` model) prints as that `f32`'s shortest form (`12.4`, not `12.399999618530273`).
pub(crate) struct InputValue(pub(crate) f64);

impl std::fmt::Display for InputValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let narrow = self.0 as f32;
        if f64::from(narrow) == self.0 {
            write!(f, "{narrow}")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

pub(crate) fn relative(ms: f64) -> String {
    let sign = if ms > 0.0 { '+' } else { '-' };
    format!("T{sign}{:.3}s", ms.abs() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::InputValue;

    #[test]
    fn an_f32_input_prints_as_the_f32_the_model_saw() {
        assert_eq!(InputValue(f64::from(12.4f32)).to_string(), "12.4");
        assert_eq!(InputValue(f64::from(-0.1f32)).to_string(), "-0.1");
        // A true f64 keeps every digit.
        assert_eq!(InputValue(0.1).to_string(), "0.1");
        assert_eq!(InputValue(1.0 / 3.0).to_string(), "0.3333333333333333");
    }
}
