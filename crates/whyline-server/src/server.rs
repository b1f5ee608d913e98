//! [`Server`]: built from a [`ServerConfig`], bound to its address, served until a shutdown
//! future completes, then flushed and checkpointed.
//!
//! # Shutdown
//!
//! When the shutdown future completes (the CLI's: SIGTERM or SIGINT) the server stops
//! accepting connections, lets the requests in flight finish (every receipt they send is
//! for an entry appended), then commits the ledger (every appended entry on disk), signs a
//! final checkpoint of all of it, and closes the ledger. [`Server::serve`] returns what it
//! did ([`ShutdownReport`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use whyline::{
    AnyPath, CollectorChoice, Model, RecorderBuilder, TraceCollector, VerifyOutcome,
    training_statistics, verify_store,
};

use crate::config::{ModelSource, ServerConfig};
use crate::error::{ApiError, ServerError};
use crate::state::{AppState, ServedModel, Slot, error_chain};
use crate::tokens::{Caller, Refusal, Scope};
use crate::{oip, read};

/// What a model serves, for the start-up message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedModelInfo {
    /// Its name in URLs.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// Its model type (`random_forest`, `aprender:LinearRegression`, ...).
    pub model_type: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Its ledger index (the model record appended when it was loaded).
    pub record_index: Option<u64>,
}

/// A server, bound to its address and ready to [`serve`](Server::serve).
pub struct Server {
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    state: Arc<AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    models: Vec<ServedModelInfo>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("address", &self.address)
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

/// What [`Server::serve`] did on the way out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Entries in the ledger at the end.
    pub entries: u64,
    /// The final signed checkpoint, when the ledger signs.
    pub checkpoint: Option<String>,
}

impl Server {
    /// Opens (or creates) the ledger, loads every model (appending its model record), and
    /// binds the address. Refuses a profile whose collector is not a ledger, and a
    /// non-loopback address without tokens.
    pub async fn bind(config: &ServerConfig) -> Result<Server, ServerError> {
        let address = config.listen_address();
        if config.tokens.is_none() && !address.ip().is_loopback() {
            return Err(ServerError::OpenToTheNetwork { address });
        }
        let tls = match &config.tls {
            Some(files) => Some(crate::tls::acceptor(files)?),
            None => None,
        };
        // Bound first: a state built and then dropped here (on an async thread) would close
        // a PostgreSQL store with a blocking call, which must not run on such a thread.
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(ServerError::io("listening on", address))?;
        let address = listener
            .local_addr()
            .map_err(ServerError::io("listening on", address))?;
        let config = config.clone();
        let (state, models) = tokio::task::spawn_blocking(move || build_state(&config))
            .await
            .map_err(|e| ServerError::Io {
                operation: "starting",
                target: "the ledger".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
        start_verification(&state);
        Ok(Server {
            listener,
            address,
            state,
            tls,
            models,
        })
    }

    /// The address bound (the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The models served.
    pub fn models(&self) -> &[ServedModelInfo] {
        &self.models
    }

    /// The ledger's directory, or for a PostgreSQL log its URL without password.
    pub fn ledger_dir(&self) -> &std::path::Path {
        self.state.log.path()
    }

    /// Where the ledger lives.
    pub fn log_location(&self) -> &whyline::LogLocation {
        &self.state.log
    }

    /// Whether requests need tokens.
    pub fn requires_tokens(&self) -> bool {
        self.state.tokens.is_some()
    }

    /// Whether it serves HTTPS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight, commits the
    /// ledger and signs a final checkpoint.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<ShutdownReport, ServerError> {
        let Server {
            listener,
            address,
            state,
            tls,
            models: _,
        } = self;
        let router = router(Arc::clone(&state));
        start_ticks(&state);
        let shutdown_state = Arc::clone(&state);
        let shutdown = async move {
            shutdown.await;
            shutdown_state.shutting_down.store(true, Ordering::Release);
            shutdown_state.hub.close(); // live streams end, so the requests in flight finish
            tracing::info!("shutting down: finishing the requests in flight");
        };
        match tls {
            None => axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ServerError::io("serving on", address))?,
            Some(acceptor) => axum::serve(
                crate::tls::TlsListener::new(listener, acceptor)
                    .map_err(ServerError::io("serving on", address))?,
                router,
            )
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::io("serving on", address))?,
        }
        tokio::task::spawn_blocking(move || {
            let report = finish(&state);
            close(state);
            report
        })
        .await
        .map_err(|e| ServerError::Io {
            operation: "closing",
            target: "the ledger".into(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}

/// Commits, signs the final checkpoint and closes the ledger.
fn finish(state: &AppState) -> Result<ShutdownReport, ServerError> {
    let collector = &state.collector;
    TraceCollector::<AnyPath>::flush(&**collector).map_err(|e| {
        whyline::WhylineError::from(whyline::MonitorError::Collector {
            sequence: 0,
            source: e,
        })
    })?;
    let checkpoint = collector.checkpoint()?;
    let entries = TraceCollector::<AnyPath>::len(&**collector);
    tracing::info!(entries, "ledger committed and checkpointed");
    Ok(ShutdownReport {
        entries,
        checkpoint,
    })
}

/// How long [`close`] waits for the tasks that share the state (the stats ticker, a
/// verification still running) to end.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Drops the state, and with it the ledger's store, here on a blocking thread once the tasks
/// that shared it have ended: a PostgreSQL store closes its connection with a blocking call,
/// which panics on a thread that drives async tasks.
fn close(mut state: Arc<AppState>) {
    let started = Instant::now();
    loop {
        match Arc::try_unwrap(state) {
            Ok(state) => {
                drop(state);
                tracing::info!("ledger closed");
                return;
            }
            Err(shared) if started.elapsed() >= CLOSE_WAIT => {
                tracing::warn!(
                    holders = Arc::strong_count(&shared) - 1,
                    "closing: tasks still share the ledger; the last of them closes it"
                );
                return;
            }
            Err(shared) => {
                state = shared;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn build_state(
    config: &ServerConfig,
) -> Result<(Arc<AppState>, Vec<ServedModelInfo>), ServerError> {
    let profile = &config.profile;
    if profile.collector != CollectorChoice::Ledger {
        return Err(ServerError::NotALedger {
            found: format!("{:?}", profile.collector).to_lowercase(),
        });
    }
    let mut loaded = Vec::with_capacity(config.models.len());
    for ModelSource { name, file } in &config.models {
        let model =
            Model::load_with(file, &config.load_options).map_err(|source| ServerError::Model {
                name: name.clone(),
                source,
            })?;
        loaded.push((name.clone(), file.clone(), model));
    }
    let metrics = crate::metrics::Metrics::new();
    let recorder = RecorderBuilder::new(profile)
        .segment_opener(crate::storage::metered(
            config.segment_opener.clone(),
            metrics.fsync.clone(),
            std::sync::Arc::clone(&metrics.fsync_stats),
        ))
        .build_at::<AnyPath>(&config.log, config.key_dir.as_deref())?;
    let verifier = recorder.verifier()?;
    let durability = recorder.collector().durability()?;
    let log = recorder
        .collector()
        .log_location()
        .cloned()
        .unwrap_or_else(|| config.log.clone());
    let shared = recorder.into_shared();
    let mut models = BTreeMap::new();
    let mut infos = Vec::new();
    for (name, file, model) in loaded {
        let before = TraceCollector::<AnyPath>::len(&**shared.collector());
        let mut monitor = shared.monitor(model.clone())?;
        if let Some(statistics) = training_statistics(model.info())? {
            monitor.andon_mut().set_training_statistics(statistics);
        }
        let after = TraceCollector::<AnyPath>::len(&**shared.collector());
        let identity = whyline::core::Explainable::identity(&model).cloned();
        infos.push(ServedModelInfo {
            name: name.clone(),
            file,
            model_type: identity
                .as_ref()
                .map(|i| i.model_type.clone())
                .unwrap_or_default(),
            sha256: identity.map(|i| i.sha256).unwrap_or_default(),
            record_index: (after > before).then_some(before),
        });
        models.insert(
            name.clone(),
            Arc::new(ServedModel {
                name,
                model,
                slot: std::sync::Mutex::new(Slot { monitor }),
            }),
        );
    }
    let hub = crate::stream::Hub::new(
        crate::stream::Budget {
            latency_p99_us: profile.andon.max_latency_ms.map(|ms| ms * 1e3),
            min_confidence: profile.andon.yellow_confidence,
        },
        profile.andon.halt_on_red,
        model_names(&models),
    );
    let state = AppState::new(
        models,
        Arc::clone(shared.collector()),
        log,
        durability,
        verifier,
        config.tokens.clone(),
        config.server.clone(),
        metrics,
        hub,
    );
    Ok((Arc::new(state), infos))
}

/// The served models as the stream names decisions: name, feature count, names.
fn model_names(
    models: &BTreeMap<String, Arc<ServedModel>>,
) -> Vec<(String, usize, whyline::core::Names)> {
    models
        .values()
        .map(|served| {
            (
                served.name.clone(),
                served.n_features(),
                served.model.info().names.clone(),
            )
        })
        .collect()
}

/// Sends the stream's stats once a second until the server stops.
fn start_ticks(state: &Arc<AppState>) {
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut closed = state.hub.closed();
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(1));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = closed.wait_for(|closed| *closed) => return,
            }
            let entries = TraceCollector::<AnyPath>::len(&*state.collector);
            let checkpoint = state.collector.as_ledger().and_then(|ledger| {
                ledger
                    .with_ledger(|l| l.checkpoints().last().map(|c| c.checkpoint.size))
                    .ok()
                    .flatten()
            });
            state.hub.tick(entries, checkpoint);
        }
    });
}

/// Verifies the ledger in the background (a read-only walk) and sets `whyline_verify_status`,
/// then brings the tile cache up to the latest checkpoint (so tile requests, which hold the
/// ledger's lock, never walk the log).
fn start_verification(state: &Arc<AppState>) {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        verify_at_start(&state);
        catch_up_tiles(&state);
    });
}

fn catch_up_tiles(state: &AppState) {
    let Some(ledger) = state.collector.as_ledger() else {
        return;
    };
    let size = ledger
        .with_ledger(|l| l.checkpoints().last().map(|c| c.checkpoint.size))
        .ok()
        .flatten();
    let (Some(size), Ok(store)) = (size, state.read_view()) else {
        return;
    };
    if let Ok(mut tiles) = state.tiles.lock()
        && let Err(error) = tiles.catch_up(&store, size)
    {
        tracing::warn!(error = %error_chain(&error), "tile cache: catching up failed");
    }
}

fn verify_at_start(state: &AppState) {
    let outcome = state
        .read_view()
        .and_then(|store| Ok(verify_store(&store, state.verifier.as_ref())?));
    match outcome {
        Ok(VerifyOutcome::Intact(_)) => {
            state.metrics.verify_status.set(1);
            state.hub.verified("intact");
        }
        Ok(VerifyOutcome::Broken(damage)) => {
            // A torn tail past what the writer flushed is the writer's own tail.
            if damage.is_torn_tail() {
                state.metrics.verify_status.set(1);
                state.hub.verified("intact (a torn tail, the writer's own)");
            } else {
                tracing::error!(%damage, "the ledger does not verify");
                state.metrics.verify_status.set(0);
                state.hub.verified(&format!("broken: {damage}"));
            }
        }
        Err(error) => {
            tracing::error!(error = %error_chain(&error), "the ledger could not be verified");
            state.metrics.verify_status.set(0);
            state
                .hub
                .verified(&format!("could not verify: {}", error_chain(&error)));
        }
    }
}

/// The routes, each with the scope it needs.
fn router(state: Arc<AppState>) -> Router {
    let scoped = |scope: Scope, router: Router<Arc<AppState>>| {
        router.route_layer(middleware::from_fn_with_state(
            (Arc::clone(&state), scope),
            authorize,
        ))
    };
    let infer = scoped(
        Scope::Infer,
        Router::new()
            .route("/v2/models/{name}", get(oip::metadata))
            .route("/v2/models/{name}/ready", get(oip::model_ready))
            .route("/v2/models/{name}/infer", post(oip::infer)),
    );
    let read = scoped(
        Scope::Read,
        Router::new()
            .route("/v1/decisions", get(read::decisions))
            .route("/v1/decisions/{index}", get(read::decision))
            .route("/v1/incident", get(read::incident))
            .route("/v1/proof/inclusion", get(read::proof_inclusion))
            .route("/v1/proof/consistency", get(read::proof_consistency))
            .route("/metrics", get(metrics))
            .route("/v1/stream", get(crate::stream::stream))
            .route("/v1/alerts", get(crate::stream::alerts))
            .route("/v1/health", get(crate::dashboard::health_json)),
    );
    let admin = scoped(
        Scope::Admin,
        Router::new().route(
            "/v1/alerts/{id}/acknowledge",
            post(crate::stream::acknowledge),
        ),
    );
    let ingest = scoped(
        Scope::Ingest,
        Router::new().route("/v1/decisions", post(crate::ingest::ingest)),
    );
    let tiles = scoped(
        Scope::Read,
        Router::new()
            .route("/checkpoint", get(crate::ingest::checkpoint))
            .route("/tile/{*path}", get(crate::ingest::tile)),
    );
    // The dashboard's pages carry no data (their script reads the API with the token); the
    // incident page checks the token itself.
    let pages = Router::new()
        .route("/", get(crate::dashboard::live))
        .route("/andon", get(crate::dashboard::andon))
        .route("/health", get(crate::dashboard::health))
        .route("/decisions/{index}", get(crate::dashboard::decision))
        .route("/incident", get(crate::dashboard::incident_page))
        .route("/assets/{file}", get(crate::dashboard::asset));
    let open = Router::new()
        .merge(pages)
        .route("/v2/health/live", get(oip::live))
        .route("/v2/health/ready", get(oip::ready));
    let body_limit = state.settings.body_limit_bytes;
    Router::new()
        .merge(infer)
        .merge(read)
        .merge(ingest)
        .merge(tiles)
        .merge(admin)
        .merge(open)
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), count))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}",
        request.method(),
        request.uri().path()
    ))
}

/// `GET /metrics`.
async fn metrics(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    state.refresh_gauges();
    let text = state
        .metrics
        .encode()
        .map_err(|e| ApiError::internal(format!("metrics: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Checks the token and the caller's concurrency, then runs the request.
async fn authorize(
    State((state, scope)): State<(Arc<AppState>, Scope)>,
    request: Request,
    next: Next,
) -> Response {
    let caller = match &state.tokens {
        None => Caller::Anonymous,
        Some(tokens) => {
            let given = request
                .headers()
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes);
            match tokens.check(given, scope) {
                Ok(caller) => caller,
                Err(Refusal::Unauthenticated) => {
                    let mut response = ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "a valid token is needed: Authorization: Bearer TOKEN",
                    )
                    .into_response();
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                    return response;
                }
                Err(Refusal::Forbidden(scope)) => {
                    return ApiError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        format!("this token lacks the {} scope", scope.name()),
                    )
                    .into_response();
                }
            }
        }
    };
    let Some(limit) = state.limit(caller) else {
        return ApiError::internal("no concurrency limit for this caller").into_response();
    };
    let Ok(_permit) = Arc::clone(limit).try_acquire_owned() else {
        let mut error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "more than {} requests in flight for this token",
                state.settings.concurrency_per_token
            ),
        );
        error.retry_after = Some(1);
        return error.into_response();
    };
    next.run(request).await
}

/// Counts every request by route template and code, and times it.
async fn count(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let mut response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(HeaderValue::as_bytes)
            != Some(b"application/json")
    {
        response = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the request body is larger than {} bytes ([server] body_limit_bytes)",
                state.settings.body_limit_bytes
            ),
        )
        .into_response();
    }
    state
        .metrics
        .request_duration
        .get_or_create(&crate::metrics::RouteLabel {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    state
        .metrics
        .requests
        .get_or_create(&crate::metrics::RequestLabels {
            route,
            method,
            code: response.status().as_u16(),
        })
        .inc();
    response
}
