//! The incident report: the window, its integrity, its timeline and its anomalies.

use std::collections::BTreeMap;

use serde::Serialize;
use whyline_core::{AlertRecord, AnyPath, DecisionTrace, ModelIdentity, Names};

use crate::analysis::{Analysis, analyse, attach_evidence};
use crate::anomaly::{Anomaly, AnomalyRules, alert_anomalies, find_anomalies};
use crate::completeness::Completeness;
use crate::inputs::{DecisionEvidence, ZScoreBasis};
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
        /// Bytes a crash left past the last whole record (an append cut short, covered by
        /// no receipt or checkpoint); 0 for a log that ended cleanly.
        crash_residue_bytes: u64,
    },
    /// The first problem found.
    Broken {
        /// Index in the log of the first bad entry (for a checkpoint problem, its tree size).
        index: u64,
        /// Byte offset of the problem.
        offset: u64,
        /// Kind of problem (content changed, link broken, ...).
        kind: String,
        /// Whether it is a torn tail (a crash mid-write) rather than a change in the middle.
        torn_tail: bool,
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

/// What an incident report is built from: the question, and what the ledger holds for it
/// (read by [`read_window`](crate::read_window), or assembled by hand).
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentWindow {
    /// The question asked.
    pub query: IncidentQuery,
    /// Where the log lives.
    pub log: String,
    /// The decisions of the window, in any order.
    pub traces: Vec<DecisionTrace<AnyPath>>,
    /// The monitor's alerts in the window.
    pub alerts: Vec<AlertRecord>,
    /// Feature and class names for the timeline.
    pub names: Names,
    /// The model that made the decisions, when known.
    pub model: Option<ModelIdentity>,
    /// The integrity of the log.
    pub integrity: Integrity,
    /// Entries in the whole log (verified ones, when the log is broken).
    pub log_entries: u64,
    /// Whether the window holds every decision stamped in it, and how that is known.
    pub completeness: Completeness,
    /// Inputs, outcomes and attributions of the window's decisions.
    pub evidence: DecisionEvidence,
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
    /// What looks wrong, in time order: found in the decisions, and the monitor's alerts.
    pub anomalies: Vec<Anomaly>,
    /// Entries in the whole log.
    pub log_entries: u64,
    /// Whether the window holds every decision stamped in it, and how that is known.
    pub completeness: Completeness,
    /// What the inputs' z-scores are measured against (`None`: no inputs given).
    pub z_score_basis: Option<ZScoreBasis>,
    /// Why attributions are missing, when they are.
    pub attribution_note: Option<String>,
    /// When the first anomaly appeared, how long until the decision changed, which inputs
    /// were out of distribution, outcomes and overrides, the root cause and what to do.
    pub analysis: Analysis,
    /// Positions in `anomalies` of each decision's anomalies, by decision sequence: built
    /// once, so every renderer finds a decision's anomalies without a scan.
    #[serde(skip)]
    by_decision: BTreeMap<u64, Vec<usize>>,
}

impl IncidentReport {
    /// Builds the report once from a window: the timeline in time order, the anomalies found
    /// in it by `rules` together with those of the monitor's alerts, in time order. Every
    /// renderer presents this one value.
    pub fn from_window(window: IncidentWindow, rules: &AnomalyRules) -> IncidentReport {
        let IncidentWindow {
            query,
            log,
            mut traces,
            alerts,
            names,
            model,
            integrity,
            log_entries,
            completeness,
            evidence,
        } = window;
        let mut keyed: Vec<(u64, DecisionTrace<AnyPath>)> = traces
            .drain(..)
            .enumerate()
            .map(|(i, t)| (evidence.positions.get(i).copied().unwrap_or(t.sequence), t))
            .collect();
        keyed.sort_by_key(|(_, t)| (t.timestamp_ns, t.sequence));
        let mut timeline: Vec<TimelineEntry> = keyed
            .iter()
            .map(|(_, t)| timeline_entry(t, query.time_ns, &names))
            .collect();
        let keys: Vec<u64> = keyed.iter().map(|(k, _)| *k).collect();
        let from_log = !evidence.positions.is_empty();
        let z_score_basis = attach_evidence(&mut timeline, &keys, from_log, &evidence, &names);
        let mut anomalies = find_anomalies(&timeline, rules);
        anomalies.extend(alert_anomalies(&alerts, query.time_ns, &names));
        anomalies.sort_by(|a, b| {
            a.relative_ms
                .total_cmp(&b.relative_ms)
                .then(a.sequence.cmp(&b.sequence))
        });
        let mut by_decision: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (position, anomaly) in anomalies.iter().enumerate() {
            by_decision
                .entry(anomaly.sequence)
                .or_default()
                .push(position);
        }
        let analysis = analyse(&timeline, &anomalies, z_score_basis, &integrity);
        IncidentReport {
            query,
            log,
            model,
            integrity,
            timeline,
            anomalies,
            log_entries,
            completeness,
            z_score_basis,
            attribution_note: evidence.attribution_note,
            analysis,
            by_decision,
        }
    }

    /// The anomalies of the decision numbered `sequence`, in time order.
    pub fn anomalies_of(&self, sequence: u64) -> impl Iterator<Item = &Anomaly> {
        self.by_decision
            .get(&sequence)
            .into_iter()
            .flatten()
            .filter_map(|&position| self.anomalies.get(position))
    }
}
