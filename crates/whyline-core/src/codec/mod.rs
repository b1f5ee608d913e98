//! Codecs for decision traces: APRT (the canonical binary record) and the JSON view.

pub(crate) mod aprt;
pub(crate) mod json;
pub(crate) mod json_float;
pub(crate) mod json_write;
pub(crate) mod wire;
