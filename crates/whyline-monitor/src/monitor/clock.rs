//! The monitor's clock: raw monotonic ticks (the TSC where the CPU has a stable one, through
//! `quanta`, ~10 ns to read instead of 25–90 ns for `Instant::now` on virtual machines),
//! converted to nanoseconds for latencies and anchored to the system (wall) clock for
//! timestamps.
//!
//! It re-anchors to the wall clock every second, following NTP's slews. A wall clock that
//! *steps* (set by hand, an NTP step, a VM resumed from a snapshot) is followed too, with
//! two guarantees for the log:
//!
//! - timestamps never go backwards: after a step back, decisions keep the last timestamp
//!   given until the wall clock passes it (the log's time order, which the time index and
//!   incident windows rely on, holds);
//! - the step is reported: a re-anchor that moves the wall clock more than [`STEP_NS`] away
//!   from where the ticks put it leaves a [`ClockStep`] for the monitor, which raises it as
//!   an Andon alert with the next recorded decision (so the log says when and by how much).

use whyline_core::now_ns;

/// Re-anchor to the wall clock after this long.
const REANCHOR_AFTER_NS: u64 = 1_000_000_000;

/// A re-anchor that moves the wall clock more than this from the ticks' extrapolation is a
/// step, not a slew: NTP slews at most 500 ppm, 0.5 ms in the second between re-anchors.
pub(crate) const STEP_NS: u64 = 100_000_000;

/// A step of the wall clock, found at a re-anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClockStep {
    /// The wall clock minus where the ticks put it, nanoseconds: negative for a step back.
    pub(crate) step_ns: i64,
    /// The wall clock after the step, Unix nanoseconds.
    pub(crate) wall_ns: u64,
    /// The last timestamp given before the step (timestamps hold there after a step back
    /// until the wall clock passes it).
    pub(crate) last_ns: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct WallClock {
    clock: quanta::Clock,
    anchor_raw: u64,
    anchor_ns: u64,
    last_ns: u64,
    /// A simulation's clock: never re-anchored to the system clock.
    simulated: bool,
    /// Where wall time is read (the system clock; a scripted one in tests).
    wall: fn() -> u64,
    /// A step found and not yet taken by the monitor.
    step: Option<ClockStep>,
}

impl WallClock {
    /// The machine's clocks.
    pub(crate) fn new() -> Self {
        Self::with_wall(quanta::Clock::new(), now_ns)
    }

    /// Ticks from `clock`, wall time from `wall`.
    pub(crate) fn with_wall(clock: quanta::Clock, wall: fn() -> u64) -> Self {
        let anchor_raw = clock.raw();
        Self {
            clock,
            anchor_raw,
            anchor_ns: wall(),
            last_ns: 0,
            simulated: false,
            wall,
            step: None,
        }
    }

    /// A simulation's clock: `clock`'s present is `start_ns`, and only `clock` moves it.
    pub(crate) fn simulated(clock: quanta::Clock, start_ns: u64) -> Self {
        let anchor_raw = clock.raw();
        Self {
            clock,
            anchor_raw,
            anchor_ns: start_ns,
            last_ns: 0,
            simulated: true,
            wall: now_ns,
            step: None,
        }
    }

    /// Raw ticks now.
    #[inline]
    pub(crate) fn ticks(&self) -> u64 {
        self.clock.raw()
    }

    /// Nanoseconds from `start` ticks to now.
    #[inline]
    pub(crate) fn elapsed_ns(&self, start: u64) -> u64 {
        self.clock.delta_as_nanos(start, self.clock.raw())
    }

    /// Wall-clock nanoseconds at `raw` ticks, never less than the last returned.
    pub(crate) fn at(&mut self, raw: u64) -> u64 {
        let mut since = self.clock.delta_as_nanos(self.anchor_raw, raw);
        if since > REANCHOR_AFTER_NS && !self.simulated {
            self.reanchor();
            since = self.clock.delta_as_nanos(self.anchor_raw, raw);
        }
        let ns = self.anchor_ns.saturating_add(since).max(self.last_ns);
        self.last_ns = ns;
        ns
    }

    /// Anchors to the wall clock now, noting a step.
    fn reanchor(&mut self) {
        let raw = self.clock.raw();
        let expected = self
            .anchor_ns
            .saturating_add(self.clock.delta_as_nanos(self.anchor_raw, raw));
        let wall = (self.wall)();
        let step = i128::from(wall) - i128::from(expected);
        if step.unsigned_abs() > u128::from(STEP_NS) {
            self.step = Some(ClockStep {
                step_ns: i64::try_from(step).unwrap_or(if step < 0 { i64::MIN } else { i64::MAX }),
                wall_ns: wall,
                last_ns: self.last_ns,
            });
        }
        self.anchor_raw = raw;
        self.anchor_ns = wall;
    }

    /// The step found since the last call, if any.
    pub(crate) fn take_step(&mut self) -> Option<ClockStep> {
        self.step.take()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    const START: u64 = 1_780_000_000_000_000_000;
    const SECOND: u64 = 1_000_000_000;

    static WALL: AtomicU64 = AtomicU64::new(START);

    fn wall() -> u64 {
        WALL.load(Ordering::SeqCst)
    }

    /// A clock whose ticks and wall time the test moves: ticks by `mock`, wall by `WALL`.
    fn scripted() -> (WallClock, std::sync::Arc<quanta::Mock>) {
        WALL.store(START, Ordering::SeqCst);
        let (clock, mock) = quanta::Clock::mock();
        (WallClock::with_wall(clock, wall), mock)
    }

    /// Moves both clocks forward by `ns` (the wall clock as a slewing NTP would keep it).
    fn advance(mock: &quanta::Mock, ns: u64) {
        mock.increment(ns);
        WALL.fetch_add(ns, Ordering::SeqCst);
    }

    // One test for both directions: `WALL` is shared, so they must not run in parallel.
    #[test]
    fn a_wall_clock_step_is_followed_never_backwards_and_reported_once() {
        let (mut clock, mock) = scripted();
        let mut last = clock.at(clock.ticks());
        assert_eq!(last, START);
        // Seconds of ordinary time: re-anchors, no step.
        for _ in 0..5 {
            advance(&mock, 700_000_000);
            let now = clock.at(clock.ticks());
            assert!(now > last);
            last = now;
        }
        assert_eq!(clock.take_step(), None);

        // The wall clock steps back an hour: found at the next re-anchor.
        WALL.fetch_sub(3600 * SECOND, Ordering::SeqCst);
        advance(&mock, 1_100_000_000);
        let held = clock.at(clock.ticks());
        assert_eq!(
            held, last,
            "after a step back the timestamp holds, it never goes back"
        );
        let step = clock.take_step().expect("the step back is reported");
        assert!(
            (step.step_ns + 3600 * SECOND as i64).abs() < STEP_NS as i64,
            "{step:?}"
        );
        assert_eq!(step.last_ns, last);
        assert_eq!(clock.take_step(), None, "reported once");
        // Decisions go on at the held time while the wall clock is behind it...
        for _ in 0..3 {
            advance(&mock, 1_100_000_000);
            assert_eq!(clock.at(clock.ticks()), last);
        }
        assert_eq!(clock.take_step(), None, "no new step while catching up");

        // ...and follow it again once it passes: the wall clock jumps forward two hours.
        WALL.fetch_add(7200 * SECOND, Ordering::SeqCst);
        advance(&mock, 1_100_000_000);
        let after = clock.at(clock.ticks());
        assert_eq!(
            after,
            wall(),
            "after a step forward, timestamps follow the wall clock"
        );
        let step = clock.take_step().expect("the step forward is reported");
        assert!(
            (step.step_ns - 7200 * SECOND as i64).abs() < STEP_NS as i64,
            "{step:?}"
        );
        assert_eq!(clock.take_step(), None);

        // The bound itself: a move of exactly `STEP_NS` is a slew, one nanosecond more a
        // step, in either direction (the ticks are the mock's, so the move is exact).
        for (moved, reported) in [
            (STEP_NS as i64, false),
            (STEP_NS as i64 + 1, true),
            (-(STEP_NS as i64), false),
            (-(STEP_NS as i64) - 1, true),
        ] {
            if moved >= 0 {
                WALL.fetch_add(moved.unsigned_abs(), Ordering::SeqCst);
            } else {
                WALL.fetch_sub(moved.unsigned_abs(), Ordering::SeqCst);
            }
            advance(&mock, 1_100_000_000);
            clock.at(clock.ticks());
            assert_eq!(
                clock.take_step().map(|step| step.step_ns),
                reported.then_some(moved),
                "a move of {moved} ns"
            );
        }

        // The wall clock is read again once more than `REANCHOR_AFTER_NS` have passed since
        // the last anchor, not at exactly that: a step made in between is found one
        // nanosecond later.
        WALL.fetch_add(2 * STEP_NS, Ordering::SeqCst);
        advance(&mock, REANCHOR_AFTER_NS);
        clock.at(clock.ticks());
        assert_eq!(clock.take_step(), None, "re-anchored at exactly the period");
        advance(&mock, 1);
        clock.at(clock.ticks());
        assert_eq!(
            clock.take_step().map(|step| step.step_ns),
            Some(2 * STEP_NS as i64)
        );

        // A step beyond what an `i64` of nanoseconds holds (292 years) is reported as the
        // largest one of its sign: forward to the end of `u64` time, then back.
        WALL.store(u64::MAX - 10 * SECOND, Ordering::SeqCst);
        advance(&mock, 1_100_000_000);
        clock.at(clock.ticks());
        assert_eq!(clock.take_step().map(|step| step.step_ns), Some(i64::MAX));
        WALL.store(START, Ordering::SeqCst);
        advance(&mock, 1_100_000_000);
        clock.at(clock.ticks());
        assert_eq!(clock.take_step().map(|step| step.step_ns), Some(i64::MIN));
    }
}
