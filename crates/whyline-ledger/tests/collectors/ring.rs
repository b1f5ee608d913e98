//! Ring collector behaviour beyond the conformance suite.

use whyline_core::{AnyPath, DecisionTrace, LinearPath, TraceCollector, TreePath};
use whyline_ledger::collector::RingCollector;

use crate::support::linear_trace;

#[test]
fn ring_of_any_path_holds_mixed_path_types_exactly() {
    let ring = RingCollector::<AnyPath, 3>::new();
    let tree = |sequence: u64| DecisionTrace {
        timestamp_ns: sequence,
        sequence,
        input_hash: 1,
        output: 0.0,
        latency_ns: 0,
        path: AnyPath::Tree(TreePath::default()),
    };
    let linear = |sequence: u64| linear_trace(sequence).map_path(AnyPath::Linear);
    let offered = [linear(0), tree(1), linear(2), tree(3), linear(4), linear(5)];
    for trace in &offered {
        ring.record(trace).unwrap();
    }
    assert_eq!(ring.recent(3).unwrap(), offered[3..]);
}

#[test]
fn for_each_recent_asks_for_more_than_held_and_gets_what_is_held() {
    let ring = RingCollector::<LinearPath, 8>::new();
    for sequence in 0..5 {
        ring.record(&linear_trace(sequence)).unwrap();
    }
    let mut seen = Vec::new();
    let visited = ring
        .for_each_recent(100, |t| seen.push(t.sequence))
        .unwrap();
    assert_eq!(visited, 5);
    assert_eq!(seen, [0, 1, 2, 3, 4]);
}

#[test]
fn a_ring_shared_by_threads_keeps_the_last_n_of_each_thread_in_order() {
    let ring = RingCollector::<LinearPath, 64>::new();
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let ring = &ring;
            scope.spawn(move || {
                for i in 0..1_000 {
                    ring.record(&linear_trace(thread * 1_000_000 + i)).unwrap();
                }
            });
        }
    });
    assert_eq!(ring.stats().recorded, 4_000);
    assert_eq!(ring.len(), 64);
    // Whatever the interleaving, each thread's traces appear in the order it recorded them.
    let mut last = [None::<u64>; 4];
    ring.for_each_recent(64, |t| {
        let thread = (t.sequence / 1_000_000) as usize;
        if let Some(previous) = last[thread] {
            assert!(t.sequence > previous, "{} after {previous}", t.sequence);
        }
        last[thread] = Some(t.sequence);
    })
    .unwrap();
}
