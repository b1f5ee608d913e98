//! What travels and what is stored: the batch message, the sequencer's mark entry and the
//! receipt message. `docs/distributed.md` shows the same layouts.
//!
//! # Batch message (producer → `whyline.NAME.batches`)
//!
//! ```text
//! Nats-Msg-Id:      PRODUCER:BATCH   JetStream drops a resend within its duplicate window
//! Whyline-Producer: PRODUCER
//! Whyline-Batch:    BATCH            decimal, 0, 1, 2, ... per producer run, no gaps
//! Whyline-Records:  N                decimal, records in the body
//! Whyline-Format:   aprt-v1
//! body:             N APRT v1 records back to back (the stream collector's batch)
//! ```
//!
//! # Sequencer mark (a ledger entry before the decisions of one batch, or of its rest)
//!
//! ```text
//! offset size
//!  0      4   magic "WLSQ"
//!  4      1   version 1
//!  5      3   reserved, 0
//!  8      8   batch number, u64 LE
//! 16      4   first record of the batch appended after this mark, u32 LE
//! 20      4   records appended after this mark, u32 LE
//! 24      4   records in the whole batch, u32 LE
//! 28      1   producer id length L (1..=64)
//! 29      L   producer id, ASCII
//! ```
//!
//! The decisions follow the mark, in batch order. A mark with first record 0 starts a
//! batch; a mark with first record K > 0 continues one that a crash cut after K records.
//!
//! # Receipt message (sequencer → `whyline.NAME.receipts.PRODUCER`, receipts stream)
//!
//! ```text
//! Nats-Msg-Id:          PRODUCER:BATCH:FIRST_RECORD
//! Whyline-Producer:     PRODUCER
//! Whyline-Batch:        BATCH
//! Whyline-First-Record: K        record of the batch the first hash belongs to
//! Whyline-First-Index:  I        ledger index of that record; the next are I+1, I+2, ...
//! body:                 32-byte RFC 6962 leaf hashes, one per record, in order
//! ```

use async_nats::HeaderMap;
use whyline_ledger::Hash;

use crate::error::{NatsError, Result};
use crate::topology::ProducerId;

/// Header naming the producer.
pub const PRODUCER_HEADER: &str = "Whyline-Producer";
/// Header with the batch number.
pub const BATCH_HEADER: &str = "Whyline-Batch";
/// Header with the number of records in the body.
pub const RECORDS_HEADER: &str = "Whyline-Records";
/// Header naming the body's format.
pub const FORMAT_HEADER: &str = "Whyline-Format";
/// The one body format: APRT v1 records back to back.
pub const FORMAT_APRT_V1: &str = "aprt-v1";
/// Header with the first record a receipt covers.
pub const FIRST_RECORD_HEADER: &str = "Whyline-First-Record";
/// Header with the ledger index of a receipt's first record.
pub const FIRST_INDEX_HEADER: &str = "Whyline-First-Index";

/// Magic of a sequencer mark entry.
pub const MARK_MAGIC: [u8; 4] = *b"WLSQ";
/// Version of the mark layout.
pub const MARK_VERSION: u8 = 1;
const MARK_HEADER_LEN: usize = 29;

/// The message id of `producer`'s batch `batch`.
pub fn message_id(producer: &ProducerId, batch: u64) -> String {
    format!("{producer}:{batch}")
}

/// The headers of a batch message.
pub(crate) fn batch_headers(producer: &ProducerId, batch: u64, records: usize) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        async_nats::header::NATS_MESSAGE_ID,
        message_id(producer, batch).as_str(),
    );
    headers.insert(PRODUCER_HEADER, producer.as_str());
    headers.insert(BATCH_HEADER, batch.to_string().as_str());
    headers.insert(RECORDS_HEADER, records.to_string().as_str());
    headers.insert(FORMAT_HEADER, FORMAT_APRT_V1);
    headers
}

fn header<'h>(headers: &'h HeaderMap, name: &'static str) -> Result<&'h str, String> {
    headers
        .get(name)
        .map(|value| value.as_str())
        .ok_or_else(|| format!("no {name} header"))
}

fn number<T: std::str::FromStr>(headers: &HeaderMap, name: &'static str) -> Result<T, String> {
    let text = header(headers, name)?;
    text.parse()
        .map_err(|_| format!("{name} header {text:?} is not a number"))
}

/// What a batch message's headers say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// The producer.
    pub producer: ProducerId,
    /// The batch number.
    pub batch: u64,
    /// Records in the body.
    pub records: u32,
}

impl BatchHeader {
    /// Reads the headers of a batch message; the error says what is missing or wrong.
    pub fn from_headers(headers: Option<&HeaderMap>) -> Result<BatchHeader, String> {
        let headers = headers.ok_or("no headers")?;
        let format = header(headers, FORMAT_HEADER)?;
        if format != FORMAT_APRT_V1 {
            return Err(format!("unknown body format {format:?}"));
        }
        let producer =
            ProducerId::new(header(headers, PRODUCER_HEADER)?).map_err(|e| e.to_string())?;
        Ok(BatchHeader {
            producer,
            batch: number(headers, BATCH_HEADER)?,
            records: number(headers, RECORDS_HEADER)?,
        })
    }
}

/// A sequencer mark: which records of which batch the entries after it are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// The producer.
    pub producer: ProducerId,
    /// The batch number.
    pub batch: u64,
    /// The first record of the batch appended after the mark.
    pub first_record: u32,
    /// Records appended after the mark (fewer are there if a crash cut the append).
    pub records: u32,
    /// Records in the whole batch.
    pub batch_records: u32,
}

impl Mark {
    /// The mark's ledger payload (layout in the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let id = self.producer.as_str().as_bytes();
        let mut out = Vec::with_capacity(MARK_HEADER_LEN + id.len());
        out.extend_from_slice(&MARK_MAGIC);
        out.extend_from_slice(&[MARK_VERSION, 0, 0, 0]);
        out.extend_from_slice(&self.batch.to_le_bytes());
        out.extend_from_slice(&self.first_record.to_le_bytes());
        out.extend_from_slice(&self.records.to_le_bytes());
        out.extend_from_slice(&self.batch_records.to_le_bytes());
        // A producer id is 1..=64 ASCII bytes (`ProducerId::new`).
        out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(id);
        out
    }

    /// Whether a ledger payload is a mark (by its magic).
    pub fn is_mark(payload: &[u8]) -> bool {
        payload.get(..4) == Some(&MARK_MAGIC[..])
    }

    /// Reads a mark payload; `index` names the entry in the error.
    ///
    /// ```
    /// use whyline_nats::{Mark, ProducerId};
    /// let mark = Mark {
    ///     producer: ProducerId::new("p1")?,
    ///     batch: 7,
    ///     first_record: 0,
    ///     records: 100,
    ///     batch_records: 100,
    /// };
    /// assert_eq!(Mark::from_bytes(&mark.to_bytes(), 0)?, mark);
    /// assert!(Mark::from_bytes(&mark.to_bytes()[..20], 0).is_err());
    /// # Ok::<(), whyline_nats::NatsError>(())
    /// ```
    pub fn from_bytes(payload: &[u8], index: u64) -> Result<Mark> {
        let bad = |reason| NatsError::BadMark { index, reason };
        let header = payload
            .get(..MARK_HEADER_LEN)
            .ok_or(bad("shorter than its header"))?;
        if header.get(..4) != Some(&MARK_MAGIC[..]) {
            return Err(bad("not a mark"));
        }
        if header.get(4) != Some(&MARK_VERSION) {
            return Err(bad("unknown version"));
        }
        let u64_at = |at: usize| {
            header
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
        };
        let u32_at = |at: usize| {
            header
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(u32::from_le_bytes)
        };
        let id_len = usize::from(header.get(28).copied().unwrap_or(0));
        let id = payload
            .get(MARK_HEADER_LEN..)
            .filter(|rest| rest.len() == id_len)
            .ok_or(bad("producer id length does not match the entry"))?;
        let id = std::str::from_utf8(id).map_err(|_| bad("producer id is not ASCII"))?;
        let producer = ProducerId::new(id).map_err(|_| bad("invalid producer id"))?;
        match (u64_at(8), u32_at(16), u32_at(20), u32_at(24)) {
            (Some(batch), Some(first_record), Some(records), Some(batch_records)) => Ok(Mark {
                producer,
                batch,
                first_record,
                records,
                batch_records,
            }),
            _ => Err(bad("shorter than its header")),
        }
    }
}

/// The receipts of (part of) one batch: where its records are in the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchReceipt {
    /// The producer.
    pub producer: ProducerId,
    /// The batch number.
    pub batch: u64,
    /// The record of the batch the first leaf hash belongs to.
    pub first_record: u32,
    /// The ledger index of that record; record `first_record + i` is at `first_index + i`.
    pub first_index: u64,
    /// The RFC 6962 leaf hash of each record, in order.
    pub leaf_hashes: Vec<Hash>,
}

impl BatchReceipt {
    /// The message id of this receipt (a re-published receipt is dropped as a duplicate).
    pub fn message_id(&self) -> String {
        format!("{}:{}:{}", self.producer, self.batch, self.first_record)
    }

    /// The receipt message's headers.
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            self.message_id().as_str(),
        );
        headers.insert(PRODUCER_HEADER, self.producer.as_str());
        headers.insert(BATCH_HEADER, self.batch.to_string().as_str());
        headers.insert(FIRST_RECORD_HEADER, self.first_record.to_string().as_str());
        headers.insert(FIRST_INDEX_HEADER, self.first_index.to_string().as_str());
        headers
    }

    /// The receipt message's body: the leaf hashes back to back.
    pub(crate) fn body(&self) -> Vec<u8> {
        self.leaf_hashes.concat()
    }

    /// Reads a receipt message.
    pub fn from_message(headers: Option<&HeaderMap>, body: &[u8]) -> Result<BatchReceipt> {
        let parse = || -> Result<BatchReceipt, String> {
            let headers = headers.ok_or("no headers")?;
            let producer =
                ProducerId::new(header(headers, PRODUCER_HEADER)?).map_err(|e| e.to_string())?;
            if !body.len().is_multiple_of(32) {
                return Err(format!(
                    "body of {} bytes is not 32-byte hashes",
                    body.len()
                ));
            }
            let leaf_hashes = body
                .chunks_exact(32)
                .filter_map(|chunk| <[u8; 32]>::try_from(chunk).ok())
                .collect();
            Ok(BatchReceipt {
                producer,
                batch: number(headers, BATCH_HEADER)?,
                first_record: number(headers, FIRST_RECORD_HEADER)?,
                first_index: number(headers, FIRST_INDEX_HEADER)?,
                leaf_hashes,
            })
        };
        parse().map_err(|reason| NatsError::BadReceipt { reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reads_back_and_rejects_every_truncation_and_trailing_byte() {
        let mark = Mark {
            producer: ProducerId::new("replica-7").unwrap(),
            batch: 0x0102_0304_0506_0708,
            first_record: 12,
            records: 500,
            batch_records: 512,
        };
        let bytes = mark.to_bytes();
        assert_eq!(&bytes[..4], b"WLSQ");
        assert_eq!(bytes.len(), 29 + 9);
        assert_eq!(Mark::from_bytes(&bytes, 3).unwrap(), mark);
        for cut in 0..bytes.len() {
            assert!(
                matches!(
                    Mark::from_bytes(&bytes[..cut], 3),
                    Err(NatsError::BadMark { index: 3, .. })
                ),
                "a mark cut at {cut} bytes must be refused"
            );
        }
        let mut longer = bytes.clone();
        longer.push(b'x');
        assert!(matches!(
            Mark::from_bytes(&longer, 3),
            Err(NatsError::BadMark { .. })
        ));
    }

    #[test]
    fn batch_headers_read_back_and_name_what_is_missing() {
        let producer = ProducerId::new("p-1").unwrap();
        let headers = batch_headers(&producer, 42, 1000);
        assert_eq!(
            headers
                .get(async_nats::header::NATS_MESSAGE_ID)
                .map(|v| v.as_str()),
            Some("p-1:42")
        );
        let read = BatchHeader::from_headers(Some(&headers)).unwrap();
        assert_eq!(
            read,
            BatchHeader {
                producer,
                batch: 42,
                records: 1000
            }
        );
        let mut missing = HeaderMap::new();
        missing.insert(FORMAT_HEADER, FORMAT_APRT_V1);
        let error = BatchHeader::from_headers(Some(&missing)).unwrap_err();
        assert!(error.contains(PRODUCER_HEADER), "{error}");
    }

    #[test]
    fn a_receipt_reads_back_from_its_message() {
        let receipt = BatchReceipt {
            producer: ProducerId::new("p").unwrap(),
            batch: 3,
            first_record: 10,
            first_index: 12345,
            leaf_hashes: vec![[1; 32], [2; 32]],
        };
        let back = BatchReceipt::from_message(Some(&receipt.headers()), &receipt.body()).unwrap();
        assert_eq!(back, receipt);
        assert!(BatchReceipt::from_message(Some(&receipt.headers()), &[0; 33]).is_err());
    }
}
