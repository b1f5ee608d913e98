//! [`ReceiptReader`]: a producer reads its receipts back from the receipts stream.

use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;

use crate::error::{NatsError, Result};
use crate::topology::{ProducerId, Topology};
use crate::wire::BatchReceipt;

/// Reads one producer's receipts ([`BatchReceipt`]: ledger index and leaf hash of each
/// record) from the receipts stream, oldest first, with an ordered consumer (nothing to
/// acknowledge; it survives reconnections).
pub struct ReceiptReader {
    messages: pull::Ordered,
}

impl std::fmt::Debug for ReceiptReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiptReader").finish_non_exhaustive()
    }
}

impl ReceiptReader {
    /// Opens `producer`'s receipts of the log `topology` names.
    pub async fn open(
        client: async_nats::Client,
        topology: &Topology,
        producer: &ProducerId,
    ) -> Result<ReceiptReader> {
        let js = jetstream::new(client);
        topology.ensure_streams(&js).await?;
        let stream = js
            .get_stream(topology.receipts_stream())
            .await
            .map_err(|e| NatsError::jetstream("opening the receipts stream", e))?;
        let consumer = stream
            .create_consumer(pull::OrderedConfig {
                filter_subject: topology.receipts_subject(producer),
                ..Default::default()
            })
            .await
            .map_err(|e| NatsError::jetstream("reading receipts", e))?;
        let messages = consumer
            .messages()
            .await
            .map_err(|e| NatsError::jetstream("reading receipts", e))?;
        Ok(ReceiptReader { messages })
    }

    /// The next receipt, waiting for it; `None` if the stream of receipts ended.
    pub async fn next(&mut self) -> Result<Option<BatchReceipt>> {
        match self.messages.next().await {
            None => Ok(None),
            Some(Err(error)) => Err(NatsError::jetstream("reading receipts", error)),
            Some(Ok(message)) => {
                BatchReceipt::from_message(message.headers.as_ref(), &message.payload).map(Some)
            }
        }
    }
}
