//! Andon: rules that watch every decision and raise yellow or red alerts.
//!
//! The rules are a plain config struct ([`AndonRules`], readable from TOML) validated once
//! into an [`Andon`], which holds the alert sinks and the little state some rules need (the
//! run of repeated decisions). Checking a decision allocates nothing unless an alert fires.

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertKind, AlertLevel};
use crate::drift::{DriftDetector, DriftStatus};
use crate::error::{MonitorError, Result};
use crate::ood::TrainingStatistics;
use crate::sink::{AlertSink, Delivery};

/// The Andon rules, as read from a configuration file. Every rule is off unless set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AndonRules {
    /// Master switch; when false no rule is checked.
    pub enabled: bool,
    /// Yellow alert when confidence falls below this.
    pub yellow_confidence: Option<f32>,
    /// Red alert when confidence falls below this (must not exceed `yellow_confidence`).
    pub red_confidence: Option<f32>,
    /// Yellow alert when a decision takes longer than this many milliseconds.
    pub max_latency_ms: Option<f64>,
    /// Red alert when a decision takes longer than this many milliseconds.
    pub red_latency_ms: Option<f64>,
    /// Level of the alert for a NaN or infinite output (the Jidoka quality gate).
    pub non_finite_output: Option<AlertLevelSetting>,
    /// Yellow alert when a feature's |z-score| against the training statistics exceeds this.
    pub ood_z_score: Option<f32>,
    /// Level of the alert when a feature leaves its training range `[min, max]`.
    pub ood_range: Option<AlertLevelSetting>,
    /// Yellow alert when the same output comes out this many times in a row.
    pub repetitive_decisions: Option<u32>,
    /// When true, a red alert makes `predict` return
    /// [`MonitorError::LineStopped`] (after the trace is recorded).
    pub halt_on_red: bool,
}

impl Default for AndonRules {
    fn default() -> Self {
        Self {
            enabled: true,
            yellow_confidence: None,
            red_confidence: None,
            max_latency_ms: None,
            red_latency_ms: None,
            non_finite_output: Some(AlertLevelSetting::Red),
            ood_z_score: None,
            ood_range: None,
            repetitive_decisions: None,
            halt_on_red: false,
        }
    }
}

/// An alert level as written in configuration files: `"yellow"` or `"red"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevelSetting {
    /// Yellow.
    Yellow,
    /// Red.
    Red,
}

impl From<AlertLevelSetting> for AlertLevel {
    fn from(setting: AlertLevelSetting) -> AlertLevel {
        match setting {
            AlertLevelSetting::Yellow => AlertLevel::Yellow,
            AlertLevelSetting::Red => AlertLevel::Red,
        }
    }
}

impl AndonRules {
    /// Checks ranges and consistency, naming the offending setting
    /// ([`MonitorError::InvalidSetting`]).
    pub fn validate(&self) -> Result<()> {
        let invalid = |field: &str, value: &dyn std::fmt::Display, expected: &str| {
            Err(MonitorError::invalid_setting(
                format!("andon.{field}"),
                value,
                expected,
            ))
        };
        for (field, value) in [
            ("yellow_confidence", self.yellow_confidence),
            ("red_confidence", self.red_confidence),
        ] {
            if let Some(v) = value.filter(|v| !(0.0..=1.0).contains(v)) {
                return invalid(field, &v, "a confidence in [0, 1]");
            }
        }
        if let (Some(yellow), Some(red)) = (self.yellow_confidence, self.red_confidence)
            && red > yellow
        {
            return invalid(
                "red_confidence",
                &red,
                &format!("at most yellow_confidence ({yellow}): red must be the lower bar"),
            );
        }
        for (field, value) in [
            ("max_latency_ms", self.max_latency_ms),
            ("red_latency_ms", self.red_latency_ms),
        ] {
            if let Some(v) = value.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return invalid(field, &v, "a positive number of milliseconds");
            }
        }
        if let Some(z) = self.ood_z_score.filter(|z| !(z.is_finite() && *z > 0.0)) {
            return invalid("ood_z_score", &z, "a positive number");
        }
        if let Some(count) = self.repetitive_decisions.filter(|count| *count < 2) {
            return invalid("repetitive_decisions", &count, "at least 2");
        }
        Ok(())
    }
}

/// What the monitor knows about one decision, handed to [`Andon::check`].
#[derive(Clone, Copy, Debug)]
pub struct DecisionFacts<'a> {
    /// Sequence number.
    pub sequence: u64,
    /// Wall-clock time, Unix epoch nanoseconds.
    pub timestamp_ns: u64,
    /// The input row.
    pub row: &'a [f32],
    /// The model's output.
    pub output: f32,
    /// The path's confidence.
    pub confidence: f32,
    /// Time the model took, nanoseconds.
    pub latency_ns: u64,
}

/// Counters of what Andon raised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AndonStats {
    /// Decisions checked.
    pub checked: u64,
    /// Yellow alerts raised.
    pub yellow: u64,
    /// Red alerts raised.
    pub red: u64,
    /// Alerts that a sink could not deliver.
    pub undelivered: u64,
}

type RedHandler = Box<dyn Fn(&Alert) + Send + Sync>;

/// What a drift detector watches, decision by decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftSignal {
    /// The decision's confidence.
    Confidence,
    /// The model's output.
    Output,
    /// One input feature.
    Feature(usize),
}

impl DriftSignal {
    fn value(self, facts: &DecisionFacts<'_>) -> Option<f64> {
        match self {
            DriftSignal::Confidence => Some(f64::from(facts.confidence)),
            DriftSignal::Output => Some(f64::from(facts.output)),
            DriftSignal::Feature(i) => facts.row.get(i).map(|v| f64::from(*v)),
        }
    }

    fn label(self) -> String {
        match self {
            DriftSignal::Confidence => "confidence".to_owned(),
            DriftSignal::Output => "output".to_owned(),
            DriftSignal::Feature(i) => format!("feature[{i}]"),
        }
    }
}

/// A drift detector fed one signal of every decision.
struct DriftWatch {
    signal: DriftSignal,
    detector: Box<dyn DriftDetector + Send + Sync>,
}

/// The runtime Andon: validated rules, sinks, and per-rule state.
pub struct Andon {
    rules: AndonRules,
    yellow_latency_ns: Option<u64>,
    red_latency_ns: Option<u64>,
    statistics: Option<TrainingStatistics>,
    sinks: Vec<Box<dyn AlertSink>>,
    red_handler: Option<RedHandler>,
    drift: Vec<DriftWatch>,
    last_output_bits: Option<u32>,
    repeat_count: u32,
    stats: AndonStats,
    /// Every alert the last check or external raise raised (most are empty: no allocation).
    raised: Vec<Alert>,
}

impl std::fmt::Debug for Andon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Andon")
            .field("rules", &self.rules)
            .field("sinks", &self.sinks.len())
            .field("stats", &self.stats)
            .finish()
    }
}

fn ms_to_ns(ms: Option<f64>) -> Option<u64> {
    // Validated positive and finite; the float-to-int cast saturates.
    ms.map(|ms| (ms * 1e6) as u64)
}

impl Andon {
    /// Andon with validated `rules` and no sinks yet.
    pub fn new(rules: AndonRules) -> Result<Self> {
        rules.validate()?;
        Ok(Self {
            yellow_latency_ns: ms_to_ns(rules.max_latency_ms),
            red_latency_ns: ms_to_ns(rules.red_latency_ms),
            rules,
            statistics: None,
            sinks: Vec::new(),
            red_handler: None,
            drift: Vec::new(),
            last_output_bits: None,
            repeat_count: 0,
            stats: AndonStats::default(),
            raised: Vec::new(),
        })
    }

    /// Andon that checks nothing.
    pub fn disabled() -> Self {
        Self {
            rules: AndonRules {
                enabled: false,
                ..AndonRules::default()
            },
            yellow_latency_ns: None,
            red_latency_ns: None,
            statistics: None,
            sinks: Vec::new(),
            red_handler: None,
            drift: Vec::new(),
            last_output_bits: None,
            repeat_count: 0,
            stats: AndonStats::default(),
            raised: Vec::new(),
        }
    }

    /// Adds a sink; every alert goes to every sink.
    pub fn add_sink(&mut self, sink: impl AlertSink + 'static) -> &mut Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// Sets the handler that runs on every red alert (stop the line), before the sinks.
    pub fn on_red(&mut self, handler: impl Fn(&Alert) + Send + Sync + 'static) -> &mut Self {
        self.red_handler = Some(Box::new(handler));
        self
    }

    /// Feeds `signal` of every decision to `detector`: its warning raises a yellow
    /// [`AlertKind::Drift`], its drift a red one (named after the detector). Non-finite values
    /// are not fed (the detectors reject them; the non-finite-output rule covers outputs).
    pub fn add_drift_detector(
        &mut self,
        signal: DriftSignal,
        detector: impl DriftDetector + Send + Sync + 'static,
    ) -> &mut Self {
        self.drift.push(DriftWatch {
            signal,
            detector: Box::new(detector),
        });
        self
    }

    /// Sets the training statistics the out-of-distribution rules check against.
    pub fn set_training_statistics(&mut self, statistics: TrainingStatistics) -> &mut Self {
        self.statistics = Some(statistics);
        self
    }

    /// The rules in force.
    pub fn rules(&self) -> &AndonRules {
        &self.rules
    }

    /// Whether any rule is checked.
    pub fn is_enabled(&self) -> bool {
        self.rules.enabled
    }

    /// Counters so far.
    pub fn stats(&self) -> AndonStats {
        self.stats
    }

    /// Checks one decision against every rule, delivers the alerts raised, and returns the
    /// most severe one (the one that stops the line, when red).
    ///
    /// The rules run in a fixed order, one function each: confidence, latency, non-finite
    /// output, out of distribution, repetition, drift. On equal levels the first alert raised
    /// is the one returned.
    pub fn check(&mut self, facts: &DecisionFacts<'_>) -> Option<Alert> {
        let timestamp_ns = facts.timestamp_ns;
        self.check_stamped(facts, move || timestamp_ns)
    }

    /// [`check`](Self::check), with the alerts' time read from `stamp` once, and only when
    /// an alert is raised: the monitor reads no clock for a decision that raises nothing.
    /// `facts.timestamp_ns` is not used.
    pub(crate) fn check_stamped(
        &mut self,
        facts: &DecisionFacts<'_>,
        stamp: impl FnMut() -> u64,
    ) -> Option<Alert> {
        self.raised.clear();
        if !self.rules.enabled {
            return None;
        }
        self.stats.checked += 1;
        let mut stamp = Stamp {
            read: stamp,
            value: None,
        };
        let mut worst: Option<Alert> = None;
        // One rule at a time, raising as found: no array of five possible alerts is built
        // and dropped for a decision that raises none.
        let rules: [Rule; 5] = [
            |andon, facts| andon.check_confidence(facts),
            |andon, facts| andon.check_latency(facts),
            |andon, facts| andon.check_non_finite_output(facts),
            |andon, facts| andon.check_distribution(facts),
            Self::check_repetition,
        ];
        for rule in rules {
            if let Some((level, kind)) = rule(self, facts) {
                let timestamp_ns = stamp.get();
                keep_worst(
                    &mut worst,
                    self.raise(facts.sequence, timestamp_ns, level, kind),
                );
            }
        }
        self.check_drift(facts, &mut stamp, &mut worst);
        worst
    }

    /// Whether a rule reads the decision's latency (so the monitor must time the model).
    pub fn needs_latency(&self) -> bool {
        self.rules.enabled && (self.yellow_latency_ns.is_some() || self.red_latency_ns.is_some())
    }

    /// Confidence below the red bar (red) or else below the yellow bar (yellow).
    fn check_confidence(&self, facts: &DecisionFacts<'_>) -> Option<(AlertLevel, AlertKind)> {
        let confidence = facts.confidence;
        let (level, threshold) = match self.rules.red_confidence.filter(|t| confidence < *t) {
            Some(red) => (AlertLevel::Red, red),
            None => (
                AlertLevel::Yellow,
                self.rules.yellow_confidence.filter(|t| confidence < *t)?,
            ),
        };
        Some((
            level,
            AlertKind::LowConfidence {
                confidence,
                threshold,
            },
        ))
    }

    /// Latency over the red budget (red) or else over the yellow budget (yellow).
    fn check_latency(&self, facts: &DecisionFacts<'_>) -> Option<(AlertLevel, AlertKind)> {
        let latency_ns = facts.latency_ns;
        let (level, budget_ns) = match self.red_latency_ns.filter(|b| latency_ns > *b) {
            Some(red) => (AlertLevel::Red, red),
            None => (
                AlertLevel::Yellow,
                self.yellow_latency_ns.filter(|b| latency_ns > *b)?,
            ),
        };
        Some((
            level,
            AlertKind::LatencyOverBudget {
                latency_ns,
                budget_ns,
            },
        ))
    }

    /// A NaN or infinite output, at the configured level (the Jidoka quality gate).
    fn check_non_finite_output(
        &self,
        facts: &DecisionFacts<'_>,
    ) -> Option<(AlertLevel, AlertKind)> {
        let level = self
            .rules
            .non_finite_output
            .filter(|_| !facts.output.is_finite())?;
        Some((
            level.into(),
            AlertKind::NonFiniteOutput {
                output: facts.output,
            },
        ))
    }

    /// The worst feature against the training statistics: yellow for a z-score over the
    /// bar, the configured level for a value outside the training range.
    fn check_distribution(&self, facts: &DecisionFacts<'_>) -> Option<(AlertLevel, AlertKind)> {
        let check_range = self.rules.ood_range.is_some();
        let finding =
            self.statistics
                .as_ref()?
                .worst(facts.row, self.rules.ood_z_score, check_range)?;
        let level = match (finding.outside_range, self.rules.ood_range) {
            (true, Some(level)) => level.into(),
            _ => AlertLevel::Yellow,
        };
        Some((
            level,
            AlertKind::OutOfDistribution {
                feature_index: finding.feature_index,
                value: finding.value,
                z_score: finding.z_score,
                outside_range: finding.outside_range,
            },
        ))
    }

    /// The same output `repetitive_decisions` times in a row: one yellow alert per run, when
    /// the run reaches the limit.
    fn check_repetition(&mut self, facts: &DecisionFacts<'_>) -> Option<(AlertLevel, AlertKind)> {
        let limit = self.rules.repetitive_decisions?;
        let bits = facts.output.to_bits();
        if self.last_output_bits == Some(bits) {
            self.repeat_count = self.repeat_count.saturating_add(1);
        } else {
            self.last_output_bits = Some(bits);
            self.repeat_count = 1;
        }
        (self.repeat_count == limit).then_some((
            AlertLevel::Yellow,
            AlertKind::RepetitiveDecision {
                decision: facts.output,
                count: limit,
            },
        ))
    }

    /// Feeds every drift detector its signal: a warning is yellow, a drift red. Non-finite
    /// signals are not fed. Raises as it goes (there may be several detectors); allocates
    /// only when an alert fires.
    fn check_drift(
        &mut self,
        facts: &DecisionFacts<'_>,
        stamp: &mut Stamp<impl FnMut() -> u64>,
        worst: &mut Option<Alert>,
    ) {
        for index in 0..self.drift.len() {
            let Some(watch) = self.drift.get_mut(index) else {
                continue;
            };
            let Some(value) = watch.signal.value(facts).filter(|v| v.is_finite()) else {
                continue;
            };
            let level = match watch.detector.update(value) {
                Ok(DriftStatus::Drift) => AlertLevel::Red,
                Ok(DriftStatus::Warning) => AlertLevel::Yellow,
                Ok(DriftStatus::Stable) | Err(_) => continue,
            };
            let kind = AlertKind::Drift {
                detector: watch.detector.name().to_owned(),
                signal: watch.signal.label(),
            };
            let timestamp_ns = stamp.get();
            keep_worst(worst, self.raise(facts.sequence, timestamp_ns, level, kind));
        }
    }

    /// Raises an alert that an outside detector found (a drift detector, say) about a decision,
    /// delivering it like any other.
    pub fn raise_external(
        &mut self,
        facts: &DecisionFacts<'_>,
        level: AlertLevel,
        kind: AlertKind,
    ) -> Alert {
        self.raised.clear();
        self.raise(facts.sequence, facts.timestamp_ns, level, kind)
    }

    /// Raises `kind` at `level` about the decision the last [`check`](Self::check) was
    /// about, keeping what that check raised: an alert the monitor finds itself (a step of
    /// the wall clock). `None` when Andon is disabled.
    pub(crate) fn raise_also(
        &mut self,
        sequence: u64,
        timestamp_ns: u64,
        level: AlertLevel,
        kind: AlertKind,
    ) -> Option<Alert> {
        if !self.rules.enabled {
            return None;
        }
        Some(self.raise(sequence, timestamp_ns, level, kind))
    }

    /// Every alert the last [`check`](Self::check) or
    /// [`raise_external`](Self::raise_external) raised, in the order raised: `check` returns
    /// only the most severe, a log keeps them all.
    pub fn last_raised(&self) -> &[Alert] {
        &self.raised
    }

    fn raise(
        &mut self,
        sequence: u64,
        timestamp_ns: u64,
        level: AlertLevel,
        kind: AlertKind,
    ) -> Alert {
        let alert = Alert {
            level,
            kind,
            sequence,
            timestamp_ns,
        };
        match level {
            AlertLevel::Yellow => self.stats.yellow += 1,
            AlertLevel::Red => {
                self.stats.red += 1;
                if let Some(handler) = &self.red_handler {
                    handler(&alert);
                }
            }
        }
        for sink in &self.sinks {
            if sink.deliver(&alert) == Delivery::Dropped {
                self.stats.undelivered += 1;
            }
        }
        self.raised.push(alert.clone());
        alert
    }
}

/// One Andon rule: what it finds about a decision, if anything.
type Rule = fn(&mut Andon, &DecisionFacts<'_>) -> Option<(AlertLevel, AlertKind)>;

/// A time read at most once, when first needed.
struct Stamp<F> {
    read: F,
    value: Option<u64>,
}

impl<F: FnMut() -> u64> Stamp<F> {
    fn get(&mut self) -> u64 {
        *self.value.get_or_insert_with(&mut self.read)
    }
}

/// Keeps the more severe of two alerts; on equal levels the first raised stays.
fn keep_worst(worst: &mut Option<Alert>, alert: Alert) {
    if worst.as_ref().is_none_or(|w| alert.level > w.level) {
        *worst = Some(alert);
    }
}
