//! What a decision saw: its input row and the application's context fields, and the compact
//! binary form they take before they are sealed (the plaintext of a sealed input record).
//!
//! ```text
//! plaintext, version 1 (little-endian)
//!  u32          n, the number of feature values
//!  n × f64      the input row (a model's f32 inputs widen exactly)
//!  u32          m, the number of context fields
//!  m × field    u16 name length, name (UTF-8), value
//! value        tag u8, then: 0 f64 (8 bytes) · 1 i64 (8) · 2 bool (1: 0 or 1) ·
//!              3 string (u32 length, UTF-8) · 4 list (u32 count, values; nested ≤ 8 deep)
//! ```
//!
//! Typed fields rather than JSON: the sealing hot path writes a few dozen bytes with no
//! allocation once its buffer is warm, floats keep their exact bits, and the reader needs no
//! schema. A caller with JSON in hand converts it with [`ContextValue::from_json`].

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// How deep lists may nest inside a context value.
pub const MAX_CONTEXT_DEPTH: usize = 8;

/// One typed context value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    /// A boolean.
    Bool(bool),
    /// An integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// A string.
    Str(String),
    /// A list of values.
    List(Vec<ContextValue>),
}

impl ContextValue {
    /// The value of a JSON value: numbers that fit an `i64` are integers, other numbers
    /// floats; objects become lists of `[key, value]` pairs; `null` the empty list.
    pub fn from_json(value: &serde_json::Value) -> ContextValue {
        use serde_json::Value;
        match value {
            Value::Null => ContextValue::List(Vec::new()),
            Value::Bool(b) => ContextValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => ContextValue::I64(i),
                None => ContextValue::F64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => ContextValue::Str(s.clone()),
            Value::Array(items) => ContextValue::List(items.iter().map(Self::from_json).collect()),
            Value::Object(map) => ContextValue::List(
                map.iter()
                    .map(|(k, v)| {
                        ContextValue::List(vec![ContextValue::Str(k.clone()), Self::from_json(v)])
                    })
                    .collect(),
            ),
        }
    }
}

impl std::fmt::Display for ContextValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextValue::Bool(b) => write!(f, "{b}"),
            ContextValue::I64(i) => write!(f, "{i}"),
            ContextValue::F64(x) => write!(f, "{x}"),
            ContextValue::Str(s) => write!(f, "{s:?}"),
            ContextValue::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Named, typed fields an application adds to a decision (a detected object, distances, an
/// applicant's id), in the order they were added.
///
/// ```
/// use whyline_core::{Context, ContextValue};
/// let context = Context::new()
///     .with("object", "cat")
///     .with("distance_m", 3.5)
///     .with("track_id", 17i64)
///     .with("braking", true);
/// assert_eq!(context.get("object"), Some(&ContextValue::Str("cat".into())));
/// assert_eq!(context.fields().len(), 4);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    fields: Vec<(String, ContextValue)>,
}

impl Context {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a field.
    pub fn with(mut self, name: &str, value: impl Into<ContextValue>) -> Self {
        self.push(name, value);
        self
    }

    /// Adds a field.
    pub fn push(&mut self, name: &str, value: impl Into<ContextValue>) {
        self.fields.push((name.to_owned(), value.into()));
    }

    /// Removes every field, keeping the allocation.
    pub fn clear(&mut self) {
        self.fields.clear();
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[(String, ContextValue)] {
        &self.fields
    }

    /// The first field called `name`.
    pub fn get(&self, name: &str) -> Option<&ContextValue> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

impl From<Vec<(String, ContextValue)>> for Context {
    fn from(fields: Vec<(String, ContextValue)>) -> Self {
        Self { fields }
    }
}

impl From<Context> for Vec<(String, ContextValue)> {
    fn from(context: Context) -> Self {
        context.fields
    }
}

impl From<f64> for ContextValue {
    fn from(v: f64) -> Self {
        ContextValue::F64(v)
    }
}
impl From<f32> for ContextValue {
    /// The `f64` nearest the `f32`'s shortest decimal form: `12.4f32` becomes `12.4`, not
    /// `12.399999618530273` (the value the caller wrote, not its binary neighbour).
    fn from(v: f32) -> Self {
        let shortest = v.to_string().parse().unwrap_or(f64::from(v));
        ContextValue::F64(shortest)
    }
}
impl From<i64> for ContextValue {
    fn from(v: i64) -> Self {
        ContextValue::I64(v)
    }
}
impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        ContextValue::Bool(v)
    }
}
impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        ContextValue::Str(v.to_owned())
    }
}
impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        ContextValue::Str(v)
    }
}
impl<T: Into<ContextValue>> From<Vec<T>> for ContextValue {
    fn from(v: Vec<T>) -> Self {
        ContextValue::List(v.into_iter().map(Into::into).collect())
    }
}

/// A decision's input row and context, as sealed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionInput {
    /// The feature values.
    pub values: Vec<f64>,
    /// The context fields.
    pub context: Vec<(String, ContextValue)>,
}

const RECORD: &str = "sealed input plaintext";

/// Appends the plaintext of `values` and `context` to `out` (the layout in the module docs).
/// A name longer than 65 535 bytes is cut at a character boundary below that.
pub fn encode_input(values: &[f32], context: &[(String, ContextValue)], out: &mut Vec<u8>) {
    out.extend_from_slice(&len_u32(values.len()).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&f64::from(v).to_le_bytes());
    }
    encode_context(context, out);
}

/// [`encode_input`] for f64 values.
pub fn encode_input_f64(values: &[f64], context: &[(String, ContextValue)], out: &mut Vec<u8>) {
    out.extend_from_slice(&len_u32(values.len()).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    encode_context(context, out);
}

fn encode_context(context: &[(String, ContextValue)], out: &mut Vec<u8>) {
    out.extend_from_slice(&len_u32(context.len()).to_le_bytes());
    for (name, value) in context {
        let name = cut(name, usize::from(u16::MAX));
        // `cut` keeps the name within u16.
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        encode_value(value, out, 0);
    }
}

fn encode_value(value: &ContextValue, out: &mut Vec<u8>, depth: usize) {
    match value {
        ContextValue::F64(x) => {
            out.push(0);
            out.extend_from_slice(&x.to_le_bytes());
        }
        ContextValue::I64(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_le_bytes());
        }
        ContextValue::Bool(b) => {
            out.push(2);
            out.push(u8::from(*b));
        }
        ContextValue::Str(s) => {
            out.push(3);
            let s = cut(s, u32::MAX as usize);
            out.extend_from_slice(&len_u32(s.len()).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        ContextValue::List(items) if depth + 1 < MAX_CONTEXT_DEPTH => {
            out.push(4);
            out.extend_from_slice(&len_u32(items.len()).to_le_bytes());
            for item in items {
                encode_value(item, out, depth + 1);
            }
        }
        // A list at the eighth level is written empty rather than refused (its items could
        // hold a ninth): the decision is not lost, and a reader accepts what is written.
        ContextValue::List(_) => {
            out.push(4);
            out.extend_from_slice(&0u32.to_le_bytes());
        }
    }
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// Reads a plaintext written by [`encode_input`]; every byte must be used.
pub fn decode_input(bytes: &[u8]) -> Result<DecisionInput> {
    let mut reader = Reader { bytes, pos: 0 };
    let n = reader.u32("value count")? as usize;
    reader.room(n, 8, "values")?;
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        values.push(f64::from_le_bytes(reader.array("value")?));
    }
    let m = reader.u32("field count")? as usize;
    // Each field takes at least 3 bytes (name length and tag).
    reader.room(m, 3, "context fields")?;
    let mut context = Vec::with_capacity(m);
    for _ in 0..m {
        let len = usize::from(u16::from_le_bytes(reader.array("name length")?));
        let name = reader.string(len, "field name")?;
        let value = reader.value(0)?;
        context.push((name, value));
    }
    if reader.pos != bytes.len() {
        return Err(reader.error(format!(
            "{} bytes left after the last field",
            bytes.len() - reader.pos
        )));
    }
    Ok(DecisionInput { values, context })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, detail: String) -> CoreError {
        CoreError::BadRecord {
            record: RECORD,
            offset: self.pos as u64,
            detail,
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.pos..end)) {
            Some(slice) => {
                self.pos += n;
                Ok(slice)
            }
            None => Err(self.error(format!(
                "{what} needs {n} bytes, {} left",
                self.bytes.len() - self.pos
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let slice = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Checks that `count` items of at least `each` bytes fit before allocating for them.
    fn room(&self, count: usize, each: usize, what: &str) -> Result<()> {
        let left = self.bytes.len() - self.pos;
        if count.saturating_mul(each) > left {
            return Err(self.error(format!(
                "{count} {what} cannot fit in the {left} bytes left"
            )));
        }
        Ok(())
    }

    fn string(&mut self, len: usize, what: &str) -> Result<String> {
        let at = self.pos;
        let bytes = self.take(len, what)?.to_vec();
        String::from_utf8(bytes).map_err(|e| CoreError::BadRecord {
            record: RECORD,
            offset: at as u64,
            detail: format!("{what} is not UTF-8: {e}"),
        })
    }

    fn value(&mut self, depth: usize) -> Result<ContextValue> {
        let [tag] = self.array::<1>("value tag")?;
        Ok(match tag {
            0 => ContextValue::F64(f64::from_le_bytes(self.array("f64 value")?)),
            1 => ContextValue::I64(i64::from_le_bytes(self.array("i64 value")?)),
            2 => match self.array::<1>("bool value")? {
                [0] => ContextValue::Bool(false),
                [1] => ContextValue::Bool(true),
                [other] => return Err(self.error(format!("bool value {other} is neither 0 nor 1"))),
            },
            3 => {
                let len = self.u32("string length")? as usize;
                ContextValue::Str(self.string(len, "string value")?)
            }
            4 => {
                // `depth` lists enclose this one: refuse a ninth level. (Refusing an eighth,
                // as this once did, left unreadable the plaintexts whose context the writer
                // had cut to eight levels.)
                if depth >= MAX_CONTEXT_DEPTH {
                    return Err(
                        self.error(format!("lists nest deeper than {MAX_CONTEXT_DEPTH} levels"))
                    );
                }
                let count = self.u32("list length")? as usize;
                self.room(count, 1, "list items")?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                ContextValue::List(items)
            }
            other => return Err(self.error(format!("unknown value tag {other}"))),
        })
    }
}
