//! The JSON view of a decision trace, shaped as in the seed specification:
//!
//! ```json
//! {"version":"1.0","trace":{"timestamp_ns":1710512347123456789,"sequence":42,
//!  "input_hash":"0xdeadbeef12345678","output":0.87,"latency_ns":234000,
//!  "path":{"type":"LinearPath","contributions":[0.42,-0.15],"intercept":0.32,...}}}
//! ```
//!
//! It is lossless for everything APRT carries, NaN and infinities included (see
//! [`json_float`](super::json_float)), and carries `latency_ns` at full precision. Readers
//! ignore fields they do not know, so newer writers can add fields.

use serde::{Deserialize, Serialize};

use super::json_float as jf;
use crate::error::{CoreError, Result};
use crate::path::DecisionPath;
use crate::trace::DecisionTrace;

/// The JSON document version this build writes and reads.
pub const JSON_VERSION: &str = "1.0";

#[derive(Serialize)]
struct DocumentOut<'a, P> {
    version: &'static str,
    trace: TraceOut<'a, P>,
}

#[derive(Serialize)]
struct TraceOut<'a, P> {
    timestamp_ns: u64,
    sequence: u64,
    #[serde(serialize_with = "hex_u64::serialize")]
    input_hash: u64,
    #[serde(with = "jf::one")]
    output: f32,
    latency_ns: u64,
    path: &'a P,
}

#[derive(Deserialize)]
struct DocumentIn<P> {
    version: String,
    trace: TraceIn<P>,
}

#[derive(Deserialize)]
struct TraceIn<P> {
    timestamp_ns: u64,
    sequence: u64,
    #[serde(deserialize_with = "hex_u64::deserialize")]
    input_hash: u64,
    #[serde(with = "jf::one")]
    output: f32,
    latency_ns: u64,
    path: P,
}

mod hex_u64 {
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        // "0x" and 16 lowercase hex digits, written on the stack (no allocation per trace).
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'0'; 18];
        text[1] = b'x';
        for (i, slot) in text[2..].iter_mut().enumerate() {
            let shift = 60 - 4 * i;
            *slot = DIGITS[((v >> shift) & 0xf) as usize];
        }
        // Only ASCII was written.
        s.serialize_str(std::str::from_utf8(&text).unwrap_or("0x0000000000000000"))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(&text);
        u64::from_str_radix(digits, 16).map_err(|_| {
            de::Error::invalid_value(
                de::Unexpected::Str(&text),
                &"a hex string like \"0xdeadbeef12345678\"",
            )
        })
    }
}

/// Appends the JSON view of `trace` to `out` (no trailing newline).
pub fn encode_json<P: DecisionPath>(trace: &DecisionTrace<P>, out: &mut Vec<u8>) -> Result<()> {
    let doc = DocumentOut {
        version: JSON_VERSION,
        trace: TraceOut {
            timestamp_ns: trace.timestamp_ns,
            sequence: trace.sequence,
            input_hash: trace.input_hash,
            output: trace.output,
            latency_ns: trace.latency_ns,
            path: &trace.path,
        },
    };
    doc.serialize(&mut fast::Out(out))
        .map_err(|e| json_error(&e))
}

/// The JSON view of `trace` as a string.
pub fn to_json<P: DecisionPath>(trace: &DecisionTrace<P>) -> Result<String> {
    let mut out = Vec::with_capacity(256);
    encode_json(trace, &mut out)?;
    // serde_json only writes UTF-8.
    String::from_utf8(out).map_err(|e| CoreError::Json {
        line: 0,
        column: 0,
        message: e.to_string(),
    })
}

/// Reads a trace from its JSON view. Unknown fields are ignored; an unknown document
/// version is an error.
pub fn from_json<P: DecisionPath>(text: &str) -> Result<DecisionTrace<P>> {
    from_json_slice(text.as_bytes())
}

/// [`from_json`] over bytes.
pub fn from_json_slice<P: DecisionPath>(bytes: &[u8]) -> Result<DecisionTrace<P>> {
    let doc: DocumentIn<P> = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
    if doc.version != JSON_VERSION {
        return Err(CoreError::UnknownJsonVersion { found: doc.version });
    }
    let t = doc.trace;
    Ok(DecisionTrace {
        timestamp_ns: t.timestamp_ns,
        sequence: t.sequence,
        input_hash: t.input_hash,
        output: t.output,
        latency_ns: t.latency_ns,
        path: t.path,
    })
}

fn json_error(e: &serde_json::Error) -> CoreError {
    CoreError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

/// A compact JSON serializer writing straight into a `Vec<u8>`, byte for byte what
/// `serde_json::to_writer` writes (it uses serde_json's own number formatting and string
/// escaping), without going through `io::Write` for every fragment: field names and plain
/// strings are copied whole, punctuation is pushed. Anything unusual (a string that needs
/// escaping, a map key) is handed to serde_json itself.
mod fast {
    use serde::ser::{self, Serialize};
    use serde_json::ser::{CompactFormatter, Formatter};

    type Error = serde_json::Error;
    type Result<T> = std::result::Result<T, Error>;

    pub(super) struct Out<'a>(pub(super) &'a mut Vec<u8>);

    /// Whether serde_json writes `s` unescaped.
    #[inline]
    fn plain(s: &str) -> bool {
        s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
    }

    impl Out<'_> {
        #[inline]
        fn str(&mut self, s: &str) -> Result<()> {
            if plain(s) {
                self.0.reserve(s.len() + 2);
                self.0.push(b'"');
                self.0.extend_from_slice(s.as_bytes());
                self.0.push(b'"');
                Ok(())
            } else {
                serde_json::to_writer(&mut *self.0, s)
            }
        }

        #[inline]
        fn u64(&mut self, v: u64) {
            // Writing into a Vec cannot fail.
            let _ = CompactFormatter.write_u64(&mut *self.0, v);
        }

        #[inline]
        fn i64(&mut self, v: i64) {
            let _ = CompactFormatter.write_i64(&mut *self.0, v);
        }
    }

    /// A struct, map or sequence being written: whether an element came before.
    pub(super) struct Compound<'a, 'b> {
        out: &'b mut Out<'a>,
        first: bool,
        /// Closing bytes: `]`, `}`, or `}}` / `]}` for a variant.
        close: &'static [u8],
    }

    impl Compound<'_, '_> {
        #[inline]
        fn comma(&mut self) {
            if self.first {
                self.first = false;
            } else {
                self.out.0.push(b',');
            }
        }

        #[inline]
        fn field(&mut self, key: &str) -> Result<()> {
            self.comma();
            self.out.str(key)?;
            self.out.0.push(b':');
            Ok(())
        }

        #[inline]
        fn end(self) {
            self.out.0.extend_from_slice(self.close);
        }
    }

    impl<'a, 'b> ser::Serializer for &'b mut Out<'a> {
        type Ok = ();
        type Error = Error;
        type SerializeSeq = Compound<'a, 'b>;
        type SerializeTuple = Compound<'a, 'b>;
        type SerializeTupleStruct = Compound<'a, 'b>;
        type SerializeTupleVariant = Compound<'a, 'b>;
        type SerializeMap = Compound<'a, 'b>;
        type SerializeStruct = Compound<'a, 'b>;
        type SerializeStructVariant = Compound<'a, 'b>;

        fn serialize_bool(self, v: bool) -> Result<()> {
            self.0
                .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
            Ok(())
        }
        fn serialize_i8(self, v: i8) -> Result<()> {
            self.i64(v.into());
            Ok(())
        }
        fn serialize_i16(self, v: i16) -> Result<()> {
            self.i64(v.into());
            Ok(())
        }
        fn serialize_i32(self, v: i32) -> Result<()> {
            self.i64(v.into());
            Ok(())
        }
        fn serialize_i64(self, v: i64) -> Result<()> {
            self.i64(v);
            Ok(())
        }
        fn serialize_i128(self, v: i128) -> Result<()> {
            serde_json::to_writer(&mut *self.0, &v)
        }
        fn serialize_u8(self, v: u8) -> Result<()> {
            self.u64(v.into());
            Ok(())
        }
        fn serialize_u16(self, v: u16) -> Result<()> {
            self.u64(v.into());
            Ok(())
        }
        fn serialize_u32(self, v: u32) -> Result<()> {
            self.u64(v.into());
            Ok(())
        }
        fn serialize_u64(self, v: u64) -> Result<()> {
            self.u64(v);
            Ok(())
        }
        fn serialize_u128(self, v: u128) -> Result<()> {
            serde_json::to_writer(&mut *self.0, &v)
        }
        fn serialize_f32(self, v: f32) -> Result<()> {
            if v.is_finite() {
                let _ = CompactFormatter.write_f32(&mut *self.0, v);
            } else {
                self.0.extend_from_slice(b"null");
            }
            Ok(())
        }
        fn serialize_f64(self, v: f64) -> Result<()> {
            if v.is_finite() {
                let _ = CompactFormatter.write_f64(&mut *self.0, v);
            } else {
                self.0.extend_from_slice(b"null");
            }
            Ok(())
        }
        fn serialize_char(self, v: char) -> Result<()> {
            self.str(v.encode_utf8(&mut [0; 4]))
        }
        fn serialize_str(self, v: &str) -> Result<()> {
            self.str(v)
        }
        fn serialize_bytes(self, v: &[u8]) -> Result<()> {
            serde_json::to_writer(&mut *self.0, v)
        }
        fn serialize_none(self) -> Result<()> {
            self.0.extend_from_slice(b"null");
            Ok(())
        }
        fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
            value.serialize(self)
        }
        fn serialize_unit(self) -> Result<()> {
            self.serialize_none()
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
            self.serialize_none()
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
        ) -> Result<()> {
            self.str(variant)
        }
        fn serialize_newtype_struct<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            value: &T,
        ) -> Result<()> {
            value.serialize(self)
        }
        fn serialize_newtype_variant<T: ?Sized + Serialize>(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
            value: &T,
        ) -> Result<()> {
            self.0.push(b'{');
            self.str(variant)?;
            self.0.push(b':');
            value.serialize(&mut *self)?;
            self.0.push(b'}');
            Ok(())
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'b>> {
            self.0.push(b'[');
            Ok(Compound {
                out: self,
                first: true,
                close: b"]",
            })
        }
        fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, 'b>> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
            _: usize,
        ) -> Result<Compound<'a, 'b>> {
            self.0.push(b'{');
            self.str(variant)?;
            self.0.extend_from_slice(b":[");
            Ok(Compound {
                out: self,
                first: true,
                close: b"]}",
            })
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'b>> {
            self.0.push(b'{');
            Ok(Compound {
                out: self,
                first: true,
                close: b"}",
            })
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'b>> {
            self.serialize_map(None)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
            _: usize,
        ) -> Result<Compound<'a, 'b>> {
            self.0.push(b'{');
            self.str(variant)?;
            self.0.extend_from_slice(b":{");
            Ok(Compound {
                out: self,
                first: true,
                close: b"}}",
            })
        }
    }

    macro_rules! seq_like {
        ($($trait:ident :: $method:ident),*) => {$(
            impl ser::$trait for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;
                fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
                    self.comma();
                    value.serialize(&mut *self.out)
                }
                fn end(self) -> Result<()> {
                    Compound::end(self);
                    Ok(())
                }
            }
        )*};
    }
    seq_like!(
        SerializeSeq::serialize_element,
        SerializeTuple::serialize_element,
        SerializeTupleStruct::serialize_field,
        SerializeTupleVariant::serialize_field
    );

    macro_rules! struct_like {
        ($($trait:ident),*) => {$(
            impl ser::$trait for Compound<'_, '_> {
                type Ok = ();
                type Error = Error;
                fn serialize_field<T: ?Sized + Serialize>(
                    &mut self,
                    key: &'static str,
                    value: &T,
                ) -> Result<()> {
                    self.field(key)?;
                    value.serialize(&mut *self.out)
                }
                fn end(self) -> Result<()> {
                    Compound::end(self);
                    Ok(())
                }
            }
        )*};
    }
    struct_like!(SerializeStruct, SerializeStructVariant);

    /// One map entry's key, for serde_json to write as it writes keys.
    struct KeyOnly<'k, K: ?Sized>(&'k K);

    impl<K: ?Sized + Serialize> Serialize for KeyOnly<'_, K> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
            use ser::SerializeMap;
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry(self.0, &())?;
            map.end()
        }
    }

    impl ser::SerializeMap for Compound<'_, '_> {
        type Ok = ();
        type Error = Error;
        fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
            self.comma();
            // serde_json writes `{KEY:null}`; keep KEY, whatever its type.
            let mut entry = Vec::new();
            serde_json::to_writer(&mut entry, &KeyOnly(key))?;
            let key = entry
                .get(1..entry.len().saturating_sub(b":null}".len()))
                .unwrap_or_default();
            self.out.0.extend_from_slice(key);
            Ok(())
        }
        fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
            self.out.0.push(b':');
            value.serialize(&mut *self.out)
        }
        fn end(self) -> Result<()> {
            Compound::end(self);
            Ok(())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::fast::Out;
    use crate::path::LinearPath;
    use crate::trace::DecisionTrace;

    fn both<T: Serialize>(value: &T) -> (String, String) {
        let mut fast = Vec::new();
        value.serialize(&mut Out(&mut fast)).unwrap();
        let reference = serde_json::to_vec(value).unwrap();
        (
            String::from_utf8(fast).unwrap(),
            String::from_utf8(reference).unwrap(),
        )
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, f64),
        Struct { a: Option<u16>, b: char },
    }

    #[derive(Serialize)]
    struct Everything {
        text: &'static str,
        shapes: Vec<Shape>,
        keys: BTreeMap<i64, bool>,
        named: BTreeMap<&'static str, ()>,
        wide: (i128, u128),
        bytes: serde_json::Value,
        floats: Vec<f64>,
    }

    #[test]
    fn fast_serializer_writes_what_serde_json_writes() {
        let value = Everything {
            text: "quote \" backslash \\ tab \t nul \u{0} del \u{7f} é",
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, 0.1),
                Shape::Struct { a: None, b: '\n' },
                Shape::Struct { a: Some(9), b: 'x' },
            ],
            keys: [(-1, true), (5, false)].into_iter().collect(),
            named: [("a\"b", ()), ("plain", ())].into_iter().collect(),
            wide: (i128::MIN, u128::MAX),
            bytes: serde_json::json!({"k": [1, "two", null, {"x\n": 1.5}]}),
            floats: vec![f64::NAN, f64::INFINITY, -0.0, 1e300, 5e-324, 0.3],
        };
        let (fast, reference) = both(&value);
        assert_eq!(fast, reference);
    }

    #[test]
    fn encode_json_matches_serde_json_for_many_float_bit_patterns() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..2_000u64 {
            let (timestamp_ns, input_hash, latency) = (next(), next(), next());
            let mut float = || f32::from_bits(next() as u32);
            let trace = DecisionTrace {
                timestamp_ns,
                sequence: round,
                input_hash,
                output: float(),
                latency_ns: latency >> (round % 64),
                path: LinearPath {
                    contributions: (0..(round % 9)).map(|_| float()).collect(),
                    intercept: float(),
                    logit: [0.1, 1e-7, 3e38, f32::NAN, -0.0][(round % 5) as usize],
                    prediction: float(),
                    probability: (round % 3 != 0).then(&mut float),
                },
            };
            let mut fast = Vec::new();
            super::encode_json(&trace, &mut fast).unwrap();
            let doc = super::DocumentOut {
                version: super::JSON_VERSION,
                trace: super::TraceOut {
                    timestamp_ns: trace.timestamp_ns,
                    sequence: trace.sequence,
                    input_hash: trace.input_hash,
                    output: trace.output,
                    latency_ns: trace.latency_ns,
                    path: &trace.path,
                },
            };
            let reference = serde_json::to_vec(&doc).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(reference).unwrap()
            );
        }
    }
}
