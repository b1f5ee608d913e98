//! The two provenance entry kinds, framed like alerts and outcomes (`docs/ledger-format.md`):
//!
//! ```text
//! offset size field
//!  0      4   magic "WLPN" (node) or "WLPE" (edge)
//!  4      1   version, 0x01
//!  5      3   reserved, zero
//!  8      8   timestamp_ns, u64 LE (as in APRT, so the time index and window reads find it)
//! 16      n   JSON: a node  {"timestamp_ns":N,"kind":"inference","model_id":"...",...}
//!                   an edge {"from":N,"to":N,"kind":"caused","from_kind":"inference",
//!                            "to_kind":"action","timestamp_ns":N}
//! ```

use crate::error::Result;
use crate::evidence::stamped;

use super::types::{ProvenanceEdge, ProvenanceNode};

/// The magic that opens a provenance node record.
pub const PROVENANCE_NODE_MAGIC: [u8; 4] = *b"WLPN";
/// The magic that opens a provenance edge record.
pub const PROVENANCE_EDGE_MAGIC: [u8; 4] = *b"WLPE";
const VERSION: u8 = 1;

/// Whether `bytes` start like a provenance node or edge record.
pub fn is_provenance_record(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(magic) if magic == PROVENANCE_NODE_MAGIC || magic == PROVENANCE_EDGE_MAGIC
    )
}

/// One provenance entry: a node or an edge.
#[derive(Clone, Debug, PartialEq)]
pub enum ProvenanceRecord {
    /// A node.
    Node(ProvenanceNode),
    /// An edge.
    Edge(ProvenanceEdge),
}

impl ProvenanceRecord {
    /// The record's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            ProvenanceRecord::Node(node) => node.to_bytes(),
            ProvenanceRecord::Edge(edge) => edge.to_bytes(),
        }
    }

    /// Reads a node or an edge record, by its magic.
    ///
    /// ```
    /// use whyline_core::provenance::{NodeDetail, ProvenanceNode, ProvenanceRecord};
    /// let node = ProvenanceNode::new(5, NodeDetail::Fusion { strategy: "kalman".into() });
    /// let bytes = node.to_bytes();
    /// assert_eq!(&bytes[..4], b"WLPN");
    /// assert_eq!(ProvenanceRecord::from_bytes(&bytes)?, ProvenanceRecord::Node(node));
    /// assert!(ProvenanceRecord::from_bytes(b"APRT\x01").is_err());
    /// # Ok::<(), whyline_core::CoreError>(())
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<ProvenanceRecord> {
        if bytes.get(..4) == Some(&PROVENANCE_EDGE_MAGIC[..]) {
            ProvenanceEdge::from_bytes(bytes).map(ProvenanceRecord::Edge)
        } else {
            ProvenanceNode::from_bytes(bytes).map(ProvenanceRecord::Node)
        }
    }

    /// When the record's event happened.
    pub fn timestamp_ns(&self) -> u64 {
        match self {
            ProvenanceRecord::Node(node) => node.timestamp_ns,
            ProvenanceRecord::Edge(edge) => edge.timestamp_ns,
        }
    }
}

impl ProvenanceNode {
    /// The node's record bytes (`WLPN`).
    pub fn to_bytes(&self) -> Vec<u8> {
        stamped::write(PROVENANCE_NODE_MAGIC, VERSION, self.timestamp_ns, self)
    }

    /// Reads a node record.
    pub fn from_bytes(bytes: &[u8]) -> Result<ProvenanceNode> {
        let node: ProvenanceNode =
            stamped::read(bytes, PROVENANCE_NODE_MAGIC, VERSION, "provenance node")?;
        stamped::check_time(bytes, node.timestamp_ns, "provenance node")?;
        Ok(node)
    }
}

impl ProvenanceEdge {
    /// The edge's record bytes (`WLPE`).
    pub fn to_bytes(&self) -> Vec<u8> {
        stamped::write(PROVENANCE_EDGE_MAGIC, VERSION, self.timestamp_ns, self)
    }

    /// Reads an edge record.
    pub fn from_bytes(bytes: &[u8]) -> Result<ProvenanceEdge> {
        let edge: ProvenanceEdge =
            stamped::read(bytes, PROVENANCE_EDGE_MAGIC, VERSION, "provenance edge")?;
        stamped::check_time(bytes, edge.timestamp_ns, "provenance edge")?;
        Ok(edge)
    }
}
