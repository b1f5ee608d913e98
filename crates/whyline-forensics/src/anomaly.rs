//! Anomalies in an incident window: what an investigator should look at first.

use serde::Serialize;

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
        }
    }
}

/// Finds the anomalies of a timeline (in time order).
pub fn find_anomalies(timeline: &[TimelineEntry], rules: &AnomalyRules) -> Vec<Anomaly> {
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
