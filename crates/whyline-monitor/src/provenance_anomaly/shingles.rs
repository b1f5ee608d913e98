//! Shingles: the k = 1 local substructure of a node, kept incrementally.
//!
//! The shingle of a node `u` is `label(u)` with the multiset of `(relation, label(v))` over its
//! out-edges `u → v`, cut into chunks of at most `chunk_length` out-edges in arrival order
//! (the cap on shingle length: a node with a large fan-out yields several shingles, never an
//! unbounded one). Within a chunk the pairs are a multiset, not a sequence: in a pipeline the
//! order in which a node's outputs are recorded is a race, not behaviour. A node with no
//! out-edge has no shingle of its own; it appears in its predecessors' shingles.
//!
//! A chunk's hash is `mix(label) + Σ mix(pair)` (wrapping), finalised by one more mix, so
//! appending a pair is O(1). The table that holds each node's open chunk is two-way
//! set-associative with a fixed number of slots: a node pushed out by a collision keeps the
//! shingles already counted, and its next out-edge opens a fresh chunk (counted in
//! `evictions`).

use super::edge::{EdgeLabel, NodeRef};
use super::sketch::mix64;

const LABEL_SEED: u64 = 0x243f_6a88_85a3_08d3;
const PAIR_SEED: u64 = 0x1319_8a2e_0370_7344;

/// What one edge does to its graph's shingle counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShingleChange {
    /// The shingle that lost a count (the source's open chunk before the edge), if any.
    pub(crate) removed: Option<u64>,
    /// The shingle that gained one.
    pub(crate) added: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct NodeSlot {
    graph: u64,
    node: u64,
    /// Unfinalised sum of the open chunk; 0 length means the slot is free.
    sum: u64,
    length: u32,
    last_used: u64,
}

/// Every live node's open chunk, in fixed memory.
#[derive(Debug)]
pub(crate) struct ShingleTable {
    slots: Box<[NodeSlot]>,
    chunk_length: u32,
    clock: u64,
    evictions: u64,
}

impl ShingleTable {
    /// A table of `slots` entries (a power of two, at least 2).
    pub(crate) fn new(slots: usize, chunk_length: u32) -> Self {
        Self {
            slots: vec![NodeSlot::default(); slots].into_boxed_slice(),
            chunk_length,
            clock: 0,
            evictions: 0,
        }
    }

    /// Adds the out-edge `source → destination` of `graph` and says which shingle changed.
    #[inline]
    pub(crate) fn extend(
        &mut self,
        graph: u64,
        source: NodeRef,
        relation: EdgeLabel,
        destination: NodeRef,
    ) -> ShingleChange {
        self.clock += 1;
        let pair = mix64(
            relation.raw().wrapping_mul(PAIR_SEED) ^ mix64(destination.label.raw() ^ LABEL_SEED),
        );
        let start = mix64(source.label.raw() ^ LABEL_SEED);
        let chunk_length = self.chunk_length;
        let slot = self.slot_for(graph, source.id);
        let removed = if slot.length == 0 || slot.length >= chunk_length {
            slot.sum = start;
            slot.length = 0;
            None
        } else {
            Some(mix64(slot.sum))
        };
        slot.sum = slot.sum.wrapping_add(pair);
        slot.length += 1;
        ShingleChange {
            removed,
            added: mix64(slot.sum),
        }
    }

    /// The slot of `(graph, node)`: its own, else a free one, else the least recently used
    /// of its two candidates (evicted). Indices are masked by `len − 1` (a power of two), so
    /// they are always in bounds.
    fn slot_for(&mut self, graph: u64, node: u64) -> &mut NodeSlot {
        let mask = self.slots.len() - 1;
        let first = (mix64(graph ^ mix64(node)) as usize) & mask & !1;
        let second = first | 1;
        let owned = |slot: &NodeSlot| slot.length > 0 && slot.graph == graph && slot.node == node;
        let index = if owned(&self.slots[first]) {
            first
        } else if owned(&self.slots[second]) {
            second
        } else {
            let (a, b) = (&self.slots[first], &self.slots[second]);
            let victim = if a.length == 0 || (b.length > 0 && a.last_used <= b.last_used) {
                first
            } else {
                second
            };
            if self.slots[victim].length > 0 {
                self.evictions += 1;
            }
            self.slots[victim] = NodeSlot {
                graph,
                node,
                ..NodeSlot::default()
            };
            victim
        };
        let slot = &mut self.slots[index];
        slot.last_used = self.clock;
        slot
    }

    /// Nodes pushed out of the table so far.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Forgets every node.
    pub(crate) fn clear(&mut self) {
        self.slots.fill(NodeSlot::default());
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.len() * size_of::<NodeSlot>()
    }
}

#[cfg(test)]
mod tests {
    use super::super::edge::NodeLabel;
    use super::*;

    fn node(id: u64, label: &str) -> NodeRef {
        NodeRef::new(id, NodeLabel::new("k", label))
    }

    #[test]
    fn out_edges_in_any_order_make_the_same_shingle() {
        let flow = EdgeLabel::new("data_flow");
        let mut a = ShingleTable::new(64, 8);
        let mut b = ShingleTable::new(64, 8);
        a.extend(1, node(1, "u"), flow, node(2, "x"));
        let from_a = a.extend(1, node(1, "u"), flow, node(3, "y"));
        b.extend(1, node(1, "u"), flow, node(3, "y"));
        let from_b = b.extend(1, node(1, "u"), flow, node(2, "x"));
        assert_eq!(from_a.added, from_b.added);
        assert!(from_a.removed.is_some());
    }

    /// A table of two slots holds one pair, so every node competes for it: a third node
    /// evicts the least recently used of the two, and the other keeps its open chunk.
    #[test]
    fn a_new_node_evicts_the_least_recently_used_of_its_pair() {
        let flow = EdgeLabel::new("data_flow");
        let mut table = ShingleTable::new(2, 8);
        table.extend(1, node(10, "a"), flow, node(2, "x"));
        table.extend(1, node(11, "b"), flow, node(2, "x"));
        // Node 10 again: now node 11 is the least recently used.
        let again = table.extend(1, node(10, "a"), flow, node(3, "x"));
        assert!(again.removed.is_some(), "node 10 keeps its chunk");
        table.extend(1, node(12, "c"), flow, node(2, "x"));
        assert_eq!(table.evictions(), 1);
        // Node 10 was kept (its chunk goes on), node 11 was pushed out (a new chunk).
        assert!(
            table
                .extend(1, node(10, "a"), flow, node(4, "x"))
                .removed
                .is_some()
        );
        assert_eq!(
            table.extend(1, node(11, "b"), flow, node(4, "x")).removed,
            None
        );
        assert_eq!(table.heap_bytes(), 2 * size_of::<NodeSlot>());
    }

    /// The least recently used of the pair is evicted from either slot: here it is the
    /// node in the first slot, the second having been used since.
    #[test]
    fn the_least_recently_used_is_evicted_from_the_first_slot_too() {
        let flow = EdgeLabel::new("data_flow");
        let mut table = ShingleTable::new(2, 8);
        table.extend(1, node(10, "a"), flow, node(2, "x")); // the first slot, free
        table.extend(1, node(11, "b"), flow, node(2, "x")); // the second slot, free
        assert_eq!(table.evictions(), 0);
        table.extend(1, node(11, "b"), flow, node(3, "x")); // node 10 is now the older
        table.extend(1, node(12, "c"), flow, node(2, "x"));
        assert_eq!(table.evictions(), 1);
        let kept = table.extend(1, node(11, "b"), flow, node(4, "x"));
        assert!(kept.removed.is_some(), "node 11 keeps its chunk");
        let evicted = table.extend(1, node(10, "a"), flow, node(4, "x"));
        assert_eq!(evicted.removed, None, "node 10 was evicted");
        // Back in, node 10 pushed out node 12, the older of the pair now.
        assert_eq!(table.evictions(), 2);
    }

    /// The relation and the destination both shape an out-edge's shingle, whatever their
    /// values: with a relation whose label hashes to 0, the destination still tells two
    /// edges apart.
    #[test]
    fn the_destination_changes_the_shingle_whatever_the_relation() {
        let relation = EdgeLabel::from_raw(0);
        let added = |destination: &str| {
            let mut table = ShingleTable::new(64, 8);
            table
                .extend(1, node(1, "u"), relation, node(2, destination))
                .added
        };
        assert_ne!(added("x"), added("y"));
    }

    /// Nodes spread over the table whatever the graph's id: even a graph id with every bit
    /// set (ids are the caller's, hashed ones included) does not crowd its nodes into one
    /// pair of slots.
    #[test]
    fn a_graphs_nodes_spread_over_the_table_whatever_its_id() {
        let flow = EdgeLabel::new("data_flow");
        for graph in [0, 1, u64::MAX, 0xffff_0000_ffff_0000] {
            let mut table = ShingleTable::new(64, 8);
            for id in 0..16 {
                table.extend(graph, node(id, "n"), flow, node(100, "x"));
            }
            assert!(
                table.evictions() <= 2,
                "graph {graph:#x}: {}",
                table.evictions()
            );
        }
    }

    /// Every bit of a label counts: two destinations whose labels differ only in bits the
    /// hash's seed has set still make different shingles, and so do two sources.
    #[test]
    fn labels_differing_only_in_the_seeds_bits_make_different_shingles() {
        let flow = EdgeLabel::new("data_flow");
        let labelled = |raw: u64| NodeRef::new(2, NodeLabel::from_raw(raw));
        let added = |source: NodeRef, destination: NodeRef| {
            let mut table = ShingleTable::new(64, 8);
            table.extend(1, source, flow, destination).added
        };
        let u = node(1, "u");
        assert_ne!(
            added(u, labelled(0)),
            added(u, labelled(LABEL_SEED)),
            "destinations"
        );
        let x = node(3, "x");
        assert_ne!(
            added(labelled(0), x),
            added(labelled(LABEL_SEED), x),
            "sources"
        );
    }

    #[test]
    fn a_full_chunk_opens_a_new_shingle() {
        let flow = EdgeLabel::new("data_flow");
        let mut table = ShingleTable::new(64, 2);
        let first = table.extend(1, node(1, "u"), flow, node(2, "x"));
        let second = table.extend(1, node(1, "u"), flow, node(3, "x"));
        let third = table.extend(1, node(1, "u"), flow, node(4, "x"));
        assert_eq!(first.removed, None);
        assert_eq!(second.removed, Some(first.added));
        assert_eq!(third.removed, None);
        assert_eq!(third.added, first.added);
    }

    #[test]
    fn a_table_of_two_slots_evicts_the_least_recently_used_node() {
        let flow = EdgeLabel::new("data_flow");
        let mut table = ShingleTable::new(2, 8);
        for id in 0..3 {
            table.extend(1, node(id, "u"), flow, node(10, "x"));
        }
        assert_eq!(table.evictions(), 1);
    }
}
