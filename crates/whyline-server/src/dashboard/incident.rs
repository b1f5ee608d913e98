//! The incident explorer (`GET /incident?at=T&before=30s&after=1s`), rendered on the server
//! so that it works without JavaScript: a form for the time and window, the timeline chart
//! (inline SVG: confidence over time, each decision's class by shape and colour, alerts, the
//! T-0 line), the anomalies first, the analysis summary, the decisions with runs of
//! identical ones folded, links to every decision page, and the downloads.
//!
//! The report is whyline-forensics' ([`Investigation`], the same as `whyline incident` and
//! `GET /v1/incident`); this module only lays it out.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use whyline::forensics::{
    IncidentQuery, IncidentReport, Integrity, parse_duration_ns, parse_time_ns,
};

use super::html::escape;
use super::{View, page};
use crate::error::ApiError;
use crate::state::{AppState, error_chain};
use crate::tokens::Scope;

/// `?at=T&before=30s&after=1s`, every field optional (no `at`: the form alone).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Params {
    at: Option<String>,
    before: Option<String>,
    after: Option<String>,
    /// `main`: only the `<main>` content (what the script swaps in after fetching it with
    /// the token).
    part: Option<String>,
}

/// Shapes of the classes on the chart (with their colours, never colour alone).
const MARKS: [(&str, &str); 6] = [
    ("circle", "#0072b2"),
    ("square", "#e69f00"),
    ("triangle", "#cc79a7"),
    ("diamond", "#009e73"),
    ("cross", "#56b4e9"),
    ("bar", "#d55e00"),
];

/// `GET /incident`: the explorer. Served to a request that may read (no tokens, or a
/// `read` token in `Authorization`); otherwise the shell, whose script fetches the same
/// URL with the token kept in the tab.
pub(crate) async fn incident_page(
    State(state): State<Arc<AppState>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let may_read = match &state.tokens {
        None => true,
        Some(tokens) => tokens
            .check(
                headers
                    .get(header::AUTHORIZATION)
                    .map(HeaderValue::as_bytes),
                Scope::Read,
            )
            .is_ok(),
    };
    let data = [("authorized", may_read.to_string())];
    let form = form(&params);
    let content = if !may_read {
        format!(
            "{form}<p class=\"notice\" id=\"needs-token\">This server needs a token with the read \
             scope. With JavaScript the page asks for it once; without, send it as \
             <code>Authorization: Bearer</code>.</p>"
        )
    } else if let Some(at) = params.at.as_deref().filter(|at| !at.is_empty()) {
        let query = IncidentQuery {
            time_ns: parse_time_ns(at)
                .map_err(|e| ApiError::bad_request(format!("at: {}", error_chain(&e))))?,
            lookback_ns: parse_duration_ns(params.before.as_deref().unwrap_or("30s"))
                .map_err(|e| ApiError::bad_request(format!("before: {}", error_chain(&e))))?,
            lookahead_ns: parse_duration_ns(params.after.as_deref().unwrap_or("1s"))
                .map_err(|e| ApiError::bad_request(format!("after: {}", error_chain(&e))))?,
        };
        let worker = Arc::clone(&state);
        let report = tokio::task::spawn_blocking(move || worker.investigate(query))
            .await
            .map_err(|e| ApiError::internal(format!("incident task: {e}")))??;
        format!("{form}{}", render(&report, &params))
    } else {
        format!(
            "{form}<p class=\"notice\">Choose the incident's time and the window around it.</p>"
        )
    };
    let part = params.part.as_deref() == Some("main");
    if part && !may_read {
        // The script asked with a token that may not read (or none): it asks for one.
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid token with the read scope is needed: Authorization: Bearer TOKEN",
        ));
    }
    let body = if part {
        content
    } else {
        page(View::Incident, &data, &content)
    };
    let mut response = Html(body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn form(params: &Params) -> String {
    let value = |v: &Option<String>, default: &str| escape(v.as_deref().unwrap_or(default));
    format!(
        "<h1>Incident explorer</h1>\
         <form class=\"window\" method=\"get\" action=\"/incident\">\
         <label>Time (T-0) <input name=\"at\" value=\"{}\" placeholder=\"2026-12-06T14:32:47Z or Unix ns\" required></label>\
         <label>Before <input name=\"before\" value=\"{}\" size=\"6\"></label>\
         <label>After <input name=\"after\" value=\"{}\" size=\"6\"></label>\
         <button type=\"submit\">Investigate</button></form>",
        value(&params.at, ""),
        value(&params.before, "30s"),
        value(&params.after, "1s"),
    )
}

/// The report's page content.
fn render(report: &IncidentReport, params: &Params) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let query = format!(
        "at={}&before={}&after={}",
        percent(params.at.as_deref().unwrap_or("")),
        percent(params.before.as_deref().unwrap_or("30s")),
        percent(params.after.as_deref().unwrap_or("1s")),
    );
    let (integrity_class, integrity_text) = match &report.integrity {
        Integrity::Verified {
            entries,
            checkpoints,
            signatures_checked,
            ..
        } => (
            "ok",
            format!(
                "✓ Chain integrity verified: {entries} entries, {checkpoints} checkpoints{}",
                if *signatures_checked {
                    ", signatures checked"
                } else {
                    ""
                }
            ),
        ),
        Integrity::Broken { message, .. } => {
            ("bad", format!("✗ Chain integrity BROKEN: {message}"))
        }
    };
    let _ = write!(
        out,
        "<p class=\"integrity {integrity_class}\">{}</p>\
         <p class=\"downloads\">Download: <a class=\"download\" href=\"/v1/incident?{query}&amp;format=json\" download=\"incident.json\">JSON</a> · \
         <a class=\"download\" href=\"/v1/incident?{query}&amp;format=html\" download=\"incident.html\">HTML report</a></p>",
        escape(&integrity_text)
    );
    let _ = write!(
        out,
        "<p>{} decisions in the window · {} anomalies · {}</p>",
        report.timeline.len(),
        report.anomalies.len(),
        escape(&report.completeness.summary())
    );
    chart(&mut out, report);
    anomalies(&mut out, report);
    analysis(&mut out, report);
    decisions(&mut out, report);
    out
}

fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn mark(out: &mut String, shape: &str, colour: &str, x: f64, y: f64, title: &str) {
    let _ = match shape {
        "circle" => write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{title}</title></circle>"
        ),
        "square" => write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"7\" height=\"7\" fill=\"{colour}\"><title>{title}</title></rect>",
            x - 3.5,
            y - 3.5
        ),
        "triangle" => write!(
            out,
            "<path d=\"M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z\" fill=\"{colour}\"><title>{title}</title></path>",
            y - 4.5,
            x + 4.5,
            y + 3.5,
            x - 4.5,
            y + 3.5
        ),
        "diamond" => write!(
            out,
            "<path d=\"M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z\" fill=\"{colour}\"><title>{title}</title></path>",
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0
        ),
        "cross" => write!(
            out,
            "<path d=\"M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}\" stroke=\"{colour}\" stroke-width=\"2\"><title>{title}</title></path>",
            x - 4.0,
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0,
            y + 4.0,
            x + 4.0,
            y - 4.0
        ),
        _ => write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"3\" height=\"9\" fill=\"{colour}\"><title>{title}</title></rect>",
            x - 1.5,
            y - 4.5
        ),
    };
}

/// The timeline chart: confidence (y) over time (x), each decision a mark whose shape and
/// colour name its class (legend below), anomalies ringed, the T-0 line.
fn chart(out: &mut String, report: &IncidentReport) {
    const WIDTH: f64 = 900.0;
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 26.0;
    const BOTTOM: f64 = 30.0;
    #[allow(clippy::cast_precision_loss)] // milliseconds
    let (from, to) = (
        -(report.query.lookback_ns as f64) / 1e6,
        report.query.lookahead_ns as f64 / 1e6,
    );
    let span = (to - from).max(1.0);
    let x = |ms: f64| LEFT + (ms - from) / span * (WIDTH - LEFT - RIGHT);
    let y = |confidence: f64| TOP + (1.0 - confidence.clamp(0.0, 1.0)) * (HEIGHT - TOP - BOTTOM);
    let mut classes: Vec<&str> = Vec::new();
    for entry in &report.timeline {
        if !classes.contains(&entry.decision.as_str()) {
            classes.push(&entry.decision);
        }
    }
    let _ = write!(
        out,
        "<figure class=\"chart\"><svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-labelledby=\"chart-title\"><title id=\"chart-title\">Confidence and decision over \
         the window, T-0 marked</title>"
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" class=\"grid\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">{:.0}%</text>",
            WIDTH - RIGHT,
            LEFT - 4.0,
            y(tick) + 4.0,
            tick * 100.0,
            y = y(tick)
        );
    }
    let _ = write!(
        out,
        "<text x=\"{LEFT}\" y=\"{:.1}\" class=\"axis\">T{:+.1}s</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" class=\"axis\" text-anchor=\"end\">T+{:.1}s</text>",
        HEIGHT - 8.0,
        from / 1e3,
        WIDTH - RIGHT,
        HEIGHT - 8.0,
        to / 1e3
    );
    // T-0.
    let zero = x(0.0);
    let _ = write!(
        out,
        "<line x1=\"{zero:.1}\" x2=\"{zero:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" class=\"t0\"/>\
         <text x=\"{zero:.1}\" y=\"{:.1}\" class=\"axis t0-label\" text-anchor=\"middle\">T-0</text>",
        TOP - 6.0,
        HEIGHT - BOTTOM,
        TOP - 10.0
    );
    // Alerts: a triangle on the top edge, with the message.
    for anomaly in &report.anomalies {
        if let whyline::forensics::AnomalyKind::AndonAlert { .. } = &anomaly.kind {
            let ax = x(anomaly.relative_ms);
            let _ = write!(
                out,
                "<path class=\"alert-mark\" d=\"M{ax:.1} {:.1}l-5 -8h10z\"><title>{}</title></path>",
                TOP - 2.0,
                escape(&anomaly.kind.to_string())
            );
        }
    }
    for entry in &report.timeline {
        let class = classes
            .iter()
            .position(|c| *c == entry.decision)
            .unwrap_or(0);
        let (shape, colour) = MARKS.get(class % MARKS.len()).copied().unwrap_or(MARKS[0]);
        let px = x(entry.relative_ms);
        let py = y(f64::from(entry.confidence));
        let title = escape(&format!(
            "{} · {:.0}% · T{:+.3}s",
            entry.decision,
            entry.confidence * 100.0,
            entry.relative_ms / 1e3
        ));
        if report.anomalies_of(entry.sequence).next().is_some() {
            let _ = write!(
                out,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"7\" class=\"anomaly-ring\"/>"
            );
        }
        mark(out, shape, colour, px, py, &title);
    }
    out.push_str("</svg><figcaption><ul class=\"legend\">");
    for (i, class) in classes.iter().enumerate() {
        let (shape, colour) = MARKS.get(i % MARKS.len()).copied().unwrap_or(MARKS[0]);
        let _ = write!(
            out,
            "<li><svg width=\"14\" height=\"14\" viewBox=\"0 0 14 14\" aria-hidden=\"true\">"
        );
        mark(out, shape, colour, 7.0, 7.0, "");
        let _ = write!(out, "</svg>{} ({shape})</li>", escape(class));
    }
    out.push_str(
        "<li><span class=\"ring\" aria-hidden=\"true\">◯</span> anomaly</li>\
         <li><span class=\"alert-key\" aria-hidden=\"true\">▼</span> alert</li>\
         <li><span class=\"t0-key\" aria-hidden=\"true\">┆</span> T-0</li></ul></figcaption></figure>",
    );
}

fn index_link(report: &IncidentReport, sequence: u64) -> String {
    match report
        .timeline
        .iter()
        .find(|e| e.sequence == sequence)
        .and_then(|e| e.index)
    {
        Some(index) => format!("<a href=\"/decisions/{index}\">#{index}</a>"),
        None => format!("seq {sequence}"),
    }
}

fn anomalies(out: &mut String, report: &IncidentReport) {
    let _ = write!(
        out,
        "<section id=\"anomalies\"><h2>Anomalies ({})</h2>",
        report.anomalies.len()
    );
    if report.anomalies.is_empty() {
        out.push_str("<p>None in the window.</p></section>");
        return;
    }
    out.push_str("<ol class=\"anomalies\">");
    for anomaly in &report.anomalies {
        let _ = write!(
            out,
            "<li><span class=\"badge warn\">⚠ anomaly</span> <time>T{:+.3}s</time> {} · {}</li>",
            anomaly.relative_ms / 1e3,
            escape(&anomaly.kind.to_string()),
            index_link(report, anomaly.sequence)
        );
    }
    out.push_str("</ol></section>");
}

fn analysis(out: &mut String, report: &IncidentReport) {
    let analysis = &report.analysis;
    out.push_str("<section id=\"analysis\"><h2>Analysis</h2><ul>");
    if let Some((ms, what)) = &analysis.first_anomaly {
        let _ = write!(
            out,
            "<li>First anomaly at T{:+.3}s: {}</li>",
            ms / 1e3,
            escape(what)
        );
    }
    if let Some((ms, from, to)) = &analysis.first_change {
        let _ = write!(
            out,
            "<li>First change of decision at T{:+.3}s: {} → {}</li>",
            ms / 1e3,
            escape(from),
            escape(to)
        );
    }
    if let Some(ms) = analysis.anomaly_to_change_ms {
        let _ = write!(
            out,
            "<li>From the first anomaly to that change: {ms:.0} ms</li>"
        );
    }
    for line in analysis.outcomes.iter().chain(&analysis.overrides) {
        let _ = write!(out, "<li>{}</li>", escape(line));
    }
    out.push_str("</ul>");
    if !analysis.root_cause.is_empty() {
        out.push_str("<h3>Root cause</h3><ul>");
        for line in &analysis.root_cause {
            let _ = write!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>");
    }
    if !analysis.recommendations.is_empty() {
        out.push_str("<h3>Recommendations</h3><ul>");
        for line in &analysis.recommendations {
            let _ = write!(out, "<li>{}</li>", escape(line));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
}

/// The decisions, runs of the same decision without anomaly folded into one line.
fn decisions(out: &mut String, report: &IncidentReport) {
    out.push_str(
        "<section id=\"decisions\"><h2>Decisions</h2><p>Runs of the same decision without an \
         anomaly are folded.</p><ol class=\"timeline\">",
    );
    let timeline = &report.timeline;
    let mut i = 0;
    while i < timeline.len() {
        let entry = &timeline[i];
        let anomalous = |e: &whyline::forensics::TimelineEntry| {
            report.anomalies_of(e.sequence).next().is_some()
        };
        if !anomalous(entry) {
            let mut end = i + 1;
            while end < timeline.len()
                && timeline[end].decision == entry.decision
                && !anomalous(&timeline[end])
            {
                end += 1;
            }
            if end - i > 1 {
                let last = &timeline[end - 1];
                let (low, high) = timeline[i..end].iter().fold((1.0f32, 0.0f32), |(l, h), e| {
                    (l.min(e.confidence), h.max(e.confidence))
                });
                let _ = write!(
                    out,
                    "<li class=\"run\"><details><summary><time>T{:+.3}s</time> … <time>T{:+.3}s</time> \
                     {} ×{} (confidence {:.0}–{:.0}%)</summary><p>",
                    entry.relative_ms / 1e3,
                    last.relative_ms / 1e3,
                    escape(&entry.decision),
                    end - i,
                    low * 100.0,
                    high * 100.0
                );
                for e in &timeline[i..end] {
                    if let Some(index) = e.index {
                        let _ = write!(out, "<a href=\"/decisions/{index}\">#{index}</a> ");
                    }
                }
                out.push_str("</p></details></li>");
                i = end;
                continue;
            }
        }
        let marks: Vec<String> = report
            .anomalies_of(entry.sequence)
            .map(|a| {
                format!(
                    "<span class=\"badge warn\">⚠ {}</span>",
                    escape(&a.kind.to_string())
                )
            })
            .collect();
        let link = entry.index.map_or_else(String::new, |index| {
            format!(" <a href=\"/decisions/{index}\">#{index}</a>")
        });
        let top: Vec<String> = entry
            .contributions
            .iter()
            .take(3)
            .map(|(feature, value)| format!("{} {value:+.3}", escape(feature)))
            .collect();
        let _ = write!(
            out,
            "<li{}><time>T{:+.3}s</time> <strong>{}</strong> {:.0}%{link} <span class=\"top\">{}</span> {}</li>",
            if marks.is_empty() {
                ""
            } else {
                " class=\"anomalous\""
            },
            entry.relative_ms / 1e3,
            escape(&entry.decision),
            entry.confidence * 100.0,
            top.join(", "),
            marks.join(" ")
        );
        i += 1;
    }
    out.push_str("</ol></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_links_are_percent_encoded() {
        assert_eq!(
            percent("2026-12-06T05:48:08.8Z"),
            "2026-12-06T05%3A48%3A08.8Z"
        );
        assert_eq!(percent("a b&c"), "a%20b%26c");
    }
}
