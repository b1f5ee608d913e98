//! The live stream (`GET /v1/stream`, Server-Sent Events) that the dashboard and `whyline
//! top` watch: sampled decisions, a stats event once a second, and Andon alerts (the contract
//! is docs/dashboard.md).
//!
//! # Cost when nobody watches
//!
//! The [`Hub`] counts its clients in one atomic. The infer and ingest paths ask
//! [`Hub::watched`] (one relaxed load) and do nothing else per decision while it is false:
//! no clock read, no event built, no counter bumped. Alerts are kept for the Andon board
//! whether or not anyone watches (they are rare, and the board shows history).
//!
//! # Sampling, while someone watches
//!
//! - Every decision served by `infer` is counted (`seen`) and measured (confidence, latency
//!   into a log-bucketed histogram of atomics, 4 buckets per power of two).
//! - A decision event goes out at most every [`SAMPLE_INTERVAL_NS`] (20 ms: ≤ 50 a second),
//!   by the server's clock, whatever the ingest rate; plus every anomalous decision (under
//!   the confidence budget, over the latency budget, or raising an alert) up to
//!   [`ANOMALIES_PER_SECOND`] a second.
//! - An ingested batch is counted (`seen`) but not decoded: when a sample is due, the
//!   batch's last entry is read back from the ledger and sent and measured, so for ingested
//!   decisions the confidence and latency aggregates come from the sampled ones
//!   (`measured` in the stats event says how many).
//!
//! Each event is serialised once ([`Frame`]) and shared by every client through a tokio
//! broadcast channel; a client too slow for it skips what it missed (the next stats event
//! still holds the counts).

mod events;
mod sse;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{broadcast, watch};
use whyline::core::{AnyPath, DecisionTrace, Names};
use whyline::monitor::{Alert, AlertLevel};

pub(crate) use events::{AlertEvent, Budget, DecisionEvent, Frame, StatsEvent};
pub(crate) use sse::{acknowledge, alerts, stream};

/// At most one sampled decision event per this many nanoseconds (50 a second).
pub(crate) const SAMPLE_INTERVAL_NS: u64 = 20_000_000;
/// Anomalous decisions sent a second, beside the sampled ones.
pub(crate) const ANOMALIES_PER_SECOND: u64 = 50;
/// Decisions replayed from the ledger when a client resumes.
pub(crate) const REPLAY_LIMIT: u64 = 1_000;
/// Alerts the board keeps.
const ALERT_HISTORY: usize = 1_000;
/// Frames a slow client may fall behind before it skips.
const CHANNEL_CAPACITY: usize = 1_024;
/// Latency histogram buckets: 4 per power of two of nanoseconds, up to 2^48 ns.
const LATENCY_BUCKETS: usize = 4 * 48;

/// The stream's state, shared by the request handlers.
pub(crate) struct Hub {
    sender: broadcast::Sender<Arc<Frame>>,
    clients: AtomicUsize,
    closed: watch::Sender<bool>,
    budget: Budget,
    halt_on_red: bool,
    /// The served models (name, feature count, names), to name decisions that do not say
    /// which model made them (ingested and replayed ones).
    models: Vec<(String, usize, Names)>,
    unnamed: (String, Names),
    second: Second,
    next_sample_ns: AtomicU64,
    board: Mutex<AlertBoard>,
    health: Mutex<Health>,
}

/// The aggregates of the current second.
struct Second {
    started: Mutex<Instant>,
    seen: AtomicU64,
    sampled: AtomicU64,
    anomalous: AtomicU64,
    measured: AtomicU64,
    /// Sum of confidences, in millionths.
    confidence_micros: AtomicU64,
    latency: [AtomicU64; LATENCY_BUCKETS],
}

/// The alerts raised since the server started, newest last.
#[derive(Default)]
struct AlertBoard {
    next_id: u64,
    alerts: VecDeque<AlertEvent>,
}

/// What the stats ticks learn about the ledger, for the health page.
#[derive(Clone, Debug, Default)]
pub(crate) struct Health {
    /// The latest checkpoint's size and when this server first saw it (Unix ns).
    pub(crate) checkpoint_seen: Option<(u64, u64)>,
    /// When the verification at start finished (Unix ns), and what it found.
    pub(crate) verified: Option<(u64, String)>,
}

/// Keeps a client counted while its stream lives.
pub(crate) struct ClientGuard(Arc<Hub>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// A hub for a server whose profile has these budgets, serving `models` (name, feature
    /// count, names).
    pub(crate) fn new(
        budget: Budget,
        halt_on_red: bool,
        models: Vec<(String, usize, Names)>,
    ) -> Self {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        let (closed, _) = watch::channel(false);
        Hub {
            sender,
            clients: AtomicUsize::new(0),
            closed,
            budget,
            halt_on_red,
            models,
            unnamed: ("ingest".to_owned(), Names::none()),
            second: Second {
                started: Mutex::new(Instant::now()),
                seen: AtomicU64::new(0),
                sampled: AtomicU64::new(0),
                anomalous: AtomicU64::new(0),
                measured: AtomicU64::new(0),
                confidence_micros: AtomicU64::new(0),
                latency: std::array::from_fn(|_| AtomicU64::new(0)),
            },
            next_sample_ns: AtomicU64::new(0),
            board: Mutex::new(AlertBoard::default()),
            health: Mutex::new(Health::default()),
        }
    }

    /// Whether a client is connected: the one check the hot paths make per decision.
    pub(crate) fn watched(&self) -> bool {
        self.clients.load(Ordering::Relaxed) > 0
    }

    /// Counts a client until the guard drops, and subscribes it.
    pub(crate) fn connect(
        self: &Arc<Self>,
    ) -> (
        ClientGuard,
        broadcast::Receiver<Arc<Frame>>,
        watch::Receiver<bool>,
    ) {
        self.clients.fetch_add(1, Ordering::Relaxed);
        (
            ClientGuard(Arc::clone(self)),
            self.sender.subscribe(),
            self.closed.subscribe(),
        )
    }

    /// A receiver that turns true when the server stops.
    pub(crate) fn closed(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }

    /// Ends every stream (the server is shutting down).
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }

    /// The model name and names a decision that does not name its model is shown with: the
    /// one served model, or the one served model whose feature count is the path's; else
    /// `ingest` and no names (entries do not say which model made them).
    pub(crate) fn names_for(&self, trace: &DecisionTrace<AnyPath>) -> (&str, &Names) {
        let width = whyline::core::DecisionPath::feature_contributions(&trace.path).len();
        let mut fitting = self.models.iter().filter(|(_, n, _)| *n == width);
        let chosen = match (self.models.as_slice(), fitting.next(), fitting.next()) {
            ([only], _, _) | (_, Some(only), None) => Some(only),
            _ => None,
        };
        match chosen {
            Some((name, _, names)) => (name, names),
            None => (&self.unnamed.0, &self.unnamed.1),
        }
    }

    /// The profile's budgets.
    pub(crate) fn budget(&self) -> Budget {
        self.budget
    }

    fn broadcast(&self, frame: Frame) {
        // Err: no client subscribed at this instant, nothing is lost.
        let _no_client = self.sender.send(Arc::new(frame));
    }

    fn measure(&self, confidence: f32, latency_ns: u64) {
        let second = &self.second;
        second.measured.fetch_add(1, Ordering::Relaxed);
        if confidence.is_finite() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // in [0, 1]
            let micros = (f64::from(confidence.clamp(0.0, 1.0)) * 1e6) as u64;
            second
                .confidence_micros
                .fetch_add(micros, Ordering::Relaxed);
        }
        if let Some(bucket) = second.latency.get(latency_bucket(latency_ns)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether a decision event may go out now: the sampling interval has passed, or the
    /// decision is anomalous and the second's anomaly cap is not reached.
    fn sample_due(&self, anomalous: bool) -> bool {
        if anomalous && self.second.anomalous.fetch_add(1, Ordering::Relaxed) < ANOMALIES_PER_SECOND
        {
            return true;
        }
        let now = whyline::core::now_ns();
        let next = self.next_sample_ns.load(Ordering::Relaxed);
        now >= next
            && self
                .next_sample_ns
                .compare_exchange(
                    next,
                    now + SAMPLE_INTERVAL_NS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn send_decision(&self, event: &DecisionEvent) {
        match Frame::decision(event) {
            Ok(frame) => {
                self.second.sampled.fetch_add(1, Ordering::Relaxed);
                self.broadcast(frame);
            }
            Err(error) => tracing::warn!(%error, "stream: a decision event did not serialise"),
        }
    }

    /// A decision served by `infer` (call only while [`watched`](Self::watched)): counted,
    /// measured, and sent when sampled or anomalous.
    pub(crate) fn offer_served(
        &self,
        trace: &DecisionTrace<AnyPath>,
        index: u64,
        model: &str,
        names: &Names,
        alert_rules: &[String],
    ) {
        self.second.seen.fetch_add(1, Ordering::Relaxed);
        let confidence = whyline::core::DecisionPath::confidence(&trace.path);
        self.measure(confidence, trace.latency_ns);
        #[allow(clippy::cast_precision_loss)] // microseconds, for people
        let latency_us = trace.latency_ns as f64 / 1e3;
        let anomalous =
            !alert_rules.is_empty() || events::is_anomalous(confidence, latency_us, &self.budget);
        if self.sample_due(anomalous) {
            let event =
                DecisionEvent::of_trace(trace, index, model, names, &self.budget, alert_rules);
            self.send_decision(&event);
        }
    }

    /// A batch of `count` ingested decisions (call only while watched): counted; when a
    /// sample is due, `read_last` reads the batch's last entry back, which is measured and
    /// sent.
    pub(crate) fn offer_ingested(
        &self,
        count: u64,
        last_index: u64,
        read_last: impl FnOnce() -> Option<DecisionTrace<AnyPath>>,
    ) {
        self.second.seen.fetch_add(count, Ordering::Relaxed);
        if !self.sample_due(false) {
            return;
        }
        let Some(trace) = read_last() else {
            return;
        };
        self.measure(
            whyline::core::DecisionPath::confidence(&trace.path),
            trace.latency_ns,
        );
        let (model, names) = self.names_for(&trace);
        let event = DecisionEvent::of_trace(&trace, last_index, model, names, &self.budget, &[]);
        self.send_decision(&event);
    }

    /// Puts an alert the monitor raised for the decision at `index` on the board, and sends it.
    pub(crate) fn raise(&self, alert: &Alert, index: Option<u64>, model: &str) {
        let record = alert.to_record();
        let level = match alert.level {
            AlertLevel::Yellow => "warning",
            AlertLevel::Red if self.halt_on_red => "stop",
            AlertLevel::Red => "critical",
        };
        let Ok(mut board) = self.board.lock() else {
            return;
        };
        board.next_id += 1;
        let event = AlertEvent {
            id: format!("a{}", board.next_id),
            index,
            time_ns: record.timestamp_ns,
            level,
            andon_level: record.level,
            rule: record.kind,
            model: model.to_owned(),
            sequence: record.sequence,
            message: record.message,
            acknowledged: false,
            acknowledged_ns: None,
        };
        if board.alerts.len() == ALERT_HISTORY {
            board.alerts.pop_front();
        }
        board.alerts.push_back(event.clone());
        drop(board);
        self.send_alert(&event);
    }

    fn send_alert(&self, event: &AlertEvent) {
        match Frame::new("alert", None, event) {
            Ok(frame) => self.broadcast(frame),
            Err(error) => tracing::warn!(%error, "stream: an alert event did not serialise"),
        }
    }

    /// Marks alert `id` acknowledged (and sends it again); `None` when there is no such
    /// alert.
    pub(crate) fn acknowledge(&self, id: &str) -> Option<AlertEvent> {
        let event = {
            let mut board = self.board.lock().ok()?;
            let alert = board.alerts.iter_mut().find(|a| a.id == id)?;
            if !alert.acknowledged {
                alert.acknowledged = true;
                alert.acknowledged_ns = Some(whyline::core::now_ns());
            }
            alert.clone()
        };
        self.send_alert(&event);
        Some(event)
    }

    /// Every alert on the board, oldest first.
    pub(crate) fn alerts(&self) -> Vec<AlertEvent> {
        self.board
            .lock()
            .map(|board| board.alerts.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn alerts_open(&self) -> usize {
        self.board
            .lock()
            .map(|board| board.alerts.iter().filter(|a| !a.acknowledged).count())
            .unwrap_or(0)
    }

    /// What the ticks learnt for the health page.
    pub(crate) fn health(&self) -> Health {
        self.health.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Records the verification at start.
    pub(crate) fn verified(&self, result: &str) {
        if let Ok(mut health) = self.health.lock() {
            health.verified = Some((whyline::core::now_ns(), result.to_owned()));
        }
    }

    /// The stats of the second that ends now (the aggregates start again), sent to every
    /// client. `checkpoint_size` is the latest checkpoint's, for the health page.
    pub(crate) fn tick(&self, entries: u64, checkpoint_size: Option<u64>) -> StatsEvent {
        let now_ns = whyline::core::now_ns();
        if let (Some(size), Ok(mut health)) = (checkpoint_size, self.health.lock())
            && health.checkpoint_seen.map(|(seen, _)| seen) != Some(size)
        {
            health.checkpoint_seen = Some((size, now_ns));
        }
        let elapsed = self
            .second
            .started
            .lock()
            .map(|mut started| {
                let elapsed = started.elapsed().as_secs_f64();
                *started = Instant::now();
                elapsed
            })
            .unwrap_or(1.0)
            .max(1e-3);
        let second = &self.second;
        let take = |counter: &AtomicU64| counter.swap(0, Ordering::Relaxed);
        let seen = take(&second.seen);
        let sampled = take(&second.sampled);
        take(&second.anomalous);
        let measured = take(&second.measured);
        let confidence_micros = take(&second.confidence_micros);
        let latency: Vec<u64> = second.latency.iter().map(take).collect();
        #[allow(clippy::cast_precision_loss)] // counts per second
        let stats = StatsEvent {
            time_ns: now_ns,
            entries,
            decisions_per_s: seen as f64 / elapsed,
            latency_p50_us: percentile(&latency, 0.50),
            latency_p99_us: percentile(&latency, 0.99),
            mean_confidence: (measured > 0)
                .then(|| confidence_micros as f64 / 1e6 / measured as f64),
            sampled,
            seen,
            measured,
            budget: self.budget,
            alerts_open: self.alerts_open(),
            clients: self.clients.load(Ordering::Relaxed),
        };
        if self.watched() {
            match Frame::new("stats", None, &stats) {
                Ok(frame) => self.broadcast(frame),
                Err(error) => tracing::warn!(%error, "stream: a stats event did not serialise"),
            }
        }
        stats
    }
}

/// The histogram bucket of a latency: 4 per power of two.
fn latency_bucket(latency_ns: u64) -> usize {
    if latency_ns < 4 {
        return usize::try_from(latency_ns).unwrap_or(0);
    }
    let power = 63 - latency_ns.leading_zeros(); // >= 2
    let quarter = (latency_ns >> (power - 2)) & 3;
    usize::try_from(power * 4 + u32::try_from(quarter).unwrap_or(0))
        .unwrap_or(usize::MAX)
        .min(LATENCY_BUCKETS - 1)
}

/// The lower bound of a bucket, nanoseconds.
fn bucket_floor_ns(bucket: usize) -> f64 {
    if bucket < 4 {
        #[allow(clippy::cast_precision_loss)]
        return bucket as f64;
    }
    let power = i32::try_from(bucket / 4).unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let quarter = (bucket % 4) as f64;
    2f64.powi(power) * (1.0 + quarter / 4.0)
}

/// The `q` quantile of a latency histogram, microseconds (the middle of its bucket: within
/// 12.5 %), or `None` when it is empty.
fn percentile(buckets: &[u64], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((total as f64 * q).ceil() as u64).max(1);
    let mut cumulative = 0;
    for (bucket, count) in buckets.iter().enumerate() {
        cumulative += count;
        if cumulative >= rank {
            let low = bucket_floor_ns(bucket);
            let high = bucket_floor_ns(bucket + 1);
            return Some((low + high) / 2.0 / 1e3);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn latency_buckets_are_a_quarter_of_a_power_of_two_wide() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(3), 3);
        // 1024 = 2^10: bucket 40; 1279 still in it; 1280 = 1.25 * 1024 the next.
        assert_eq!(latency_bucket(1024), 40);
        assert_eq!(latency_bucket(1279), 40);
        assert_eq!(latency_bucket(1280), 41);
        assert_eq!(latency_bucket(2047), 43);
        assert_eq!(latency_bucket(u64::MAX), LATENCY_BUCKETS - 1);
        for ns in [5u64, 77, 1000, 41_200, 9_999_999] {
            let b = latency_bucket(ns);
            #[allow(clippy::cast_precision_loss)]
            let x = ns as f64;
            assert!(
                bucket_floor_ns(b) <= x && x < bucket_floor_ns(b + 1),
                "{ns}"
            );
        }
    }

    #[test]
    fn percentiles_come_from_the_bucket_holding_the_rank() {
        let mut buckets = vec![0u64; LATENCY_BUCKETS];
        // 99 decisions of ~10 µs and one of ~1 ms.
        buckets[latency_bucket(10_000)] = 99;
        buckets[latency_bucket(1_000_000)] = 1;
        let p50 = percentile(&buckets, 0.5).unwrap();
        let p99 = percentile(&buckets, 0.99).unwrap();
        let p100 = percentile(&buckets, 1.0).unwrap();
        assert!((p50 - 10.0).abs() / 10.0 < 0.125, "{p50}");
        assert!((p99 - 10.0).abs() / 10.0 < 0.125, "{p99}");
        assert!((p100 - 1000.0).abs() / 1000.0 < 0.125, "{p100}");
        assert_eq!(percentile(&vec![0; LATENCY_BUCKETS], 0.5), None);
    }

    #[test]
    fn nothing_is_counted_while_nobody_watches_and_samples_are_spaced() {
        let hub = Arc::new(Hub::new(
            Budget {
                latency_p99_us: None,
                min_confidence: Some(0.7),
            },
            false,
            vec![("m".into(), 2, Names::none())],
        ));
        assert!(!hub.watched());
        let (guard, _receiver, _closed) = hub.connect();
        assert!(hub.watched());
        // Many due checks in a row: only the first within 20 ms passes.
        let passed = (0..10_000).filter(|_| hub.sample_due(false)).count();
        assert!((1..=2).contains(&passed), "{passed}");
        // Anomalies pass up to the cap.
        let anomalies = (0..200).filter(|_| hub.sample_due(true)).count();
        assert!(
            anomalies >= usize::try_from(ANOMALIES_PER_SECOND).unwrap() && anomalies <= 52,
            "{anomalies}"
        );
        drop(guard);
        assert!(!hub.watched());
    }
}
