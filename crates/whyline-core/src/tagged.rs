//! The framing shared by the log's non-trace records (model records, alert records): a
//! 4-byte magic, a version byte, a fixed header of the record's own, then a JSON body. Readers
//! tell them from APRT records, which open with "APRT", by the magic.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CoreError, Result};

/// `magic ‖ version ‖ header ‖ JSON(value)`.
pub(crate) fn write<T: Serialize>(
    magic: [u8; 4],
    version: u8,
    header: &[u8],
    value: &T,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&magic);
    out.push(version);
    out.extend_from_slice(header);
    // Serializing plain strings, numbers and JSON values cannot fail; an empty body would be
    // rejected by the reader rather than misread.
    let _ = serde_json::to_writer(&mut out, value);
    out
}

/// Reads a record written by [`write`] with a header of `header_len` bytes, naming `what`
/// in its errors.
pub(crate) fn read<T: DeserializeOwned>(
    bytes: &[u8],
    magic: [u8; 4],
    version: u8,
    header_len: usize,
    what: &'static str,
) -> Result<T> {
    if bytes.get(..4) != Some(&magic[..]) {
        let mut found = [0u8; 4];
        for (slot, byte) in found.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        return Err(CoreError::InvalidField {
            offset: 0,
            field: what,
            detail: format!(
                "magic {:#010x}, expected {:?}",
                u32::from_be_bytes(found),
                String::from_utf8_lossy(&magic)
            ),
        });
    }
    match bytes.get(4) {
        Some(&found) if found == version => {}
        Some(&found) => return Err(CoreError::UnknownVersion { offset: 4, found }),
        None => {
            return Err(CoreError::Truncated {
                offset: 4,
                field: what,
                needed: 1,
                available: 0,
            });
        }
    }
    let body = 5 + header_len;
    if bytes.len() < body {
        return Err(CoreError::Truncated {
            offset: 5,
            field: what,
            needed: header_len,
            available: bytes.len() - 5,
        });
    }
    serde_json::from_slice(bytes.get(body..).unwrap_or(&[])).map_err(|e| CoreError::Json {
        line: e.line(),
        column: e.column(),
        message: crate::codec::json::message_without_position(&e),
    })
}
