//! What the live view is fed: the three events of the stream contract (`GET /v1/stream`,
//! docs/dashboard.md), read from a server's stream or made from a ledger directory's entries.
//! Fields may be added to the contract, never removed or renamed, so unknown fields are
//! ignored and missing optional ones default.

use serde::Deserialize;

/// Another decision the model weighed.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub(crate) struct Alternative {
    /// Its name.
    pub(crate) decision: String,
    /// Its probability.
    pub(crate) p: f64,
}

/// One of the path's top contributions, by feature name.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub(crate) struct Contribution {
    /// The feature's name (`feature[i]` when the model names none).
    pub(crate) feature: String,
    /// Its contribution, when the path carries one (a tree's split features have none).
    #[serde(default)]
    pub(crate) contribution: Option<f64>,
}

/// A `decision` event.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub(crate) struct DecisionEvent {
    /// The decision's index in the ledger.
    pub(crate) index: u64,
    /// When it was made, Unix epoch nanoseconds.
    #[serde(default)]
    pub(crate) time_ns: u64,
    /// The model that made it.
    #[serde(default)]
    pub(crate) model: String,
    /// The decision (a class name, or `value X` for a regressor).
    pub(crate) decision: String,
    /// Confidence in `[0, 1]`.
    #[serde(default)]
    pub(crate) confidence: f64,
    /// Model latency, microseconds.
    #[serde(default)]
    pub(crate) latency_us: f64,
    /// Other decisions weighed, most likely first.
    #[serde(default)]
    pub(crate) alternatives: Vec<Alternative>,
    /// The path's top contributions by feature name.
    #[serde(default)]
    pub(crate) top: Vec<Contribution>,
    /// Anomalies found on this decision (`low_confidence`, ...).
    #[serde(default)]
    pub(crate) anomalies: Vec<String>,
    /// What opening the decision shows, when the source kept it (a ledger directory does;
    /// a server's decisions are fetched from `GET /v1/decisions/{index}` when opened).
    #[serde(skip)]
    pub(crate) detail: Option<std::sync::Arc<super::source::Detail>>,
}

/// The budgets the header bars are drawn against.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub(crate) struct Budget {
    /// The p99 latency budget, microseconds.
    #[serde(default = "Budget::default_latency")]
    pub(crate) latency_p99_us: f64,
    /// The lowest acceptable confidence.
    #[serde(default = "Budget::default_confidence")]
    pub(crate) min_confidence: f64,
}

impl Budget {
    fn default_latency() -> f64 {
        1_000.0
    }

    fn default_confidence() -> f64 {
        0.6
    }
}

impl Default for Budget {
    /// 1 ms p99 and a confidence of 0.6 (the incident report's low-confidence rule).
    fn default() -> Self {
        Self {
            latency_p99_us: Self::default_latency(),
            min_confidence: Self::default_confidence(),
        }
    }
}

/// The budgets a `stats` event carries: each `null` (or missing) when the server's profile
/// sets none, in which case the view keeps its own (`--latency-budget-us`,
/// `--min-confidence`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub(crate) struct StatsBudget {
    /// The p99 latency budget, microseconds.
    #[serde(default)]
    pub(crate) latency_p99_us: Option<f64>,
    /// The lowest acceptable confidence.
    #[serde(default)]
    pub(crate) min_confidence: Option<f64>,
}

impl StatsBudget {
    /// `budget` with what the server set.
    pub(crate) fn over(self, budget: Budget) -> Budget {
        Budget {
            latency_p99_us: self.latency_p99_us.unwrap_or(budget.latency_p99_us),
            min_confidence: self.min_confidence.unwrap_or(budget.min_confidence),
        }
    }
}

/// A `stats` event: the server's aggregates of the last second.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub(crate) struct StatsEvent {
    /// Entries in the ledger.
    #[serde(default)]
    pub(crate) entries: u64,
    /// Decisions appended per second.
    #[serde(default)]
    pub(crate) decisions_per_s: f64,
    /// Median latency, microseconds (`null` while the server has measured nothing).
    #[serde(default)]
    pub(crate) latency_p50_us: Option<f64>,
    /// 99th percentile latency, microseconds (`null` likewise).
    #[serde(default)]
    pub(crate) latency_p99_us: Option<f64>,
    /// Mean confidence (`null` likewise).
    #[serde(default)]
    pub(crate) mean_confidence: Option<f64>,
    /// Decision events sent this second.
    #[serde(default)]
    pub(crate) sampled: u64,
    /// Decisions appended this second.
    #[serde(default)]
    pub(crate) seen: u64,
    /// The profile's budgets.
    #[serde(default)]
    pub(crate) budget: Option<StatsBudget>,
    /// Open alerts.
    #[serde(default)]
    pub(crate) alerts_open: u64,
}

/// An alert's level, lowest first. The contract names `warning`, `critical` and `stop`; the
/// ledger's alert records say `yellow` (warning) and `red` (stop the line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum AlertLevel {
    /// Someone should look.
    Warning,
    /// Serious.
    Critical,
    /// Stop the line.
    Stop,
}

impl AlertLevel {
    /// The level a contract or alert-record name stands for (unknown names read as
    /// warnings, so a newer level is still shown).
    pub(crate) fn parse(name: &str) -> AlertLevel {
        match name.to_ascii_lowercase().as_str() {
            "critical" => AlertLevel::Critical,
            "stop" | "red" => AlertLevel::Stop,
            _ => AlertLevel::Warning,
        }
    }

    /// The label shown, with a marker that does not depend on colour.
    pub(crate) fn label(self) -> &'static str {
        match self {
            AlertLevel::Warning => "▲ WARN",
            AlertLevel::Critical => "◆ CRIT",
            AlertLevel::Stop => "■ STOP",
        }
    }
}

impl<'de> Deserialize<'de> for AlertLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(AlertLevel::parse(&name))
    }
}

/// An `alert` event.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub(crate) struct AlertEvent {
    /// The alert's id (the server's; `L<index>` for one read from a ledger).
    #[serde(default)]
    pub(crate) id: String,
    /// The index of the decision it concerns.
    #[serde(default)]
    pub(crate) index: Option<u64>,
    /// When, Unix epoch nanoseconds.
    #[serde(default)]
    pub(crate) time_ns: u64,
    /// Its level.
    pub(crate) level: AlertLevel,
    /// The rule that fired.
    #[serde(default)]
    pub(crate) rule: String,
    /// What happened.
    #[serde(default)]
    pub(crate) message: String,
    /// Whether someone acknowledged it (it is then no longer open).
    #[serde(default)]
    pub(crate) acknowledged: bool,
}

/// One thing the live view learns.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Event {
    /// A decision.
    Decision(DecisionEvent),
    /// Aggregates from the server.
    Stats(StatsEvent),
    /// An alert raised or acknowledged.
    Alert(AlertEvent),
}

impl Event {
    /// Reads the data of an SSE event of type `kind`; `Ok(None)` for a type this build does
    /// not know (a newer server), an error for a known type whose data does not parse.
    pub(crate) fn from_sse(kind: &str, data: &str) -> Result<Option<Event>, serde_json::Error> {
        Ok(Some(match kind {
            "decision" => Event::Decision(serde_json::from_str(data)?),
            "stats" => Event::Stats(serde_json::from_str(data)?),
            "alert" => Event::Alert(serde_json::from_str(data)?),
            _ => return Ok(None),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_example_events_parse() {
        let decision = r#"{"index":1234,"time_ns":1733467967000000000,"model":"demo","decision":"SLOW_DOWN",
           "confidence":0.83,"latency_us":41.2,"alternatives":[{"decision":"MAINTAIN_SPEED","p":0.12}],
           "top":[{"feature":"distance_m","contribution":-0.41}],"anomalies":["low_confidence"],"new_field":1}"#;
        let Ok(Some(Event::Decision(d))) = Event::from_sse("decision", decision) else {
            panic!("decision did not parse");
        };
        assert_eq!((d.index, d.decision.as_str()), (1234, "SLOW_DOWN"));
        assert_eq!(d.top[0].contribution, Some(-0.41));
        assert_eq!(d.alternatives[0].p, 0.12);
        assert_eq!(d.anomalies, ["low_confidence"]);
        let stats = r#"{"entries":1235,"decisions_per_s":98000.0,"latency_p50_us":12.0,"latency_p99_us":80.0,
           "mean_confidence":0.91,"sampled":250,"seen":98000,"budget":{"latency_p99_us":1000.0,
           "min_confidence":0.6},"alerts_open":2}"#;
        let Ok(Some(Event::Stats(s))) = Event::from_sse("stats", stats) else {
            panic!("stats did not parse");
        };
        assert_eq!((s.sampled, s.seen, s.alerts_open), (250, 98000, 2));
        assert_eq!(s.budget.and_then(|b| b.min_confidence), Some(0.6));
        let alert = r#"{"id":"a1","index":1234,"time_ns":5,"level":"stop","rule":"low_confidence",
           "message":"m","acknowledged":false}"#;
        let Ok(Some(Event::Alert(a))) = Event::from_sse("alert", alert) else {
            panic!("alert did not parse");
        };
        assert_eq!((a.level, a.index), (AlertLevel::Stop, Some(1234)));
        assert!(matches!(Event::from_sse("heartbeat", "{}"), Ok(None)));
        assert!(Event::from_sse("decision", "{").is_err());
    }

    #[test]
    fn a_server_that_has_measured_nothing_yet_sends_nulls_and_keeps_our_budgets() {
        // What `whyline serve` sends before its first decision, with a profile that sets no
        // latency budget.
        let stats = r#"{"time_ns":1,"entries":0,"decisions_per_s":0.0,"latency_p50_us":null,
           "latency_p99_us":null,"mean_confidence":null,"sampled":0,"seen":0,"measured":0,
           "budget":{"latency_p99_us":null,"min_confidence":0.7},"alerts_open":0}"#;
        let Ok(Some(Event::Stats(s))) = Event::from_sse("stats", stats) else {
            panic!("stats with nulls did not parse");
        };
        assert_eq!(s.latency_p50_us, None);
        let budget = s.budget.unwrap().over(Budget {
            latency_p99_us: 250.0,
            min_confidence: 0.6,
        });
        assert_eq!(budget.latency_p99_us, 250.0);
        assert_eq!(budget.min_confidence, 0.7);
    }

    #[test]
    fn levels_order_and_read_both_vocabularies() {
        assert!(AlertLevel::Warning < AlertLevel::Critical);
        assert!(AlertLevel::Critical < AlertLevel::Stop);
        assert_eq!(AlertLevel::parse("yellow"), AlertLevel::Warning);
        assert_eq!(AlertLevel::parse("RED"), AlertLevel::Stop);
        assert_eq!(AlertLevel::parse("critical"), AlertLevel::Critical);
    }
}
