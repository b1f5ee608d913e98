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

    pub(super) fn u64(&mut self, field: &str) -> Result<u64> {
        self.take::<8>(field).map(u64::from_le_bytes)
    }

    pub(super) fn f32(&mut self, field: &str) -> Result<f32> {
        self.take::<4>(field).map(f32::from_le_bytes)
    }

    /// `coefficients: Option<Vector<f32>>`, where `Vector` is `{ data: Vec<f32> }`.
    pub(super) fn coefficients(&mut self) -> Result<Vec<f32>> {
        let at = self.at;
        match self.u8("coefficients")? {
            1 => {}
            0 => {
                return Err(self.error(
                    "coefficients",
                    at,
                    "None: the model was saved before it was fitted",
                ));
            }
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
            .collect()
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
