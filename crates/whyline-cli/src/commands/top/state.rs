//! The live view as data, independent of the terminal: fed events, it keeps the figures of the
//! header bars, the latest decisions and the open alerts, and the operator's choices (pause,
//! filters, the selected decision). The UI only draws it.
//!
//! Figures: decisions per second are counted over the last [`RATE_WINDOW_NS`] of arrival
//! time (the caller's clock, so a backlog read at start does not count as a burst: see
//! [`TopState::backlog_done`]); p50/p99 latency and mean confidence are over the last
//! [`SAMPLE_WINDOW`] decisions. A server's `stats` event replaces all three with its own
//! aggregates (the server sees every decision; the stream carries a sample of them).

use std::collections::{BTreeSet, VecDeque};

use super::event::{AlertEvent, AlertLevel, Budget, DecisionEvent, Event, StatsEvent};

/// Decisions kept for the list.
pub(crate) const ROWS_KEPT: usize = 2_000;
/// Open alerts kept.
pub(crate) const ALERTS_KEPT: usize = 500;
/// Decisions the latency and confidence figures are computed over.
pub(crate) const SAMPLE_WINDOW: usize = 2_048;
/// The window decisions per second are counted over, nanoseconds of arrival time.
pub(crate) const RATE_WINDOW_NS: u64 = 2_000_000_000;
/// A server's stats are used for this long after they arrive; then local figures again.
const SERVER_STATS_FRESH_NS: u64 = 5_000_000_000;

/// The header's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Figures {
    /// Decisions per second.
    pub(crate) decisions_per_s: f64,
    /// Median latency, microseconds (`None` before the first decision).
    pub(crate) latency_p50_us: Option<f64>,
    /// 99th percentile latency, microseconds.
    pub(crate) latency_p99_us: Option<f64>,
    /// Mean confidence.
    pub(crate) mean_confidence: Option<f64>,
    /// `(sampled, seen)` when the figures are a server's and it sampled the stream.
    pub(crate) sampling: Option<(u64, u64)>,
}

/// A filter on the decision list: every decision, or one decision name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum DecisionFilter {
    /// Every decision.
    #[default]
    All,
    /// Only this decision.
    Only(String),
}

/// The live view's state. See the module docs.
#[derive(Debug)]
pub(crate) struct TopState {
    rows: VecDeque<DecisionEvent>,
    samples: VecDeque<(f64, f64)>,
    arrivals: VecDeque<(u64, u64)>,
    counting_from_ns: Option<u64>,
    alerts: VecDeque<AlertEvent>,
    decisions_seen: u64,
    alerts_seen: u64,
    names: BTreeSet<String>,
    server_stats: Option<(u64, StatsEvent)>,
    budget: Budget,
    paused_at: Option<u64>,
    decision_filter: DecisionFilter,
    level_filter: Option<AlertLevel>,
    selected: Option<u64>,
}

impl TopState {
    /// An empty view drawn against `budget` (a server's stats may bring its own).
    pub(crate) fn new(budget: Budget) -> Self {
        Self {
            rows: VecDeque::with_capacity(ROWS_KEPT),
            samples: VecDeque::with_capacity(SAMPLE_WINDOW),
            arrivals: VecDeque::new(),
            counting_from_ns: None,
            alerts: VecDeque::new(),
            decisions_seen: 0,
            alerts_seen: 0,
            names: BTreeSet::new(),
            server_stats: None,
            budget,
            paused_at: None,
            decision_filter: DecisionFilter::All,
            level_filter: None,
            selected: None,
        }
    }

    /// Applies one event that arrived at `now_ns` (the caller's monotonic clock).
    pub(crate) fn apply(&mut self, event: Event, now_ns: u64) {
        match event {
            Event::Decision(decision) => self.on_decision(decision, now_ns),
            Event::Stats(stats) => {
                if let Some(budget) = stats.budget {
                    self.budget = budget.over(self.budget);
                }
                self.server_stats = Some((now_ns, stats));
            }
            Event::Alert(alert) => self.on_alert(alert),
        }
    }

    /// Marks the end of what was already in the log when the view started: decisions from
    /// now on count towards decisions per second.
    pub(crate) fn backlog_done(&mut self, now_ns: u64) {
        if self.counting_from_ns.is_none() {
            self.counting_from_ns = Some(now_ns);
            self.arrivals.clear();
        }
    }

    fn on_decision(&mut self, decision: DecisionEvent, now_ns: u64) {
        self.decisions_seen += 1;
        if self.samples.len() == SAMPLE_WINDOW {
            self.samples.pop_front();
        }
        self.samples
            .push_back((decision.latency_us, decision.confidence));
        if self.counting_from_ns.is_some() {
            match self.arrivals.back_mut() {
                Some((at, count)) if *at == now_ns => *count += 1,
                _ => self.arrivals.push_back((now_ns, 1)),
            }
        }
        if !self.names.contains(&decision.decision) {
            self.names.insert(decision.decision.clone());
        }
        if self.rows.len() == ROWS_KEPT {
            self.rows.pop_front();
        }
        self.rows.push_back(decision);
    }

    fn on_alert(&mut self, alert: AlertEvent) {
        if !alert.id.is_empty()
            && let Some(at) = self.alerts.iter().position(|a| a.id == alert.id)
        {
            // The same alert again: acknowledged (it closes) or updated.
            if alert.acknowledged {
                self.alerts.remove(at);
            } else if let Some(slot) = self.alerts.get_mut(at) {
                *slot = alert;
            }
            return;
        }
        if alert.acknowledged {
            return;
        }
        self.alerts_seen += 1;
        // The decision it concerns shows the alert's rule among its anomalies.
        if let Some(index) = alert.index
            && let Some(row) = self.rows.iter_mut().rev().find(|r| r.index == index)
            && !row.anomalies.contains(&alert.rule)
        {
            row.anomalies.push(alert.rule.clone());
        }
        if self.alerts.len() == ALERTS_KEPT {
            self.alerts.pop_front();
        }
        self.alerts.push_back(alert);
    }

    /// The header's figures at `now_ns`.
    pub(crate) fn figures(&mut self, now_ns: u64) -> Figures {
        if let Some((at, stats)) = &self.server_stats
            && now_ns.saturating_sub(*at) <= SERVER_STATS_FRESH_NS
        {
            return Figures {
                decisions_per_s: stats.decisions_per_s,
                latency_p50_us: stats.latency_p50_us,
                latency_p99_us: stats.latency_p99_us,
                mean_confidence: stats.mean_confidence,
                sampling: (stats.seen > stats.sampled).then_some((stats.sampled, stats.seen)),
            };
        }
        let cutoff = now_ns.saturating_sub(RATE_WINDOW_NS);
        while self.arrivals.front().is_some_and(|(at, _)| *at <= cutoff) {
            self.arrivals.pop_front();
        }
        let counted: u64 = self.arrivals.iter().map(|(_, n)| n).sum();
        // Over the window, or over the time since counting began when that is shorter.
        let span_ns = match self.counting_from_ns {
            Some(from) => now_ns.saturating_sub(from).clamp(1, RATE_WINDOW_NS),
            None => RATE_WINDOW_NS,
        };
        let mut latencies: Vec<f64> = self.samples.iter().map(|(l, _)| *l).collect();
        latencies.sort_by(f64::total_cmp);
        let confidence = (!self.samples.is_empty())
            .then(|| self.samples.iter().map(|(_, c)| c).sum::<f64>() / self.samples.len() as f64);
        Figures {
            decisions_per_s: counted as f64 * 1e9 / span_ns as f64,
            latency_p50_us: percentile(&latencies, 0.50),
            latency_p99_us: percentile(&latencies, 0.99),
            mean_confidence: confidence,
            sampling: None,
        }
    }

    /// The budgets the bars are drawn against.
    pub(crate) fn budget(&self) -> Budget {
        self.budget
    }

    /// Decisions and alerts received since the start.
    pub(crate) fn totals(&self) -> (u64, u64) {
        (self.decisions_seen, self.alerts_seen)
    }

    /// Entries in the ledger, when a server said.
    pub(crate) fn server_entries(&self) -> Option<u64> {
        self.server_stats.as_ref().map(|(_, s)| s.entries)
    }

    /// The decisions shown, newest first: those that pass the filter, and while paused only
    /// those that had arrived when the view was paused.
    pub(crate) fn visible(&self) -> impl Iterator<Item = &DecisionEvent> {
        self.rows.iter().rev().filter(|row| {
            self.paused_at.is_none_or(|last| row.index <= last)
                && match &self.decision_filter {
                    DecisionFilter::All => true,
                    DecisionFilter::Only(name) => &row.decision == name,
                }
        })
    }

    /// The open alerts shown, newest first: at or above the level filter.
    pub(crate) fn open_alerts(&self) -> impl Iterator<Item = &AlertEvent> {
        self.alerts
            .iter()
            .rev()
            .filter(|a| self.level_filter.is_none_or(|level| a.level >= level))
    }

    /// Open alerts by level: warning, critical, stop.
    pub(crate) fn alert_counts(&self) -> [usize; 3] {
        let mut counts = [0; 3];
        for alert in &self.alerts {
            let slot = match alert.level {
                AlertLevel::Warning => 0,
                AlertLevel::Critical => 1,
                AlertLevel::Stop => 2,
            };
            if let Some(count) = counts.get_mut(slot) {
                *count += 1;
            }
        }
        counts
    }

    /// Pauses the list (figures keep updating) or resumes it.
    pub(crate) fn toggle_pause(&mut self) {
        self.paused_at = match self.paused_at {
            Some(_) => None,
            None => Some(self.rows.back().map_or(0, |r| r.index)),
        };
    }

    /// Whether the list is paused.
    pub(crate) fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    /// Decisions that arrived since the pause.
    pub(crate) fn held_back(&self) -> usize {
        match self.paused_at {
            Some(last) => self.rows.iter().filter(|r| r.index > last).count(),
            None => 0,
        }
    }

    /// Next decision filter: all, then each decision name seen in order, then all again.
    pub(crate) fn cycle_decision_filter(&mut self) {
        self.decision_filter = match &self.decision_filter {
            DecisionFilter::All => self
                .names
                .iter()
                .next()
                .map_or(DecisionFilter::All, |n| DecisionFilter::Only(n.clone())),
            DecisionFilter::Only(current) => self
                .names
                .range::<String, _>((
                    std::ops::Bound::Excluded(current),
                    std::ops::Bound::Unbounded,
                ))
                .next()
                .map_or(DecisionFilter::All, |n| DecisionFilter::Only(n.clone())),
        };
        self.keep_selection_visible();
    }

    /// The decision filter.
    pub(crate) fn decision_filter(&self) -> &DecisionFilter {
        &self.decision_filter
    }

    /// Next alert level filter: all, at least critical, stops only, all again.
    pub(crate) fn cycle_level_filter(&mut self) {
        self.level_filter = match self.level_filter {
            None | Some(AlertLevel::Warning) => Some(AlertLevel::Critical),
            Some(AlertLevel::Critical) => Some(AlertLevel::Stop),
            Some(AlertLevel::Stop) => None,
        };
    }

    /// The alert level filter (`None`: every level).
    pub(crate) fn level_filter(&self) -> Option<AlertLevel> {
        self.level_filter
    }

    /// The selected decision's index (`None`: none, the list follows the newest).
    pub(crate) fn selected(&self) -> Option<u64> {
        self.selected
    }

    /// The selected decision, if it is still kept.
    pub(crate) fn selected_row(&self) -> Option<&DecisionEvent> {
        let index = self.selected?;
        self.rows.iter().rev().find(|r| r.index == index)
    }

    /// Moves the selection `down` (towards older decisions) or up by one visible row; from no
    /// selection, selects the newest.
    pub(crate) fn move_selection(&mut self, down: bool) {
        let visible: Vec<u64> = self.visible().map(|r| r.index).collect();
        let position = self
            .selected
            .and_then(|index| visible.iter().position(|i| *i == index));
        let next = match (position, down) {
            (None, _) => visible.first(),
            (Some(at), true) => visible.get(at + 1).or(visible.get(at)),
            (Some(0), false) => None,
            (Some(at), false) => visible.get(at - 1),
        };
        self.selected = next.copied();
    }

    fn keep_selection_visible(&mut self) {
        if let Some(index) = self.selected
            && !self.visible().any(|r| r.index == index)
        {
            self.selected = None;
        }
    }
}

/// The `q` quantile of sorted values (nearest rank), `None` when empty.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::top::event::StatsBudget;

    const S: u64 = 1_000_000_000;

    fn decision(index: u64, name: &str, confidence: f64, latency_us: f64) -> Event {
        Event::Decision(DecisionEvent {
            index,
            decision: name.into(),
            confidence,
            latency_us,
            ..DecisionEvent::default()
        })
    }

    fn alert(id: &str, index: u64, level: AlertLevel, acknowledged: bool) -> Event {
        Event::Alert(AlertEvent {
            id: id.into(),
            index: Some(index),
            time_ns: 0,
            level,
            rule: "low_confidence".into(),
            message: String::new(),
            acknowledged,
        })
    }

    #[test]
    fn latency_percentiles_and_mean_confidence_are_over_the_latest_decisions() {
        let mut state = TopState::new(Budget::default());
        assert_eq!(state.figures(0).latency_p50_us, None);
        // Latencies 1..=100 µs: nearest-rank p50 is 50, p99 is 99; confidences 0.5 and 1.0.
        for i in 1..=100u32 {
            let confidence = if i % 2 == 0 { 1.0 } else { 0.5 };
            state.apply(decision(u64::from(i), "GO", confidence, f64::from(i)), 0);
        }
        let figures = state.figures(0);
        assert_eq!(figures.latency_p50_us, Some(50.0));
        assert_eq!(figures.latency_p99_us, Some(99.0));
        assert_eq!(figures.mean_confidence, Some(0.75));
        // Only the last SAMPLE_WINDOW decisions count.
        for i in 0..SAMPLE_WINDOW as u64 {
            state.apply(decision(1000 + i, "GO", 0.9, 7.0), 0);
        }
        let figures = state.figures(0);
        assert_eq!(figures.latency_p99_us, Some(7.0));
        assert!((figures.mean_confidence.unwrap_or(0.0) - 0.9).abs() < 1e-12);
    }

    #[test]
    fn decisions_per_second_count_arrivals_after_the_backlog_over_the_window() {
        let mut state = TopState::new(Budget::default());
        // A backlog of 500 read at start is not a rate.
        for i in 0..500 {
            state.apply(decision(i, "GO", 1.0, 1.0), 0);
        }
        state.backlog_done(10 * S);
        assert_eq!(state.figures(10 * S).decisions_per_s, 0.0);
        // 100 decisions in the first half second: 200/s over the time counted so far.
        for i in 0..100 {
            state.apply(decision(500 + i, "GO", 1.0, 1.0), 10 * S + S / 4);
        }
        assert_eq!(state.figures(10 * S + S / 2).decisions_per_s, 200.0);
        // Then 300 more a second later: 400 in the 2 s window.
        for i in 0..300 {
            state.apply(decision(600 + i, "GO", 1.0, 1.0), 11 * S + S / 2);
        }
        assert_eq!(state.figures(12 * S).decisions_per_s, 200.0);
        // Once the first 100 leave the window, only the 300 count.
        assert_eq!(state.figures(12 * S + S / 2).decisions_per_s, 150.0);
        assert_eq!(state.figures(20 * S).decisions_per_s, 0.0);
    }

    #[test]
    fn server_stats_replace_local_figures_while_fresh() {
        let mut state = TopState::new(Budget::default());
        state.apply(decision(1, "GO", 0.2, 500.0), 0);
        state.apply(
            Event::Stats(StatsEvent {
                decisions_per_s: 98_000.0,
                latency_p50_us: Some(12.0),
                latency_p99_us: Some(80.0),
                mean_confidence: Some(0.91),
                sampled: 250,
                seen: 98_000,
                budget: Some(StatsBudget {
                    latency_p99_us: Some(500.0),
                    min_confidence: Some(0.7),
                }),
                entries: 1235,
                alerts_open: 0,
            }),
            S,
        );
        let figures = state.figures(2 * S);
        assert_eq!(figures.decisions_per_s, 98_000.0);
        assert_eq!(figures.latency_p99_us, Some(80.0));
        assert_eq!(figures.sampling, Some((250, 98_000)));
        assert_eq!(state.budget().min_confidence, 0.7);
        assert_eq!(state.server_entries(), Some(1235));
        // Stale stats give way to the local figures.
        assert_eq!(state.figures(60 * S).latency_p99_us, Some(500.0));
    }

    #[test]
    fn the_list_is_newest_first_bounded_and_filtered_by_decision() {
        let mut state = TopState::new(Budget::default());
        for i in 0..(ROWS_KEPT as u64 + 10) {
            let name = if i % 3 == 0 { "BRAKE" } else { "GO" };
            state.apply(decision(i, name, 1.0, 1.0), 0);
        }
        let indices: Vec<u64> = state.visible().map(|r| r.index).collect();
        assert_eq!(indices.len(), ROWS_KEPT);
        assert_eq!(indices.first(), Some(&(ROWS_KEPT as u64 + 9)));
        assert_eq!(indices.last(), Some(&10));
        state.cycle_decision_filter();
        assert_eq!(
            state.decision_filter(),
            &DecisionFilter::Only("BRAKE".into())
        );
        assert!(
            state
                .visible()
                .all(|r| r.decision == "BRAKE" && r.index % 3 == 0)
        );
        state.cycle_decision_filter();
        assert_eq!(state.decision_filter(), &DecisionFilter::Only("GO".into()));
        assert!(state.visible().all(|r| r.index % 3 != 0));
        state.cycle_decision_filter();
        assert_eq!(state.decision_filter(), &DecisionFilter::All);
        assert_eq!(state.visible().count(), ROWS_KEPT);
    }

    #[test]
    fn a_pause_freezes_the_list_but_not_the_figures() {
        let mut state = TopState::new(Budget::default());
        state.backlog_done(0);
        state.apply(decision(1, "GO", 1.0, 1.0), 0);
        state.toggle_pause();
        assert!(state.is_paused());
        state.apply(decision(2, "GO", 0.5, 9.0), 1);
        state.apply(decision(3, "GO", 0.5, 9.0), 1);
        assert_eq!(state.visible().map(|r| r.index).collect::<Vec<_>>(), [1]);
        assert_eq!(state.held_back(), 2);
        assert_eq!(state.figures(S).latency_p99_us, Some(9.0));
        state.toggle_pause();
        assert_eq!(
            state.visible().map(|r| r.index).collect::<Vec<_>>(),
            [3, 2, 1]
        );
        assert_eq!(state.held_back(), 0);
    }

    #[test]
    fn alerts_open_close_on_acknowledgement_mark_their_decision_and_filter_by_level() {
        let mut state = TopState::new(Budget::default());
        state.apply(decision(7, "GO", 0.3, 1.0), 0);
        state.apply(alert("a", 7, AlertLevel::Warning, false), 0);
        state.apply(alert("b", 7, AlertLevel::Stop, false), 0);
        state.apply(alert("c", 8, AlertLevel::Critical, false), 0);
        assert_eq!(state.alert_counts(), [1, 1, 1]);
        assert_eq!(state.selected_row(), None);
        assert_eq!(
            state.visible().next().map(|r| r.anomalies.clone()),
            Some(vec!["low_confidence".to_string()])
        );
        state.cycle_level_filter();
        let ids: Vec<&str> = state.open_alerts().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        state.cycle_level_filter();
        let ids: Vec<&str> = state.open_alerts().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["b"]);
        state.cycle_level_filter();
        assert_eq!(state.open_alerts().count(), 3);
        state.apply(alert("b", 7, AlertLevel::Stop, true), 0);
        assert_eq!(state.alert_counts(), [1, 1, 0]);
        assert_eq!(state.totals(), (1, 3));
    }

    #[test]
    fn the_selection_moves_over_visible_rows_and_stays_on_its_decision() {
        let mut state = TopState::new(Budget::default());
        for i in 0..5 {
            state.apply(decision(i, if i % 2 == 0 { "A" } else { "B" }, 1.0, 1.0), 0);
        }
        state.move_selection(true);
        assert_eq!(state.selected(), Some(4));
        state.move_selection(true);
        state.move_selection(true);
        assert_eq!(state.selected(), Some(2));
        // A new decision does not move the selection off its decision.
        state.apply(decision(5, "B", 1.0, 1.0), 0);
        assert_eq!(state.selected_row().map(|r| r.index), Some(2));
        state.move_selection(false);
        assert_eq!(state.selected(), Some(3));
        // Filtering to A hides decision 3 (a B) and drops the selection.
        state.cycle_decision_filter();
        assert_eq!(state.decision_filter(), &DecisionFilter::Only("A".into()));
        assert_eq!(state.selected(), None);
        // Up from the newest row goes back to following.
        state.move_selection(true);
        assert_eq!(state.selected(), Some(4));
        state.move_selection(false);
        assert_eq!(state.selected(), None);
    }
}
