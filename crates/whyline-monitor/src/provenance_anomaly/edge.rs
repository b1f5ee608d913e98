//! The edge the monitor reads: a minimal, self-contained view of one provenance edge, so the
//! detector does not depend on how provenance graphs are stored. A node's [`NodeLabel`] is
//! what a shingle sees of it: its kind and the identity of its role, never its id.

/// A node's type as shingles see it: its kind (`input`, `transform`, `inference`, `fusion`,
/// `action`) with what identifies its role (the sensor, the operation, the model identity, the
/// fusion strategy, the action type), hashed to 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeLabel(u64);

impl NodeLabel {
    /// The label of a node of `kind` whose role is `identity`: FNV-1a over both, with a
    /// separator, so `("a", "bc")` and `("ab", "c")` differ.
    pub fn new(kind: &str, identity: &str) -> Self {
        Self(fnv1a(
            fnv1a(FNV_OFFSET, kind.as_bytes()) ^ 0xff,
            identity.as_bytes(),
        ))
    }

    /// A label from a value the caller already hashed.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The 64-bit value.
    pub const fn raw(self) -> u64 {
        self.0
    }
}

/// An edge's relation (`data_flow`, `triggered`, `influenced`, `caused`), hashed to 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EdgeLabel(u64);

impl EdgeLabel {
    /// The label of `relation` (FNV-1a).
    pub fn new(relation: &str) -> Self {
        Self(fnv1a(FNV_OFFSET, relation.as_bytes()))
    }

    /// A label from a value the caller already hashed.
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The 64-bit value.
    pub const fn raw(self) -> u64 {
        self.0
    }
}

/// One end of an edge: the node's id within its graph and its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// The node's id (unique within its graph).
    pub id: u64,
    /// Its kind and role.
    pub label: NodeLabel,
}

impl NodeRef {
    /// Node `id` with `label`.
    pub const fn new(id: u64, label: NodeLabel) -> Self {
        Self { id, label }
    }
}

/// One edge of one provenance graph, as it arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObservedEdge {
    /// The graph it belongs to (one decision's provenance, one pipeline run).
    pub graph: u64,
    /// Where it starts (the cause, the data's origin).
    pub source: NodeRef,
    /// Its relation.
    pub relation: EdgeLabel,
    /// Where it ends.
    pub destination: NodeRef,
    /// When it was recorded, Unix epoch nanoseconds (stamped on the alert it raises).
    pub timestamp_ns: u64,
}

impl ObservedEdge {
    /// An edge of `graph` from `source` to `destination`.
    pub const fn new(
        graph: u64,
        source: NodeRef,
        relation: EdgeLabel,
        destination: NodeRef,
        timestamp_ns: u64,
    ) -> Self {
        Self {
            graph,
            source,
            relation,
            destination,
            timestamp_ns,
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_separate_kind_from_identity() {
        assert_ne!(NodeLabel::new("a", "bc"), NodeLabel::new("ab", "c"));
        assert_eq!(
            NodeLabel::new("inference", "m@1"),
            NodeLabel::new("inference", "m@1")
        );
        assert_ne!(
            NodeLabel::new("inference", "m@1"),
            NodeLabel::new("inference", "m@2")
        );
    }
}
