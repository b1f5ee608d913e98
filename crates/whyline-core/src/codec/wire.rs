//! Little-endian primitives shared by the APRT header and every path encoding.
//!
//! Written by hand because APRT is specified byte by byte (see `docs/aprt-format.md`) and a
//! general serialization crate would own the layout instead of the spec. The reader never
//! panics: every read checks the bytes left, and a count is checked against the bytes left
//! *before* anything is allocated, so a hostile count cannot make the decoder allocate gigabytes.

use crate::error::{CoreError, Result};

/// Appends little-endian values to a buffer. Infallible: the buffer grows as needed.
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out }
    }

    /// Bytes as they are (a fixed-size group of fields written at once).
    #[inline]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Room for `additional` more bytes.
    #[inline]
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.out.reserve(additional);
    }

    #[inline]
    pub(crate) fn u8(&mut self, value: u8) {
        self.out.push(value);
    }

    #[inline]
    pub(crate) fn u32(&mut self, value: u32) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    #[inline]
    pub(crate) fn u64(&mut self, value: u64) {
        self.out.extend_from_slice(&value.to_le_bytes());
    }

    #[inline]
    pub(crate) fn f32(&mut self, value: f32) {
        self.out.extend_from_slice(&value.to_bits().to_le_bytes());
    }

    /// A count as u32. Collections in a trace are far below 2^32 elements; a larger one is
    /// clamped, which the decoder then reports as an inconsistent length instead of reading
    /// a wrong record.
    #[inline]
    pub(crate) fn count(&mut self, len: usize) {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }

    #[inline]
    pub(crate) fn f32s(&mut self, values: &[f32]) {
        self.count(values.len());
        if values.is_empty() {
            return;
        }
        let start = self.out.len();
        self.out.resize(start + values.len() * 4, 0);
        for (slot, v) in self.out[start..].chunks_exact_mut(4).zip(values) {
            slot.copy_from_slice(&v.to_bits().to_le_bytes());
        }
    }

    #[inline]
    pub(crate) fn u32s(&mut self, values: &[u32]) {
        self.count(values.len());
        if values.is_empty() {
            return;
        }
        let start = self.out.len();
        self.out.resize(start + values.len() * 4, 0);
        for (slot, v) in self.out[start..].chunks_exact_mut(4).zip(values) {
            slot.copy_from_slice(&v.to_le_bytes());
        }
    }

    pub(crate) fn opt_f32(&mut self, value: Option<f32>) {
        match value {
            Some(v) => {
                self.u8(1);
                self.f32(v);
            }
            None => self.u8(0),
        }
    }

    pub(crate) fn opt_f32s(&mut self, values: Option<&[f32]>) {
        match values {
            Some(v) => {
                self.u8(1);
                self.f32s(v);
            }
            None => self.u8(0),
        }
    }

    pub(crate) fn opt_f32_rows(&mut self, rows: Option<&[Vec<f32>]>) {
        match rows {
            Some(rows) => {
                self.u8(1);
                self.count(rows.len());
                for row in rows {
                    self.f32s(row);
                }
            }
            None => self.u8(0),
        }
    }
}

/// Reads little-endian values from a slice, tracking the absolute offset for error messages.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    base_offset: u64,
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`, whose first byte sits at `base_offset` in the caller's stream.
    pub(crate) fn new(bytes: &'a [u8], base_offset: u64) -> Self {
        Self {
            bytes,
            position: 0,
            base_offset,
        }
    }

    /// Absolute offset of the next byte to read.
    pub(crate) fn offset(&self) -> u64 {
        self.base_offset + self.position as u64
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    #[inline]
    pub(crate) fn take(&mut self, field: &'static str, needed: usize) -> Result<&'a [u8]> {
        let available = self.remaining();
        if needed > available {
            return Err(CoreError::Truncated {
                offset: self.offset(),
                field,
                needed,
                available,
            });
        }
        let start = self.position;
        self.position += needed;
        Ok(&self.bytes[start..start + needed])
    }

    #[inline]
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let bytes = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    #[inline]
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    #[inline]
    pub(crate) fn f32(&mut self, field: &'static str) -> Result<f32> {
        Ok(f32::from_bits(u32::from_le_bytes(self.array(field)?)))
    }

    /// A flag byte: 0 or 1, anything else is an invalid field.
    #[inline]
    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool> {
        let offset = self.offset();
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(CoreError::InvalidField {
                offset,
                field,
                detail: format!("flag byte is {other}, expected 0 or 1"),
            }),
        }
    }

    /// A u32 count of elements of `element_size` bytes each, checked against the bytes left.
    #[inline]
    pub(crate) fn count(&mut self, field: &'static str, element_size: usize) -> Result<usize> {
        let offset = self.offset();
        let count = self.u32(field)? as usize;
        let needed = count.saturating_mul(element_size);
        if needed > self.remaining() {
            return Err(CoreError::InconsistentLength {
                offset,
                detail: format!(
                    "{field} declares {count} elements ({needed} bytes) but {} bytes are left",
                    self.remaining()
                ),
            });
        }
        Ok(count)
    }

    pub(crate) fn f32s(&mut self, field: &'static str) -> Result<Vec<f32>> {
        let count = self.count(field, 4)?;
        let bytes = self.take(field, count * 4)?;
        let mut out = Vec::with_capacity(count);
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(out)
    }

    pub(crate) fn u32s(&mut self, field: &'static str) -> Result<Vec<u32>> {
        let count = self.count(field, 4)?;
        let bytes = self.take(field, count * 4)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    pub(crate) fn opt_f32(&mut self, field: &'static str) -> Result<Option<f32>> {
        if self.flag(field)? {
            Ok(Some(self.f32(field)?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn opt_f32s(&mut self, field: &'static str) -> Result<Option<Vec<f32>>> {
        if self.flag(field)? {
            Ok(Some(self.f32s(field)?))
        } else {
            Ok(None)
        }
    }

    pub(crate) fn opt_f32_rows(&mut self, field: &'static str) -> Result<Option<Vec<Vec<f32>>>> {
        if !self.flag(field)? {
            return Ok(None);
        }
        // Each row needs at least its 4-byte count.
        let rows = self.count(field, 4)?;
        let mut out = Vec::with_capacity(rows);
        for _ in 0..rows {
            out.push(self.f32s(field)?);
        }
        Ok(Some(out))
    }

    /// Fails when bytes are left over: a path must fill its declared length exactly.
    pub(crate) fn finish(&self, what: &'static str) -> Result<()> {
        if self.remaining() != 0 {
            return Err(CoreError::InconsistentLength {
                offset: self.offset(),
                detail: format!("{} bytes left over after {what}", self.remaining()),
            });
        }
        Ok(())
    }
}
