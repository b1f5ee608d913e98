//! What every request handler shares: the models and their monitors, the ledger's
//! collector, the tokens, the limits, the health and the metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use whyline::core::Explainable;
use whyline::{
    AnyPath, Durability, InferenceMonitor, Model, NoteVerifier, RecorderCollector, TraceCollector,
};

use crate::config::ServerSettings;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::tokens::{Caller, Tokens};

/// The ledger's collector, shared by every model's monitor.
pub(crate) type SharedCollector = Arc<RecorderCollector<AnyPath>>;

/// A model's monitor, and a buffer for its decisions' APRT bytes (for the byte counter).
pub(crate) struct Slot {
    pub(crate) monitor: InferenceMonitor<Model, SharedCollector>,
}

/// One served model.
pub(crate) struct ServedModel {
    /// The name in its URLs.
    pub(crate) name: String,
    /// The model (cheap to clone: its trees are shared), for metadata and predictions.
    pub(crate) model: Model,
    /// The monitor: one decision at a time per model, in sequence order.
    pub(crate) slot: Mutex<Slot>,
}

impl ServedModel {
    pub(crate) fn n_features(&self) -> usize {
        self.model.n_features()
    }
}

/// The state of a running server.
pub(crate) struct AppState {
    pub(crate) models: BTreeMap<String, Arc<ServedModel>>,
    pub(crate) collector: SharedCollector,
    /// Where the ledger lives (read-only views are opened there).
    pub(crate) log: whyline::LogLocation,
    pub(crate) durability: Durability,
    pub(crate) verifier: Option<NoteVerifier>,
    pub(crate) tokens: Option<Tokens>,
    pub(crate) settings: ServerSettings,
    /// Requests in flight per caller.
    limits: HashMap<Caller, Arc<Semaphore>>,
    /// Why writes are refused, once storage failed.
    fault: Mutex<Option<String>>,
    pub(crate) shutting_down: AtomicBool,
    pub(crate) metrics: Metrics,
    /// The tlog-tiles cache, kept between requests.
    pub(crate) tiles: Mutex<whyline::TileCache>,
    /// The live stream and the Andon board.
    pub(crate) hub: Arc<crate::stream::Hub>,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        models: BTreeMap<String, Arc<ServedModel>>,
        collector: SharedCollector,
        log: whyline::LogLocation,
        durability: Durability,
        verifier: Option<NoteVerifier>,
        tokens: Option<Tokens>,
        settings: ServerSettings,
        metrics: Metrics,
        hub: crate::stream::Hub,
    ) -> Self {
        let callers: Vec<Caller> = match &tokens {
            None => vec![Caller::Anonymous],
            Some(tokens) => (0..tokens.len()).map(Caller::Token).collect(),
        };
        let limits = callers
            .into_iter()
            .map(|caller| {
                (
                    caller,
                    Arc::new(Semaphore::new(settings.concurrency_per_token)),
                )
            })
            .collect();
        metrics.ready.set(1);
        Self {
            models,
            collector,
            log,
            durability,
            verifier,
            tokens,
            settings,
            limits,
            fault: Mutex::new(None),
            shutting_down: AtomicBool::new(false),
            metrics,
            tiles: Mutex::new(whyline::TileCache::new()),
            hub: Arc::new(hub),
        }
    }

    /// The concurrency limit of `caller`.
    pub(crate) fn limit(&self, caller: Caller) -> Option<&Arc<Semaphore>> {
        self.limits.get(&caller)
    }

    /// The model called `name`, or 404.
    pub(crate) fn model(&self, name: &str) -> Result<&Arc<ServedModel>, ApiError> {
        self.models
            .get(name)
            .ok_or_else(|| ApiError::not_found(format!("no model named {name:?}")))
    }

    /// Why writes are refused, if they are.
    pub(crate) fn fault(&self) -> Option<String> {
        self.fault.lock().ok().and_then(|fault| fault.clone())
    }

    /// Refuses writes from now on, and says why (logged once).
    pub(crate) fn set_fault(&self, cause: &str) {
        if let Ok(mut fault) = self.fault.lock()
            && fault.is_none()
        {
            tracing::error!(
                cause,
                "storage failed: the server is unready and refuses writes"
            );
            *fault = Some(cause.to_owned());
            self.metrics.ready.set(0);
        }
    }

    /// 503 when writes are refused (a storage fault, or shutting down).
    pub(crate) fn check_writable(&self) -> Result<(), ApiError> {
        if let Some(cause) = self.fault() {
            return Err(ApiError::unavailable(format!(
                "the ledger cannot be written: {cause}"
            )));
        }
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(ApiError::unavailable("the server is shutting down"));
        }
        Ok(())
    }

    /// A read-only view of the ledger as committed now (no lock, nothing repaired).
    pub(crate) fn read_view(&self) -> whyline::Result<Box<dyn whyline::ledger::Store>> {
        self.log.open_read_only()
    }

    /// [`read_view`](Self::read_view) after committing what the collector has acknowledged:
    /// a reader (the read API, the incident page) sees every decision already answered, not
    /// only those the group commit has written so far. A collector that cannot commit (its
    /// writer stopped) does not keep anyone from reading what is on disk: the failure is
    /// logged and the view opened anyway.
    pub(crate) fn committed_view(&self) -> whyline::Result<Box<dyn whyline::ledger::Store>> {
        self.commit_acknowledged();
        self.read_view()
    }

    /// Commits what the collector has acknowledged, before a read (see
    /// [`committed_view`](Self::committed_view)); a failure is only logged.
    fn commit_acknowledged(&self) {
        if let Err(error) = TraceCollector::<AnyPath>::flush(&*self.collector) {
            tracing::warn!(%error, "committing before a read failed; reading what is on disk");
        }
    }

    /// The incident report of `query`, read from a read-only view (checkpoint signatures
    /// checked with the ledger's key). A directory's investigation opens its sealed inputs
    /// with the subject key store beside it; a database's reads the store it is given.
    pub(crate) fn investigate(
        &self,
        query: whyline::IncidentQuery,
    ) -> Result<whyline::IncidentReport, ApiError> {
        let failed = |e: &(dyn std::error::Error + 'static)| ApiError::internal(error_chain(e));
        self.commit_acknowledged();
        let store = match self.log.as_dir() {
            Some(_) => None,
            None => Some(self.read_view().map_err(|e| failed(&e))?),
        };
        let mut investigation = whyline::forensics::Investigation::new(self.log.path(), query);
        if let Some(store) = &store {
            investigation.store(&**store);
        }
        if let Some(verifier) = &self.verifier {
            investigation.verifier(verifier);
        }
        investigation.run().map_err(|e| failed(&e))
    }

    /// Entries known durable.
    pub(crate) fn durable_size(&self) -> u64 {
        self.collector
            .as_ledger()
            .map_or(0, |ledger| ledger.durable_size())
    }

    /// Brings the gauges read from the collector up to date (at each scrape).
    pub(crate) fn refresh_gauges(&self) {
        let size = TraceCollector::<AnyPath>::len(&*self.collector);
        let durable = self.durable_size();
        self.metrics
            .queue_depth
            .set(i64::try_from(size.saturating_sub(durable)).unwrap_or(i64::MAX));
        self.metrics
            .entries
            .set(i64::try_from(size).unwrap_or(i64::MAX));
        self.metrics
            .saw_dropped(TraceCollector::<AnyPath>::stats(&*self.collector).dropped);
    }
}

/// The Display of `error` and of each error under it, joined by `": "` and leaving out a
/// cause whose text the line already holds: the line the CLI prints for the same error.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        let line = cause.to_string();
        if !line.is_empty() && !text.contains(&line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&line);
        }
        next = cause.source();
    }
    text
}

/// The durability policy's name.
pub(crate) fn durability_name(durability: Durability) -> &'static str {
    match durability {
        Durability::None => "none",
        Durability::Interval { .. } => "interval",
        Durability::Sync => "sync",
    }
}
