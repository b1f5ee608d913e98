//! The report's summary: what the model saw attached to each decision (inputs by name with
//! z-scores, context, exact attributions, why a decision changed, outcomes), then the
//! ANALYSIS and ROOT CAUSE of the seed specification's example report, built only from what
//! the window holds, so every sentence names the facts it stands on.

use std::collections::HashSet;

use serde::Serialize;
use whyline_core::Names;

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::inputs::{AttributionShift, DecisionEvidence, InputValue, WhyChanged, ZScoreBasis};
use crate::render::relative;
use crate::report::Integrity;
use crate::timeline::TimelineEntry;

/// An input is out of distribution from this |z| on.
pub const OUT_OF_DISTRIBUTION_Z: f64 = 3.0;

/// A feature that was out of distribution in the window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutOfDistribution {
    /// The feature.
    pub feature: String,
    /// When it first was, milliseconds relative to the incident.
    pub first_relative_ms: f64,
    /// In how many decisions.
    pub decisions: usize,
    /// Its largest |z| (signed).
    pub worst_z: f64,
    /// Its value there.
    pub worst_value: f64,
    /// The monitor found it outside the training range `[min, max]` (an Andon alert in the
    /// log), whatever its |z|.
    pub outside_range: bool,
}

/// The ANALYSIS and ROOT CAUSE of a report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Analysis {
    /// When the first anomaly appeared (ms relative to the incident) and what it was.
    pub first_anomaly: Option<(f64, String)>,
    /// The first change of decision: when, from what to what.
    pub first_change: Option<(f64, String, String)>,
    /// Milliseconds from the first anomaly to the first change after it.
    pub anomaly_to_change_ms: Option<f64>,
    /// Inputs out of distribution (|z| ≥ 3), most extreme first.
    pub out_of_distribution: Vec<OutOfDistribution>,
    /// Outcomes recorded for the window's decisions, one line each.
    pub outcomes: Vec<String>,
    /// Human overrides, one line each.
    pub overrides: Vec<String>,
    /// The facts that explain the incident.
    pub root_cause: Vec<String>,
    /// What to do, each grounded in a fact above.
    pub recommendations: Vec<String>,
}

/// Attaches each decision's inputs, context, attribution, why-changed and outcomes (keys:
/// the decisions' log indices when `from_log`, else their sequence numbers); returns what
/// the z-scores were measured against, `None` when no inputs were given.
pub(crate) fn attach_evidence(
    timeline: &mut [TimelineEntry],
    keys: &[u64],
    from_log: bool,
    evidence: &DecisionEvidence,
    names: &Names,
) -> Option<ZScoreBasis> {
    let rows: Vec<&Vec<f64>> = keys
        .iter()
        .filter_map(|k| evidence.inputs.get(k))
        .filter(|i| !i.erased && !i.values.is_empty())
        .map(|i| &i.values)
        .collect();
    let width = rows.first().map(|r| r.len());
    let (basis, mean, std) = match (&evidence.training, width) {
        (Some((mean, std)), Some(w)) if mean.len() == w && std.len() == w => {
            (Some(ZScoreBasis::Training), mean.clone(), std.clone())
        }
        (_, Some(w)) => {
            let (mean, std) = window_statistics(&rows, w);
            (Some(ZScoreBasis::Window), mean, std)
        }
        (_, None) => (
            evidence.inputs.values().next().map(|_| ZScoreBasis::Window),
            Vec::new(),
            Vec::new(),
        ),
    };
    for (position, key) in keys.iter().enumerate() {
        let Some(entry) = timeline.get_mut(position) else {
            continue;
        };
        if from_log {
            entry.index = Some(*key);
        }
        if let Some(inputs) = evidence.inputs.get(key) {
            entry.inputs_erased = inputs.erased;
            entry.context = inputs.context.clone();
            entry.inputs = inputs
                .values
                .iter()
                .enumerate()
                .map(|(j, &value)| InputValue {
                    feature: feature_name(names, j),
                    value,
                    z_score: match (mean.get(j), std.get(j)) {
                        (Some(m), Some(s)) if *s > 0.0 => Some((value - m) / s),
                        _ => None,
                    },
                })
                .collect();
        }
        entry.attribution = evidence.attributions.get(key).cloned();
        entry.outcomes = evidence
            .outcomes
            .iter()
            .filter(|o| o.index == *key)
            .cloned()
            .collect();
    }
    for position in 1..timeline.len() {
        let (Some(key), Some(previous)) = (keys.get(position), timeline.get(position - 1)) else {
            continue;
        };
        let (from, from_sequence) = (previous.decision.clone(), previous.sequence);
        let (Some(before), Some(entry)) = (
            evidence.previous_toward.get(key),
            timeline.get_mut(position),
        ) else {
            continue;
        };
        let Some(after) = &entry.attribution else {
            continue;
        };
        let mut shifts: Vec<AttributionShift> = after
            .values
            .iter()
            .zip(&before.values)
            .map(|((feature, now), (_, then))| AttributionShift {
                feature: feature.clone(),
                before: *then,
                after: *now,
                change: now - then,
            })
            .collect();
        shifts.sort_by(|a, b| b.change.abs().total_cmp(&a.change.abs()));
        shifts.truncate(5);
        entry.why_changed = Some(WhyChanged {
            from,
            from_sequence,
            output: after.output.clone(),
            shifts,
        });
    }
    basis
}

fn feature_name(names: &Names, index: usize) -> String {
    names
        .features
        .get(index)
        .cloned()
        .unwrap_or_else(|| format!("feature[{index}]"))
}

/// Mean and population standard deviation per feature over `rows`.
fn window_statistics(rows: &[&Vec<f64>], width: usize) -> (Vec<f64>, Vec<f64>) {
    let n = rows.len().max(1) as f64;
    let mean: Vec<f64> = (0..width)
        .map(|j| rows.iter().filter_map(|r| r.get(j)).sum::<f64>() / n)
        .collect();
    let std = (0..width)
        .map(|j| {
            let m = mean.get(j).copied().unwrap_or(0.0);
            let var = rows
                .iter()
                .filter_map(|r| r.get(j))
                .map(|v| (v - m) * (v - m))
                .sum::<f64>()
                / n;
            var.sqrt()
        })
        .collect();
    (mean, std)
}

/// The ANALYSIS and ROOT CAUSE of a timeline (in time order) and its anomalies.
pub(crate) fn analyse(
    timeline: &[TimelineEntry],
    anomalies: &[Anomaly],
    basis: Option<ZScoreBasis>,
    integrity: &Integrity,
) -> Analysis {
    let mut analysis = Analysis {
        out_of_distribution: out_of_distribution(timeline, anomalies),
        ..Analysis::default()
    };
    // The first anomaly: the earliest of the anomaly rules' findings and the first input
    // out of distribution.
    let first_rule = anomalies
        .first()
        .map(|a| (a.relative_ms, a.kind.to_string()));
    let first_input = analysis
        .out_of_distribution
        .iter()
        .min_by(|a, b| a.first_relative_ms.total_cmp(&b.first_relative_ms))
        .map(|o| {
            (
                o.first_relative_ms,
                format!("{} out of distribution", o.feature),
            )
        });
    analysis.first_anomaly = match (first_rule, first_input) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    };
    analysis.first_change = anomalies.iter().find_map(|a| match &a.kind {
        AnomalyKind::ClassFlip { from, to } => Some((a.relative_ms, from.clone(), to.clone())),
        _ => None,
    });
    if let (Some((anomaly_at, _)), Some((change_at, _, _))) =
        (&analysis.first_anomaly, &analysis.first_change)
        && change_at >= anomaly_at
    {
        analysis.anomaly_to_change_ms = Some(change_at - anomaly_at);
    }
    for entry in timeline {
        for outcome in &entry.outcomes {
            let by = outcome
                .by
                .as_deref()
                .map_or_else(String::new, |b| format!(" by {b}"));
            let note = outcome
                .note
                .as_deref()
                .map_or_else(String::new, |n| format!(" ({n})"));
            analysis.outcomes.push(format!(
                "#{} at {} decided {}: outcome {}{by}{note}",
                entry.sequence,
                relative(entry.relative_ms),
                entry.decision,
                outcome.label
            ));
            if let Some(action) = &outcome.override_action {
                analysis.overrides.push(format!(
                    "#{} at {}: {} overrode {} with {action}",
                    entry.sequence,
                    relative(entry.relative_ms),
                    outcome.by.as_deref().unwrap_or("a human"),
                    entry.decision
                ));
            }
        }
    }
    root_cause(&mut analysis, anomalies, timeline, basis, integrity);
    analysis
}

/// The features out of distribution in the window, worst |z| first: an input whose |z| is
/// at least [`OUT_OF_DISTRIBUTION_Z`], and every feature the monitor's Andon flagged (an
/// out-of-distribution alert in the log, which also fires for a value outside the training
/// range at a smaller |z|). A decision counts once per feature, however it was found.
fn out_of_distribution(
    timeline: &[TimelineEntry],
    anomalies: &[Anomaly],
) -> Vec<OutOfDistribution> {
    // Per feature, the decisions counted (a set: a window may hold millions of decisions).
    let mut found: Vec<(OutOfDistribution, HashSet<u64>)> = Vec::new();
    let mut note = |feature: &str, sequence: u64, at: f64, z: f64, value: f64, outside: bool| {
        let index = match found.iter().position(|(o, _)| o.feature == feature) {
            Some(index) => index,
            None => {
                found.push((
                    OutOfDistribution {
                        feature: feature.to_owned(),
                        first_relative_ms: at,
                        decisions: 0,
                        worst_z: z,
                        worst_value: value,
                        outside_range: false,
                    },
                    HashSet::new(),
                ));
                found.len() - 1
            }
        };
        if let Some((o, sequences)) = found.get_mut(index) {
            if sequences.insert(sequence) {
                o.decisions += 1;
            }
            if at < o.first_relative_ms {
                o.first_relative_ms = at;
            }
            if z.abs() > o.worst_z.abs() {
                o.worst_z = z;
                o.worst_value = value;
            }
            o.outside_range |= outside;
        }
    };
    for entry in timeline {
        for input in &entry.inputs {
            if let Some(z) = input.z_score.filter(|z| z.abs() >= OUT_OF_DISTRIBUTION_Z) {
                note(
                    &input.feature,
                    entry.sequence,
                    entry.relative_ms,
                    z,
                    input.value,
                    false,
                );
            }
        }
    }
    for anomaly in anomalies {
        if let AnomalyKind::OutOfDistribution {
            feature,
            value,
            z_score,
            outside_range,
            ..
        } = &anomaly.kind
        {
            note(
                feature,
                anomaly.sequence,
                anomaly.relative_ms,
                z_score.unwrap_or(0.0),
                value.unwrap_or(f64::NAN),
                *outside_range,
            );
        }
    }
    let mut found: Vec<OutOfDistribution> = found.into_iter().map(|(o, _)| o).collect();
    found.sort_by(|a, b| b.worst_z.abs().total_cmp(&a.worst_z.abs()));
    found
}

/// The first warning about the decision itself in `(since, until)` (ms relative to the
/// incident): low or falling confidence, an input out of distribution, an alert of the
/// monitor other than a repeated decision. Latency spikes and flips are not warnings.
fn first_warning(
    anomalies: &[Anomaly],
    timeline: &[TimelineEntry],
    since: f64,
    until: f64,
) -> Option<(f64, String)> {
    let within = |at: f64| at > since && at < until;
    let from_rules = anomalies.iter().find_map(|a| {
        let warns = match &a.kind {
            AnomalyKind::LowConfidence { .. }
            | AnomalyKind::FallingConfidence { .. }
            | AnomalyKind::OutOfDistribution { .. }
            | AnomalyKind::NonFiniteOutput => true,
            AnomalyKind::AndonAlert { rule, .. } => rule != "repetitive_decision",
            AnomalyKind::ClassFlip { .. } | AnomalyKind::LatencySpike { .. } => false,
        };
        (warns && within(a.relative_ms)).then(|| (a.relative_ms, a.kind.to_string()))
    });
    let from_inputs = timeline
        .iter()
        .filter(|e| within(e.relative_ms))
        .find_map(|e| {
            let input = e
                .inputs
                .iter()
                .find(|i| i.z_score.is_some_and(|z| z.abs() >= OUT_OF_DISTRIBUTION_Z))?;
            Some((
                e.relative_ms,
                format!("{} = {} out of distribution", input.feature, input.value),
            ))
        });
    match (from_rules, from_inputs) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn root_cause(
    analysis: &mut Analysis,
    anomalies: &[Anomaly],
    timeline: &[TimelineEntry],
    basis: Option<ZScoreBasis>,
    integrity: &Integrity,
) {
    let against = match basis {
        Some(ZScoreBasis::Training) => "the training statistics",
        Some(ZScoreBasis::Window) | None => "the window's own mean and spread",
    };
    let mut causes = Vec::new();
    let mut advice = Vec::new();
    if !integrity.is_verified() {
        causes.push(
            "The log failed verification: decisions after the first bad entry are unproven."
                .to_owned(),
        );
        advice.push(
            "Establish why the log is damaged before relying on this report (whyline verify)."
                .to_owned(),
        );
    }
    for o in analysis.out_of_distribution.iter().take(3) {
        let what = if o.outside_range {
            "outside the training range"
        } else {
            "out of distribution"
        };
        causes.push(format!(
            "{} was {what} (z = {:+.1} at value {}, against {against}) from {}, in {} decision(s)",
            o.feature,
            o.worst_z,
            o.worst_value,
            relative(o.first_relative_ms),
            o.decisions
        ));
    }
    if !analysis.out_of_distribution.is_empty() {
        let features: Vec<String> = analysis
            .out_of_distribution
            .iter()
            .take(3)
            .map(|o| format!("{} near {}", o.feature, o.worst_value))
            .collect();
        let beyond = if analysis
            .out_of_distribution
            .iter()
            .take(3)
            .any(|o| o.outside_range)
        {
            format!("outside the training range or beyond |z| {OUT_OF_DISTRIBUTION_Z} of {against}")
        } else {
            format!("beyond |z| {OUT_OF_DISTRIBUTION_Z} of {against}")
        };
        advice.push(format!(
            "RECOMMENDATION: add labelled training data covering {} ({beyond}), and make an input out of distribution on these features a red Andon condition",
            features.join(", ")
        ));
    }
    if let Some(entry) = timeline.iter().find(|e| e.why_changed.is_some())
        && let Some(why) = &entry.why_changed
    {
        let drivers: Vec<String> = why
            .shifts
            .iter()
            .take(3)
            .map(|s| format!("{} ({:+.3} → {:+.3})", s.feature, s.before, s.after))
            .collect();
        causes.push(format!(
            "The change from {} to {} at {} was driven by {} (attributions toward {})",
            why.from,
            entry.decision,
            relative(entry.relative_ms),
            drivers.join(", "),
            why.output
        ));
    }
    // The decisive change: the last one at or before the incident (the decision in force
    // at T-0 came from it), and the first warning about the decision itself after the
    // change before it (confidence, inputs, the monitor's alerts; not latency, not a
    // repeated decision): how long the model took to act on it.
    let flips: Vec<(f64, &str, &str)> = anomalies
        .iter()
        .filter_map(|a| match &a.kind {
            AnomalyKind::ClassFlip { from, to } => {
                Some((a.relative_ms, from.as_str(), to.as_str()))
            }
            _ => None,
        })
        .collect();
    let decisive = flips
        .iter()
        .rposition(|f| f.0 <= 0.0)
        .or(flips.len().checked_sub(1));
    if let Some(position) = decisive
        && let Some(&(change_at, from, to)) = flips.get(position)
    {
        let since = position
            .checked_sub(1)
            .and_then(|p| flips.get(p))
            .map_or(f64::NEG_INFINITY, |f| f.0);
        match first_warning(anomalies, timeline, since, change_at) {
            Some((warned_at, what)) => {
                causes.push(format!(
                    "The decision changed from {from} to {to} at {}, {:.0} ms after the first warning: {what} at {}",
                    relative(change_at),
                    change_at - warned_at,
                    relative(warned_at)
                ));
                advice.push(format!(
                    "RECOMMENDATION: act on the first warning: {what} came {:.0} ms before the change to {to}; an Andon rule that reacts to it would gain that time",
                    change_at - warned_at
                ));
            }
            None => causes.push(format!(
                "The decision changed from {from} to {to} at {} with no warning before it (no low or falling confidence, no input out of distribution, no alert)",
                relative(change_at)
            )),
        }
    }
    if !analysis.outcomes.is_empty() {
        causes.extend(analysis.outcomes.iter().cloned());
        advice.push(format!(
            "RECOMMENDATION: add the {} labelled outcome(s) to the training set and replay this window with the retrained model (whyline replay) before deploying it",
            analysis.outcomes.len()
        ));
    }
    if !analysis.overrides.is_empty() {
        advice.push(format!(
            "RECOMMENDATION: review the {} human override(s): {}",
            analysis.overrides.len(),
            analysis.overrides.join("; ")
        ));
    }
    if causes.is_empty() {
        causes.push("No anomaly, no input out of distribution and no change of decision in the window: nothing in it points to a root cause.".to_owned());
    }
    if advice.is_empty() {
        advice.push("No action is indicated by this window's decisions.".to_owned());
    }
    analysis.root_cause = causes;
    analysis.recommendations = advice;
}
