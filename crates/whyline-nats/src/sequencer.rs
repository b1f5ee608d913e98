//! [`Sequencer`]: the one process that orders the log. It reads the batches stream with a
//! durable pull consumer and explicit acks, appends each batch's decisions to the ledger
//! (after a [`Mark`] naming the batch), publishes the receipts, and only then acknowledges
//! the messages.
//!
//! # One round
//!
//! 1. Take the messages that are there, up to [`SequencerOptions::group_messages`] (waiting
//!    only for the first).
//! 2. Decide each from the producers' high-water marks ([`SequencerState`], rebuilt from
//!    the log on start): append (from record 0, or from where a crash cut it), duplicate
//!    (acknowledge; re-publish its receipt), gap (an earlier batch of the producer is still
//!    to come: negative acknowledgement, redelivered shortly), or malformed (terminated,
//!    counted).
//! 3. Append every mark and decision of the round with one `append_batch` and make them
//!    durable with one sync (the ledger runs [`Durability::Sync`]).
//! 4. Publish the receipts to the receipts stream and wait for JetStream to hold them.
//! 5. Acknowledge the messages.
//!
//! A crash anywhere leaves the log and the stream agreeing: before 3 nothing is appended and
//! the messages come back; between 3 and 5 the messages come back and are duplicates (their
//! receipts are published again, dropped by the receipts stream's duplicate window if they
//! were already there); a crash inside 3 leaves a prefix of the round, and the state read
//! back says exactly which records of which batch are there.
//!
//! # Start
//!
//! On start the sequencer deletes and re-creates its consumer. The batches stream is a work
//! queue (a message leaves it when acknowledged), so the new consumer delivers every
//! unacknowledged message from the oldest, in stream order, at once, instead of waiting for
//! the old consumer's acknowledgement timeout; exactly one sequencer per log is assumed (the
//! CLI holds a lock on the ledger directory).
//!
//! [`Durability::Sync`]: whyline_ledger::Durability::Sync

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::pull, message::PublishMessage};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};

/// How long the sequencer waits before asking again when no batch was waiting.
const IDLE_POLL: Duration = Duration::from_millis(2);
/// How long one fetch may take. A fetch asks for what is there now and is answered at once,
/// but a pull request sent just before the connection dropped is never answered (the
/// client has no timer for a request without expiry): after this the fetch is a failure
/// and the sequencer makes its consumer again.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
use whyline_ledger::{IngestBatch, IngestFormat, LedgerCollector, Store, parse_batch_into};

use crate::error::{NatsError, Result};
use crate::state::{Piece, SequencerState, Verdict};
use crate::topology::{SEQUENCER_CONSUMER, Topology};
use crate::wire::{BatchHeader, BatchReceipt, Mark};

/// Settings of a [`Sequencer`].
#[derive(Clone, Debug)]
pub struct SequencerOptions {
    /// Most messages appended in one round (one sync).
    pub group_messages: usize,
    /// How long JetStream waits for an acknowledgement before delivering a message again.
    pub ack_wait: Duration,
    /// How long a batch that arrived before an earlier one of its producer waits before it
    /// is delivered again.
    pub gap_delay: Duration,
}

impl Default for SequencerOptions {
    fn default() -> Self {
        SequencerOptions {
            group_messages: 256,
            ack_wait: Duration::from_secs(10),
            gap_delay: Duration::from_millis(100),
        }
    }
}

/// Counters of a [`Sequencer`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SequencerStats {
    /// Messages delivered.
    pub messages: u64,
    /// Batches (or rests of batches) appended.
    pub batches: u64,
    /// Decisions appended.
    pub decisions: u64,
    /// Deliveries of batches already in the log.
    pub duplicates: u64,
    /// Deliveries refused because an earlier batch of the producer was missing.
    pub gaps: u64,
    /// Malformed messages terminated.
    pub rejected: u64,
    /// Rounds (one append and one sync each).
    pub rounds: u64,
}

/// A delivered message: what its headers say (or why they are wrong) and its body.
#[derive(Clone, Debug)]
pub struct Delivered<'a> {
    /// The headers read.
    pub header: std::result::Result<BatchHeader, String>,
    /// The body.
    pub body: &'a [u8],
}

/// What to tell JetStream about a delivered message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Appended or already in the log.
    Ack,
    /// An earlier batch is missing: deliver again later.
    Nak,
    /// Malformed: never deliver again.
    Term(String),
}

/// The outcome of one round.
#[derive(Clone, Debug, Default)]
pub struct Round {
    /// One action per delivered message, in order.
    pub actions: Vec<Action>,
    /// The receipts to publish before acknowledging.
    pub receipts: Vec<BatchReceipt>,
}

/// The sequencer over a ledger on any [`Store`] (see the module docs).
pub struct Sequencer<S: Store + 'static> {
    collector: LedgerCollector<S>,
    state: SequencerState,
    topology: Topology,
    options: SequencerOptions,
    stats: SequencerStats,
    scratch: Vec<IngestBatch>,
    /// Decisions durable in the log (those found on start plus those appended).
    durable_decisions: Arc<AtomicU64>,
}

impl<S: Store + 'static> std::fmt::Debug for Sequencer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer")
            .field("topology", &self.topology)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A planned append: message `message`'s records from `from` on, after `mark`.
struct Planned {
    message: usize,
    mark: Mark,
    from: usize,
    /// Position of the mark in the round's payloads.
    position: usize,
}

impl<S: Store + 'static> Sequencer<S> {
    /// A sequencer appending to `collector` (open it with `Durability::Sync`), its state read
    /// back from the marks in the log.
    pub fn new(
        collector: LedgerCollector<S>,
        topology: Topology,
        options: SequencerOptions,
    ) -> Result<Sequencer<S>> {
        let state =
            collector.with_ledger(|ledger| SequencerState::from_store(ledger.store()))??;
        let durable_decisions = Arc::new(AtomicU64::new(state.decisions()));
        Ok(Sequencer {
            durable_decisions,
            collector,
            state,
            topology,
            options,
            stats: SequencerStats::default(),
            scratch: Vec::new(),
        })
    }

    /// The producers' high-water marks.
    pub fn state(&self) -> &SequencerState {
        &self.state
    }

    /// The number of decisions durable in the log, updated after every round: readable from
    /// another task or thread while [`run`](Self::run) borrows the sequencer.
    pub fn durable_decisions(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.durable_decisions)
    }

    /// The counters.
    pub fn stats(&self) -> SequencerStats {
        self.stats
    }

    /// The ledger collector back (to sign a final checkpoint, say).
    pub fn into_collector(self) -> LedgerCollector<S> {
        self.collector
    }

    /// Steps 2 and 3 of a round (see the module docs): decides each delivered message,
    /// appends what is new with one durable append, and returns the actions and receipts.
    pub fn append_round(&mut self, delivered: &[Delivered<'_>]) -> Result<Round> {
        let base = self.collector.with_ledger(|ledger| ledger.size())?;
        if self.scratch.len() < delivered.len() {
            self.scratch.resize_with(delivered.len(), IngestBatch::new);
        }
        let mut round = Round {
            actions: Vec::with_capacity(delivered.len()),
            receipts: Vec::new(),
        };
        let mut planned = Vec::new();
        let mut duplicates = Vec::new();
        let mut next_position = 0usize;
        for (message, (item, records)) in delivered.iter().zip(&mut self.scratch).enumerate() {
            self.stats.messages += 1;
            let header = match &item.header {
                Ok(header) => header,
                Err(reason) => {
                    self.stats.rejected += 1;
                    round.actions.push(Action::Term(reason.clone()));
                    continue;
                }
            };
            if let Err(error) = parse_batch_into(item.body, IngestFormat::Aprt, records) {
                self.stats.rejected += 1;
                round.actions.push(Action::Term(error.to_string()));
                continue;
            }
            let total = u32::try_from(records.len()).unwrap_or(u32::MAX);
            if total != header.records {
                self.stats.rejected += 1;
                round.actions.push(Action::Term(format!(
                    "the {} header says {} records, the body holds {}",
                    crate::wire::RECORDS_HEADER,
                    header.records,
                    records.len()
                )));
                continue;
            }
            match self.state.verdict(&header.producer, header.batch) {
                Verdict::Duplicate => {
                    self.stats.duplicates += 1;
                    duplicates.push((header.producer.clone(), header.batch));
                    round.actions.push(Action::Ack);
                }
                Verdict::Gap { expected } => {
                    self.stats.gaps += 1;
                    tracing::debug!(producer = %header.producer, batch = header.batch, expected, "batch ahead of its producer's order");
                    round.actions.push(Action::Nak);
                }
                Verdict::Append { from_record } => {
                    let mark = Mark {
                        producer: header.producer.clone(),
                        batch: header.batch,
                        first_record: from_record,
                        records: total.saturating_sub(from_record),
                        batch_records: total,
                    };
                    self.state.record(
                        &header.producer,
                        header.batch,
                        total,
                        Piece {
                            first_record: from_record,
                            first_index: base + next_position as u64 + 1,
                            records: mark.records,
                        },
                    );
                    let position = next_position;
                    next_position += 1 + mark.records as usize;
                    planned.push(Planned {
                        message,
                        from: from_record as usize,
                        mark,
                        position,
                    });
                    round.actions.push(Action::Ack);
                }
            }
        }
        self.append_planned(base, &planned, next_position, &mut round)?;
        for (producer, batch) in duplicates {
            self.receipts_from_log(&producer, batch, &mut round)?;
        }
        Ok(round)
    }

    /// Appends the planned marks and records with one durable append; fills the receipts.
    fn append_planned(
        &mut self,
        base: u64,
        planned: &[Planned],
        entries: usize,
        round: &mut Round,
    ) -> Result<()> {
        if planned.is_empty() {
            return Ok(());
        }
        let marks: Vec<Vec<u8>> = planned.iter().map(|p| p.mark.to_bytes()).collect();
        let mut payloads: Vec<&[u8]> = Vec::with_capacity(entries);
        for (plan, mark) in planned.iter().zip(&marks) {
            payloads.push(mark);
            if let Some(records) = self.scratch.get(plan.message) {
                payloads.extend(records.payloads().skip(plan.from));
            }
        }
        let receipts = self.collector.append_batch(payloads.iter().copied())?;
        if let Some(last) = receipts.last() {
            self.collector.wait_durable(last.index)?;
        }
        if receipts.first().map(|r| r.index) != Some(base) || receipts.len() != entries {
            return Err(NatsError::JetStream {
                operation: "appending a round",
                message: format!(
                    "the ledger moved under the sequencer: expected {entries} entries from index {base}"
                ),
            });
        }
        self.stats.rounds += 1;
        for plan in planned {
            let first = plan.position + 1;
            let count = plan.mark.records as usize;
            let leaf_hashes: Vec<_> = receipts
                .get(first..first + count)
                .unwrap_or_default()
                .iter()
                .map(|r| r.leaf_hash)
                .collect();
            self.state.remember_leaves(
                (
                    plan.mark.producer.clone(),
                    plan.mark.batch,
                    plan.mark.first_record,
                ),
                leaf_hashes.clone(),
            );
            self.stats.batches += 1;
            self.stats.decisions += count as u64;
            self.durable_decisions
                .fetch_add(count as u64, Ordering::Release);
            round.receipts.push(BatchReceipt {
                producer: plan.mark.producer.clone(),
                batch: plan.mark.batch,
                first_record: plan.mark.first_record,
                first_index: base + first as u64,
                leaf_hashes,
            });
        }
        Ok(())
    }

    /// The receipts of a batch already in the log, from the leaf hashes the sequencer
    /// remembers (those of the last [`REMEMBERED_LEAVES`](crate::REMEMBERED_LEAVES)
    /// decisions: every batch a crash can have left unacknowledged); an older batch's
    /// receipts were published before it was acknowledged the first time.
    fn receipts_from_log(
        &self,
        producer: &crate::ProducerId,
        batch: u64,
        round: &mut Round,
    ) -> Result<()> {
        let Some(pieces) = self.state.pieces(producer, batch) else {
            return Ok(());
        };
        for piece in pieces {
            let Some(leaf_hashes) = self.state.leaves(producer, batch, piece.first_record) else {
                tracing::debug!(%producer, batch, "receipt of an old batch not re-published");
                continue;
            };
            round.receipts.push(BatchReceipt {
                producer: producer.clone(),
                batch,
                first_record: piece.first_record,
                first_index: piece.first_index,
                leaf_hashes: leaf_hashes.to_vec(),
            });
        }
        Ok(())
    }

    /// Runs rounds against the server at `url` until `shutdown` completes; returns the
    /// counters. Connection losses are waited out (the client reconnects); ledger errors
    /// end the run.
    pub async fn run(
        &mut self,
        url: &str,
        shutdown: impl Future<Output = ()>,
    ) -> Result<SequencerStats> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(url)
            .await
            .map_err(|e| NatsError::Connect {
                url: url.to_owned(),
                message: e.to_string(),
            })?;
        let js = jetstream::new(client);
        let mut shutdown = std::pin::pin!(shutdown.fuse());
        let mut fresh = true;
        loop {
            let consumer = tokio::select! {
                () = &mut shutdown => return Ok(self.stats),
                consumer = self.consumer(&js, fresh) => consumer,
            };
            let consumer = match consumer {
                Ok(consumer) => consumer,
                Err(error) => {
                    tracing::warn!(%error, "waiting for JetStream");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            fresh = false;
            loop {
                // What is there now, up to a group (`fetch` does not wait for more); when
                // nothing is there, poll again shortly.
                let fetched = tokio::select! {
                    () = &mut shutdown => return Ok(self.stats),
                    fetched = Self::fetch(&consumer, self.options.group_messages) => fetched,
                };
                let group = match fetched {
                    Ok(group) => group,
                    Err(error) => {
                        tracing::warn!(%error, "reading the batches stream");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        break;
                    }
                };
                if group.is_empty() {
                    tokio::time::sleep(IDLE_POLL).await;
                    continue;
                }
                self.round(&js, &group).await?;
            }
        }
    }

    /// The messages available now, up to `most`; a failure when no answer comes within
    /// [`FETCH_TIMEOUT`].
    async fn fetch(
        consumer: &jetstream::consumer::PullConsumer,
        most: usize,
    ) -> Result<Vec<jetstream::Message>> {
        tokio::time::timeout(FETCH_TIMEOUT, Self::fetch_now(consumer, most))
            .await
            .unwrap_or_else(|_| {
                Err(NatsError::JetStream {
                    operation: "fetching batches",
                    message: format!("no answer within {FETCH_TIMEOUT:?}"),
                })
            })
    }

    /// [`fetch`](Self::fetch) without its timeout.
    async fn fetch_now(
        consumer: &jetstream::consumer::PullConsumer,
        most: usize,
    ) -> Result<Vec<jetstream::Message>> {
        let mut batch = consumer
            .fetch()
            .max_messages(most)
            .messages()
            .await
            .map_err(|e| NatsError::jetstream("fetching batches", e))?;
        let mut group = Vec::new();
        while let Some(message) = batch.next().await {
            match message {
                Ok(message) => group.push(message),
                Err(error) => {
                    if group.is_empty() {
                        return Err(NatsError::jetstream("fetching batches", error));
                    }
                    break;
                }
            }
        }
        Ok(group)
    }

    /// Deletes (on start) and creates the durable consumer.
    async fn consumer(
        &self,
        js: &jetstream::Context,
        fresh: bool,
    ) -> Result<jetstream::consumer::PullConsumer> {
        let stream = self.topology.ensure_streams(js).await?;
        if fresh {
            // Absent on the first start: nothing to delete then.
            let _ = stream.delete_consumer(SEQUENCER_CONSUMER).await;
        }
        stream
            .get_or_create_consumer(
                SEQUENCER_CONSUMER,
                pull::Config {
                    durable_name: Some(SEQUENCER_CONSUMER.to_owned()),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: self.options.ack_wait,
                    max_ack_pending: 100_000,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| NatsError::jetstream("creating the sequencer's consumer", e))
    }

    /// One round over delivered JetStream messages (steps 2 to 5).
    async fn round(&mut self, js: &jetstream::Context, group: &[jetstream::Message]) -> Result<()> {
        let delivered: Vec<Delivered<'_>> = group
            .iter()
            .map(|message| Delivered {
                header: BatchHeader::from_headers(message.headers.as_ref()),
                body: &message.payload,
            })
            .collect();
        let round = tokio::task::block_in_place(|| self.append_round(&delivered))?;
        tracing::debug!(
            messages = group.len(),
            receipts = round.receipts.len(),
            "round appended"
        );
        if let Err(error) = self.publish_receipts(js, &round.receipts).await {
            // Not acknowledged: the messages come back as duplicates and their receipts are
            // published again from the log.
            tracing::warn!(%error, "publishing receipts failed; the round's messages will be delivered again");
            return Ok(());
        }
        for (message, action) in group.iter().zip(&round.actions) {
            let acked = match action {
                Action::Ack => message.ack().await,
                Action::Nak => {
                    message
                        .ack_with(AckKind::Nak(Some(self.options.gap_delay)))
                        .await
                }
                Action::Term(reason) => {
                    // A malformed message is never appended; it is logged and counted.
                    tracing::error!(%reason, subject = %message.subject, "malformed batch message terminated");
                    message.ack_with(AckKind::Term).await
                }
            };
            if let Err(error) = acked {
                // Delivered again after the ack wait: a duplicate then.
                tracing::warn!(%error, "acknowledgement failed");
            }
        }
        tracing::debug!("round acknowledged");
        Ok(())
    }

    /// Publishes the receipts and waits until JetStream holds them all.
    async fn publish_receipts(
        &self,
        js: &jetstream::Context,
        receipts: &[BatchReceipt],
    ) -> Result<()> {
        let mut acks = Vec::with_capacity(receipts.len());
        for receipt in receipts {
            let message = PublishMessage::build()
                .payload(Bytes::from(receipt.body()))
                .headers(receipt.headers());
            let ack = js
                .send_publish(self.topology.receipts_subject(&receipt.producer), message)
                .await
                .map_err(|e| NatsError::jetstream("publishing a receipt", e))?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await
                .map_err(|e| NatsError::jetstream("publishing a receipt", e))?;
        }
        Ok(())
    }
}
