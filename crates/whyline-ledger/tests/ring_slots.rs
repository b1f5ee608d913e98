//! The ring collector reusing its slots across every path type: whatever was in a slot
//! before, the ring gives back exactly the last traces recorded, bit for bit (compared as
//! their APRT bytes, so NaN payloads count).

use proptest::collection::vec;
use proptest::prelude::*;
use whyline_core::{AnyPath, LinearPath, TraceCollector, to_aprt};
use whyline_ledger::collector::{DynamicRingCollector, RingCollector};

use crate::strategies;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_ring_reusing_its_slots_returns_exactly_the_last_traces_of_any_path(
        traces in vec(strategies::trace(strategies::any_path()), 1..24),
        capacity in 1usize..6,
    ) {
        let ring = DynamicRingCollector::<AnyPath>::with_capacity(capacity).unwrap();
        for trace in &traces {
            ring.record(trace).unwrap();
        }
        let expected: Vec<Vec<u8>> = traces[traces.len().saturating_sub(capacity)..]
            .iter()
            .map(to_aprt)
            .collect();
        let held: Vec<Vec<u8>> = ring.recent(capacity).unwrap().iter().map(to_aprt).collect();
        prop_assert_eq!(held, expected);
    }

    #[test]
    fn a_fixed_ring_reusing_its_slots_of_one_path_type_returns_the_last_traces(
        traces in vec(strategies::trace(strategies::knn_path()), 1..12),
    ) {
        let ring: RingCollector<whyline_core::KnnPath, 3> = RingCollector::default();
        prop_assert_eq!(ring.capacity(), 3);
        for trace in &traces {
            ring.record(trace).unwrap();
        }
        let expected: Vec<Vec<u8>> =
            traces[traces.len().saturating_sub(3)..].iter().map(to_aprt).collect();
        let held: Vec<Vec<u8>> = ring.recent(3).unwrap().iter().map(to_aprt).collect();
        prop_assert_eq!(held, expected);
    }
}

#[test]
fn debug_shows_the_capacity_and_what_the_ring_holds() {
    let ring: RingCollector<LinearPath, 4> = RingCollector::new();
    ring.record(&crate::common::trace(0)).unwrap();
    let debug = format!("{ring:?}");
    assert!(
        debug.contains("capacity: 4") && debug.contains("len: 1") && debug.contains("recorded: 1"),
        "{debug}"
    );
}
