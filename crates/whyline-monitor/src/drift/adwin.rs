//! ADWIN, adaptive windowing (Bifet & Gavaldà, 2007), in its bucket-compressed form ADWIN2.
//!
//! ADWIN keeps a window of the most recent values and drops its oldest part whenever some split
//! of the window into an older part `W0` and a newer part `W1` shows means that differ by more
//! than a bound `ε_cut` derived from `delta` (a Bernstein-style bound using the window's
//! variance). A drift is reported when the window shrank.
//!
//! # Buckets
//!
//! The window is not stored item by item. It is an exponential histogram: level `i` holds up to
//! `max_buckets` buckets, each summarising `2^i` consecutive items by their sum and their
//! variance (sum of squared deviations). A new item enters level 0 as a bucket of one; when a
//! level holds `max_buckets + 1` buckets its two oldest merge into one bucket of the next level
//! (variances combine as in Babcock et al. 2003). Candidate split points are the bucket
//! boundaries, oldest first; the newest bucket is never a split point.
//!
//! # Matching river
//!
//! Written from the paper and from reading river 0.26.1's ADWIN (`river.drift.ADWIN`, whose core
//! is Rust), and matching it on purpose: the defaults (`delta` 0.002, `clock` 32, `max_buckets`
//! 5, `min_window_length` 5, `grace_period` 10); a check only every `clock` updates and only
//! once the window is longer than `grace_period`; the split test
//!
//! ```text
//! δ' = ln(2 ln(|W|) / δ)
//! m  = 1 / (n0 - min_window_length + 1) + 1 / (n1 - min_window_length + 1)
//! ε  = sqrt(2 m σ²_W δ') + (2/3) δ' m          split when |μ0 - μ1| > ε, n0, n1 >= min_window_length
//! ```
//!
//! where `σ²_W` is the window's sum of squared deviations divided by its length; dropping one
//! oldest bucket per found split and scanning again until no split is found; the same order of
//! floating-point operations in the variance updates, the merges and the test; and, from river's
//! Python wrapper, a full reset of the window on the update after a drift.
//!
//! Three shortcuts change no answer: `δ'` and `σ²_W` are computed once per scan instead of once
//! per split point (the same inputs, so the same bits); a bucket sum is multiplied by
//! `2^-level` instead of divided by `2^level` (both round the same real number); and a split
//! point is first put to a division-free, root-free pre-test with a 10^-9 relative margin
//! (`SplitTest::certainly_not`) that can only say "certainly no split", leaving every split
//! near the threshold to river's own arithmetic. The pre-test runs on eight split points at a
//! time, branch-free, so that the compiler vectorises it; the points it leaves open go to the
//! exact test one by one, oldest first, so the first split found is river's. A unit test checks
//! on windows of every scale that neither changes a decision of river's point-by-point scan,
//! and the river fixtures check the indices.
//!
//! # Memory
//!
//! Level `i` exists only once a bucket of `2^i` items does, so a window of `w` items uses at
//! most `⌊log2 w⌋ + 1 <= 64` levels, each a ring of `max_buckets + 1` buckets of 16 bytes plus
//! 16 bytes of ring state: `(⌊log2 w⌋ + 1) × ((max_buckets + 1) × 16 + 16)` bytes, 3.4 KB for a
//! window of a billion items with the defaults. Room for 24 levels (windows of tens of millions
//! of items) is reserved at construction; an update allocates only when the window first grows
//! past that, and `reset` keeps the reserved memory.

use serde::{Deserialize, Serialize};

use crate::error::MonitorError;

use super::{DriftDetector, DriftStatus, check_finite, invalid_parameter};

mod split_test;

use split_test::{SplitPoints, SplitTest};

const NAME: &str = "ADWIN";

/// Largest accepted `max_buckets` (a level is `(max_buckets + 1) × 16` bytes).
pub const ADWIN_MAX_BUCKETS_LIMIT: u32 = 1024;

/// Levels reserved at construction.
const RESERVED_LEVELS: usize = 24;

/// Parameters of [`Adwin`]; `Default` is river's.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdwinConfig {
    /// Confidence of the split test, `0 < delta < 1` (river: 0.002). Smaller is stricter.
    pub delta: f64,
    /// Check for a change every `clock` updates (river: 32; 1 checks on every update).
    pub clock: u64,
    /// Buckets per level before the two oldest merge (river: 5), at most
    /// [`ADWIN_MAX_BUCKETS_LIMIT`]. river 0.26.1 panics inside its bucket compression with
    /// `max_buckets = 1` when the window shrinks, so that value has no oracle; whyline runs it.
    pub max_buckets: u32,
    /// Smallest length of either side of a split (river: 5), at least 1.
    pub min_window_length: u64,
    /// No check until the window holds more than this many items (river: 10).
    pub grace_period: u64,
}

impl Default for AdwinConfig {
    fn default() -> Self {
        Self {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10,
        }
    }
}

impl AdwinConfig {
    fn validate(&self) -> Result<(), MonitorError> {
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(invalid_parameter(
                NAME,
                "delta",
                self.delta,
                "0 < delta < 1",
            ));
        }
        if self.clock == 0 {
            return Err(invalid_parameter(NAME, "clock", self.clock, "clock >= 1"));
        }
        if !(1..=ADWIN_MAX_BUCKETS_LIMIT).contains(&self.max_buckets) {
            return Err(invalid_parameter(
                NAME,
                "max_buckets",
                f64::from(self.max_buckets),
                "1 <= max_buckets <= 1024",
            ));
        }
        if self.min_window_length == 0 {
            return Err(invalid_parameter(
                NAME,
                "min_window_length",
                self.min_window_length,
                "min_window_length >= 1",
            ));
        }
        Ok(())
    }
}

/// A bucket: `2^level` consecutive items summarised by their sum and sum of squared deviations.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    total: f64,
    variance: f64,
}

/// The ADWIN change detector over real values (errors, losses, confidences, ...).
///
/// ```
/// use whyline_monitor::drift::{Adwin, AdwinConfig, DriftDetector};
///
/// let mut adwin = Adwin::new(AdwinConfig { clock: 1, ..AdwinConfig::default() })?;
/// for _ in 0..500 {
///     adwin.update(0.2)?;
/// }
/// assert_eq!(adwin.width(), 500.0);
/// assert!((adwin.estimation() - 0.2).abs() < 1e-12);
/// # Ok::<(), whyline_monitor::MonitorError>(())
/// ```
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Adwin {
    config: AdwinConfig,
    // The configuration in the form the hot path uses.
    delta: f64,
    clock: u64,
    max_buckets: usize,
    stride: usize,
    min_window_length: f64,
    grace_period: f64,
    /// `levels.len() * stride` buckets: level `i` is a ring of `stride` slots at `i * stride`.
    buckets: Vec<Bucket>,
    /// Ring state per level; level 0 (newest, single items) first. Never empty.
    levels: Vec<Ring>,
    /// Items per bucket of the highest level: `2^(levels.len() - 1)`.
    top_size: f64,
    /// Window length and sum (f64, as river keeps them).
    width: f64,
    total: f64,
    /// Updates left until the next check: river checks when its update counter is a multiple
    /// of `clock`; counting down gives the same updates without an integer division.
    until_check: u64,
    /// The window's sum of squared deviations. Kept apart from `total` (`repr(C)` keeps the
    /// order): stored side by side, the compiler updated both with one vector add, so the next
    /// update's `total` waited for this one's two divisions.
    variance: f64,
    drift: bool,
}

/// Where a level's buckets sit in its ring: the oldest at `head`, `count` of them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Ring {
    head: usize,
    count: usize,
}

impl Default for Adwin {
    fn default() -> Self {
        Self::from_valid(AdwinConfig::default())
    }
}

impl Adwin {
    /// Builds a detector from a validated configuration.
    ///
    /// # Errors
    ///
    /// [`MonitorError::InvalidSetting`] unless `0 < delta < 1`, `clock >= 1`,
    /// `1 <= max_buckets <= 1024` and `min_window_length >= 1`.
    pub fn new(config: AdwinConfig) -> Result<Self, MonitorError> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    #[allow(clippy::cast_precision_loss)] // integers compared as f64, as river does
    fn from_valid(config: AdwinConfig) -> Self {
        // `max_buckets` <= 1024 after validation, and u32 fits usize on every target we build.
        let max_buckets = usize::try_from(config.max_buckets).unwrap_or(usize::MAX >> 1);
        let stride = max_buckets + 1;
        let clock = config.clock;
        let mut buckets = Vec::with_capacity(stride * RESERVED_LEVELS);
        buckets.resize(stride, Bucket::default());
        let mut levels = Vec::with_capacity(RESERVED_LEVELS);
        levels.push(Ring::default());
        Self {
            delta: config.delta,
            clock,
            max_buckets,
            stride,
            min_window_length: config.min_window_length as f64,
            grace_period: config.grace_period as f64,
            config,
            buckets,
            levels,
            top_size: 1.0,
            width: 0.0,
            total: 0.0,
            variance: 0.0,
            until_check: clock,
            drift: false,
        }
    }

    /// The configuration this detector runs with.
    pub fn config(&self) -> &AdwinConfig {
        &self.config
    }

    /// Items in the current window.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Sum of the items in the current window.
    pub fn total(&self) -> f64 {
        self.total
    }

    /// Sum of the squared deviations of the window's items from its mean (river's
    /// `variance`; divide by [`width`](Self::width) for the population variance).
    pub fn variance(&self) -> f64 {
        self.variance
    }

    /// Mean of the current window (0 when it is empty).
    pub fn estimation(&self) -> f64 {
        if self.width == 0.0 {
            0.0
        } else {
            self.total / self.width
        }
    }

    /// Levels of buckets in use (the memory bound is `levels × (max_buckets + 1) × 16` bytes).
    pub fn levels(&self) -> usize {
        self.levels.len()
    }

    #[inline]
    fn observe(&mut self, x: f64) -> DriftStatus {
        if self.drift {
            self.reset();
        }
        self.insert(x);
        self.drift = self.detect_change();
        self.status()
    }

    /// Adds one item as a level-0 bucket and updates the window statistics.
    #[inline]
    fn insert(&mut self, value: f64) {
        self.push_bucket(
            0,
            Bucket {
                total: value,
                variance: 0.0,
            },
        );
        self.width += 1.0;
        let mut increment = 0.0;
        if self.width > 1.0 {
            let deviation = value - self.total / (self.width - 1.0);
            increment = (self.width - 1.0) * deviation * deviation / self.width;
        }
        self.variance += increment;
        self.total += value;
        self.compress();
    }

    /// Index in `buckets` of the `k`-th oldest bucket of a level (`k < stride`).
    #[inline]
    fn slot(&self, level: usize, ring: Ring, k: usize) -> usize {
        let mut i = ring.head + k;
        if i >= self.stride {
            i -= self.stride;
        }
        level * self.stride + i
    }

    /// Appends a bucket to a level that has room (callers guarantee both).
    #[inline]
    fn push_bucket(&mut self, level: usize, bucket: Bucket) {
        let Some(&ring) = self.levels.get(level) else {
            return;
        };
        let slot = self.slot(level, ring, ring.count);
        if let Some(target) = self.buckets.get_mut(slot)
            && let Some(ring) = self.levels.get_mut(level)
        {
            *target = bucket;
            ring.count += 1;
        }
    }

    /// Drops the `n <= count` oldest buckets of a level.
    #[inline]
    fn drop_oldest(&mut self, level: usize, n: usize) {
        let stride = self.stride;
        if let Some(ring) = self.levels.get_mut(level) {
            ring.head += n;
            if ring.head >= stride {
                ring.head -= stride;
            }
            ring.count = ring.count.saturating_sub(n);
        }
    }

    /// Merges the two oldest buckets of every full level into the next level.
    ///
    /// river divides bucket sums by the bucket size `2^level`; multiplying by `2^-level` gives
    /// the same bits (both are the correctly rounded `total × 2^-level`) without a division.
    #[inline]
    fn compress(&mut self) {
        let mut level = 0;
        let mut size = 1.0;
        let mut inverse_size = 1.0;
        loop {
            let Some(&ring) = self.levels.get(level) else {
                return;
            };
            if ring.count != self.stride {
                return;
            }
            let (Some(&b0), Some(&b1)) = (
                self.buckets.get(self.slot(level, ring, 0)),
                self.buckets.get(self.slot(level, ring, 1)),
            ) else {
                return;
            };
            let mu0 = b0.total * inverse_size;
            let mu1 = b1.total * inverse_size;
            let merged = Bucket {
                total: b0.total + b1.total,
                variance: b0.variance + b1.variance + size * 0.5 * (mu0 - mu1) * (mu0 - mu1),
            };
            if level + 1 == self.levels.len() {
                self.add_level();
            }
            self.push_bucket(level + 1, merged);
            self.drop_oldest(level, 2);
            if self
                .levels
                .get(level + 1)
                .is_none_or(|ring| ring.count <= self.max_buckets)
            {
                return;
            }
            level += 1;
            size *= 2.0;
            inverse_size *= 0.5;
        }
    }

    /// Opens a new highest level (allocates only past the reserved levels).
    fn add_level(&mut self) {
        self.levels.push(Ring::default());
        self.buckets
            .resize(self.levels.len() * self.stride, Bucket::default());
        self.top_size *= 2.0;
    }

    /// Runs the split test on every `clock`-th update; drops the oldest bucket per split found.
    #[inline]
    fn detect_change(&mut self) -> bool {
        self.until_check = self.until_check.saturating_sub(1);
        if self.until_check > 0 {
            return false;
        }
        self.until_check = self.clock;
        if self.width <= self.grace_period {
            return false;
        }
        let mut detected = false;
        while self.width > 0.0 && self.find_split() {
            detected = true;
            self.delete_oldest_bucket();
        }
        detected
    }

    /// Whether some split of the window, oldest bucket boundary first, passes the test.
    #[inline]
    fn find_split(&self) -> bool {
        self.find_split_with(true)
    }

    /// [`find_split`](Self::find_split), with or without [`SplitTest::certainly_not`] (the
    /// tests check that it changes no answer).
    ///
    /// The split points are gathered [`LANES`](split_test::LANES) at a time, oldest first,
    /// and the pre-test runs on a whole group in one straight loop the compiler vectorises;
    /// the points it leaves open then go to the exact test one by one, in the same order as
    /// before, so the first split found is the same.
    #[inline]
    fn find_split_with(&self, pretest: bool) -> bool {
        let test = SplitTest::new(self);
        let stride = self.stride;
        let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
        let mut points = SplitPoints::new();
        let mut size = self.top_size;
        let levels = self
            .buckets
            .chunks_exact(stride)
            .zip(&self.levels)
            .enumerate()
            .rev();
        for (level, (ring_buckets, ring)) in levels {
            // The newest bucket of the window (the last of level 0) is never a split point.
            let candidates = if level == 0 {
                ring.count.saturating_sub(1)
            } else {
                ring.count
            };
            let mut slot = ring.head;
            for _ in 0..candidates {
                let total = ring_buckets.get(slot).map_or(0.0, |bucket| bucket.total);
                slot += 1;
                if slot == stride {
                    slot = 0;
                }
                n0 += size;
                n1 -= size;
                u0 += total;
                u1 -= total;
                if points.push(n0, n1, u0, u1) && test.any_split(&points, pretest) {
                    return true;
                }
            }
            size *= 0.5;
        }
        !points.group_tested() && test.any_split(&points, pretest)
    }

    /// The scan as river runs it, point by point with the exact test alone: what
    /// [`find_split_with`](Self::find_split_with) must answer (tests only).
    #[cfg(test)]
    fn find_split_point_by_point(&self) -> bool {
        let test = SplitTest::new(self);
        let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
        let mut size = self.top_size;
        for level in (0..self.levels.len()).rev() {
            let ring = self.levels[level];
            let candidates = if level == 0 {
                ring.count.saturating_sub(1)
            } else {
                ring.count
            };
            for k in 0..candidates {
                let total = self.buckets[self.slot(level, ring, k)].total;
                n0 += size;
                n1 -= size;
                u0 += total;
                u1 -= total;
                if n1 >= test.min_length && n0 >= test.min_length && test.exact(n0, n1, u0, u1) {
                    return true;
                }
            }
            size *= 0.5;
        }
        false
    }

    /// Removes the oldest bucket of the window and its items from the statistics.
    fn delete_oldest_bucket(&mut self) {
        let last = self.levels.len() - 1;
        let Some(&ring) = self.levels.get(last) else {
            return;
        };
        let Some(&oldest) = self.buckets.get(self.slot(last, ring, 0)) else {
            return;
        };
        let n = self.top_size;
        let mu = oldest.total / n;
        self.width -= n;
        self.total -= oldest.total;
        let mu_window = self.total / self.width;
        let decrement = oldest.variance
            + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        self.variance -= decrement;
        self.drop_oldest(last, 1);
        // Trailing empty levels go (river drops the one emptied level; only max_buckets = 1 can
        // leave a second empty level behind it).
        while self.levels.len() > 1 && self.levels.last().is_some_and(|ring| ring.count == 0) {
            self.levels.pop();
            self.buckets.truncate(self.levels.len() * self.stride);
            self.top_size *= 0.5;
        }
    }
}

impl DriftDetector for Adwin {
    #[inline]
    fn update(&mut self, x: f64) -> Result<DriftStatus, MonitorError> {
        check_finite(NAME, x)?;
        Ok(self.observe(x))
    }

    fn status(&self) -> DriftStatus {
        if self.drift {
            DriftStatus::Drift
        } else {
            DriftStatus::Stable
        }
    }

    fn reset(&mut self) {
        self.buckets.truncate(self.stride);
        self.levels.truncate(1);
        if let Some(ring) = self.levels.first_mut() {
            *ring = Ring::default();
        }
        self.top_size = 1.0;
        self.width = 0.0;
        self.total = 0.0;
        self.variance = 0.0;
        self.until_check = self.clock;
        self.drift = false;
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_keeps_reserved_memory() -> Result<(), MonitorError> {
        let mut adwin = Adwin::default();
        let before = adwin.buckets.capacity();
        for i in 0..100_000_u32 {
            adwin.update(f64::from(i % 7))?;
        }
        assert!(adwin.levels() > 10, "levels: {}", adwin.levels());
        assert_eq!(adwin.buckets.capacity(), before);
        adwin.reset();
        assert_eq!((adwin.levels(), adwin.width()), (1, 0.0));
        assert_eq!(adwin.buckets.capacity(), before);
        Ok(())
    }

    #[test]
    fn width_counts_items_across_merges() -> Result<(), MonitorError> {
        let mut adwin = Adwin::default();
        for _ in 0..1000 {
            adwin.update(1.0)?;
        }
        let counted: usize = adwin
            .levels
            .iter()
            .enumerate()
            .map(|(level, ring)| ring.count << level)
            .sum();
        assert_eq!(counted, 1000);
        assert_eq!(adwin.width(), 1000.0);
        assert!(
            adwin
                .levels
                .iter()
                .all(|ring| ring.count <= adwin.max_buckets)
        );
        Ok(())
    }

    #[test]
    fn dividing_by_a_power_of_two_equals_multiplying_by_its_inverse() {
        let mut size = 1.0_f64;
        let mut inverse = 1.0_f64;
        for _ in 0..64 {
            for x in [
                1.0,
                3.0,
                0.1,
                -7.3e-300,
                5e-324,
                1.7e308,
                123_456.789,
                -2.5e-310,
            ] {
                assert_eq!(
                    (x / size).to_bits(),
                    (x * inverse).to_bits(),
                    "{x} / {size}"
                );
            }
            size *= 2.0;
            inverse *= 0.5;
        }
    }
}
