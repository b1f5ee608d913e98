//! The payload of an aprender `.apr` file: bincode 1 of aprender's model structs, read
//! field by field where a fixture written by aprender pins the layout
//! (`docs/aprender-format.md`). Every error names the field and its byte in the
//! uncompressed payload.

use std::path::Path;

use crate::error::{ModelError, Result};

/// A reader of bincode 1 (`bincode::serialize`: little-endian, fixed-width integers, `u64`
/// lengths, `Option` as a 0/1 tag byte, `bool` as a 0/1 byte).
pub(super) struct Payload<'a> {
    bytes: &'a [u8],
    at: usize,
    file: &'a Path,
}

impl<'a> Payload<'a> {
    pub(super) fn new(bytes: &'a [u8], file: &'a Path) -> Payload<'a> {
        Payload { bytes, at: 0, file }
    }

    fn error(&self, field: &str, at: usize, detail: impl Into<String>) -> ModelError {
        ModelError::malformed(
            self.file,
            format!("payload.{field} (byte {at} of the uncompressed payload)"),
            detail,
        )
    }

    fn take<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut out = [0; N];
        match self.bytes.get(self.at..self.at + N) {
            Some(slice) => {
                out.copy_from_slice(slice);
                self.at += N;
                Ok(out)
            }
            None => Err(self.error(
                field,
                self.at,
                format!(
                    "needs {N} bytes, the payload ends after {}",
                    self.bytes.len() - self.at.min(self.bytes.len())
                ),
            )),
        }
    }

    pub(super) fn u8(&mut self, field: &str) -> Result<u8> {
        self.take::<1>(field).map(|[b]| b)
    }

    pub(super) fn bool(&mut self, field: &str) -> Result<bool> {
        let at = self.at;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error(field, at, format!("{other:#04x} is not a bool (0 or 1)"))),
        }
    }

    pub(super) fn u32(&mut self, field: &str) -> Result<u32> {
        self.take::<4>(field).map(u32::from_le_bytes)
    }

    /// A `usize` (bincode writes it as `u64`), below `limit`.
    pub(super) fn usize(&mut self, field: &str, limit: u64) -> Result<usize> {
        let at = self.at;
        let value = self.u64(field)?;
        if value >= limit {
            return Err(self.error(field, at, format!("{value} is not below {limit}")));
        }
        usize::try_from(value).map_err(|_| self.error(field, at, "does not fit in usize"))
    }

    /// The tag of an `Option`: `true` for `Some`.
    pub(super) fn option(&mut self, field: &str) -> Result<bool> {
        let at = self.at;
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error(
                field,
                at,
                format!("{other:#04x} is not an Option tag (0 or 1)"),
            )),
        }
    }

    /// The variant index of an enum (bincode 1 writes it as `u32`), below `n_variants`.
    pub(super) fn variant(&mut self, field: &str, n_variants: u32) -> Result<u32> {
        let at = self.at;
        let value = self.u32(field)?;
        if value >= n_variants {
            return Err(self.error(
                field,
                at,
                format!("variant {value}, the enum has {n_variants}"),
            ));
        }
        Ok(value)
    }

    /// The length of a sequence whose elements take at least `element_size` bytes each,
    /// checked against the bytes left before anything is allocated for it.
    pub(super) fn len(&mut self, field: &str, element_size: u64) -> Result<usize> {
        let at = self.at;
        let len = self.u64(field)?;
        let remaining = (self.bytes.len() - self.at.min(self.bytes.len())) as u64;
        if len.saturating_mul(element_size.max(1)) > remaining {
            return Err(self.error(
                field,
                at,
                format!(
                    "{len} elements of at least {element_size} bytes do not fit in the \
                     {remaining} bytes left"
                ),
            ));
        }
        usize::try_from(len).map_err(|_| self.error(field, at, "does not fit in usize"))
    }

    /// A `Vec<f32>`.
    pub(super) fn f32s(&mut self, field: &str) -> Result<Vec<f32>> {
        let len = self.len(&format!("{field}.len"), 4)?;
        (0..len)
            .map(|i| self.f32(&format!("{field}[{i}]")))
            .collect()
    }

    /// A `Vec<usize>`, skipped (its values are not used): only its length is returned.
    pub(super) fn skip_u64s(&mut self, field: &str) -> Result<usize> {
        let len = self.len(&format!("{field}.len"), 8)?;
        for i in 0..len {
            self.u64(&format!("{field}[{i}]"))?;
        }
        Ok(len)
    }

    /// A `Vec<usize>`.
    pub(super) fn u64s(&mut self, field: &str) -> Result<Vec<u64>> {
        let len = self.len(&format!("{field}.len"), 8)?;
        (0..len)
            .map(|i| self.u64(&format!("{field}[{i}]")))
            .collect()
    }

    /// Whether the whole payload has been read.
    pub(super) fn at_end(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// A malformed-payload error at the current position.
    pub(super) fn fail(&self, field: &str, detail: impl Into<String>) -> ModelError {
        self.error(field, self.at, detail)
    }

    pub(super) fn u64(&mut self, field: &str) -> Result<u64> {
        self.take::<8>(field).map(u64::from_le_bytes)
    }

    pub(super) fn f32(&mut self, field: &str) -> Result<f32> {
        self.take::<4>(field).map(f32::from_le_bytes)
    }

    /// `coefficients: Option<Vector<f32>>`, where `Vector` is `{ data: Vec<f32> }`: `None`
    /// for an unfitted model (the caller reads the rest of the layout before it says so, as
    /// a 0 byte here may also be the first byte of another struct).
    pub(super) fn coefficients(&mut self) -> Result<Option<Vec<f32>>> {
        let at = self.at;
        match self.u8("coefficients")? {
            1 => {}
            0 => return Ok(None),
            other => {
                return Err(self.error(
                    "coefficients",
                    at,
                    format!("{other:#04x} is not an Option tag (0 or 1)"),
                ));
            }
        }
        let at = self.at;
        let len = self.u64("coefficients.len")?;
        let remaining = (self.bytes.len() - self.at) as u64;
        if len.saturating_mul(4) > remaining {
            return Err(self.error(
                "coefficients.len",
                at,
                format!("{len} coefficients do not fit in the {remaining} bytes left"),
            ));
        }
        (0..len)
            .map(|i| self.f32(&format!("coefficients[{i}]")))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Fails unless the payload was read to its end: a payload of another layout (a ridge
    /// regression saved under the `LinearRegression` id) must not load as this one.
    pub(super) fn finish(&self, model_type: &str) -> Result<()> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error(
                "end",
                self.at,
                format!(
                    "{} bytes left after aprender's {model_type} fields: the payload is not a \
                     {model_type} (another model saved under its type id?)",
                    self.bytes.len() - self.at
                ),
            ))
        }
    }
}
