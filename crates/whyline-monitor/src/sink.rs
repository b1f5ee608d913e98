//! Where alerts go: a callback, a channel, the `tracing` log, or an HTTP webhook
//! ([`WebhookSink`](crate::WebhookSink)).
//!
//! A sink never blocks the decision that raised the alert for long: the callback runs in place
//! (keep it short), the channel and the webhook queue never wait, and whatever a full queue
//! cannot take is counted, never silently lost.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::alert::{Alert, AlertLevel};

/// What became of one alert handed to a sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Handled in place (callback ran, log line written).
    Delivered,
    /// Queued for a background sender or a receiver.
    Queued,
    /// The queue was full or closed: not delivered, and counted in [`AlertSink::dropped`].
    Dropped,
}

/// Receives alerts.
pub trait AlertSink: Send + Sync {
    /// Hands over one alert and says what became of it.
    fn deliver(&self, alert: &Alert) -> Delivery;

    /// Alerts this sink could not deliver so far.
    fn dropped(&self) -> u64;
}

/// Calls a function for each alert, in the thread that raised it.
pub struct CallbackSink<F> {
    callback: F,
}

impl<F: Fn(&Alert) + Send + Sync> CallbackSink<F> {
    /// A sink calling `callback` for every alert.
    pub fn new(callback: F) -> Self {
        Self { callback }
    }
}

impl<F: Fn(&Alert) + Send + Sync> AlertSink for CallbackSink<F> {
    fn deliver(&self, alert: &Alert) -> Delivery {
        (self.callback)(alert);
        Delivery::Delivered
    }

    fn dropped(&self) -> u64 {
        0
    }
}

/// Sends each alert into a bounded channel; a full or disconnected channel drops and counts.
pub struct ChannelSink {
    sender: crossbeam_channel::Sender<Alert>,
    dropped: AtomicU64,
}

impl ChannelSink {
    /// A sink and the receiving end of its channel of `capacity` alerts.
    pub fn bounded(capacity: usize) -> (ChannelSink, crossbeam_channel::Receiver<Alert>) {
        let (sender, receiver) = crossbeam_channel::bounded(capacity);
        (
            ChannelSink {
                sender,
                dropped: AtomicU64::new(0),
            },
            receiver,
        )
    }
}

impl AlertSink for ChannelSink {
    fn deliver(&self, alert: &Alert) -> Delivery {
        match self.sender.try_send(alert.clone()) {
            Ok(()) => Delivery::Queued,
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Delivery::Dropped
            }
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Writes each alert as a `tracing` event: yellow at WARN, red at ERROR, target `whyline::andon`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingSink;

impl AlertSink for TracingSink {
    fn deliver(&self, alert: &Alert) -> Delivery {
        match alert.level {
            AlertLevel::Yellow => tracing::warn!(
                target: "whyline::andon",
                sequence = alert.sequence,
                level = %alert.level,
                "{}",
                alert.kind
            ),
            AlertLevel::Red => tracing::error!(
                target: "whyline::andon",
                sequence = alert.sequence,
                level = %alert.level,
                "{}",
                alert.kind
            ),
        }
        Delivery::Delivered
    }

    fn dropped(&self) -> u64 {
        0
    }
}
