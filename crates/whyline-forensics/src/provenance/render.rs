//! An attack path as text, JSON, Graphviz DOT and HTML.

use std::fmt::Write as _;

use whyline_core::provenance::{NodeDetail, NodeId};

use super::AttackPath;
use super::PathNode;
use crate::error::Result;
use crate::render::html::esc;
use crate::time::format_time_ns;

fn describe(node: &PathNode) -> String {
    match &node.node.detail {
        NodeDetail::Input { source, input_hash } => {
            format!("input {source} (digest {input_hash:#018x})")
        }
        NodeDetail::Transform { operation } => format!("transform {operation}"),
        NodeDetail::Inference { decision_index, .. } => {
            let facts = node
                .decision
                .as_ref()
                .map(|d| format!(", output {:.3}, confidence {:.2}", d.output, d.confidence))
                .unwrap_or_default();
            format!(
                "inference {} -> decision {decision_index}{facts}",
                node.node.detail.label()
            )
        }
        NodeDetail::Fusion { strategy } => format!("fusion {strategy}"),
        NodeDetail::Action {
            action_type,
            confidence,
            alternatives,
        } => {
            let mut text = format!("action {action_type} (confidence {confidence:.2}");
            if !alternatives.is_empty() {
                text.push_str("; alternatives ");
                let listed: Vec<String> = alternatives
                    .iter()
                    .map(|(name, score)| format!("{name} {score:.2}"))
                    .collect();
                text.push_str(&listed.join(", "));
            }
            text.push(')');
            text
        }
    }
}

fn seconds(ns: u64) -> String {
    format!("{:.6} s", ns as f64 / 1e9)
}

/// The path for people: the span, the chain in causal order with anomalies marked, the
/// edges and the root causes.
pub fn render_text(path: &AttackPath) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Provenance of node {} ({} nodes, {} edges, depth <= {}{})",
        path.incident,
        path.nodes.len(),
        path.edges.len(),
        path.max_depth,
        if path.truncated {
            "; cut at the depth limit, --depth N shows more"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "Time span: {} .. {} ({})",
        format_time_ns(path.start_ns),
        format_time_ns(path.end_ns),
        seconds(path.duration_ns)
    );
    let _ = writeln!(out, "\nCausal order (root causes first):");
    for node in &path.nodes {
        let mark = if path.anomalies.iter().any(|a| a.node == node.id) {
            "!"
        } else {
            " "
        };
        let root = if path.root_causes.contains(&node.id) {
            "  [root cause]"
        } else if node.id == path.incident {
            "  [incident]"
        } else {
            ""
        };
        // The id's number: `NodeId`'s `Display` ignores a width, and the column is aligned.
        let _ = writeln!(
            out,
            "{mark} {:>6}  +{}  {}{root}",
            node.id.0,
            seconds(node.node.timestamp_ns.saturating_sub(path.start_ns)),
            describe(node)
        );
    }
    let _ = writeln!(out, "\nEdges:");
    for edge in &path.edges {
        let _ = writeln!(out, "  {} -> {}  {}", edge.from, edge.to, edge.kind);
    }
    if path.anomalies.is_empty() {
        let _ = writeln!(out, "\nAnomalies: none");
    } else {
        let _ = writeln!(out, "\nAnomalies ({}):", path.anomalies.len());
        for anomaly in &path.anomalies {
            let _ = writeln!(out, "  ! node {}: {}", anomaly.node, anomaly.message);
        }
    }
    let roots: Vec<String> = path.root_causes.iter().map(NodeId::to_string).collect();
    let _ = writeln!(out, "\nRoot causes: {}", roots.join(", "));
    out
}

/// The path as one JSON document (the [`AttackPath`] fields).
pub fn render_json(path: &AttackPath) -> Result<String> {
    Ok(serde_json::to_string_pretty(path)?)
}

/// Escapes text for a DOT double-quoted string.
fn dot_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The path as a Graphviz DOT digraph (`dot -Tsvg`): one node per path node, labelled with
/// its kind and description, anomalies in red, the incident doubled, root causes filled.
pub fn render_dot(path: &AttackPath) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph provenance {{");
    let _ = writeln!(out, "  rankdir=LR;");
    let _ = writeln!(
        out,
        "  node [shape=box, style=rounded, fontname=\"Helvetica\"];"
    );
    for node in &path.nodes {
        let anomalies: Vec<&str> = path
            .anomalies
            .iter()
            .filter(|a| a.node == node.id)
            .map(|a| a.message.as_str())
            .collect();
        let mut label = format!("#{} {}\n{}", node.id, node.node.kind(), describe(node));
        for message in &anomalies {
            label.push_str("\n! ");
            label.push_str(message);
        }
        let mut attrs = vec![format!("label={}", dot_string(&label))];
        if !anomalies.is_empty() {
            attrs.push("color=red".into());
            attrs.push("fontcolor=red".into());
        }
        if node.id == path.incident {
            attrs.push("peripheries=2".into());
        }
        if path.root_causes.contains(&node.id) {
            attrs.push("style=\"rounded,filled\"".into());
            attrs.push("fillcolor=\"#eef2ff\"".into());
        }
        let _ = writeln!(out, "  n{} [{}];", node.id, attrs.join(", "));
    }
    for edge in &path.edges {
        let _ = writeln!(
            out,
            "  n{} -> n{} [label={}];",
            edge.from,
            edge.to,
            dot_string(edge.kind.name())
        );
    }
    let _ = writeln!(out, "}}");
    out
}

/// The chain as an HTML `<section>` (for embedding in another page, such as the incident
/// report): one card per node in causal order, anomalies marked.
pub fn render_html_section(path: &AttackPath) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section class=\"provenance\"><h2>Provenance of node {}</h2>\
         <p class=\"meta\">{} nodes, {} edges · {} .. {} ({})</p><ol>",
        path.incident,
        path.nodes.len(),
        path.edges.len(),
        esc(&format_time_ns(path.start_ns)),
        esc(&format_time_ns(path.end_ns)),
        esc(&seconds(path.duration_ns))
    );
    for node in &path.nodes {
        let anomalies: Vec<&str> = path
            .anomalies
            .iter()
            .filter(|a| a.node == node.id)
            .map(|a| a.message.as_str())
            .collect();
        let class = if anomalies.is_empty() {
            "card"
        } else {
            "card anomaly"
        };
        let causes: Vec<String> = path
            .edges
            .iter()
            .filter(|e| e.to == node.id)
            .map(|e| format!("{} from #{}", e.kind, e.from))
            .collect();
        let _ = write!(
            out,
            "<li class=\"{class}\" id=\"node-{}\"><strong>#{} {}</strong> {}",
            node.id,
            node.id,
            esc(node.node.kind().name()),
            esc(&describe(node))
        );
        if !causes.is_empty() {
            let _ = write!(out, "<br><small>{}</small>", esc(&causes.join(", ")));
        }
        for message in anomalies {
            let _ = write!(out, "<br><span class=\"bad\">! {}</span>", esc(message));
        }
        out.push_str("</li>");
    }
    out.push_str("</ol></section>");
    out
}

/// The path as a self-contained HTML page.
pub fn render_html(path: &AttackPath) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Provenance of node {}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2rem;color:#111;max-width:72rem}}\
         .meta{{color:#555}} .bad{{color:#b91c1c;font-weight:600}}\
         .card{{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;margin:.5rem 0}}\
         .card.anomaly{{border-color:#dc2626;background:#fef2f2}}\
         </style></head><body>{}</body></html>\n",
        path.incident,
        render_html_section(path)
    )
}
