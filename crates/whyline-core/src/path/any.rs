//! A path of any type, for readers of logs that mix models.

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{
    ClusterPath, DecisionPath, ForestPath, KnnPath, LinearPath, Names, NeuralPath, PathType,
    TreePath,
};
use crate::error::Result;

/// Any decision path; what a reader gets when it does not know the model in advance.
///
/// Its JSON form is the inner path's, whose `type` field names the variant; reading
/// dispatches on that field, so an unknown or missing `type` is a clear error.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AnyPath {
    /// A [`LinearPath`].
    Linear(LinearPath),
    /// A [`TreePath`].
    Tree(TreePath),
    /// A [`ForestPath`].
    Forest(ForestPath),
    /// A [`KnnPath`].
    Knn(KnnPath),
    /// A [`NeuralPath`].
    Neural(NeuralPath),
    /// A [`ClusterPath`].
    Cluster(ClusterPath),
}

impl Default for AnyPath {
    /// An empty [`LinearPath`], so models whose path type is chosen at run time can still
    /// fill a reusable path with [`Explainable::explain_into`](crate::Explainable::explain_into).
    fn default() -> AnyPath {
        AnyPath::Linear(LinearPath::default())
    }
}

macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            AnyPath::Linear($p) => $body,
            AnyPath::Tree($p) => $body,
            AnyPath::Forest($p) => $body,
            AnyPath::Knn($p) => $body,
            AnyPath::Neural($p) => $body,
            AnyPath::Cluster($p) => $body,
        }
    };
}

impl DecisionPath for AnyPath {
    fn encode_json_path(&self, out: &mut Vec<u8>) -> Result<()> {
        each!(self, p => p.encode_json_path(out))
    }

    fn path_type(&self) -> PathType {
        each!(self, p => p.path_type())
    }

    fn explain_with(&self, names: &Names) -> String {
        each!(self, p => p.explain_with(names))
    }

    fn feature_contributions(&self) -> &[f32] {
        each!(self, p => p.feature_contributions())
    }

    fn confidence(&self) -> f32 {
        each!(self, p => p.confidence())
    }

    fn encode_path(&self, out: &mut Vec<u8>) {
        each!(self, p => p.encode_path(out))
    }

    fn decode_path(path_type: PathType, bytes: &[u8], base_offset: u64) -> Result<Self> {
        Ok(match path_type {
            PathType::Linear => {
                AnyPath::Linear(LinearPath::decode_path(path_type, bytes, base_offset)?)
            }
            PathType::Tree => AnyPath::Tree(TreePath::decode_path(path_type, bytes, base_offset)?),
            PathType::Forest => {
                AnyPath::Forest(ForestPath::decode_path(path_type, bytes, base_offset)?)
            }
            PathType::Knn => AnyPath::Knn(KnnPath::decode_path(path_type, bytes, base_offset)?),
            PathType::Neural => {
                AnyPath::Neural(NeuralPath::decode_path(path_type, bytes, base_offset)?)
            }
            PathType::Cluster => {
                AnyPath::Cluster(ClusterPath::decode_path(path_type, bytes, base_offset)?)
            }
        })
    }
}

macro_rules! from_path {
    ($($variant:ident($ty:ty)),*) => {$(
        impl From<$ty> for AnyPath {
            fn from(path: $ty) -> AnyPath {
                AnyPath::$variant(path)
            }
        }
    )*};
}

from_path!(
    Linear(LinearPath),
    Tree(TreePath),
    Forest(ForestPath),
    Knn(KnnPath),
    Neural(NeuralPath),
    Cluster(ClusterPath)
);

/// The reading side of [`AnyPath`]: a path object keyed by its `type`.
///
/// The JSON writer puts `type` first, so the reader looks at the first key: when it is `type`,
/// the rest of the object goes straight to the named path type's reader, with nothing
/// buffered (serde's internally tagged enums buffer the whole object into an intermediate
/// tree first, which made reading a trace several times slower). An object whose `type`
/// comes later (written by hand or by another library) is read into a
/// [`serde_json::Value`] first and then dispatched the same way: slower, same result.
impl<'de> Deserialize<'de> for AnyPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AnyPath, D::Error> {
        deserializer.deserialize_map(AnyPathVisitor)
    }
}

const TYPE_NAMES: &[&str] = &[
    "LinearPath",
    "TreePath",
    "ForestPath",
    "KnnPath",
    "NeuralPath",
    "ClusterPath",
];

/// The path type a JSON `type` value names.
fn path_type_named<E: de::Error>(name: &str) -> Result<PathType, E> {
    PathType::ALL
        .into_iter()
        .find(|t| t.json_name() == name)
        .ok_or_else(|| E::unknown_variant(name, TYPE_NAMES))
}

/// Reads a path of type `path_type` from `deserializer` (the rest of its object).
fn read_path<'de, D: Deserializer<'de>>(
    path_type: PathType,
    deserializer: D,
) -> Result<AnyPath, D::Error> {
    Ok(match path_type {
        PathType::Linear => AnyPath::Linear(LinearPath::deserialize(deserializer)?),
        PathType::Tree => AnyPath::Tree(TreePath::deserialize(deserializer)?),
        PathType::Forest => AnyPath::Forest(ForestPath::deserialize(deserializer)?),
        PathType::Knn => AnyPath::Knn(KnnPath::deserialize(deserializer)?),
        PathType::Neural => AnyPath::Neural(NeuralPath::deserialize(deserializer)?),
        PathType::Cluster => AnyPath::Cluster(ClusterPath::deserialize(deserializer)?),
    })
}

/// A key of a path object: `type`, or another (kept only for the slow path).
enum Key {
    Type,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(if key == "type" {
                    Key::Type
                } else {
                    Key::Other(key.to_owned())
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// The `type` value, read without allocating.
struct TypeName(PathType);

impl<'de> Deserialize<'de> for TypeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TypeName, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = TypeName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path type name such as \"LinearPath\"")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<TypeName, E> {
                path_type_named(name).map(TypeName)
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

struct AnyPathVisitor;

impl<'de> Visitor<'de> for AnyPathVisitor {
    type Value = AnyPath;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a decision path object with a `type` field")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyPath, A::Error> {
        let first = match map.next_key::<Key>()? {
            None => return Err(de::Error::missing_field("type")),
            Some(Key::Type) => {
                let TypeName(path_type) = map.next_value()?;
                return read_path(path_type, MapAccessDeserializer::new(map));
            }
            Some(Key::Other(key)) => key,
        };
        // `type` is not first: gather the object, then dispatch on its `type`.
        let mut object = serde_json::Map::new();
        object.insert(first, map.next_value()?);
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value()?;
            object.insert(key, value);
        }
        let path_type = match object.get("type") {
            Some(serde_json::Value::String(name)) => path_type_named(name)?,
            Some(other) => {
                return Err(de::Error::invalid_type(
                    de::Unexpected::Other(&other.to_string()),
                    &"a path type name such as \"LinearPath\"",
                ));
            }
            None => return Err(de::Error::missing_field("type")),
        };
        read_path(path_type, serde_json::Value::Object(object)).map_err(de::Error::custom)
    }
}
