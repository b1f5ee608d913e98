//! The Kaizen report in three forms: text for a terminal, one JSON document, and a
//! self-contained HTML page. All three present the same [`KaizenAnalysis`].

use std::fmt::Write;

use super::KaizenAnalysis;
use super::decision::ReferenceRule;
use super::drift::DriftKind;
use super::outcomes::OutcomeCount;
use crate::error::Result;
use crate::render::html::esc;

/// The analysis as one JSON document (the [`KaizenAnalysis`] fields).
pub fn render_kaizen_json(analysis: &KaizenAnalysis) -> Result<String> {
    Ok(serde_json::to_string_pretty(analysis)?)
}

fn examples(indices: &[u64]) -> String {
    indices
        .iter()
        .map(|i| format!("#{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pairs<T: std::fmt::Display>(items: &[(String, T)]) -> String {
    items
        .iter()
        .map(|(name, v)| format!("{name} ({v})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn outcome_line(count: &OutcomeCount) -> String {
    match count.error_rate() {
        Some(rate) => format!(
            "{} labelled, {} judged, {} wrong ({:.1}%), {} overridden",
            count.labelled,
            count.judged,
            count.wrong,
            rate * 100.0,
            count.overridden
        ),
        None => format!(
            "{} labelled, none judged (no label names a class, no override)",
            count.labelled
        ),
    }
}

fn reference_words(analysis: &KaizenAnalysis) -> String {
    match analysis.reference_rule {
        ReferenceRule::BeforeWindow => format!(
            "{} decisions before the window",
            analysis.reference_decisions
        ),
        ReferenceRule::FirstHalf => format!(
            "the first {} decisions of the window (nothing precedes it; the current window is its second half)",
            analysis.reference_decisions
        ),
    }
}

fn kind_word(kind: DriftKind) -> &'static str {
    match kind {
        DriftKind::Input => "input",
        DriftKind::Attribution => "attribution",
        DriftKind::Confidence => "confidence",
    }
}

/// The analysis as text.
pub fn render_kaizen_text(analysis: &KaizenAnalysis) -> String {
    let mut out = String::new();
    let rule = "═".repeat(79);
    let _ = writeln!(out, "{rule}\nKAIZEN ANALYSIS: {}\n{rule}", analysis.log);
    if let Some(model) = &analysis.model {
        let _ = writeln!(out, "Model: {model}");
    }
    let _ = writeln!(
        out,
        "Current window: {} to {}: {} decisions, {} with readable inputs",
        analysis.window.0, analysis.window.1, analysis.current_decisions, analysis.with_inputs
    );
    let _ = writeln!(out, "Reference window: {}", reference_words(analysis));

    let summary = &analysis.cluster_summary;
    let _ = writeln!(
        out,
        "\nUNCERTAINTY CLUSTERS (confidence < {:.2}: {} decisions, {} with inputs)",
        analysis.settings.low_confidence, summary.low_confidence, summary.with_inputs
    );
    if let Some(note) = &summary.note {
        let _ = writeln!(out, "  {note}");
    } else {
        let _ = writeln!(
            out,
            "  k = {} ({})",
            summary.k,
            match summary.silhouette {
                Some(s) => format!(
                    "mean silhouette {s:.3}, the best of k = 2..{}",
                    analysis.settings.max_clusters
                ),
                None => format!(
                    "no k reached silhouette {:.2}: one group",
                    analysis.settings.min_silhouette
                ),
            }
        );
    }
    for c in &analysis.clusters {
        let _ = writeln!(
            out,
            "  #{}  {} decisions ({:.0}%), mean confidence {:.0}%",
            c.id,
            c.size,
            c.share * 100.0,
            c.mean_confidence * 100.0
        );
        let centre: Vec<String> = c
            .centre
            .iter()
            .map(|(f, v)| format!("{f} {v:.3}"))
            .collect();
        let _ = writeln!(out, "      centre: {}", centre.join(", "));
        let stands: Vec<String> = c
            .distinguishing
            .iter()
            .map(|(f, z)| format!("{f} (z {z:+.1})"))
            .collect();
        let _ = writeln!(out, "      stands out: {}", stands.join(", "));
        let _ = writeln!(out, "      decided: {}", pairs(&c.decisions));
        let _ = writeln!(out, "      alternatives: {}", pairs(&c.alternatives));
        if c.outcomes.labelled > 0 {
            let _ = writeln!(out, "      outcomes: {}", outcome_line(&c.outcomes));
        }
        let _ = writeln!(out, "      examples: {}", examples(&c.examples));
    }

    let _ = writeln!(out, "\nDRIFT (reference → current; PSI, two-sample KS)");
    if analysis.drift.is_empty() {
        let _ = writeln!(out, "  nothing measured");
    } else {
        let _ = writeln!(
            out,
            "  {:<12} {:<24} {:>8} {:>7} {:>10} {:>24}",
            "kind", "feature", "PSI", "KS D", "p-value", "mean ref → cur"
        );
        for d in &analysis.drift {
            let _ = writeln!(
                out,
                "  {:<12} {:<24} {:>8.4} {:>7.4} {:>10.2e} {:>24}{}",
                kind_word(d.kind),
                d.feature,
                d.psi,
                d.ks.statistic,
                d.ks.p_value,
                format!("{:.4} → {:.4}", d.reference_mean, d.current_mean),
                if d.drifted { "  DRIFTED" } else { "" }
            );
        }
    }

    let b = &analysis.boundary;
    let _ = writeln!(out, "\nDECISION BOUNDARY (margin ≤ {:.2})", b.margin);
    let _ = writeln!(
        out,
        "  near the boundary: {} of {} decisions with class probabilities; flips: {} ({:.1}% of consecutive pairs)",
        b.near_boundary,
        b.with_margin,
        b.flips,
        b.flip_rate * 100.0
    );
    for p in &b.pairs {
        let _ = writeln!(
            out,
            "  {} / {}: {} near, {} flips from {} to {}; examples {}",
            p.class,
            p.other,
            p.near,
            p.flips,
            p.other,
            p.class,
            examples(&p.examples)
        );
    }
    if !b.transitions.classes.is_empty() {
        let _ = writeln!(out, "  transitions (row: from, column: to):");
        let width = b
            .transitions
            .classes
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(4)
            .max(6);
        let mut header = format!("  {:width$}", "");
        for c in &b.transitions.classes {
            let _ = write!(header, " {c:>width$}");
        }
        let _ = writeln!(out, "{header}");
        for (c, row) in b.transitions.classes.iter().zip(&b.transitions.counts) {
            let mut line = format!("  {c:width$}");
            for n in row {
                let _ = write!(line, " {n:>width$}");
            }
            let _ = writeln!(out, "{line}");
        }
    }

    let o = &analysis.outcomes;
    let _ = writeln!(out, "\nOUTCOMES");
    if o.overall.labelled == 0 {
        let _ = writeln!(
            out,
            "  no outcome recorded for the window's decisions (whyline outcome LOG --index N --label L)"
        );
    } else {
        let _ = writeln!(out, "  overall: {}", outcome_line(&o.overall));
        let _ = writeln!(out, "  low confidence: {}", outcome_line(&o.low_confidence));
        let _ = writeln!(out, "  confident: {}", outcome_line(&o.confident));
        for c in analysis.clusters.iter().filter(|c| c.outcomes.labelled > 0) {
            let _ = writeln!(out, "  cluster #{}: {}", c.id, outcome_line(&c.outcomes));
        }
        if !o.unjudged_labels.is_empty() {
            let _ = writeln!(
                out,
                "  labels naming no class: {}",
                pairs(&o.unjudged_labels)
            );
        }
    }

    let _ = writeln!(out, "\nRECOMMENDATIONS");
    if analysis.recommendations.is_empty() {
        let _ = writeln!(
            out,
            "  none: no cluster, drift, boundary or outcome finding calls for retraining"
        );
    }
    for (i, r) in analysis.recommendations.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, r.action);
        let e = &r.evidence;
        let mut on = Vec::new();
        if let Some(c) = e.cluster {
            on.push(format!("cluster #{c}"));
        }
        on.push(format!("{} decisions", e.decisions));
        if !e.features.is_empty() {
            on.push(format!("features {}", e.features.join(", ")));
        }
        if !e.examples.is_empty() {
            on.push(format!("examples {}", examples(&e.examples)));
        }
        let _ = writeln!(out, "     evidence: {}", on.join("; "));
        for fact in &e.facts {
            let _ = writeln!(out, "     • {fact}");
        }
    }
    if !analysis.notes.is_empty() {
        let _ = writeln!(out, "\nNOTES");
        for note in &analysis.notes {
            let _ = writeln!(out, "  • {note}");
        }
    }
    out
}

/// The analysis as one self-contained HTML page.
pub fn render_kaizen_html(analysis: &KaizenAnalysis) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Kaizen analysis {}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:72rem}}\
         .meta{{color:#555}} .bad{{color:#b91c1c;font-weight:600}}\
         .card{{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.5rem 0}}\
         table{{border-collapse:collapse}} td,th{{padding:2px 10px 2px 0;font-size:.9rem;text-align:left}}\
         td.n{{text-align:right}}</style></head><body>",
        esc(&analysis.log)
    );
    let _ = write!(
        out,
        "<h1>Kaizen analysis</h1><p class=\"meta\">{}",
        esc(&analysis.log)
    );
    if let Some(model) = &analysis.model {
        let _ = write!(out, "<br>Model: {}", esc(&model.to_string()));
    }
    let _ = write!(
        out,
        "<br>Current window: {} to {}: {} decisions, {} with readable inputs<br>Reference window: {}</p>",
        esc(&analysis.window.0),
        esc(&analysis.window.1),
        analysis.current_decisions,
        analysis.with_inputs,
        esc(&reference_words(analysis))
    );
    let _ = write!(out, "<h2>Recommendations</h2>");
    if analysis.recommendations.is_empty() {
        let _ = write!(out, "<p>None.</p>");
    }
    for r in &analysis.recommendations {
        let _ = write!(out, "<div class=\"card\"><b>{}</b><ul>", esc(&r.action));
        for fact in &r.evidence.facts {
            let _ = write!(out, "<li>{}</li>", esc(fact));
        }
        let _ = write!(
            out,
            "<li>{} decisions; examples {}</li></ul></div>",
            r.evidence.decisions,
            esc(&examples(&r.evidence.examples))
        );
    }
    let summary = &analysis.cluster_summary;
    let _ = write!(
        out,
        "<h2>Uncertainty clusters</h2><p>confidence &lt; {:.2}: {} decisions, {} with inputs; k = {}</p>",
        analysis.settings.low_confidence, summary.low_confidence, summary.with_inputs, summary.k
    );
    if let Some(note) = &summary.note {
        let _ = write!(out, "<p>{}</p>", esc(note));
    }
    for c in &analysis.clusters {
        let centre: Vec<String> = c
            .centre
            .iter()
            .map(|(f, v)| format!("{f} {v:.3}"))
            .collect();
        let _ = write!(
            out,
            "<div class=\"card\"><b>#{} — {} decisions ({:.0}%), mean confidence {:.0}%</b><br>\
             centre: {}<br>decided: {}<br>alternatives: {}<br>examples: {}</div>",
            c.id,
            c.size,
            c.share * 100.0,
            c.mean_confidence * 100.0,
            esc(&centre.join(", ")),
            esc(&pairs(&c.decisions)),
            esc(&pairs(&c.alternatives)),
            esc(&examples(&c.examples))
        );
    }
    let _ = write!(
        out,
        "<h2>Drift</h2><table><tr><th>kind</th><th>feature</th><th>PSI</th><th>KS D</th><th>p-value</th><th>mean ref → cur</th><th></th></tr>"
    );
    for d in &analysis.drift {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.2e}</td><td>{:.4} → {:.4}</td><td>{}</td></tr>",
            kind_word(d.kind),
            esc(&d.feature),
            d.psi,
            d.ks.statistic,
            d.ks.p_value,
            d.reference_mean,
            d.current_mean,
            if d.drifted {
                "<span class=\"bad\">drifted</span>"
            } else {
                ""
            }
        );
    }
    let _ = write!(out, "</table>");
    let b = &analysis.boundary;
    let _ = write!(
        out,
        "<h2>Decision boundary</h2><p>{} of {} decisions within {:.2} of the runner-up; {} flips ({:.1}%)</p><table><tr><th>from \\ to</th>",
        b.near_boundary,
        b.with_margin,
        b.margin,
        b.flips,
        b.flip_rate * 100.0
    );
    for c in &b.transitions.classes {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    let _ = write!(out, "</tr>");
    for (c, row) in b.transitions.classes.iter().zip(&b.transitions.counts) {
        let _ = write!(out, "<tr><th>{}</th>", esc(c));
        for n in row {
            let _ = write!(out, "<td class=\"n\">{n}</td>");
        }
        let _ = write!(out, "</tr>");
    }
    let _ = write!(
        out,
        "</table><h2>Outcomes</h2><p>{}</p>",
        esc(&outcome_line(&analysis.outcomes.overall))
    );
    if !analysis.notes.is_empty() {
        let _ = write!(out, "<h2>Notes</h2><ul>");
        for note in &analysis.notes {
            let _ = write!(out, "<li>{}</li>", esc(note));
        }
        let _ = write!(out, "</ul>");
    }
    let _ = writeln!(out, "</body></html>");
    out
}
