//! The Prometheus metrics (`GET /metrics`), in the text exposition format of
//! `prometheus-client`. Names start with `whyline_`, are in base units (`_seconds`, `_bytes`)
//! and counters end in `_total`. Labels are routes, codes, levels and rules: never a
//! decision, a model input or a token.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `whyline_decisions_total` | counter | `model` | decisions recorded: by each model (infer), `model="ingest"` for ingested ones |
//! | `whyline_decision_bytes_total` | counter | | APRT bytes of the decisions recorded (infer) |
//! | `whyline_ingest_bytes_total` | counter | | request bytes of the ingested batches (`POST /v1/decisions`) |
//! | `whyline_appends_total` | counter | `durability` | ledger appends by the policy in force (`sync`, `interval`, `none`) |
//! | `whyline_fsync_seconds` | histogram | | every `fdatasync` of the ledger's segment files |
//! | `whyline_commit_wait_seconds` | histogram | | time a decision under `sync` took to record, its commit (fsync) included |
//! | `whyline_queue_depth` | gauge | | entries appended but not yet durable |
//! | `whyline_dropped_total` | counter | | traces the collector dropped (a ledger drops none) |
//! | `whyline_alerts_total` | counter | `level`, `rule` | Andon alerts raised |
//! | `whyline_verify_status` | gauge | | the ledger's verification at start: 1 intact, 0 broken, -1 not done yet |
//! | `whyline_ready` | gauge | | 1 when the server accepts writes, 0 after a storage fault |
//! | `whyline_ledger_entries` | gauge | | entries in the ledger |
//! | `whyline_http_requests_total` | counter | `route` (the template), `method`, `code` | requests answered |
//! | `whyline_http_request_duration_seconds` | histogram | `route` | time to answer |

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

/// A model's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ModelLabel {
    pub(crate) model: String,
}

/// The durability policy's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DurabilityLabel {
    pub(crate) durability: &'static str,
}

/// An alert's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AlertLabels {
    pub(crate) level: String,
    pub(crate) rule: String,
}

/// A request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) route: String,
    pub(crate) method: String,
    pub(crate) code: u16,
}

/// A route's label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabel {
    pub(crate) route: String,
}

fn duration_histogram() -> Histogram {
    // 10 µs to ~5 s.
    Histogram::new(exponential_buckets(1e-5, 2.5, 15))
}

/// Every metric of a server.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) decisions: Family<ModelLabel, Counter>,
    pub(crate) decision_bytes: Counter,
    pub(crate) ingest_bytes: Counter,
    pub(crate) appends: Family<DurabilityLabel, Counter>,
    pub(crate) commit_wait: Histogram,
    pub(crate) fsync: Histogram,
    pub(crate) queue_depth: Gauge,
    pub(crate) dropped: Counter,
    dropped_seen: AtomicU64,
    pub(crate) alerts: Family<AlertLabels, Counter>,
    pub(crate) verify_status: Gauge<i64, AtomicI64>,
    pub(crate) ready: Gauge,
    pub(crate) entries: Gauge,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) request_duration: Family<RouteLabel, Histogram>,
    /// The fsync times again, as plain figures for the health page.
    pub(crate) fsync_stats: std::sync::Arc<FsyncStats>,
}

/// Every fdatasync's time, summed up for the health page.
#[derive(Debug, Default)]
pub(crate) struct FsyncStats {
    count: AtomicU64,
    total_ns: AtomicU64,
    last_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl FsyncStats {
    /// Records one fsync that took `ns`.
    pub(crate) fn record(&self, ns: u64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.total_ns.fetch_add(ns, Ordering::Relaxed);
        self.last_ns.store(ns, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("whyline");
        let decisions = Family::<ModelLabel, Counter>::default();
        registry.register("decisions", "Decisions recorded", decisions.clone());
        let decision_bytes = Counter::default();
        registry.register_with_unit(
            "decision",
            "APRT bytes of the decisions recorded",
            Unit::Bytes,
            decision_bytes.clone(),
        );
        let ingest_bytes = Counter::default();
        registry.register_with_unit(
            "ingest",
            "Request bytes of the ingested batches",
            Unit::Bytes,
            ingest_bytes.clone(),
        );
        let appends = Family::<DurabilityLabel, Counter>::default();
        registry.register(
            "appends",
            "Ledger appends, by the durability policy in force",
            appends.clone(),
        );
        let commit_wait = duration_histogram();
        registry.register_with_unit(
            "commit_wait",
            "Time a decision under sync durability waited for its commit (fsync included)",
            Unit::Seconds,
            commit_wait.clone(),
        );
        let fsync = duration_histogram();
        registry.register_with_unit(
            "fsync",
            "Every fdatasync of the ledger's segment files",
            Unit::Seconds,
            fsync.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Entries appended but not yet durable",
            queue_depth.clone(),
        );
        let dropped = Counter::default();
        registry.register("dropped", "Traces the collector dropped", dropped.clone());
        let alerts = Family::<AlertLabels, Counter>::default();
        registry.register(
            "alerts",
            "Andon alerts raised, by level and rule",
            alerts.clone(),
        );
        let verify_status = Gauge::<i64, AtomicI64>::default();
        verify_status.set(-1);
        registry.register(
            "verify_status",
            "The ledger's verification at start: 1 intact, 0 broken, -1 not done yet",
            verify_status.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "ready",
            "1 when the server accepts writes, 0 after a storage fault",
            ready.clone(),
        );
        let entries = Gauge::default();
        registry.register("ledger_entries", "Entries in the ledger", entries.clone());
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status code",
            requests.clone(),
        );
        let request_duration =
            Family::<RouteLabel, Histogram>::new_with_constructor(duration_histogram as fn() -> _);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer a request, by route template",
            Unit::Seconds,
            request_duration.clone(),
        );
        Self {
            registry,
            decisions,
            decision_bytes,
            ingest_bytes,
            appends,
            commit_wait,
            fsync,
            queue_depth,
            dropped,
            dropped_seen: AtomicU64::new(0),
            alerts,
            verify_status,
            ready,
            entries,
            requests,
            request_duration,
            fsync_stats: std::sync::Arc::new(FsyncStats::default()),
        }
    }

    /// The fsyncs so far: count, mean, last and largest, microseconds.
    pub(crate) fn fsync_summary(&self) -> serde_json::Value {
        let stats = &self.fsync_stats;
        let count = stats.count.load(Ordering::Relaxed);
        let total = stats.total_ns.load(Ordering::Relaxed);
        #[allow(clippy::cast_precision_loss)] // microseconds, for people
        let micros = |ns: u64| ns as f64 / 1e3;
        serde_json::json!({
            "count": count,
            "mean_us": (count > 0).then(|| micros(total) / count as f64),
            "last_us": (count > 0).then(|| micros(stats.last_ns.load(Ordering::Relaxed))),
            "max_us": (count > 0).then(|| micros(stats.max_ns.load(Ordering::Relaxed))),
        })
    }

    /// Brings the dropped counter up to the collector's count.
    pub(crate) fn saw_dropped(&self, total: u64) {
        let before = self.dropped_seen.fetch_max(total, Ordering::Relaxed);
        if total > before {
            self.dropped.inc_by(total - before);
        }
    }

    /// The text exposition.
    pub(crate) fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8192);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
