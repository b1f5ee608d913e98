//! The HTTP webhook alert sink: alerts are POSTed as JSON by a background sender, so the
//! decision that raised an alert never waits on the network.
//!
//! The queue is bounded; a full queue drops the alert and counts it. Each alert is tried up to
//! `attempts` times with a doubling pause between tries; a 2xx answer is a delivery, anything
//! else (a refused connection, a timeout, a 500) is a failed try. Dropping the sink closes the
//! queue and waits up to `shutdown_timeout` for the sender to finish what was queued.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::alert::Alert;
use crate::sink::{AlertSink, Delivery};

/// Settings of a [`WebhookSink`].
#[derive(Clone, Debug)]
pub struct WebhookOptions {
    /// Alerts that can wait for the sender.
    pub capacity: usize,
    /// Tries per alert, at least 1.
    pub attempts: u32,
    /// Pause after the first failed try; doubles after each further one.
    pub backoff: Duration,
    /// Time limit of one request.
    pub timeout: Duration,
    /// How long dropping the sink waits for the queue to drain.
    pub shutdown_timeout: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            capacity: 1024,
            attempts: 3,
            backoff: Duration::from_millis(100),
            timeout: Duration::from_secs(2),
            shutdown_timeout: Duration::from_secs(2),
        }
    }
}

/// Counters of a [`WebhookSink`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Alerts the endpoint accepted (2xx).
    pub delivered: u64,
    /// Alerts given up on after every try failed.
    pub failed: u64,
    /// Alerts dropped because the queue was full.
    pub dropped: u64,
    /// Failed tries, retried or not.
    pub failed_attempts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    failed_attempts: AtomicU64,
}

/// POSTs each alert as JSON to a URL from a background thread.
pub struct WebhookSink {
    sender: Option<crossbeam_channel::Sender<Alert>>,
    worker: Option<JoinHandle<()>>,
    finished: crossbeam_channel::Receiver<()>,
    counters: Arc<Counters>,
    shutdown_timeout: Duration,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("stats", &self.stats())
            .finish()
    }
}

impl WebhookSink {
    /// A sink POSTing to `url` (http:// or https://) with the given options.
    pub fn new(url: &str, options: WebhookOptions) -> WebhookSink {
        let (sender, receiver) = crossbeam_channel::bounded::<Alert>(options.capacity.max(1));
        let (done, finished) = crossbeam_channel::bounded::<()>(1);
        let counters = Arc::new(Counters::default());
        let worker_counters = Arc::clone(&counters);
        let target = url.to_owned();
        let shutdown_timeout = options.shutdown_timeout;
        let worker = std::thread::Builder::new()
            .name("whyline-webhook".to_owned())
            .spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(options.timeout))
                    .build()
                    .into();
                for alert in receiver {
                    send_with_retries(&agent, &target, &alert, &options, &worker_counters);
                }
                let _ = done.send(());
            })
            .ok();
        if worker.is_none() {
            tracing::error!(target: "whyline::andon", "could not start the webhook sender thread; alerts to {url} will be counted as dropped");
        }
        WebhookSink {
            sender: worker.as_ref().map(|_| sender),
            worker,
            finished,
            counters,
            shutdown_timeout,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> WebhookStats {
        WebhookStats {
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed_attempts: self.counters.failed_attempts.load(Ordering::Relaxed),
        }
    }
}

fn send_with_retries(
    agent: &ureq::Agent,
    url: &str,
    alert: &Alert,
    options: &WebhookOptions,
    counters: &Counters,
) {
    let body = match serde_json::to_vec(alert) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(target: "whyline::andon", %error, "alert could not be serialized");
            counters.failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let mut pause = options.backoff;
    for attempt in 1..=options.attempts.max(1) {
        let result = agent
            .post(url)
            .header("content-type", "application/json")
            .send(&body[..]);
        match result {
            Ok(_) => {
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(error) => {
                counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(target: "whyline::andon", attempt, %error, sequence = alert.sequence, "webhook try failed");
                if attempt < options.attempts {
                    std::thread::sleep(pause);
                    pause = pause.saturating_mul(2);
                }
            }
        }
    }
    counters.failed.fetch_add(1, Ordering::Relaxed);
}

impl AlertSink for WebhookSink {
    fn deliver(&self, alert: &Alert) -> Delivery {
        let queued = self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.try_send(alert.clone()).is_ok());
        if queued {
            Delivery::Queued
        } else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            Delivery::Dropped
        }
    }

    fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed) + self.counters.failed.load(Ordering::Relaxed)
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        // Closing the queue lets the sender finish what is queued and stop.
        self.sender = None;
        if self.finished.recv_timeout(self.shutdown_timeout).is_ok() {
            if let Some(worker) = self.worker.take() {
                let _ = worker.join();
            }
        } else if self.worker.is_some() {
            tracing::warn!(
                target: "whyline::andon",
                "webhook sender still busy after {:?}; leaving it to finish in the background",
                self.shutdown_timeout
            );
        }
    }
}
