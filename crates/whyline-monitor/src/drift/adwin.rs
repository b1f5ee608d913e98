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
//! Python wrapper, a full reset of the window on the update after a drift. `δ'` and `σ²_W` are
//! computed once per scan instead of once per split point (the same values, bit for bit).
//!
//! # Memory
//!
//! Level `i` exists only once a bucket of `2^i` items does, so a window of `w` items uses at
//! most `⌊log2 w⌋ + 1 <= 64` levels of `max_buckets + 1` buckets of 16 bytes:
//! `(⌊log2 w⌋ + 1) × (max_buckets + 1) × 16` bytes, about 2 KB for a window of a billion items
//! with the defaults. Room for 24 levels (windows of tens of millions of items) is reserved at
//! construction; an update allocates only when the window first grows past that, and `reset`
//! keeps the reserved memory.

use serde::Deserialize;

use super::{DriftDetector, DriftError, DriftStatus, check_finite};

const NAME: &str = "ADWIN";

/// Largest accepted `max_buckets` (a level is `(max_buckets + 1) × 16` bytes).
pub const ADWIN_MAX_BUCKETS_LIMIT: u32 = 1024;

/// Levels reserved at construction.
const RESERVED_LEVELS: usize = 24;

/// Parameters of [`Adwin`]; `Default` is river's.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdwinConfig {
    /// Confidence of the split test, `0 < delta < 1` (river: 0.002). Smaller is stricter.
    pub delta: f64,
    /// Check for a change every `clock` updates (river: 32; 1 checks on every update).
    pub clock: u64,
    /// Buckets per level before the two oldest merge (river: 5), at most
    /// [`ADWIN_MAX_BUCKETS_LIMIT`].
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
    #[allow(clippy::cast_precision_loss)] // only to show the value in the error
    fn validate(&self) -> Result<(), DriftError> {
        let invalid = |field, value, expected| DriftError::InvalidParameter {
            detector: NAME,
            field,
            value,
            expected,
        };
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(invalid("delta", self.delta, "0 < delta < 1"));
        }
        if self.clock == 0 {
            return Err(invalid("clock", 0.0, "clock >= 1"));
        }
        if !(1..=ADWIN_MAX_BUCKETS_LIMIT).contains(&self.max_buckets) {
            return Err(invalid(
                "max_buckets",
                f64::from(self.max_buckets),
                "1 <= max_buckets <= 1024",
            ));
        }
        if self.min_window_length == 0 {
            return Err(invalid("min_window_length", 0.0, "min_window_length >= 1"));
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
/// # Ok::<(), whyline_monitor::drift::DriftError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Adwin {
    config: AdwinConfig,
    // The configuration in the form the hot path uses.
    delta: f64,
    clock: u64,
    max_buckets: usize,
    stride: usize,
    min_window_length: f64,
    grace_period: f64,
    /// `counts.len() * stride` buckets, level by level, oldest bucket of a level first.
    buckets: Vec<Bucket>,
    /// Buckets in use per level; level 0 (newest, single items) first. Never empty.
    counts: Vec<usize>,
    /// Items per bucket of the highest level: `2^(counts.len() - 1)`.
    top_size: f64,
    /// Window length, sum and sum of squared deviations (f64, as river keeps them).
    width: f64,
    total: f64,
    variance: f64,
    tick: u64,
    drift: bool,
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
    /// [`DriftError::InvalidParameter`] unless `0 < delta < 1`, `clock >= 1`,
    /// `1 <= max_buckets <= 1024` and `min_window_length >= 1`.
    pub fn new(config: AdwinConfig) -> Result<Self, DriftError> {
        config.validate()?;
        Ok(Self::from_valid(config))
    }

    #[allow(clippy::cast_precision_loss)] // integers compared as f64, as river does
    fn from_valid(config: AdwinConfig) -> Self {
        // `max_buckets` <= 1024 after validation, and u32 fits usize on every target we build.
        let max_buckets = usize::try_from(config.max_buckets).unwrap_or(usize::MAX >> 1);
        let stride = max_buckets + 1;
        let mut buckets = Vec::with_capacity(stride * RESERVED_LEVELS);
        buckets.resize(stride, Bucket::default());
        let mut counts = Vec::with_capacity(RESERVED_LEVELS);
        counts.push(0);
        Self {
            delta: config.delta,
            clock: config.clock,
            max_buckets,
            stride,
            min_window_length: config.min_window_length as f64,
            grace_period: config.grace_period as f64,
            config,
            buckets,
            counts,
            top_size: 1.0,
            width: 0.0,
            total: 0.0,
            variance: 0.0,
            tick: 0,
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
        self.counts.len()
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

    /// Appends a bucket to a level that has room (callers guarantee both).
    #[inline]
    fn push_bucket(&mut self, level: usize, bucket: Bucket) {
        if let Some(count) = self.counts.get_mut(level)
            && let Some(slot) = self.buckets.get_mut(level * self.stride + *count)
        {
            *slot = bucket;
            *count += 1;
        }
    }

    /// Drops the `n` oldest buckets of a level.
    #[inline]
    fn drop_oldest(&mut self, level: usize, n: usize) {
        let start = level * self.stride;
        if let Some(count) = self.counts.get_mut(level)
            && let Some(level_buckets) = self.buckets.get_mut(start..start + self.stride)
        {
            level_buckets.copy_within(n.., 0);
            *count = count.saturating_sub(n);
        }
    }

    /// Merges the two oldest buckets of every full level into the next level.
    #[inline]
    fn compress(&mut self) {
        let mut level = 0;
        let mut size = 1.0;
        while self.counts.get(level) == Some(&self.stride) {
            let start = level * self.stride;
            let (Some(&b0), Some(&b1)) = (self.buckets.get(start), self.buckets.get(start + 1))
            else {
                return;
            };
            let mu0 = b0.total / size;
            let mu1 = b1.total / size;
            let merged = Bucket {
                total: b0.total + b1.total,
                variance: b0.variance + b1.variance + size * 0.5 * (mu0 - mu1) * (mu0 - mu1),
            };
            if level + 1 == self.counts.len() {
                self.add_level();
            }
            self.push_bucket(level + 1, merged);
            self.drop_oldest(level, 2);
            if self
                .counts
                .get(level + 1)
                .is_none_or(|&c| c <= self.max_buckets)
            {
                return;
            }
            level += 1;
            size *= 2.0;
        }
    }

    /// Opens a new highest level (allocates only past the reserved levels).
    fn add_level(&mut self) {
        self.counts.push(0);
        self.buckets
            .resize(self.counts.len() * self.stride, Bucket::default());
        self.top_size *= 2.0;
    }

    /// Runs the split test on every `clock`-th update; drops the oldest bucket per split found.
    #[inline]
    fn detect_change(&mut self) -> bool {
        self.tick += 1;
        if !self.tick.is_multiple_of(self.clock) || self.width <= self.grace_period {
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
    fn find_split(&self) -> bool {
        let width = self.width;
        let delta_prime = (2.0 * width.ln() / self.delta).ln();
        let window_variance = self.variance / width;
        let min_length = self.min_window_length;
        let (mut n0, mut n1, mut u0, mut u1) = (0.0, width, 0.0, self.total);
        let mut size = self.top_size;
        let levels = self
            .buckets
            .chunks_exact(self.stride)
            .zip(&self.counts)
            .enumerate()
            .rev();
        for (level, (level_buckets, &count)) in levels {
            for (k, bucket) in level_buckets.iter().take(count).enumerate() {
                n0 += size;
                n1 -= size;
                u0 += bucket.total;
                u1 -= bucket.total;
                if level == 0 && k + 1 == count {
                    return false;
                }
                if n1 >= min_length && n0 >= min_length {
                    let mean_gap = (u0 / n0) - (u1 / n1);
                    let m_recip = 1.0 / (n0 - min_length + 1.0) + 1.0 / (n1 - min_length + 1.0);
                    let epsilon = (2.0 * m_recip * window_variance * delta_prime).sqrt()
                        + 2.0 / 3.0 * delta_prime * m_recip;
                    if mean_gap.abs() > epsilon {
                        return true;
                    }
                }
            }
            size *= 0.5;
        }
        false
    }

    /// Removes the oldest bucket of the window and its items from the statistics.
    fn delete_oldest_bucket(&mut self) {
        let last = self.counts.len() - 1;
        let Some(&oldest) = self.buckets.get(last * self.stride) else {
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
        while self.counts.len() > 1 && self.counts.last() == Some(&0) {
            self.counts.pop();
            self.buckets.truncate(self.counts.len() * self.stride);
            self.top_size *= 0.5;
        }
    }
}

impl DriftDetector for Adwin {
    #[inline]
    fn update(&mut self, x: f64) -> Result<DriftStatus, DriftError> {
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
        self.counts.truncate(1);
        if let Some(count) = self.counts.first_mut() {
            *count = 0;
        }
        self.top_size = 1.0;
        self.width = 0.0;
        self.total = 0.0;
        self.variance = 0.0;
        self.tick = 0;
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
    fn reset_keeps_reserved_memory() -> Result<(), DriftError> {
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
    fn width_counts_items_across_merges() -> Result<(), DriftError> {
        let mut adwin = Adwin::default();
        for _ in 0..1000 {
            adwin.update(1.0)?;
        }
        let counted: f64 = adwin
            .counts
            .iter()
            .enumerate()
            .map(|(level, &count)| {
                f64::from(u32::try_from(count).unwrap_or(0)) * 2f64.powi(level as i32)
            })
            .sum();
        assert_eq!(counted, adwin.width());
        assert_eq!(adwin.width(), 1000.0);
        Ok(())
    }
}
