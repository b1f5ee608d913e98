//! The three events of the live stream (`decision`, `stats`, `alert`), their JSON (the
//! contract of docs/dashboard.md: fields may be added, never removed or renamed) and their
//! Server-Sent Events frames, serialised once and shared by every client.

use axum::body::Bytes;
use serde::Serialize;
use whyline::core::{AnyPath, DecisionTrace, Names};
use whyline::forensics::TimelineEntry;

/// Contributions per decision event (`top`).
const TOP_CONTRIBUTIONS: usize = 3;

/// A decision as the stream shows it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DecisionEvent {
    pub(crate) index: u64,
    pub(crate) time_ns: u64,
    pub(crate) model: String,
    pub(crate) sequence: u64,
    pub(crate) decision: String,
    pub(crate) confidence: f32,
    pub(crate) latency_us: f64,
    pub(crate) alternatives: Vec<Alternative>,
    pub(crate) top: Vec<Contribution>,
    pub(crate) anomalies: Vec<&'static str>,
}

/// Another decision the model weighed, with its probability.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Alternative {
    pub(crate) decision: String,
    pub(crate) p: f32,
}

/// A feature's contribution to the decision.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Contribution {
    pub(crate) feature: String,
    pub(crate) contribution: f32,
}

/// What makes a decision anomalous on the live view: the profile's budgets.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct Budget {
    /// The p99 latency the profile allows (`[andon] max_latency_ms`), microseconds.
    pub(crate) latency_p99_us: Option<f64>,
    /// The confidence under which a decision is low (`[andon] yellow_confidence`).
    pub(crate) min_confidence: Option<f32>,
}

impl DecisionEvent {
    /// The event of `trace`, recorded at ledger `index` by `model`, with the anomalies the
    /// budget and the monitor's alerts (`alert_rules`) find in it.
    pub(crate) fn of_trace(
        trace: &DecisionTrace<AnyPath>,
        index: u64,
        model: &str,
        names: &Names,
        budget: &Budget,
        alert_rules: &[String],
    ) -> Self {
        let entry = TimelineEntry::of_trace(trace, trace.timestamp_ns, names);
        #[allow(clippy::cast_precision_loss)] // microseconds, for people
        let latency_us = trace.latency_ns as f64 / 1e3;
        let mut anomalies = anomalies(entry.confidence, latency_us, budget);
        for rule in alert_rules {
            if let Some(known) = known_rule(rule)
                && !anomalies.contains(&known)
            {
                anomalies.push(known);
            }
        }
        DecisionEvent {
            index,
            time_ns: trace.timestamp_ns,
            model: model.to_owned(),
            sequence: trace.sequence,
            decision: entry.decision,
            confidence: entry.confidence,
            latency_us,
            alternatives: entry
                .alternatives
                .into_iter()
                .map(|(decision, p)| Alternative { decision, p })
                .collect(),
            top: entry
                .contributions
                .into_iter()
                .take(TOP_CONTRIBUTIONS)
                .map(|(feature, contribution)| Contribution {
                    feature,
                    contribution,
                })
                .collect(),
            anomalies,
        }
    }
}

/// Whether [`anomalies`] would find any, without allocating (the per-decision check).
pub(crate) fn is_anomalous(confidence: f32, latency_us: f64, budget: &Budget) -> bool {
    budget.min_confidence.is_some_and(|min| confidence < min)
        || !confidence.is_finite()
        || budget.latency_p99_us.is_some_and(|max| latency_us > max)
}

/// The anomalies a decision's confidence and latency show against the budget.
pub(crate) fn anomalies(confidence: f32, latency_us: f64, budget: &Budget) -> Vec<&'static str> {
    let mut found = Vec::new();
    if budget.min_confidence.is_some_and(|min| confidence < min) {
        found.push("low_confidence");
    }
    if !confidence.is_finite() {
        found.push("non_finite");
    }
    if budget.latency_p99_us.is_some_and(|max| latency_us > max) {
        found.push("latency");
    }
    found
}

/// The Andon rules a decision event names (the monitor's alert kinds).
fn known_rule(rule: &str) -> Option<&'static str> {
    Some(match rule {
        "low_confidence" => "low_confidence",
        "latency_over_budget" => "latency",
        "non_finite_output" => "non_finite",
        "out_of_distribution" => "out_of_distribution",
        "repetitive_decision" => "repetitive",
        "drift" => "drift",
        _ => "alert",
    })
}

/// The `stats` event, once a second.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct StatsEvent {
    pub(crate) time_ns: u64,
    pub(crate) entries: u64,
    pub(crate) decisions_per_s: f64,
    pub(crate) latency_p50_us: Option<f64>,
    pub(crate) latency_p99_us: Option<f64>,
    pub(crate) mean_confidence: Option<f64>,
    /// Decision events sent in this second.
    pub(crate) sampled: u64,
    /// Decisions appended in this second (while a client watched).
    pub(crate) seen: u64,
    /// Decisions whose confidence and latency the aggregates above hold.
    pub(crate) measured: u64,
    pub(crate) budget: Budget,
    pub(crate) alerts_open: usize,
    pub(crate) clients: usize,
}

/// An Andon alert as the stream and the board show it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AlertEvent {
    pub(crate) id: String,
    /// The ledger index of the decision that raised it.
    pub(crate) index: Option<u64>,
    pub(crate) time_ns: u64,
    /// `warning` (whyline's yellow), `critical` (red) or `stop` (red, the line stopped).
    pub(crate) level: &'static str,
    /// The monitor's level, `yellow` or `red`.
    pub(crate) andon_level: String,
    pub(crate) rule: String,
    pub(crate) model: String,
    pub(crate) sequence: u64,
    pub(crate) message: String,
    pub(crate) acknowledged: bool,
    pub(crate) acknowledged_ns: Option<u64>,
}

/// One event, framed once for every client.
#[derive(Debug)]
pub(crate) struct Frame {
    /// The ledger index of a decision event (its SSE `id`), for resuming.
    pub(crate) decision_index: Option<u64>,
    pub(crate) bytes: Bytes,
}

impl Frame {
    /// The SSE frame of `event` named `name`, with `id` when given.
    pub(crate) fn new(
        name: &str,
        id: Option<u64>,
        event: &impl Serialize,
    ) -> Result<Frame, serde_json::Error> {
        let data = serde_json::to_string(event)?;
        let mut text = String::with_capacity(data.len() + 40);
        if let Some(id) = id {
            text.push_str("id: ");
            text.push_str(&id.to_string());
            text.push('\n');
        }
        text.push_str("event: ");
        text.push_str(name);
        text.push_str("\ndata: ");
        text.push_str(&data); // one line: serde_json escapes newlines
        text.push_str("\n\n");
        Ok(Frame {
            decision_index: (name == "decision").then_some(id).flatten(),
            bytes: Bytes::from(text),
        })
    }

    /// The frame of a decision event.
    pub(crate) fn decision(event: &DecisionEvent) -> Result<Frame, serde_json::Error> {
        Frame::new("decision", Some(event.index), event)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_frame_is_one_sse_event_with_its_id_and_one_data_line() {
        let event = serde_json::json!({"message": "two\nlines"});
        let frame = Frame::new("decision", Some(7), &event).unwrap();
        assert_eq!(
            std::str::from_utf8(&frame.bytes).unwrap(),
            "id: 7\nevent: decision\ndata: {\"message\":\"two\\nlines\"}\n\n"
        );
        assert_eq!(frame.decision_index, Some(7));
        let stats = Frame::new("stats", None, &event).unwrap();
        assert!(stats.bytes.starts_with(b"event: stats\n"));
        assert_eq!(stats.decision_index, None);
    }

    #[test]
    fn confidence_under_the_budget_is_low_and_slow_decisions_are_marked() {
        let budget = Budget {
            latency_p99_us: Some(1000.0),
            min_confidence: Some(0.7),
        };
        assert_eq!(anomalies(0.69, 10.0, &budget), vec!["low_confidence"]);
        assert!(anomalies(0.7, 1000.0, &budget).is_empty());
        assert_eq!(anomalies(0.9, 1000.5, &budget), vec!["latency"]);
        for (confidence, latency) in [(0.69, 10.0), (0.7, 1000.0), (0.9, 1000.5), (f32::NAN, 1.0)] {
            assert_eq!(
                is_anomalous(confidence, latency, &budget),
                !anomalies(confidence, latency, &budget).is_empty()
            );
        }
        let none = Budget {
            latency_p99_us: None,
            min_confidence: None,
        };
        assert!(anomalies(0.1, 1e9, &none).is_empty());
    }
}
