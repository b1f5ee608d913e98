//! A self-contained HTML report: no scripts, fonts or images from elsewhere. A chart of
//! confidence over time with each decision coloured by what was decided and anomalies marked,
//! then one card per decision with its contribution bars.

use std::fmt::Write as _;

use super::relative;
use crate::report::{IncidentReport, Integrity};
use crate::time::format_time_ns;

const PALETTE: [&str; 8] = [
    "#2563eb", "#f59e0b", "#dc2626", "#7c3aed", "#059669", "#db2777", "#0891b2", "#65a30d",
];

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders the report as one HTML page.
pub fn render_html(report: &IncidentReport) -> String {
    let mut labels: Vec<&str> = Vec::new();
    for e in &report.timeline {
        if !labels.contains(&e.decision.as_str()) {
            labels.push(&e.decision);
        }
    }
    let colour =
        |label: &str| PALETTE[labels.iter().position(|l| *l == label).unwrap_or(0) % PALETTE.len()];

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Incident report {}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:72rem}}\
         h1{{margin-bottom:.2rem}} .meta{{color:#555}}\
         .ok{{color:#047857;font-weight:600}} .bad{{color:#b91c1c;font-weight:600}} .warn{{color:#b45309}}\
         .card{{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.5rem 0}}\
         .card.anomaly{{border-color:#dc2626;background:#fef2f2}}\
         .bar{{display:inline-block;height:.7rem;vertical-align:middle}}\
         .pos{{background:#2563eb}} .neg{{background:#dc2626}}\
         table{{border-collapse:collapse}} td{{padding:1px 8px 1px 0;font-size:.9rem}}\
         .legend span{{margin-right:1rem}} .dot{{display:inline-block;width:.7rem;height:.7rem;border-radius:50%}}\
         </style></head><body>",
        esc(&format_time_ns(report.query.time_ns))
    );
    let _ = write!(
        out,
        "<h1>Incident investigation report</h1><p class=\"meta\">Incident at {} · log {}",
        esc(&format_time_ns(report.query.time_ns)),
        esc(&report.log)
    );
    if let Some(model) = &report.model {
        let _ = write!(out, " · model {}", esc(&model.to_string()));
    }
    let _ = write!(out, "</p>");
    match &report.integrity {
        Integrity::Verified {
            entries,
            checkpoints,
            signatures_checked,
            root,
            crash_residue_bytes,
        } => {
            let _ = write!(
                out,
                "<p class=\"ok\" id=\"integrity\">✓ Chain verified: {entries} entries, {checkpoints} checkpoints{}. Merkle root <code>{}</code></p>",
                if *signatures_checked {
                    ", signatures verified"
                } else {
                    ", signatures not checked"
                },
                esc(root)
            );
            if *crash_residue_bytes > 0 {
                let _ = write!(
                    out,
                    "<p class=\"warn\">A crash cut the last append short: {crash_residue_bytes} bytes past the last entry, covered by no receipt or checkpoint (<code>whyline recover</code> removes them).</p>"
                );
            }
        }
        Integrity::Broken {
            index,
            offset,
            kind,
            message,
            ..
        } => {
            let _ = write!(
                out,
                "<p class=\"bad\" id=\"integrity\">✗ Chain broken at entry {index} (byte {offset}): {}. {}</p>",
                esc(kind),
                esc(message)
            );
        }
    }
    summary(&mut out, report);
    chart(&mut out, report, &labels, &colour);
    let _ = write!(
        out,
        "<h2>Decisions ({} in the window, {} anomalies)</h2>",
        report.timeline.len(),
        report.anomalies.len()
    );
    // Runs of the same decision without anomalies fold into one <details> element.
    let quiet = |e: &crate::TimelineEntry| report.anomalies_of(e.sequence).next().is_none();
    let mut run_end = 0usize;
    let mut fold_until: Option<usize> = None;
    for (position, entry) in report.timeline.iter().enumerate() {
        if position >= run_end {
            run_end = position + 1;
            if quiet(entry) {
                while report
                    .timeline
                    .get(run_end)
                    .is_some_and(|next| next.decision == entry.decision && quiet(next))
                {
                    run_end += 1;
                }
            }
            if run_end - position > 1 {
                let last = &report.timeline[run_end - 1];
                let _ = write!(
                    out,
                    "<details class=\"run\"><summary>{} .. {} · <span style=\"color:{}\">{}</span> ×{} (no anomaly)</summary>",
                    relative(entry.relative_ms),
                    relative(last.relative_ms),
                    colour(&entry.decision),
                    esc(&entry.decision),
                    run_end - position
                );
                fold_until = Some(run_end);
            }
        }
        let anomalies: Vec<_> = report.anomalies_of(entry.sequence).collect();
        let class = if anomalies.is_empty() {
            "card"
        } else {
            "card anomaly"
        };
        let _ = write!(
            out,
            "<div class=\"{class}\" id=\"decision-{}\"><b>{}</b> · <span style=\"color:{}\">{}</span> · confidence {:.0}% · #{} · {} µs",
            entry.sequence,
            relative(entry.relative_ms),
            colour(&entry.decision),
            esc(&entry.decision),
            entry.confidence * 100.0,
            entry.sequence,
            entry.latency_us
        );
        if !entry.alternatives.is_empty() {
            let alternatives: Vec<String> = entry
                .alternatives
                .iter()
                .take(3)
                .map(|(n, p)| format!("{} ({:.0}%)", esc(n), p * 100.0))
                .collect();
            let _ = write!(out, "<br>Alternatives: {}", alternatives.join(", "));
        }
        let _ = write!(out, "<br>Rationale: {}", esc(&entry.rationale));
        for anomaly in &anomalies {
            let _ = write!(
                out,
                "<br><span class=\"bad\">⚠ {}</span>",
                esc(&anomaly.kind.to_string())
            );
        }
        if !entry.contributions.is_empty() {
            let largest = entry
                .contributions
                .iter()
                .map(|(_, v)| v.abs())
                .fold(0.0f32, f32::max)
                .max(f32::MIN_POSITIVE);
            let _ = write!(out, "<table>");
            for (name, value) in &entry.contributions {
                let width = (value.abs() / largest * 200.0).round();
                let sign = if *value >= 0.0 { "pos" } else { "neg" };
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td><span class=\"bar {sign}\" style=\"width:{width}px\"></span></td><td>{value:+.4}</td></tr>",
                    esc(name)
                );
            }
            let _ = write!(out, "</table>");
        }
        evidence(&mut out, entry);
        let _ = write!(out, "</div>");
        if fold_until == Some(position + 1) {
            let _ = write!(out, "</details>");
            fold_until = None;
        }
    }
    let _ = writeln!(out, "</body></html>");
    out
}

/// The summary the page leads with: integrity is above it; then whether the window is
/// complete, the analysis and the root cause.
fn summary(out: &mut String, report: &IncidentReport) {
    let class = if report.completeness.is_complete() {
        "ok"
    } else {
        "bad"
    };
    let _ = write!(
        out,
        "<p class=\"{class}\" id=\"completeness\">{}</p>",
        esc(&report.completeness.summary())
    );
    let facts = &report.analysis;
    let _ = write!(out, "<section id=\"summary\"><h2>Analysis</h2><ul>");
    if let Some((at, what)) = &facts.first_anomaly {
        let _ = write!(
            out,
            "<li>First anomaly at {}: {}</li>",
            relative(*at),
            esc(what)
        );
    }
    if let Some((at, from, to)) = &facts.first_change {
        let _ = write!(
            out,
            "<li>Decision changed at {}: {} → {}</li>",
            relative(*at),
            esc(from),
            esc(to)
        );
    }
    if let Some(delay) = facts.anomaly_to_change_ms {
        let _ = write!(
            out,
            "<li>Time from the first anomaly to the change: {delay:.0} ms</li>"
        );
    }
    for o in &facts.out_of_distribution {
        let _ = write!(
            out,
            "<li>{} out of distribution from {} (z {:+.1} at {}, {} decisions{})</li>",
            esc(&o.feature),
            relative(o.first_relative_ms),
            o.worst_z,
            o.worst_value,
            o.decisions,
            if o.outside_range {
                ", outside the training range"
            } else {
                ""
            }
        );
    }
    for line in facts.outcomes.iter().chain(&facts.overrides) {
        let _ = write!(out, "<li>{}</li>", esc(line));
    }
    if let Some(note) = &report.attribution_note {
        let _ = write!(out, "<li>Attributions: {}</li>", esc(note));
    }
    let _ = write!(out, "</ul><h2>Root cause</h2><ul>");
    for line in &facts.root_cause {
        let _ = write!(out, "<li>{}</li>", esc(line));
    }
    for line in &facts.recommendations {
        let _ = write!(out, "<li><b>{}</b></li>", esc(line));
    }
    let _ = write!(out, "</ul></section>");
}

/// A decision's inputs, context, exact attribution, why it changed and outcomes.
fn evidence(out: &mut String, entry: &crate::TimelineEntry) {
    if entry.inputs_erased {
        let _ = write!(
            out,
            "<br><i>Inputs erased (the subject's key was destroyed)</i>"
        );
    } else if !entry.inputs.is_empty() {
        let _ = write!(
            out,
            "<table class=\"inputs\"><tr><td><b>input</b></td><td>value</td><td>z</td></tr>"
        );
        for input in &entry.inputs {
            let z = input
                .z_score
                .map_or_else(String::new, |z| format!("{z:+.2}"));
            let flag = if input
                .z_score
                .is_some_and(|z| z.abs() >= crate::OUT_OF_DISTRIBUTION_Z)
            {
                " class=\"bad\""
            } else {
                ""
            };
            let _ = write!(
                out,
                "<tr{flag}><td>{}</td><td>{}</td><td>{z}</td></tr>",
                esc(&input.feature),
                super::InputValue(input.value)
            );
        }
        let _ = write!(out, "</table>");
    }
    if !entry.context.is_empty() {
        let context: Vec<String> = entry
            .context
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{}: {}", esc(name), esc(text)),
                other => format!("{}: {}", esc(name), esc(&other.to_string())),
            })
            .collect();
        let _ = write!(out, "<br>Context: {}", context.join(", "));
    }
    if let Some(attribution) = &entry.attribution {
        let largest = attribution
            .values
            .iter()
            .map(|(_, v)| v.abs())
            .fold(0.0f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let _ = write!(
            out,
            "<br>Exact attribution ({}, toward {}): base {:.4} + Σ = {:.4}<table>",
            esc(&attribution.method),
            esc(&attribution.output),
            attribution.base_value,
            attribution.prediction
        );
        for (name, value) in attribution.top(8) {
            let width = (value.abs() / largest * 200.0).round();
            let sign = if *value >= 0.0 { "pos" } else { "neg" };
            let _ = write!(
                out,
                "<tr><td>{}</td><td><span class=\"bar {sign}\" style=\"width:{width}px\"></span></td><td>{value:+.4}</td></tr>",
                esc(name)
            );
        }
        let _ = write!(out, "</table>");
    }
    if let Some(why) = &entry.why_changed {
        let shifts: Vec<String> = why
            .shifts
            .iter()
            .take(3)
            .map(|s| format!("{} {:+.3} → {:+.3}", esc(&s.feature), s.before, s.after))
            .collect();
        let _ = write!(
            out,
            "<br><b>Why it changed</b> (from {} #{}, toward {}): {}",
            esc(&why.from),
            why.from_sequence,
            esc(&why.output),
            shifts.join(", ")
        );
    }
    for outcome in &entry.outcomes {
        let _ = write!(out, "<br>Outcome: <b>{}</b>", esc(&outcome.label));
        if let Some(by) = &outcome.by {
            let _ = write!(out, " by {}", esc(by));
        }
        if let Some(action) = &outcome.override_action {
            let _ = write!(out, "; override: {}", esc(action));
        }
        if let Some(note) = &outcome.note {
            let _ = write!(out, "; {}", esc(note));
        }
    }
}

fn chart(
    out: &mut String,
    report: &IncidentReport,
    labels: &[&str],
    colour: &dyn Fn(&str) -> &'static str,
) {
    let (width, height, margin) = (900.0f64, 260.0f64, 40.0f64);
    let (from, to) = report.query.window();
    let t0 = report.query.time_ns as f64;
    let start_ms = (from as f64 - t0) / 1e6;
    let end_ms = ((to as f64 - t0) / 1e6).max(start_ms + 1.0);
    let x = |ms: f64| margin + (ms - start_ms) / (end_ms - start_ms) * (width - 2.0 * margin);
    let y = |c: f64| height - margin - c.clamp(0.0, 1.0) * (height - 2.0 * margin);
    let _ = write!(
        out,
        "<h2>Confidence over time</h2><svg id=\"timeline-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"confidence of each decision over time\">"
    );
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fafafa\"/>"
    );
    for level in [0.0, 0.5, 1.0] {
        let _ = write!(
            out,
            "<line x1=\"{margin}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{:.1}\" font-size=\"11\">{:.0}%</text>",
            width - margin,
            y(level) + 4.0,
            level * 100.0,
            y0 = y(level)
        );
    }
    let incident_x = x(0.0);
    let _ = write!(
        out,
        "<line x1=\"{incident_x:.1}\" x2=\"{incident_x:.1}\" y1=\"{margin}\" y2=\"{}\" stroke=\"#dc2626\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#dc2626\">T-0</text>",
        height - margin,
        incident_x + 3.0,
        margin - 6.0
    );
    let points: Vec<String> = report
        .timeline
        .iter()
        .map(|e| format!("{:.1},{:.1}", x(e.relative_ms), y(f64::from(e.confidence))))
        .collect();
    if !points.is_empty() {
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"#999\" stroke-width=\"1\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    for e in &report.timeline {
        let anomalous = report.anomalies_of(e.sequence).next().is_some();
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" fill=\"{}\" stroke=\"{}\"><title>{} {} {:.0}%</title></circle>",
            x(e.relative_ms),
            y(f64::from(e.confidence)),
            if anomalous { "4.5" } else { "3" },
            colour(&e.decision),
            if anomalous { "#dc2626" } else { "none" },
            relative(e.relative_ms),
            esc(&e.decision),
            e.confidence * 100.0
        );
    }
    let _ = write!(
        out,
        "<text x=\"{margin}\" y=\"{}\" font-size=\"11\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text></svg>",
        height - 10.0,
        relative(start_ms),
        width - margin,
        height - 10.0,
        relative(end_ms)
    );
    let _ = write!(out, "<p class=\"legend\">");
    for label in labels {
        let _ = write!(
            out,
            "<span><i class=\"dot\" style=\"background:{}\"></i> {}</span>",
            colour(label),
            esc(label)
        );
    }
    let _ = write!(out, "</p>");
}
