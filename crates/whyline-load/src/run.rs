//! The closed loop: `connections` keep-alive HTTP/1.1 connections, each sending its next
//! request as soon as the previous answer is read, until the run's end.
//!
//! ```text
//!  open all connections ─► warm-up (requests sent, not counted) ─► measured window ─► end
//!                                                                  every answer that completes
//!                                                                  inside the window is counted
//! ```
//!
//! A request still in flight at the end is abandoned and not counted (at most one per
//! connection), so the rate is `counted / window`.
//!
//! In a closed loop at saturation, latency is mostly queueing: with C connections and a
//! server answering R requests/s, the mean latency is C / R (Little's law). With
//! [`RunOptions::rate`] the loop is paced instead: connection i sends its k-th request at
//! `start + (k + i / C) × C / rate`, and a request's latency runs from that intended time,
//! so a server that falls behind the schedule is charged for the wait (no coordinated
//! omission). A connection that fails is reopened and
//! the failure counted as a transport error. Each connection keeps its own tally and
//! histogram; they are merged when the run ends, so the loop shares nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::cpu::CpuClock;
use crate::error::{LoadError, Result};
use crate::latency::{LatencyRecorder, LatencySummary};
use crate::target::{RequestTemplate, Target};

/// How a run is shaped.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Concurrent keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Length of the measured window.
    pub duration: Duration,
    /// Time before the window during which requests are sent but not counted.
    pub warmup: Duration,
    /// A bearer token sent as `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
    /// Requests per second over all connections, paced; `None`: closed loop, as fast as
    /// the server answers.
    pub rate: Option<f64>,
}

impl RunOptions {
    fn validate(&self) -> Result<()> {
        if self.connections == 0 {
            return Err(LoadError::Setting {
                setting: "--connections",
                reason: "needs at least one connection",
            });
        }
        if self
            .rate
            .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
        {
            return Err(LoadError::Setting {
                setting: "--rate",
                reason: "expected a positive number of requests per second",
            });
        }
        if self.duration.is_zero() {
            return Err(LoadError::Setting {
                setting: "--duration",
                reason: "the measured window may not be empty",
            });
        }
        Ok(())
    }
}

/// What the generator checks in a successful (2xx) answer besides its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseCheck {
    /// A KServe V2 infer answer: a JSON object with a non-empty `outputs` array (checked on
    /// each connection's first answer, so that parsing does not load the generator).
    InferOutputs,
    /// Ingest receipts: one per decision sent, indices increasing (every answer).
    Receipts,
}

impl ResponseCheck {
    fn check(self, template: &RequestTemplate, body: &[u8]) -> Result<(), String> {
        match self {
            ResponseCheck::InferOutputs => crate::infer::check_infer_response(body),
            ResponseCheck::Receipts => {
                crate::ingest::check_receipts(body, template.items).map(|_| ())
            }
        }
    }

    fn every_answer(self) -> bool {
        match self {
            ResponseCheck::InferOutputs => false,
            ResponseCheck::Receipts => true,
        }
    }
}

/// The outcome of a run: counts, rates, latency percentiles and the generator's own CPU use.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// `infer` or `ingest`.
    pub mode: &'static str,
    /// What one item is: `rows` (infer) or `decisions` (ingest).
    pub item_name: &'static str,
    /// Connections used.
    pub connections: usize,
    /// The paced rate asked for, requests/s; `None` for a closed loop.
    pub rate: Option<f64>,
    /// Length of the measured window, in seconds.
    pub window_s: f64,
    /// Answers received in the window, whatever their status.
    pub requests: u64,
    /// Answers with a 2xx status that passed the check.
    pub ok: u64,
    /// Items carried by the `ok` requests.
    pub items: u64,
    /// `requests / window_s`.
    pub requests_per_s: f64,
    /// `items / window_s`: rows or decisions per second, counting only `ok` requests.
    pub items_per_s: f64,
    /// Answers by non-2xx status code.
    pub errors_by_status: BTreeMap<u16, u64>,
    /// Connections that failed (connect, write, read) during the window.
    pub transport_errors: u64,
    /// 2xx answers whose body failed the check (wrong shape, wrong receipt count).
    pub bad_answers: u64,
    /// The first failure's description, to say what went wrong.
    pub first_error: Option<String>,
    /// Latency of every answer in the window (from sending the request to reading the
    /// last body byte).
    pub latency: LatencySummary,
    /// CPU time (user + system) the generator process used during the whole run
    /// (warm-up included), in seconds; `None` where `/proc/self/stat` is not readable.
    pub client_cpu_s: Option<f64>,
    /// `client_cpu_s` divided by the run's wall time: the cores the generator took from the
    /// machine (on a 2-core machine, what the server could not use).
    pub client_cores: Option<f64>,
}

impl RunReport {
    /// Whether the run saw no failure at all.
    pub fn is_clean(&self) -> bool {
        self.errors_by_status.is_empty() && self.transport_errors == 0 && self.bad_answers == 0
    }
}

/// Per-connection counts, merged into a [`RunReport`].
#[derive(Default)]
struct Tally {
    requests: u64,
    ok: u64,
    items: u64,
    errors_by_status: BTreeMap<u16, u64>,
    transport_errors: u64,
    bad_answers: u64,
    first_error: Option<String>,
    latency: LatencyRecorder,
}

impl Tally {
    fn note_error(&mut self, message: impl FnOnce() -> String) {
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }

    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.items += other.items;
        for (status, count) in other.errors_by_status {
            *self.errors_by_status.entry(status).or_default() += count;
        }
        self.transport_errors += other.transport_errors;
        self.bad_answers += other.bad_answers;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latency.merge(&other.latency);
    }
}

/// Everything a connection task needs, shared read-only.
struct Plan {
    target: Target,
    templates: Vec<RequestTemplate>,
    authorization: Option<HeaderValue>,
    host: HeaderValue,
    check: ResponseCheck,
    started: Instant,
    measure_from: Instant,
    end: Instant,
    /// Time between two requests of one connection when paced.
    interval: Option<Duration>,
    connections: usize,
}

/// Runs the closed loop against `target`, cycling through `templates` (each connection
/// starts at a different one), and reports.
///
/// Fails before sending anything when a setting is refused, `templates` is empty or the
/// first connection cannot be opened; failures during the run are counted instead.
pub async fn run(
    mode: &'static str,
    item_name: &'static str,
    target: Target,
    templates: Vec<RequestTemplate>,
    check: ResponseCheck,
    options: &RunOptions,
) -> Result<RunReport> {
    options.validate()?;
    if templates.is_empty() {
        return Err(LoadError::Setting {
            setting: "requests",
            reason: "no request to send",
        });
    }
    let header = |value: &str, setting| {
        HeaderValue::from_str(value).map_err(|_| LoadError::Setting {
            setting,
            reason: "not a valid HTTP header value",
        })
    };
    let host = header(&target.host, "--url")?;
    let authorization = match &options.token {
        Some(token) => Some(header(&format!("Bearer {token}"), "--token")?),
        None => None,
    };
    let mut senders = Vec::with_capacity(options.connections);
    for _ in 0..options.connections {
        let sender = connect(target.address)
            .await
            .map_err(|source| LoadError::Connect {
                address: target.address,
                source,
            })?;
        senders.push(sender);
    }
    let cpu = CpuClock::start();
    let started = Instant::now();
    let measure_from = started + options.warmup;
    let end = measure_from + options.duration;
    let interval = options
        .rate
        .and_then(|rate| Duration::try_from_secs_f64(options.connections as f64 / rate).ok());
    let plan = Arc::new(Plan {
        target,
        templates,
        authorization,
        host,
        check,
        started,
        measure_from,
        end,
        interval,
        connections: options.connections,
    });
    let mut tasks = Vec::with_capacity(senders.len());
    for (index, sender) in senders.into_iter().enumerate() {
        tasks.push(tokio::spawn(drive(Arc::clone(&plan), index, sender)));
    }
    let mut total = Tally::default();
    for task in tasks {
        match task.await {
            Ok(tally) => total.merge(tally),
            Err(join) => {
                total.transport_errors += 1;
                total.note_error(|| format!("a connection task failed: {join}"));
            }
        }
    }
    let wall = started.elapsed();
    let (client_cpu_s, client_cores) = match cpu.elapsed_s() {
        Some(cpu_s) => (Some(cpu_s), Some(cpu_s / wall.as_secs_f64().max(1e-9))),
        None => (None, None),
    };
    let window_s = options.duration.as_secs_f64();
    Ok(RunReport {
        mode,
        item_name,
        connections: options.connections,
        rate: options.rate,
        window_s,
        requests: total.requests,
        ok: total.ok,
        items: total.items,
        requests_per_s: total.requests as f64 / window_s,
        items_per_s: total.items as f64 / window_s,
        errors_by_status: total.errors_by_status,
        transport_errors: total.transport_errors,
        bad_answers: total.bad_answers,
        first_error: total.first_error,
        latency: total.latency.summary(),
        client_cpu_s,
        client_cores,
    })
}

async fn connect(address: std::net::SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One connection's loop.
async fn drive(plan: Arc<Plan>, index: usize, sender: SendRequest<Full<Bytes>>) -> Tally {
    let mut tally = Tally::default();
    let mut sender = Some(sender);
    let mut next = index;
    let mut checked = false;
    let mut sent_count: u32 = 0;
    while Instant::now() < plan.end {
        let current = match sender.as_mut() {
            Some(current) => current,
            None => {
                match tokio::time::timeout_at(plan.end.into(), connect(plan.target.address)).await {
                    Ok(Ok(reopened)) => sender.insert(reopened),
                    Ok(Err(error)) => {
                        if Instant::now() >= plan.measure_from {
                            tally.transport_errors += 1;
                            tally.note_error(|| format!("reconnecting: {error}"));
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    Err(_) => break,
                }
            }
        };
        let Some(template) = plan.templates.get(next % plan.templates.len()) else {
            break;
        };
        next = next.wrapping_add(1);
        let request = build_request(&plan, template);
        let sent = match plan.interval {
            Some(interval) => {
                // Connection `index` is offset by index/C of an interval from the others.
                let offset = interval.mul_f64(index as f64 / plan.connections as f64);
                let due = plan.started + offset + interval.saturating_mul(sent_count);
                sent_count = sent_count.saturating_add(1);
                if due >= plan.end {
                    break;
                }
                // Behind schedule (the server held this connection past `due`): the latency
                // counts from `due`, so a stall is not hidden (no coordinated omission).
                // Ahead of it: the generator sleeps, and tokio's timer wakes it at the next
                // millisecond tick, up to 1 ms after `due`; that lateness is the
                // generator's, so the latency counts from when it woke.
                if Instant::now() < due {
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now().max(due)
                } else {
                    due
                }
            }
            None => Instant::now(),
        };
        let answer = tokio::time::timeout_at(plan.end.into(), exchange(current, request)).await;
        let Ok(answer) = answer else {
            break; // in flight at the end: not counted
        };
        let done = Instant::now();
        let counted = sent >= plan.measure_from;
        match answer {
            Ok((status, body)) => {
                if !counted {
                    continue;
                }
                tally.requests += 1;
                tally.latency.record(done - sent);
                if !(200..300).contains(&status) {
                    *tally.errors_by_status.entry(status).or_default() += 1;
                    tally.note_error(|| {
                        format!(
                            "HTTP {status}: {}",
                            String::from_utf8_lossy(&body[..body.len().min(300)])
                        )
                    });
                    continue;
                }
                if plan.check.every_answer() || !checked {
                    checked = true;
                    if let Err(reason) = plan.check.check(template, &body) {
                        tally.bad_answers += 1;
                        tally.note_error(|| format!("bad answer: {reason}"));
                        continue;
                    }
                }
                tally.ok += 1;
                tally.items += template.items;
            }
            Err(error) => {
                sender = None;
                if counted {
                    tally.transport_errors += 1;
                    tally.note_error(|| format!("transport: {error}"));
                }
            }
        }
    }
    tally
}

fn build_request(plan: &Plan, template: &RequestTemplate) -> Request<Full<Bytes>> {
    let mut request = Request::new(Full::new(template.body.clone()));
    *request.method_mut() = Method::POST;
    // A path that does not parse as a URI is sent as "/", which the server answers 404:
    // the error shows in the report.
    *request.uri_mut() = template.path.parse().unwrap_or_default();
    let headers = request.headers_mut();
    headers.insert(HOST, plan.host.clone());
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(template.content_type),
    );
    if let Some(authorization) = &plan.authorization {
        headers.insert(AUTHORIZATION, authorization.clone());
    }
    request
}

async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<(u16, Bytes), hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}
