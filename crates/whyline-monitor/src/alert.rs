//! Alerts: what an Andon rule raises, at which level, about which decision.

use std::fmt;

use serde::Serialize;
use whyline_core::{AlertRecord, Names};

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
            } => out_of_distribution(
                f,
                format_args!("feature[{feature_index}]"),
                *value,
                *z_score,
                *outside_range,
            ),
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

/// `FEATURE = VALUE out of distribution (z = Z[, outside the training range])`.
fn out_of_distribution(
    f: &mut fmt::Formatter<'_>,
    feature: impl fmt::Display,
    value: impl fmt::Display,
    z_score: f32,
    outside_range: bool,
) -> fmt::Result {
    write!(
        f,
        "{feature} = {value} out of distribution (z = {z_score:.2}"
    )?;
    if outside_range {
        f.write_str(", outside the training range")?;
    }
    f.write_str(")")
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

/// An [`Alert`] written with the model's feature and class names; see [`Alert::named`].
#[derive(Clone, Copy, Debug)]
pub struct NamedAlert<'a> {
    alert: &'a Alert,
    names: &'a Names,
}

impl fmt::Display for NamedAlert<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Alert {
            level,
            kind,
            sequence,
            ..
        } = self.alert;
        write!(f, "[{level}] decision {sequence}: ")?;
        match kind {
            AlertKind::OutOfDistribution {
                feature_index,
                value,
                z_score,
                outside_range,
            } => out_of_distribution(
                f,
                self.names.feature_short(*feature_index),
                *value,
                *z_score,
                *outside_range,
            ),
            AlertKind::RepetitiveDecision { decision, count }
                if *decision >= 0.0 && decision.fract() == 0.0 =>
            {
                match self.names.classes.get(*decision as usize) {
                    Some(class) => write!(f, "{class} decided {count} times in a row"),
                    None => write!(f, "{kind}"),
                }
            }
            _ => write!(f, "{kind}"),
        }
    }
}

impl Alert {
    /// The alert as [`Display`](fmt::Display) writes it, with features and classes named
    /// from `names` where the model has them: `distance_m = 0.3 out of distribution`
    /// instead of `feature[0] = 0.3 out of distribution`.
    ///
    /// ```
    /// use whyline_core::Names;
    /// use whyline_monitor::{Alert, AlertKind, AlertLevel};
    ///
    /// let alert = Alert {
    ///     level: AlertLevel::Yellow,
    ///     kind: AlertKind::OutOfDistribution {
    ///         feature_index: 0,
    ///         value: 0.3,
    ///         z_score: -1.74,
    ///         outside_range: true,
    ///     },
    ///     sequence: 599,
    ///     timestamp_ns: 0,
    /// };
    /// let names = Names { features: vec!["distance_m".into()], classes: Vec::new() };
    /// assert_eq!(
    ///     alert.named(&names).to_string(),
    ///     "[YELLOW] decision 599: distance_m = 0.3 out of distribution (z = -1.74, outside the training range)"
    /// );
    /// ```
    pub fn named<'a>(&'a self, names: &'a Names) -> NamedAlert<'a> {
        NamedAlert { alert: self, names }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(kind: AlertKind) -> Alert {
        Alert {
            level: AlertLevel::Red,
            kind,
            sequence: 7,
            timestamp_ns: 0,
        }
    }

    fn names() -> Names {
        Names {
            features: vec!["distance_m".into()],
            classes: vec!["GO".into(), "BRAKE".into()],
        }
    }

    /// A step back holds the timestamps, anything else (zero included: the clock did not
    /// go back) follows the wall clock.
    #[test]
    fn a_clock_step_says_which_way_it_went() {
        let step = |step_ns| {
            alert(AlertKind::ClockStep {
                step_ns,
                wall_ns: 0,
                last_timestamp_ns: 0,
            })
            .to_string()
        };
        assert!(
            step(-2_500_000_000).contains("stepped back 2.500 s"),
            "{}",
            step(-2_500_000_000)
        );
        assert!(step(0).contains("stepped forward 0.000 s"), "{}", step(0));
        assert!(
            step(1_000_000).contains("stepped forward 0.001 s"),
            "{}",
            step(1_000_000)
        );
    }

    #[test]
    fn a_repeated_decision_is_named_by_its_class_when_the_model_has_one() {
        let repeated = |decision| {
            alert(AlertKind::RepetitiveDecision {
                decision,
                count: 12,
            })
        };
        assert_eq!(
            repeated(1.0).named(&names()).to_string(),
            "[RED] decision 7: BRAKE decided 12 times in a row"
        );
        // No such class, or not a class index: as Display writes it.
        for decision in [2.0, 0.5, -1.0] {
            let a = repeated(decision);
            assert_eq!(a.named(&names()).to_string(), a.to_string());
        }
    }

    #[test]
    fn an_out_of_distribution_feature_is_named_when_the_model_names_it() {
        let ood = alert(AlertKind::OutOfDistribution {
            feature_index: 0,
            value: 0.3,
            z_score: -1.74,
            outside_range: true,
        });
        assert_eq!(
            ood.named(&names()).to_string(),
            "[RED] decision 7: distance_m = 0.3 out of distribution (z = -1.74, outside the training range)"
        );
    }

    #[test]
    fn a_feature_without_a_name_keeps_its_index_and_other_alerts_read_as_display_writes_them() {
        let ood = alert(AlertKind::OutOfDistribution {
            feature_index: 3,
            value: 1.5,
            z_score: 4.0,
            outside_range: false,
        });
        assert_eq!(ood.named(&names()).to_string(), ood.to_string());
        assert_eq!(
            ood.to_string(),
            "[RED] decision 7: feature[3] = 1.5 out of distribution (z = 4.00)"
        );
        let low = alert(AlertKind::LowConfidence {
            confidence: 0.4,
            threshold: 0.6,
        });
        assert_eq!(low.named(&names()).to_string(), low.to_string());
    }
}
