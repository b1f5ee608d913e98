//! The fast writer of the JSON view: the same bytes as the serde derive through `serde_json`
//! (see [`encode_json_reference`](super::json::encode_json_reference)), written straight into
//! the caller's buffer.
//!
//! Keys are constant, so each is written pre-escaped together with its punctuation
//! (`,"intercept":`) as one copy; finite floats go through `zmij`, the shortest-round-trip
//! formatter `serde_json` itself uses, so the digits are byte for byte the same; integers go
//! through `itoa`, as in `serde_json`. Non-finite floats take the lossless string forms of
//! [`json_float`](super::json_float).

use crate::path::{
    Aggregation, ClusterPath, ForestPath, KnnPath, LeafInfo, LinearPath, NeuralPath, SplitTest,
    TreePath, TreeSplit,
};

use super::json_float::CANONICAL_NAN;

/// Appends JSON tokens to a buffer.
pub(crate) struct JsonOut<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> JsonOut<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>) -> JsonOut<'a> {
        JsonOut { out }
    }

    /// Pre-escaped JSON text: keys with their punctuation, brackets.
    #[inline]
    pub(crate) fn raw(&mut self, text: &[u8]) {
        self.out.extend_from_slice(text);
    }

    #[inline]
    pub(crate) fn u64(&mut self, value: u64) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    #[inline]
    fn u32(&mut self, value: u32) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    #[inline]
    fn bool(&mut self, value: bool) {
        self.raw(if value { b"true" } else { b"false" });
    }

    /// `"0x"` and 16 lowercase hex digits, quoted.
    pub(crate) fn hex_u64(&mut self, value: u64) {
        let mut text = *b"\"0x0000000000000000\"";
        write_hex(&mut text[3..19], value);
        self.raw(&text);
    }

    /// An `f32` in its lossless JSON form.
    #[inline]
    pub(crate) fn f32(&mut self, value: f32) {
        if value.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
        } else {
            self.non_finite(value);
        }
    }

    #[cold]
    fn non_finite(&mut self, value: f32) {
        if value.is_nan() {
            let bits = value.to_bits();
            if bits == CANONICAL_NAN {
                self.raw(b"\"NaN\"");
            } else {
                let mut text = *b"\"NaN:0x00000000\"";
                write_hex(&mut text[7..15], u64::from(bits));
                self.raw(&text);
            }
        } else if value > 0.0 {
            self.raw(b"\"Infinity\"");
        } else {
            self.raw(b"\"-Infinity\"");
        }
    }

    fn option_f32(&mut self, value: Option<f32>) {
        match value {
            Some(value) => self.f32(value),
            None => self.raw(b"null"),
        }
    }

    fn f32s(&mut self, values: &[f32]) {
        self.seq(values, |out, value| out.f32(*value));
    }

    fn option_f32s(&mut self, values: Option<&[f32]>) {
        match values {
            Some(values) => self.f32s(values),
            None => self.raw(b"null"),
        }
    }

    fn option_rows(&mut self, rows: Option<&[Vec<f32>]>) {
        match rows {
            Some(rows) => self.seq(rows, |out, row| out.f32s(row)),
            None => self.raw(b"null"),
        }
    }

    fn u32s(&mut self, values: &[u32]) {
        self.seq(values, |out, value| out.u32(*value));
    }

    /// `[a,b,...]`, each item written by `item`.
    #[inline]
    fn seq<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.out.push(b'[');
        let mut items = items.iter();
        if let Some(first) = items.next() {
            item(self, first);
            for next in items {
                self.out.push(b',');
                item(self, next);
            }
        }
        self.out.push(b']');
    }
}

/// Writes `value`'s low `digits.len()` nibbles as lowercase hex, most significant first.
fn write_hex(digits: &mut [u8], value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = value;
    for digit in digits.iter_mut().rev() {
        *digit = HEX[(rest & 0xf) as usize];
        rest >>= 4;
    }
}

pub(crate) fn linear(path: &LinearPath, out: &mut Vec<u8>) {
    let mut out = JsonOut::new(out);
    out.raw(b"{\"type\":\"LinearPath\",\"contributions\":");
    out.f32s(&path.contributions);
    out.raw(b",\"intercept\":");
    out.f32(path.intercept);
    out.raw(b",\"logit\":");
    out.f32(path.logit);
    out.raw(b",\"prediction\":");
    out.f32(path.prediction);
    out.raw(b",\"probability\":");
    out.option_f32(path.probability);
    out.raw(b"}");
}

pub(crate) fn tree(path: &TreePath, out: &mut Vec<u8>) {
    let mut out = JsonOut::new(out);
    out.raw(b"{\"type\":\"TreePath\",");
    tree_fields(path, &mut out);
    out.raw(b"}");
}

/// The fields of a tree path after its `type`, also written inside a forest's `tree_paths`.
fn tree_fields(path: &TreePath, out: &mut JsonOut<'_>) {
    out.raw(b"\"splits\":");
    out.seq(&path.splits, split);
    out.raw(b",\"leaf\":");
    leaf(&path.leaf, out);
    out.raw(b",\"impurity_path\":");
    out.f32s(&path.impurity_path);
}

fn split(out: &mut JsonOut<'_>, split: &TreeSplit) {
    out.raw(b"{\"node_index\":");
    out.u32(split.node_index);
    out.raw(b",\"feature_index\":");
    out.u32(split.feature_index);
    out.raw(b",\"threshold\":");
    out.f32(split.threshold);
    out.raw(match split.test {
        SplitTest::LessOrEqual => b",\"test\":\"less_or_equal\",\"categories\":".as_slice(),
        SplitTest::Less => b",\"test\":\"less\",\"categories\":",
        SplitTest::InCategories => b",\"test\":\"in_categories\",\"categories\":",
        SplitTest::NotInCategories => b",\"test\":\"not_in_categories\",\"categories\":",
    });
    out.u32s(&split.categories);
    out.raw(b",\"went_left\":");
    out.bool(split.went_left);
    out.raw(b",\"missing\":");
    out.bool(split.missing);
    out.raw(b",\"n_samples\":");
    out.u64(split.n_samples);
    out.raw(b"}");
}

fn leaf(leaf: &LeafInfo, out: &mut JsonOut<'_>) {
    out.raw(b"{\"node_index\":");
    out.u32(leaf.node_index);
    out.raw(b",\"prediction\":");
    out.f32(leaf.prediction);
    out.raw(b",\"n_samples\":");
    out.u64(leaf.n_samples);
    out.raw(b",\"class_distribution\":");
    out.option_f32s(leaf.class_distribution.as_deref());
    out.raw(b"}");
}

pub(crate) fn forest(path: &ForestPath, out: &mut Vec<u8>) {
    let mut out = JsonOut::new(out);
    out.raw(match path.aggregation {
        Aggregation::Mean => {
            b"{\"type\":\"ForestPath\",\"aggregation\":\"mean\",\"base_score\":".as_slice()
        }
        Aggregation::Sum => b"{\"type\":\"ForestPath\",\"aggregation\":\"sum\",\"base_score\":",
    });
    out.f32(path.base_score);
    out.raw(b",\"tree_paths\":");
    out.seq(&path.tree_paths, |out, tree| {
        out.raw(b"{\"type\":\"TreePath\",");
        tree_fields(tree, out);
        out.raw(b"}");
    });
    out.raw(b",\"tree_predictions\":");
    out.f32s(&path.tree_predictions);
    out.raw(b",\"ensemble_prediction\":");
    out.f32(path.ensemble_prediction);
    out.raw(b",\"tree_agreement\":");
    out.f32(path.tree_agreement);
    out.raw(b",\"feature_importance\":");
    out.f32s(&path.feature_importance);
    out.raw(b",\"probability\":");
    out.option_f32(path.probability);
    out.raw(b"}");
}

pub(crate) fn knn(path: &KnnPath, out: &mut Vec<u8>) {
    let mut out = JsonOut::new(out);
    out.raw(b"{\"type\":\"KnnPath\",\"neighbor_indices\":");
    out.u32s(&path.neighbor_indices);
    out.raw(b",\"distances\":");
    out.f32s(&path.distances);
    out.raw(b",\"neighbor_labels\":");
    out.f32s(&path.neighbor_labels);
    out.raw(b",\"votes\":");
    out.seq(&path.votes, |out, &(class, count)| {
        out.raw(b"[");
        out.u32(class);
        out.raw(b",");
        out.u32(count);
        out.raw(b"]");
    });
    out.raw(b",\"weighted_votes\":");
    out.option_f32s(path.weighted_votes.as_deref());
    out.raw(b"}");
}

pub(crate) fn neural(path: &NeuralPath, out: &mut Vec<u8>) {
    let mut out = JsonOut::new(out);
    out.raw(b"{\"type\":\"NeuralPath\",\"input_gradient\":");
    out.f32s(&path.input_gradient);
    out.raw(b",\"activations\":");
    out.option_rows(path.activations.as_deref());
    out.raw(b",\"attention_weights\":");
    out.option_rows(path.attention_weights.as_deref());
    out.raw(b",\"integrated_gradients\":");
    out.option_f32s(path.integrated_gradients.as_deref());
    out.raw(b",\"probability\":");
    out.option_f32(path.probability);
    out.raw(b"}");
}

pub(crate) fn cluster(path: &ClusterPath, out: &mut Vec<u8>) {
    let mut out = JsonOut::new(out);
    out.raw(b"{\"type\":\"ClusterPath\",\"squared_distances\":");
    out.f32s(&path.squared_distances);
    out.raw(b",\"cluster\":");
    out.u32(path.cluster);
    out.raw(b",\"runner_up\":");
    out.u32(path.runner_up);
    out.raw(b",\"margin\":");
    out.f32(path.margin);
    out.raw(b",\"contributions\":");
    out.f32s(&path.contributions);
    out.raw(b"}");
}
