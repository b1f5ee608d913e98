//! Anomalies in an incident window: what an investigator should look at first.

use serde::Serialize;
use whyline_core::{AlertRecord, Names};

use crate::timeline::TimelineEntry;

/// Thresholds of the anomaly rules.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AnomalyRules {
    /// A decision below this confidence is an anomaly.
    pub low_confidence: f32,
    /// A drop in confidence of at least this much from the previous decision is an anomaly.
    pub confidence_drop: f32,
    /// A latency at least this many times the window's median is a spike.
    pub latency_spike_factor: f64,
    /// Latencies below this many microseconds are never spikes (timer noise).
    pub latency_floor_us: u64,
}

impl Default for AnomalyRules {
    fn default() -> Self {
        Self {
            low_confidence: 0.6,
            confidence_drop: 0.15,
            latency_spike_factor: 5.0,
            latency_floor_us: 1_000,
        }
    }
}

/// What kind of anomaly.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnomalyKind {
    /// Confidence below the rule's threshold.
    LowConfidence {
        /// The confidence.
        confidence: f32,
    },
    /// Confidence fell sharply from the previous decision.
    FallingConfidence {
        /// Previous confidence.
        from: f32,
        /// This decision's confidence.
        to: f32,
    },
    /// The decision changed from the previous one.
    ClassFlip {
        /// Previous decision.
        from: String,
        /// This decision.
        to: String,
    },
    /// The model took far longer than usual.
    LatencySpike {
        /// This decision's latency, microseconds.
        latency_us: u64,
        /// The window's median, microseconds.
        median_us: u64,
    },
    /// The output is NaN or infinite.
    NonFiniteOutput,
    /// The monitor found the input out of the training distribution (an alert in the log).
    OutOfDistribution {
        /// The worst feature, by name when the log names it.
        feature: String,
        /// Its value.
        value: Option<f64>,
        /// Its z-score against the training statistics.
        z_score: Option<f64>,
        /// Whether it was outside the training range.
        outside_range: bool,
        /// `yellow` or `red`.
        level: String,
    },
    /// Another Andon alert the monitor wrote into the log (drift, latency over budget, a
    /// repeated decision, an alert raised by the application).
    AndonAlert {
        /// `yellow` or `red`.
        level: String,
        /// The rule that fired.
        rule: String,
        /// What the monitor said.
        message: String,
    },
}

/// One anomaly, tied to a decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Anomaly {
    /// Sequence of the decision.
    pub sequence: u64,
    /// Milliseconds relative to the incident.
    pub relative_ms: f64,
    /// What was found.
    #[serde(flatten)]
    pub kind: AnomalyKind,
}

impl std::fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnomalyKind::LowConfidence { confidence } => {
                write!(f, "low confidence {:.0}%", confidence * 100.0)
            }
            AnomalyKind::FallingConfidence { from, to } => {
                write!(
                    f,
                    "confidence fell from {:.0}% to {:.0}%",
                    from * 100.0,
                    to * 100.0
                )
            }
            AnomalyKind::ClassFlip { from, to } => {
                write!(f, "decision changed from {from} to {to}")
            }
            AnomalyKind::LatencySpike {
                latency_us,
                median_us,
            } => {
                write!(
                    f,
                    "latency {latency_us} µs, {:.1}× the window's median {median_us} µs",
                    *latency_us as f64 / (*median_us).max(1) as f64
                )
            }
            AnomalyKind::NonFiniteOutput => f.write_str("non-finite output"),
            AnomalyKind::OutOfDistribution {
                feature,
                value,
                z_score,
                outside_range,
                level,
            } => {
                write!(f, "{level} alert: {feature}")?;
                if let Some(value) = value {
                    write!(f, " = {value}")?;
                }
                f.write_str(" out of the training distribution")?;
                if let Some(z) = z_score {
                    write!(f, " (z = {z:.2})")?;
                }
                if *outside_range {
                    f.write_str(", outside the training range")?;
                }
                Ok(())
            }
            AnomalyKind::AndonAlert { level, message, .. } => {
                write!(f, "{level} alert: {message}")
            }
        }
    }
}

/// Finds the anomalies of a timeline (in time order).
pub(crate) fn find_anomalies(timeline: &[TimelineEntry], rules: &AnomalyRules) -> Vec<Anomaly> {
    let mut latencies: Vec<u64> = timeline.iter().map(|e| e.latency_us).collect();
    latencies.sort_unstable();
    let median_us = latencies.get(latencies.len() / 2).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut previous: Option<&TimelineEntry> = None;
    for entry in timeline {
        let mut push = |kind| {
            out.push(Anomaly {
                sequence: entry.sequence,
                relative_ms: entry.relative_ms,
                kind,
            })
        };
        if !entry.output.is_finite() {
            push(AnomalyKind::NonFiniteOutput);
        }
        if entry.confidence < rules.low_confidence {
            push(AnomalyKind::LowConfidence {
                confidence: entry.confidence,
            });
        }
        if let Some(prev) = previous {
            if prev.confidence - entry.confidence >= rules.confidence_drop {
                push(AnomalyKind::FallingConfidence {
                    from: prev.confidence,
                    to: entry.confidence,
                });
            }
            if prev.decision != entry.decision {
                push(AnomalyKind::ClassFlip {
                    from: prev.decision.clone(),
                    to: entry.decision.clone(),
                });
            }
        }
        if entry.latency_us >= rules.latency_floor_us
            && entry.latency_us as f64 >= rules.latency_spike_factor * median_us.max(1) as f64
        {
            push(AnomalyKind::LatencySpike {
                latency_us: entry.latency_us,
                median_us,
            });
        }
        previous = Some(entry);
    }
    out
}

/// The anomalies the monitor's alerts in the log add to those found from the traces. Alerts
/// on low confidence and non-finite outputs are left out: the traces show those already.
pub(crate) fn alert_anomalies(
    alerts: &[AlertRecord],
    incident_ns: u64,
    names: &Names,
) -> Vec<Anomaly> {
    alerts
        .iter()
        .filter(|a| !matches!(a.kind.as_str(), "low_confidence" | "non_finite_output"))
        .map(|alert| {
            let number = |field: &str| alert.details.get(field).and_then(|v| v.as_f64());
            let kind = if alert.kind == "out_of_distribution" {
                AnomalyKind::OutOfDistribution {
                    feature: alert
                        .details
                        .get("feature_index")
                        .and_then(|v| v.as_u64())
                        .map_or_else(
                            || "a feature".to_owned(),
                            |i| names.feature_short(i as usize),
                        ),
                    value: number("value").map(as_the_model_saw),
                    z_score: number("z_score"),
                    outside_range: alert
                        .details
                        .get("outside_range")
                        .and_then(|v| v.as_bool())
                        .unwrap_or(false),
                    level: alert.level.clone(),
                }
            } else {
                AnomalyKind::AndonAlert {
                    level: alert.level.clone(),
                    rule: alert.kind.clone(),
                    message: named_message(alert, names),
                }
            };
            Anomaly {
                sequence: alert.sequence,
                relative_ms: crate::time::relative_ms(alert.timestamp_ns, incident_ns),
                kind,
            }
        })
        .collect()
}

/// The alert's message, with the decision named by its class where the monitor could only
/// give the model's raw output (a repeated decision).
fn named_message(alert: &AlertRecord, names: &Names) -> String {
    let field = |name: &str| alert.details.get(name).and_then(|v| v.as_f64());
    match (alert.kind.as_str(), field("decision"), field("count")) {
        ("repetitive_decision", Some(decision), Some(count))
            if decision >= 0.0 && decision.fract() == 0.0 =>
        {
            let class = decision as usize;
            match names.classes.get(class) {
                Some(name) => format!("{name} decided {count} times in a row"),
                None => alert.message.clone(),
            }
        }
        _ => alert.message.clone(),
    }
}

/// A value from the monitor's alert as the model saw it: the monitor reads rows in `f32`, and
/// the alert stores that `f32` widened to `f64` (0.23 becomes 0.23000000417232513), so a
/// value that is exactly an `f32` is given back by its shortest `f32` decimal.
fn as_the_model_saw(value: f64) -> f64 {
    let narrow = value as f32;
    if f64::from(narrow) == value {
        narrow.to_string().parse().unwrap_or(value)
    } else {
        value
    }
}
