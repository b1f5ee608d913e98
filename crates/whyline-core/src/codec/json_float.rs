//! Lossless `f32` in JSON, used by every float field of the path types.
//!
//! JSON has no NaN or infinity, and APRT carries both, so the JSON view writes finite values
//! as numbers (shortest text that reads back to the same `f32`) and the others as strings:
//! `"NaN"`, `"Infinity"`, `"-Infinity"`. A NaN whose bits are not the canonical quiet NaN
//! (`0x7fc00000`) is written `"NaN:0x7fc00001"`, so even its payload survives a round trip.
//! Readers accept numbers and those strings.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

pub(crate) const CANONICAL_NAN: u32 = 0x7fc0_0000;

/// An `f32` with the lossless JSON form described in the module docs.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
pub(crate) struct Lossless(pub(crate) f32);

impl Serialize for Lossless {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            serializer.serialize_f32(v)
        } else if v.is_nan() {
            if v.to_bits() == CANONICAL_NAN {
                serializer.serialize_str("NaN")
            } else {
                serializer.serialize_str(&format!("NaN:{:#010x}", v.to_bits()))
            }
        } else if v > 0.0 {
            serializer.serialize_str("Infinity")
        } else {
            serializer.serialize_str("-Infinity")
        }
    }
}

struct LosslessVisitor;

impl Visitor<'_> for LosslessVisitor {
    type Value = Lossless;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number, \"NaN\", \"Infinity\", \"-Infinity\" or \"NaN:0x........\"")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lossless, E> {
        Ok(Lossless(v as f32))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lossless, E> {
        Ok(Lossless(v as f32))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lossless, E> {
        Ok(Lossless(v as f32))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Lossless, E> {
        match v {
            "NaN" => Ok(Lossless(f32::from_bits(CANONICAL_NAN))),
            "Infinity" => Ok(Lossless(f32::INFINITY)),
            "-Infinity" => Ok(Lossless(f32::NEG_INFINITY)),
            _ => {
                let bits = v
                    .strip_prefix("NaN:0x")
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .map(f32::from_bits)
                    .filter(|f| f.is_nan());
                bits.map(Lossless)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Lossless {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Lossless, D::Error> {
        deserializer.deserialize_any(LosslessVisitor)
    }
}

/// `#[serde(with = "one")]` for `f32`.
pub(crate) mod one {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
        Lossless(*v).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
        Ok(Lossless::deserialize(d)?.0)
    }
}

/// `#[serde(with = "option")]` for `Option<f32>` (`null` when absent).
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
        v.map(Lossless).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
        Ok(Option::<Lossless>::deserialize(d)?.map(|l| l.0))
    }
}

/// `#[serde(with = "vec")]` for `Vec<f32>`.
pub(crate) mod vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|x| Lossless(*x)))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        Ok(Vec::<Lossless>::deserialize(d)?
            .into_iter()
            .map(|l| l.0)
            .collect())
    }
}

/// `#[serde(with = "option_vec")]` for `Option<Vec<f32>>`.
pub(crate) mod option_vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<Vec<f32>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(values) => s.serialize_some(&Row(values)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<f32>>, D::Error> {
        Ok(Option::<Vec<Lossless>>::deserialize(d)?
            .map(|values| values.into_iter().map(|l| l.0).collect()))
    }
}

/// `#[serde(with = "option_rows")]` for `Option<Vec<Vec<f32>>>`.
pub(crate) mod option_rows {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        v: &Option<Vec<Vec<f32>>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(rows) => s.serialize_some(&Rows(rows)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<Vec<f32>>>, D::Error> {
        Ok(Option::<Vec<Vec<Lossless>>>::deserialize(d)?.map(|rows| {
            rows.into_iter()
                .map(|row| row.into_iter().map(|l| l.0).collect())
                .collect()
        }))
    }
}

struct Row<'a>(&'a [f32]);

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|x| Lossless(*x)))
    }
}

struct Rows<'a>(&'a [Vec<f32>]);

impl Serialize for Rows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|row| Row(row)))
    }
}
