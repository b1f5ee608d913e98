//! The names one log uses on NATS: its stream and subject, the receipts stream, the
//! sequencer's consumer; and creating the streams.

use std::fmt;
use std::time::Duration;

use async_nats::jetstream::{self, stream};

use crate::error::{NatsError, Result};

/// How long JetStream remembers a message id to drop a resent batch (JetStream's default).
/// Resends older than this are dropped by the sequencer instead (its high-water mark).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long the receipts stream keeps a receipt.
pub const RECEIPTS_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The durable consumer the sequencer reads with.
pub const SEQUENCER_CONSUMER: &str = "whyline-sequencer";

/// Checks a name for a stream or a subject token: 1 to 64 of `A-Z a-z 0-9 _ -`.
fn check_name(what: &'static str, value: &str) -> Result<()> {
    let valid = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(NatsError::InvalidName {
            what,
            value: value.to_owned(),
        })
    }
}

/// A producer's id: names its batches (`Nats-Msg-Id` = id + batch number), its receipts
/// subject and its high-water mark in the ledger. Unique per producer *run*: a restarted
/// producer numbers its batches from 0 again, so it needs a new id (`host-pid-start`, say).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProducerId(String);

impl ProducerId {
    /// Checks `id`: 1 to 64 of `A-Z a-z 0-9 _ -` (a NATS subject token).
    ///
    /// ```
    /// use whyline_nats::ProducerId;
    /// assert!(ProducerId::new("replica-7").is_ok());
    /// assert!(ProducerId::new("a.b").is_err());
    /// ```
    pub fn new(id: &str) -> Result<ProducerId> {
        check_name("producer id", id)?;
        Ok(ProducerId(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProducerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The NATS names of one log, derived from its stream name `NAME`:
///
/// | what | name |
/// |---|---|
/// | batches stream (work queue, file storage, 2 min duplicate window) | `NAME` |
/// | its subject | `whyline.NAME.batches` |
/// | the sequencer's durable pull consumer | `whyline-sequencer` |
/// | receipts stream (file storage, 7 days) | `NAME_RECEIPTS` |
/// | a producer's receipts subject | `whyline.NAME.receipts.PRODUCER` |
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    stream: String,
}

impl Topology {
    /// The names of the log whose batches stream is `stream`.
    ///
    /// ```
    /// use whyline_nats::{ProducerId, Topology};
    /// let names = Topology::new("FLEET")?;
    /// assert_eq!(names.subject(), "whyline.FLEET.batches");
    /// assert_eq!(names.receipts_stream(), "FLEET_RECEIPTS");
    /// let producer = ProducerId::new("replica-7")?;
    /// assert_eq!(names.receipts_subject(&producer), "whyline.FLEET.receipts.replica-7");
    /// # Ok::<(), whyline_nats::NatsError>(())
    /// ```
    pub fn new(stream: &str) -> Result<Topology> {
        check_name("stream", stream)?;
        Ok(Topology {
            stream: stream.to_owned(),
        })
    }

    /// The batches stream's name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The subject producers publish batches to.
    pub fn subject(&self) -> String {
        format!("whyline.{}.batches", self.stream)
    }

    /// The receipts stream's name.
    pub fn receipts_stream(&self) -> String {
        format!("{}_RECEIPTS", self.stream)
    }

    /// The subject the sequencer publishes `producer`'s receipts to.
    pub fn receipts_subject(&self, producer: &ProducerId) -> String {
        format!("whyline.{}.receipts.{producer}", self.stream)
    }

    /// Creates both streams if they do not exist (producers and the sequencer both call it,
    /// so either may start first); an existing stream is used as it is.
    pub async fn ensure_streams(&self, js: &jetstream::Context) -> Result<stream::Stream> {
        let batches = js
            .get_or_create_stream(stream::Config {
                name: self.stream.clone(),
                subjects: vec![self.subject()],
                retention: stream::RetentionPolicy::WorkQueue,
                storage: stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| NatsError::jetstream("creating the batches stream", e))?;
        js.get_or_create_stream(stream::Config {
            name: self.receipts_stream(),
            subjects: vec![format!("whyline.{}.receipts.*", self.stream)],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            max_age: RECEIPTS_MAX_AGE,
            ..Default::default()
        })
        .await
        .map_err(|e| NatsError::jetstream("creating the receipts stream", e))?;
        Ok(batches)
    }
}
