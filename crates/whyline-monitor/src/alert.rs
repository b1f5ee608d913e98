//! Alerts: what an Andon rule raises, at which level, about which decision.

use std::fmt;

use serde::Serialize;
use whyline_core::AlertRecord;

/// How serious an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Warn: someone should look.
    Yellow,
    /// Stop the line: the red handler runs and, when so configured, `predict` returns an error.
    Red,
}

impl fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertLevel::Yellow => "YELLOW",
            AlertLevel::Red => "RED",
        })
    }
}

/// What condition raised an alert, with the values that crossed the line.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertKind {
    /// The decision's confidence is below a threshold.
    LowConfidence {
        /// The decision's confidence.
        confidence: f32,
        /// The threshold it fell below.
        threshold: f32,
    },
    /// The decision took longer than its budget.
    LatencyOverBudget {
        /// How long it took, nanoseconds.
        latency_ns: u64,
        /// The budget, nanoseconds.
        budget_ns: u64,
    },
    /// The model's output is NaN or infinite (a quality gate, as realizar's Jidoka checks).
    NonFiniteOutput {
        /// The output.
        output: f32,
    },
    /// A feature is outside what the model saw in training.
    OutOfDistribution {
        /// Feature index.
        feature_index: usize,
        /// The input value.
        value: f32,
        /// `(value - mean) / std` against the training statistics.
        z_score: f32,
        /// Whether the value lies outside the training range `[min, max]`.
        outside_range: bool,
    },
    /// The same decision came out many times in a row (a stuck model or sensor).
    RepetitiveDecision {
        /// The repeated decision (class index or value).
        decision: f32,
        /// How many times in a row.
        count: u32,
    },
    /// A drift detector signalled drift (red) or a warning (yellow).
    Drift {
        /// The detector's name.
        detector: String,
        /// What it watches (`confidence`, `output`, `feature[3]`).
        signal: String,
    },
    /// A provenance graph's shingle sketch fits none of the baseline clusters
    /// ([`StreamingProvenanceMonitor`](crate::provenance_anomaly::StreamingProvenanceMonitor)).
    ProvenanceAnomaly {
        /// The graph.
        graph: u64,
        /// Its sketch distance to the cluster it misses by the least.
        distance: f32,
        /// That cluster's threshold.
        threshold: f32,
        /// That cluster's index in the baseline.
        cluster: usize,
        /// Edges of the graph seen when the alert was raised.
        edges: u64,
    },
    /// The wall clock stepped (set by hand, an NTP step, a VM resumed) by more than 100 ms
    /// between two of the monitor's re-anchors. Timestamps follow a step forward; after a
    /// step back they hold at the last one given until the wall clock passes it, so the
    /// log's timestamps never decrease.
    ClockStep {
        /// The wall clock minus where the monotonic clock put it, nanoseconds: negative for
        /// a step back.
        step_ns: i64,
        /// The wall clock after the step, Unix nanoseconds.
        wall_ns: u64,
        /// The last timestamp given before the step, Unix nanoseconds.
        last_timestamp_ns: u64,
    },
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlertKind::LowConfidence {
                confidence,
                threshold,
            } => {
                write!(f, "low confidence {confidence:.3} < {threshold}")
            }
            AlertKind::LatencyOverBudget {
                latency_ns,
                budget_ns,
            } => write!(
                f,
                "latency {:.3} ms over budget {:.3} ms",
                *latency_ns as f64 / 1e6,
                *budget_ns as f64 / 1e6
            ),
            AlertKind::NonFiniteOutput { output } => write!(f, "non-finite output {output}"),
            AlertKind::OutOfDistribution {
                feature_index,
                value,
                z_score,
                outside_range,
            } => {
                write!(
                    f,
                    "feature[{feature_index}] = {value} out of distribution (z = {z_score:.2}"
                )?;
                if *outside_range {
                    f.write_str(", outside the training range")?;
                }
                f.write_str(")")
            }
            AlertKind::RepetitiveDecision { decision, count } => {
                write!(f, "decision {decision} repeated {count} times in a row")
            }
            AlertKind::Drift { detector, signal } => {
                write!(f, "{detector} detected drift in {signal}")
            }
            AlertKind::ProvenanceAnomaly {
                graph,
                distance,
                threshold,
                cluster,
                edges,
            } => write!(
                f,
                "provenance graph {graph} after {edges} edges is {distance:.3} from baseline cluster {cluster} (threshold {threshold:.3})"
            ),
            AlertKind::ClockStep { step_ns, .. } if *step_ns < 0 => write!(
                f,
                "the wall clock stepped back {:.3} s: timestamps hold at the last one until it passes",
                step_ns.unsigned_abs() as f64 / 1e9
            ),
            AlertKind::ClockStep { step_ns, .. } => write!(
                f,
                "the wall clock stepped forward {:.3} s: timestamps follow it",
                *step_ns as f64 / 1e9
            ),
        }
    }
}

/// One alert about one decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// Yellow or red.
    pub level: AlertLevel,
    /// The condition and its values.
    #[serde(flatten)]
    pub kind: AlertKind,
    /// Sequence number of the decision that raised it (for a provenance anomaly: the position
    /// of the edge in the provenance monitor's stream, from 0).
    pub sequence: u64,
    /// Wall-clock time of that decision, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] decision {}: {}",
            self.level, self.sequence, self.kind
        )
    }
}

impl Alert {
    /// The alert as the log keeps it: level and rule by name, the message, and the rule's own
    /// fields as details.
    pub fn to_record(&self) -> AlertRecord {
        let mut details = serde_json::to_value(&self.kind).unwrap_or_default();
        let kind = match details
            .as_object_mut()
            .and_then(|fields| fields.remove("kind"))
        {
            Some(serde_json::Value::String(kind)) => kind,
            _ => String::new(),
        };
        AlertRecord {
            sequence: self.sequence,
            timestamp_ns: self.timestamp_ns,
            level: match self.level {
                AlertLevel::Yellow => "yellow",
                AlertLevel::Red => "red",
            }
            .to_owned(),
            kind,
            message: self.kind.to_string(),
            details,
        }
    }
}
