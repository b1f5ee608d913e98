//! The incident report: the window, its integrity, its timeline and its anomalies.

use serde::Serialize;
use whyline_core::{AlertRecord, AnyPath, DecisionTrace, ModelIdentity, Names};

use crate::anomaly::{Anomaly, AnomalyRules, alert_anomalies, find_anomalies};
use crate::timeline::{TimelineEntry, timeline_entry};

/// "Every decision from `lookback` before `time` to `lookahead` after it."
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IncidentQuery {
    /// The incident, Unix epoch nanoseconds (T-0).
    pub time_ns: u64,
    /// How far before the incident, nanoseconds.
    pub lookback_ns: u64,
    /// How far after the incident, nanoseconds.
    pub lookahead_ns: u64,
}

impl IncidentQuery {
    /// The window `[time - lookback, time + lookahead]`, saturating.
    pub fn window(&self) -> (u64, u64) {
        (
            self.time_ns.saturating_sub(self.lookback_ns),
            self.time_ns.saturating_add(self.lookahead_ns),
        )
    }
}

/// What verification of the log found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Integrity {
    /// Every entry re-hashed, chain and Merkle root matched every checkpoint.
    Verified {
        /// Entries checked.
        entries: u64,
        /// Merkle root of the log, hex.
        root: String,
        /// Checkpoints checked.
        checkpoints: u64,
        /// Whether checkpoint signatures were checked against a public key.
        signatures_checked: bool,
    },
    /// The first problem found.
    Broken {
        /// Sequence of the first bad entry.
        sequence: u64,
        /// Byte offset of the problem.
        offset: u64,
        /// Kind of problem (content changed, link broken, ...).
        kind: String,
        /// The verifier's full message.
        message: String,
    },
}

impl Integrity {
    /// Whether the log verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Integrity::Verified { .. })
    }
}

/// Everything an investigator needs about an incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IncidentReport {
    /// The question asked.
    pub query: IncidentQuery,
    /// Where the log lives.
    pub log: String,
    /// The model that made the decisions, when known.
    pub model: Option<ModelIdentity>,
    /// The integrity of the log.
    pub integrity: Integrity,
    /// The decisions of the window, in time order.
    pub timeline: Vec<TimelineEntry>,
    /// What looks wrong.
    pub anomalies: Vec<Anomaly>,
    /// Decisions in the whole log.
    pub log_entries: u64,
}

impl IncidentReport {
    /// Builds the report from the window's traces (any order; they are sorted by time).
    pub fn build(
        query: IncidentQuery,
        log: String,
        mut traces: Vec<DecisionTrace<AnyPath>>,
        integrity: Integrity,
        names: &Names,
        rules: &AnomalyRules,
        log_entries: u64,
    ) -> IncidentReport {
        traces.sort_by_key(|t| (t.timestamp_ns, t.sequence));
        let timeline: Vec<TimelineEntry> = traces
            .iter()
            .map(|t| timeline_entry(t, query.time_ns, names))
            .collect();
        let anomalies = find_anomalies(&timeline, rules);
        IncidentReport {
            query,
            log,
            model: None,
            integrity,
            timeline,
            anomalies,
            log_entries,
        }
    }

    /// Adds the anomalies of the monitor's alerts in the log (out-of-distribution inputs,
    /// drift, ...), keeping the anomalies in time order.
    pub fn add_alerts(&mut self, alerts: &[AlertRecord], names: &Names) {
        self.anomalies
            .extend(alert_anomalies(alerts, self.query.time_ns, names));
        self.anomalies.sort_by(|a, b| {
            a.relative_ms
                .total_cmp(&b.relative_ms)
                .then(a.sequence.cmp(&b.sequence))
        });
    }

    /// The anomalies of one decision.
    pub fn anomalies_of(&self, sequence: u64) -> impl Iterator<Item = &Anomaly> {
        self.anomalies
            .iter()
            .filter(move |a| a.sequence == sequence)
    }
}
