//! Tagged records with a timestamp where APRT keeps it: magic, version, 3 reserved zero
//! bytes, `timestamp_ns` u64 LE at bytes 8..16, then JSON. The alert, outcome and erasure
//! records share this header so a ledger's time index and window reads find them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CoreError, Result};
use crate::tagged;

/// Reserved bytes and the timestamp, between the version and the JSON body.
const HEADER_LEN: usize = 11;

pub(crate) fn write<T: Serialize>(magic: [u8; 4], version: u8, ts: u64, value: &T) -> Vec<u8> {
    let mut header = [0u8; HEADER_LEN];
    header[3..].copy_from_slice(&ts.to_le_bytes());
    tagged::write(magic, version, &header, value)
}

pub(crate) fn read<T: DeserializeOwned>(
    bytes: &[u8],
    magic: [u8; 4],
    version: u8,
    what: &'static str,
) -> Result<T> {
    let value = tagged::read(bytes, magic, version, HEADER_LEN, what)?;
    if bytes.get(5..8) != Some(&[0, 0, 0][..]) {
        return Err(CoreError::BadRecord {
            record: what,
            offset: 5,
            detail: "reserved bytes are not zero".into(),
        });
    }
    Ok(value)
}

/// Checks that the header's timestamp is the body's.
pub(crate) fn check_time(bytes: &[u8], body_ns: u64, what: &'static str) -> Result<()> {
    let stamped = bytes
        .get(8..16)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes);
    if stamped != Some(body_ns) {
        return Err(CoreError::BadRecord {
            record: what,
            offset: 8,
            detail: format!("the header says {stamped:?}, the body {body_ns}"),
        });
    }
    Ok(())
}
