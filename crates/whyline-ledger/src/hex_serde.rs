//! Hashes and bytes as lowercase hex in the JSON of proofs, both ways.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use crate::merkle::Hash;

pub(crate) fn hash<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(hash))
}

pub(crate) fn hashes<S: Serializer>(hashes: &[Hash], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(hashes.iter().map(hex::encode))
}

pub(crate) fn bytes<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

fn decode_hash<E: serde::de::Error>(text: &str) -> Result<Hash, E> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|e| E::custom(format!("hash {text:?}: {e} (expected 64 hex digits)")))?;
    Ok(out)
}

pub(crate) fn read_hash<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
    decode_hash(&String::deserialize(deserializer)?)
}

pub(crate) fn read_hashes<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Hash>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| decode_hash(text))
        .collect()
}

pub(crate) fn read_bytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    hex::decode(&text).map_err(|e| D::Error::custom(format!("hex bytes: {e}")))
}
