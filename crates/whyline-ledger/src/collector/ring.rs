//! The ring collector: the last `N` traces in memory, allocation-free once warm.
//!
//! A ring keeps the most recent decisions of a model for inspection (an incident, a dashboard)
//! at a cost small enough to leave on in production. Its capacity is a const generic, so a
//! `RingCollector<LinearPath, 4096>` is sized where it is declared, and a record never grows
//! anything: when the ring is full the oldest trace is overwritten in place.
//!
//! # Allocation
//!
//! Slots are `DecisionTrace<P>` values whose vectors are reused: recording copies the trace
//! into a slot with [`RingSlot::clone_into_slot`], which keeps the slot's heap capacity. So
//! once every slot has held a trace at least as large as the next one, recording allocates
//! nothing. The first pass through the ring clones each trace into a fresh slot, which does
//! allocate (one vector per slot for a [`LinearPath`](whyline_core::LinearPath));
//! [`RingCollector::with_template`] builds all `N` slots up front from a template trace, so
//! that even the first pass allocates nothing when traces are no larger than the template.
//!
//! # Locking
//!
//! `record` takes `&self`, so the ring sits behind a [`std::sync::Mutex`]. This is the
//! cheapest sound scheme here: uncontended, the futex-based mutex costs one compare-and-swap
//! to lock and one swap to unlock, the same as a spin lock, and a contended waiter sleeps
//! instead of spinning on the other core. A lock-free ring of non-`Copy` slots needs
//! `unsafe` (forbidden in this crate) or per-slot locks, which make a consistent iteration over
//! the last n traces impossible. A panic while the lock is held (in a visitor passed to
//! [`RingCollector::for_each_recent`], say) poisons it; every later call then returns
//! [`LedgerError::Poisoned`] instead of panicking.

use crate::sync::{Mutex, MutexGuard, PoisonError};

use whyline_core::{CollectorStats, DecisionTrace, RecordOutcome, TraceCollector};

use super::slot::RingSlot;
use crate::error::LedgerError;

/// Keeps the last `N` decision traces in memory, overwriting the oldest, without allocating
/// once every slot has held a trace: the first pass through the ring clones each trace into a
/// fresh slot, unless [`with_template`](RingCollector::with_template) built the slots up front.
///
/// Outcomes are always [`RecordOutcome::Stored`]; `len` is the fill (at most `N`) and
/// `stats().recorded` counts every trace ever recorded, so `recorded - len` were overwritten.
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath, TraceCollector};
/// use whyline_ledger::collector::RingCollector;
///
/// let template = DecisionTrace {
///     timestamp_ns: 0,
///     sequence: 0,
///     input_hash: 0,
///     output: 0.0,
///     latency_ns: 0,
///     path: LinearPath { contributions: vec![0.0; 8], ..LinearPath::default() },
/// };
/// // All 4 slots are built now, so no record below allocates.
/// let ring: RingCollector<LinearPath, 4> = RingCollector::with_template(&template);
/// let mut trace = template.clone();
/// for sequence in 0..10 {
///     trace.sequence = sequence;
///     ring.record(&trace)?;
/// }
/// assert_eq!(ring.len(), 4);
/// assert_eq!(ring.stats().recorded, 10);
///
/// let mut newest_first = Vec::new();
/// ring.for_each_recent(2, |t| newest_first.push(t.sequence))?;
/// assert_eq!(newest_first, [8, 9], "oldest of the two first");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RingCollector<P, const N: usize> {
    ring: DynamicRingCollector<P>,
}

/// A ring like [`RingCollector`] whose capacity is chosen at run time (a safety profile's
/// `ring_size`, say) instead of in the type. Same slots, same locking, same outcomes; the
/// capacity is a field instead of a constant.
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath, TraceCollector};
/// use whyline_ledger::collector::DynamicRingCollector;
///
/// let ring = DynamicRingCollector::<LinearPath>::with_capacity(2)?;
/// let mut trace = DecisionTrace::<LinearPath> {
///     timestamp_ns: 0, sequence: 0, input_hash: 0, output: 0.0, latency_ns: 0,
///     path: LinearPath::default(),
/// };
/// for sequence in 0..5 {
///     trace.sequence = sequence;
///     ring.record(&trace)?;
/// }
/// assert_eq!((ring.capacity(), ring.len()), (2, 2));
/// assert_eq!(ring.recent(2)?.iter().map(|t| t.sequence).collect::<Vec<_>>(), [3, 4]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DynamicRingCollector<P> {
    state: Mutex<RingState<P>>,
}

/// Slots are written in place, in order, wrapping at `capacity`:
///
/// ```text
/// slots:  [ s0 s1 s2 ... s(N-1) ]   slots.len() grows to N and stays there
///                ^ next: the slot the next record overwrites (the oldest once full)
/// held:   how many slots hold live traces; they end just before `next`
/// ```
///
/// Slots past `held` may hold warm but dead traces (from a template or after `clear`).
struct RingState<P> {
    /// Allocated with room for `capacity`, so pushing during the first pass never reallocates.
    slots: Vec<DecisionTrace<P>>,
    /// Number of slots, at least 1.
    capacity: usize,
    /// Index of the slot the next record writes, `< capacity`.
    next: usize,
    /// Live traces, `<= capacity`.
    held: usize,
    /// Every trace ever recorded.
    recorded: u64,
}

impl<P> RingState<P> {
    /// The last `count` live traces (`count <= held`), oldest first, as at most two runs.
    fn recent(&self, count: usize) -> (&[DecisionTrace<P>], &[DecisionTrace<P>]) {
        let capacity = self.capacity;
        let start = (self.next + capacity - count) % capacity;
        if start + count <= capacity {
            (self.slots.get(start..start + count).unwrap_or(&[]), &[])
        } else {
            (
                self.slots.get(start..).unwrap_or(&[]),
                self.slots.get(..start + count - capacity).unwrap_or(&[]),
            )
        }
    }
}

impl<P: RingSlot> RingState<P> {
    /// Copies `trace` into the next slot, overwriting the oldest.
    #[inline]
    fn store(&mut self, trace: &DecisionTrace<P>) {
        let index = self.next;
        match self.slots.get_mut(index) {
            Some(slot) => clone_trace_into(trace, slot),
            // First pass without a template: `index == slots.len()`, the slot is new.
            None => self.slots.push(trace.clone()),
        }
        self.next = if index + 1 >= self.capacity {
            0
        } else {
            index + 1
        };
        self.held = self.capacity.min(self.held + 1);
        self.recorded += 1;
    }
}

impl<P: RingSlot, const N: usize> RingCollector<P, N> {
    const CAPACITY_IS_POSITIVE: () = assert!(N > 0, "a RingCollector needs a capacity N > 0");

    /// An empty ring of `N` slots. The first trace recorded into each slot is cloned (one
    /// allocation per vector in the path); later traces reuse the slot.
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_IS_POSITIVE;
        RingCollector {
            ring: DynamicRingCollector::unchecked(N),
        }
    }

    /// An empty ring whose `N` slots are built now as copies of `template`, so that recording
    /// traces no larger than the template never allocates, not even on the first pass.
    pub fn with_template(template: &DecisionTrace<P>) -> Self {
        let ring = Self::new();
        ring.ring.fill_with(template);
        ring
    }

    /// The number of slots, `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Calls `visit` on each of the last `n` traces (fewer if the ring holds fewer), oldest
    /// first, and returns how many it visited. Allocates nothing; the ring is locked while
    /// `visit` runs, so recording threads wait: keep `visit` short.
    pub fn for_each_recent(
        &self,
        n: usize,
        visit: impl FnMut(&DecisionTrace<P>),
    ) -> Result<usize, LedgerError> {
        self.ring.for_each_recent(n, visit)
    }

    /// Copies of the last `n` traces, oldest first. Allocates; use
    /// [`for_each_recent`](Self::for_each_recent) on a hot path.
    pub fn recent(&self, n: usize) -> Result<Vec<DecisionTrace<P>>, LedgerError> {
        self.ring.recent(n)
    }

    /// Empties the ring, keeping its slots warm for reuse. The `recorded` counter is kept.
    pub fn clear(&self) -> Result<(), LedgerError> {
        self.ring.clear()
    }
}

impl<P: RingSlot> DynamicRingCollector<P> {
    /// An empty ring of `capacity` slots; [`LedgerError::InvalidSetting`] for 0.
    pub fn with_capacity(capacity: usize) -> Result<Self, LedgerError> {
        if capacity == 0 {
            return Err(LedgerError::InvalidSetting {
                setting: "capacity",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        Ok(Self::unchecked(capacity))
    }

    /// An empty ring of `capacity > 0` slots.
    fn unchecked(capacity: usize) -> Self {
        DynamicRingCollector {
            state: Mutex::new(RingState {
                slots: Vec::with_capacity(capacity),
                capacity,
                next: 0,
                held: 0,
                recorded: 0,
            }),
        }
    }

    /// Builds every slot now as a copy of `template` (see [`RingCollector::with_template`]).
    pub fn fill_with(&self, template: &DecisionTrace<P>) {
        // A panic cannot leave the slots torn; `into_inner` on the poison error is correct.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let capacity = state.capacity;
        state.slots.resize_with(capacity, || template.clone());
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .capacity
    }

    /// See [`RingCollector::for_each_recent`].
    pub fn for_each_recent(
        &self,
        n: usize,
        mut visit: impl FnMut(&DecisionTrace<P>),
    ) -> Result<usize, LedgerError> {
        let state = self.lock()?;
        let count = n.min(state.held);
        let (older, newer) = state.recent(count);
        older.iter().chain(newer).for_each(&mut visit);
        Ok(count)
    }

    /// See [`RingCollector::recent`].
    pub fn recent(&self, n: usize) -> Result<Vec<DecisionTrace<P>>, LedgerError> {
        let mut out = Vec::with_capacity(n.min(self.capacity()));
        self.for_each_recent(n, |trace| out.push(trace.clone()))?;
        Ok(out)
    }

    /// See [`RingCollector::clear`].
    pub fn clear(&self) -> Result<(), LedgerError> {
        let mut state = self.lock()?;
        state.next = 0;
        state.held = 0;
        Ok(())
    }

    fn lock(&self) -> Result<MutexGuard<'_, RingState<P>>, LedgerError> {
        self.state
            .lock()
            .map_err(|_| LedgerError::Poisoned { collector: "ring" })
    }

    /// The counters, readable even from a poisoned lock (a panic cannot leave them torn).
    fn counters(&self) -> (u64, u64) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.recorded, state.held as u64)
    }
}

impl<P: RingSlot, const N: usize> Default for RingCollector<P, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, const N: usize> std::fmt::Debug for RingCollector<P, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.ring.fmt(f)
    }
}

impl<P> std::fmt::Debug for DynamicRingCollector<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("RingCollector")
            .field("capacity", &state.capacity)
            .field("len", &state.held)
            .field("recorded", &state.recorded)
            .finish_non_exhaustive()
    }
}

/// Copies `source` into `slot`, reusing the slot's heap capacity.
fn clone_trace_into<P: RingSlot>(source: &DecisionTrace<P>, slot: &mut DecisionTrace<P>) {
    slot.timestamp_ns = source.timestamp_ns;
    slot.sequence = source.sequence;
    slot.input_hash = source.input_hash;
    slot.output = source.output;
    slot.latency_ns = source.latency_ns;
    source.path.clone_into_slot(&mut slot.path);
}

impl<P: RingSlot, const N: usize> TraceCollector<P> for RingCollector<P, N> {
    /// Copies the trace into the next slot, overwriting the oldest when the ring is full.
    /// Always [`RecordOutcome::Stored`]; fails only on a poisoned lock.
    #[inline]
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        self.ring.record(trace)
    }

    /// The owner's path: `&mut self` proves no other thread holds the ring, so the mutex is
    /// bypassed ([`Mutex::get_mut`]) and a record costs the copy alone.
    #[inline]
    fn record_exclusive(
        &mut self,
        trace: &DecisionTrace<P>,
    ) -> whyline_core::Result<RecordOutcome> {
        self.ring.record_exclusive(trace)
    }

    /// Nothing to write: a ring stores each trace in memory before `record` returns. Fails
    /// only on a poisoned lock.
    fn flush(&self) -> whyline_core::Result<()> {
        TraceCollector::<P>::flush(&self.ring)
    }

    /// Traces held now: `min(recorded, N)` (less after [`clear`](RingCollector::clear)).
    fn len(&self) -> u64 {
        TraceCollector::<P>::len(&self.ring)
    }

    /// `recorded` counts every trace recorded; a ring never drops or diverts.
    fn stats(&self) -> CollectorStats {
        TraceCollector::<P>::stats(&self.ring)
    }
}

impl<P: RingSlot> TraceCollector<P> for DynamicRingCollector<P> {
    /// See [`RingCollector`]'s `record`.
    #[inline]
    fn record(&self, trace: &DecisionTrace<P>) -> whyline_core::Result<RecordOutcome> {
        self.lock()
            .map_err(|e| e.in_collector("ring", Some(trace.sequence)))?
            .store(trace);
        Ok(RecordOutcome::Stored)
    }

    /// See [`RingCollector`]'s `record_exclusive`.
    #[inline]
    fn record_exclusive(
        &mut self,
        trace: &DecisionTrace<P>,
    ) -> whyline_core::Result<RecordOutcome> {
        self.state
            .get_mut()
            .map_err(|_| {
                LedgerError::Poisoned { collector: "ring" }
                    .in_collector("ring", Some(trace.sequence))
            })?
            .store(trace);
        Ok(RecordOutcome::Stored)
    }

    /// Nothing to write; fails only on a poisoned lock.
    fn flush(&self) -> whyline_core::Result<()> {
        drop(self.lock().map_err(|e| e.in_collector("ring", None))?);
        Ok(())
    }

    /// Traces held now: `min(recorded, capacity)` (less after a clear).
    fn len(&self) -> u64 {
        self.counters().1
    }

    /// `recorded` counts every trace recorded; a ring never drops or diverts.
    fn stats(&self) -> CollectorStats {
        CollectorStats {
            recorded: self.counters().0,
            dropped: 0,
            fallback: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whyline_core::LinearPath;

    fn trace(sequence: u64, features: usize) -> DecisionTrace<LinearPath> {
        DecisionTrace {
            timestamp_ns: sequence * 10,
            sequence,
            input_hash: sequence ^ 0xabcd,
            output: sequence as f32,
            latency_ns: 1_500,
            path: LinearPath {
                contributions: vec![sequence as f32; features],
                intercept: 0.5,
                logit: 1.0,
                prediction: 1.0,
                probability: Some(0.75),
            },
        }
    }

    fn held(ring: &RingCollector<LinearPath, 3>) -> Vec<u64> {
        let mut seen = Vec::new();
        ring.for_each_recent(usize::MAX, |t| seen.push(t.sequence))
            .unwrap();
        seen
    }

    #[test]
    fn overwrites_the_oldest_once_full() {
        let ring = RingCollector::<LinearPath, 3>::new();
        for sequence in 0..5 {
            assert_eq!(
                ring.record(&trace(sequence, 2)).unwrap(),
                RecordOutcome::Stored
            );
        }
        assert_eq!(held(&ring), [2, 3, 4]);
        assert_eq!(ring.len(), 3);
        assert_eq!(ring.stats().recorded, 5);
    }

    #[test]
    fn slots_hold_exact_copies_after_reuse_with_other_sizes() {
        let ring = RingCollector::<LinearPath, 3>::new();
        for sequence in 0..3 {
            ring.record(&trace(sequence, 8)).unwrap();
        }
        // Reused slots shrink and grow to the new traces' sizes.
        ring.record(&trace(3, 2)).unwrap();
        ring.record(&trace(4, 12)).unwrap();
        let recent = ring.recent(3).unwrap();
        assert_eq!(recent, [trace(2, 8), trace(3, 2), trace(4, 12)]);
    }

    #[test]
    fn for_each_recent_visits_the_last_n_oldest_first() {
        let ring = RingCollector::<LinearPath, 3>::new();
        assert_eq!(ring.for_each_recent(2, |_| {}).unwrap(), 0);
        for sequence in 0..7 {
            ring.record(&trace(sequence, 1)).unwrap();
        }
        let mut seen = Vec::new();
        assert_eq!(
            ring.for_each_recent(2, |t| seen.push(t.sequence)).unwrap(),
            2
        );
        assert_eq!(seen, [5, 6]);
    }

    #[test]
    fn clear_empties_but_keeps_the_count_and_the_warm_slots() {
        let ring = RingCollector::<LinearPath, 3>::new();
        for sequence in 0..4 {
            ring.record(&trace(sequence, 1)).unwrap();
        }
        ring.clear().unwrap();
        assert_eq!(ring.len(), 0);
        assert_eq!(ring.stats().recorded, 4);
        ring.record(&trace(9, 1)).unwrap();
        assert_eq!(held(&ring), [9]);
    }

    #[test]
    fn with_template_starts_empty() {
        let ring = RingCollector::<LinearPath, 3>::with_template(&trace(0, 8));
        assert!(ring.is_empty());
        ring.record(&trace(1, 8)).unwrap();
        assert_eq!(held(&ring), [1]);
    }

    #[test]
    fn a_panicking_visitor_poisons_the_ring_into_errors_not_panics() {
        let ring = RingCollector::<LinearPath, 3>::new();
        ring.record(&trace(0, 1)).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = ring.for_each_recent(1, |_| panic!("visitor fails"));
        }));
        assert!(caught.is_err());
        assert!(TraceCollector::flush(&ring).is_err(), "flush says so too");
        let error = ring.record(&trace(1, 1)).unwrap_err();
        assert!(
            matches!(&error, whyline_core::CoreError::Collector { collector: "ring", sequence: Some(1), source }
                if matches!(source.downcast_ref::<LedgerError>(), Some(LedgerError::Poisoned { .. }))),
            "got {error:?}"
        );
        assert_eq!(ring.stats().recorded, 1, "counters stay readable");
    }

    #[test]
    fn a_dynamic_ring_poisoned_by_a_visitor_fails_its_calls_and_keeps_its_counts() {
        let ring = DynamicRingCollector::<LinearPath>::with_capacity(3).unwrap();
        assert_eq!(ring.capacity(), 3);
        ring.record(&trace(0, 1)).unwrap();
        TraceCollector::flush(&ring).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = ring.for_each_recent(1, |_| panic!("visitor fails"));
        }));
        assert!(caught.is_err());
        assert!(TraceCollector::flush(&ring).is_err());
        assert!(ring.record(&trace(1, 1)).is_err());
        assert_eq!((ring.capacity(), ring.stats().recorded), (3, 1));
    }

    #[test]
    fn a_dynamic_ring_filled_after_some_records_holds_exactly_its_capacity() {
        let ring = DynamicRingCollector::<LinearPath>::with_capacity(5).unwrap();
        for sequence in 0..2 {
            ring.record(&trace(sequence, 2)).unwrap();
        }
        ring.fill_with(&trace(99, 8));
        assert_eq!(ring.capacity(), 5);
        assert_eq!(TraceCollector::len(&ring), 2, "the template is no trace");
        for sequence in 2..12 {
            ring.record(&trace(sequence, 2)).unwrap();
        }
        let recent = ring.recent(10).unwrap();
        let sequences: Vec<u64> = recent.iter().map(|t| t.sequence).collect();
        assert_eq!(sequences, [7, 8, 9, 10, 11]);
    }
}
