//! The text report, laid out like the seed specification's "INCIDENT INVESTIGATION REPORT".
//! Runs of identical, unremarkable decisions are folded into one line so a 30-second window at
//! 30 Hz stays readable.

use std::fmt::Write as _;

use super::{InputValue, relative};
use crate::report::{IncidentReport, Integrity};
use crate::time::{format_time_ns, relative_ms};
use crate::timeline::TimelineEntry;

const HEAVY: &str =
    "═══════════════════════════════════════════════════════════════════════════════";
const LIGHT: &str =
    "───────────────────────────────────────────────────────────────────────────────";

/// Renders the report as text.
pub fn render_text(report: &IncidentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{HEAVY}");
    let _ = writeln!(
        out,
        "                         INCIDENT INVESTIGATION REPORT"
    );
    let _ = writeln!(
        out,
        "                         Timestamp: {}",
        format_time_ns(report.query.time_ns)
    );
    let _ = writeln!(out, "                         Log: {}", report.log);
    if let Some(model) = &report.model {
        let _ = writeln!(out, "                         Model: {model}");
    }
    let _ = writeln!(out, "{HEAVY}");
    let _ = writeln!(out);
    match &report.integrity {
        Integrity::Verified {
            entries,
            checkpoints,
            signatures_checked,
            root,
            crash_residue_bytes,
        } => {
            let signed = if *signatures_checked {
                ", signatures verified"
            } else {
                ", signatures not checked (no public key)"
            };
            let _ = writeln!(
                out,
                "CHAIN INTEGRITY: ✓ VERIFIED ({entries} entries, no breaks; {checkpoints} checkpoints{signed})"
            );
            let _ = writeln!(out, "                 Merkle root {root}");
            if *crash_residue_bytes > 0 {
                let _ = writeln!(
                    out,
                    "                 A crash cut the last append short: {crash_residue_bytes} bytes past entry {}, covered by no receipt or checkpoint (`whyline recover` removes them).",
                    entries.saturating_sub(1)
                );
            }
        }
        Integrity::Broken {
            index,
            offset,
            kind,
            torn_tail,
            message,
        } => {
            let _ = writeln!(
                out,
                "CHAIN INTEGRITY: ✗ BROKEN at entry {index} (byte {offset}): {kind}"
            );
            let _ = writeln!(out, "                 {message}");
            let consequence = if *torn_tail {
                "The log ends inside an entry (a crash mid-write); the entries before it verified."
            } else {
                "Decisions after this point cannot be trusted."
            };
            let _ = writeln!(out, "                 {consequence}");
        }
    }
    let _ = writeln!(
        out,
        "WINDOW COMPLETENESS: {}",
        report.completeness.summary()
    );
    let _ = writeln!(out);
    let (from, to) = report.query.window();
    let _ = writeln!(
        out,
        "WINDOW: {} .. {}: {} decisions, {} anomalies",
        relative(relative_ms(from, report.query.time_ns)),
        relative(relative_ms(to, report.query.time_ns)),
        report.timeline.len(),
        report.anomalies.len()
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "DECISION TIMELINE (T-0 = incident):");
    let _ = writeln!(out, "{LIGHT}");
    let timeline = &report.timeline;
    // The decision in force at T-0 is the one under investigation: always shown whole, with
    // its inputs and context (a drone's margins at a near-miss), never folded into a run.
    let at_incident = timeline.iter().rposition(|e| e.relative_ms <= 0.0);
    let mut i = 0;
    while i < timeline.len() {
        let entry = &timeline[i];
        let key = if Some(i) == at_incident {
            None
        } else {
            run_key(report, entry)
        };
        // Fold a run of the same decision with the same standing anomalies (none, or low
        // confidence); events (changes, drops, spikes) always get their own entry.
        let mut j = i;
        while let Some(k) = key.as_ref() {
            match timeline.get(j + 1) {
                Some(next)
                    if Some(j + 1) != at_incident
                        && next.decision == entry.decision
                        && run_key(report, next).as_ref() == Some(k) =>
                {
                    j += 1
                }
                _ => break,
            }
        }
        if j > i {
            let run = &timeline[i..=j];
            let low = run
                .iter()
                .map(|e| e.confidence)
                .fold(f32::INFINITY, f32::min);
            let high = run
                .iter()
                .map(|e| e.confidence)
                .fold(f32::NEG_INFINITY, f32::max);
            let flag = match key.as_deref() {
                Some("") | None => String::new(),
                Some(kinds) => format!(" ⚠ {kinds}"),
            };
            let _ = writeln!(
                out,
                "{} .. {} │ DECISION: {} ×{} (confidence {:.0}–{:.0}%){flag}",
                relative(run[0].relative_ms),
                relative(run[run.len() - 1].relative_ms),
                entry.decision,
                run.len(),
                low * 100.0,
                high * 100.0
            );
            let _ = writeln!(out);
            i = j + 1;
            continue;
        }
        write_entry(&mut out, report, entry);
        i += 1;
    }
    let _ = writeln!(out, "{LIGHT}");
    let _ = writeln!(out);
    let _ = writeln!(out, "ANALYSIS:");
    for line in analysis(report) {
        let _ = writeln!(out, "  • {line}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "ROOT CAUSE:");
    for line in report
        .analysis
        .root_cause
        .iter()
        .chain(&report.analysis.recommendations)
    {
        let _ = writeln!(out, "  • {line}");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{HEAVY}");
    out
}

/// What a decision's anomalies allow: `Some("")` for none, the standing conditions (low
/// confidence, an input out of distribution on a named feature) when that is all, `None` when
/// it has an event that must stand alone (a flip, a drop, a spike, another alert).
fn run_key(report: &IncidentReport, entry: &TimelineEntry) -> Option<String> {
    let mut standing: Vec<String> = Vec::new();
    for anomaly in report.anomalies_of(entry.sequence) {
        let condition = match &anomaly.kind {
            crate::AnomalyKind::LowConfidence { .. } => "low confidence".to_owned(),
            crate::AnomalyKind::OutOfDistribution { feature, .. } => {
                format!("{feature} out of distribution")
            }
            _ => return None,
        };
        if !standing.contains(&condition) {
            standing.push(condition);
        }
    }
    standing.sort();
    Some(standing.join(", "))
}

fn write_entry(out: &mut String, report: &IncidentReport, entry: &TimelineEntry) {
    let anomalies: Vec<_> = report.anomalies_of(entry.sequence).collect();
    let flag = if anomalies.is_empty() {
        ""
    } else {
        " ⚠ ANOMALY"
    };
    let pad = " ".repeat(relative(entry.relative_ms).chars().count());
    let _ = writeln!(
        out,
        "{} │ DECISION: {}{flag}  [#{}]",
        relative(entry.relative_ms),
        entry.decision,
        entry.sequence
    );
    let _ = writeln!(out, "{pad} │ Confidence: {:.0}%", entry.confidence * 100.0);
    if !entry.alternatives.is_empty() {
        let alternatives: Vec<String> = entry
            .alternatives
            .iter()
            .take(3)
            .map(|(name, p)| format!("{name} ({:.0}%)", p * 100.0))
            .collect();
        let _ = writeln!(out, "{pad} │ Alternatives: {}", alternatives.join(", "));
    }
    let _ = writeln!(out, "{pad} │ Rationale: {}", entry.rationale);
    write_evidence(out, &pad, entry);
    let _ = writeln!(out, "{pad} │ Latency: {} µs", entry.latency_us);
    for anomaly in anomalies {
        let _ = writeln!(out, "{pad} │ ⚠ ANOMALY: {}", anomaly.kind);
    }
    let _ = writeln!(out);
}

/// What the model saw, its exact attribution, why it changed, outcomes.
fn write_evidence(out: &mut String, pad: &str, entry: &TimelineEntry) {
    if entry.inputs_erased {
        let _ = writeln!(
            out,
            "{pad} │ Inputs: erased (the subject's key was destroyed)"
        );
    } else if !entry.inputs.is_empty() {
        let inputs: Vec<String> = entry
            .inputs
            .iter()
            .map(|i| match i.z_score {
                Some(z) if z.abs() >= crate::OUT_OF_DISTRIBUTION_Z => {
                    format!("{}={} (z {z:+.1} ⚠)", i.feature, InputValue(i.value))
                }
                Some(z) => format!("{}={} (z {z:+.1})", i.feature, InputValue(i.value)),
                None => format!("{}={}", i.feature, InputValue(i.value)),
            })
            .collect();
        let _ = writeln!(out, "{pad} │ Inputs: {}", inputs.join(", "));
    }
    if !entry.context.is_empty() {
        let context: Vec<String> = entry
            .context
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{name}: {text}"),
                other => format!("{name}: {other}"),
            })
            .collect();
        let _ = writeln!(out, "{pad} │ Context: {}", context.join(", "));
    }
    if let Some(attribution) = &entry.attribution {
        let top: Vec<String> = attribution
            .top(5)
            .iter()
            .map(|(name, v)| format!("{name} {v:+.3}"))
            .collect();
        let _ = writeln!(
            out,
            "{pad} │ Attribution ({}, toward {}): base {:.3} + Σ = {:.3}: {}",
            attribution.method,
            attribution.output,
            attribution.base_value,
            attribution.prediction,
            top.join(", ")
        );
    }
    if let Some(why) = &entry.why_changed {
        let shifts: Vec<String> = why
            .shifts
            .iter()
            .take(3)
            .map(|s| format!("{} {:+.3} → {:+.3}", s.feature, s.before, s.after))
            .collect();
        let _ = writeln!(
            out,
            "{pad} │ Why it changed (from {} #{}, toward {}): {}",
            why.from,
            why.from_sequence,
            why.output,
            shifts.join(", ")
        );
    }
    for outcome in &entry.outcomes {
        let mut line = format!("{pad} │ Outcome: {}", outcome.label);
        if let Some(by) = &outcome.by {
            let _ = write!(line, " (by {by})");
        }
        if let Some(action) = &outcome.override_action {
            let _ = write!(line, "; OVERRIDE: {action}");
        }
        if let Some(note) = &outcome.note {
            let _ = write!(line, "; {note}");
        }
        let _ = writeln!(out, "{line}");
    }
}

fn analysis(report: &IncidentReport) -> Vec<String> {
    let mut lines = Vec::new();
    let timeline = &report.timeline;
    if timeline.is_empty() {
        lines.push("No decision in the window.".to_owned());
        return lines;
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for e in timeline {
        match counts.iter_mut().find(|(d, _)| *d == e.decision) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.decision.clone(), 1)),
        }
    }
    let counted: Vec<String> = counts.iter().map(|(d, n)| format!("{d} ×{n}")).collect();
    lines.push(format!("Decisions in the window: {}", counted.join(", ")));
    let mean = timeline
        .iter()
        .map(|e| f64::from(e.confidence))
        .sum::<f64>()
        / timeline.len() as f64;
    let (min_at, min) = timeline.iter().map(|e| (e.relative_ms, e.confidence)).fold(
        (0.0, f32::INFINITY),
        |best, x| if x.1 < best.1 { x } else { best },
    );
    lines.push(format!(
        "Confidence: mean {:.0}%, lowest {:.0}% at {}",
        mean * 100.0,
        min * 100.0,
        relative(min_at)
    ));
    if let Some(first) = report.anomalies.first() {
        lines.push(format!(
            "First anomaly at {}: {}",
            relative(first.relative_ms),
            first.kind
        ));
    }
    let flips: Vec<String> = report
        .anomalies
        .iter()
        .filter_map(|a| match &a.kind {
            crate::AnomalyKind::ClassFlip { from, to } => {
                Some(format!("{} {from} → {to}", relative(a.relative_ms)))
            }
            _ => None,
        })
        .collect();
    if !flips.is_empty() {
        lines.push(format!("Decision changes: {}", flips.join("; ")));
    }
    if let Some(last) = timeline.iter().rev().find(|e| e.relative_ms <= 0.0) {
        lines.push(format!(
            "Last decision before the incident: {} at {} ({:.0}% confident)",
            last.decision,
            relative(last.relative_ms),
            last.confidence * 100.0
        ));
    }
    let facts = &report.analysis;
    if let (Some(delay), Some((_, from, to))) = (facts.anomaly_to_change_ms, &facts.first_change) {
        lines.push(format!(
            "Time from the first anomaly to the change {from} → {to}: {delay:.0} ms"
        ));
    }
    let flagged: Vec<String> = facts
        .out_of_distribution
        .iter()
        .map(|o| {
            let range = if o.outside_range {
                ", outside the training range"
            } else {
                ""
            };
            format!(
                "{} (z {:+.1}{range}, from {})",
                o.feature,
                o.worst_z,
                relative(o.first_relative_ms)
            )
        })
        .collect();
    match report.z_score_basis {
        Some(basis) => {
            let against = match basis {
                crate::ZScoreBasis::Training => "training statistics",
                crate::ZScoreBasis::Window => {
                    "the window's own mean and spread (no training statistics)"
                }
            };
            if flagged.is_empty() {
                lines.push(format!(
                    "No input out of distribution (|z| < {} against {against}, and no alert of the monitor)",
                    crate::OUT_OF_DISTRIBUTION_Z
                ));
            } else {
                lines.push(format!(
                    "Inputs out of distribution against {against}: {}",
                    flagged.join(", ")
                ));
            }
        }
        None => {
            lines.push("Inputs not available: the report cannot say what the model saw".to_owned());
            if !flagged.is_empty() {
                lines.push(format!(
                    "The monitor flagged inputs out of distribution: {}",
                    flagged.join(", ")
                ));
            }
        }
    }
    if let Some(note) = &report.attribution_note {
        lines.push(format!("Attributions: {note}"));
    }
    if facts.outcomes.is_empty() {
        lines.push("No outcome or override recorded for these decisions".to_owned());
    }
    for line in facts.outcomes.iter().chain(&facts.overrides) {
        lines.push(line.clone());
    }
    if !report.integrity.is_verified() {
        lines.push("The log failed verification: treat every decision after the first bad entry as unproven.".to_owned());
    }
    lines
}
