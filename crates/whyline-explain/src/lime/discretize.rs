//! [`QuartileDiscretizer`]: lime's quartile bins over a background (training) set, with the
//! per-bin statistics its sampler draws from.
//!
//! As `lime.discretize.QuartileDiscretizer`: the edges of feature `j` are numpy's
//! `percentile(column, [25, 50, 75])` (linear interpolation) with repeated edges removed;
//! the bin of a value is the number of edges strictly below it (`searchsorted`, left), so
//! bin 0 is `x ≤ q₂₅`. Each bin keeps the background's count, mean, standard deviation
//! (population, plus lime's 1e-11) and range (`[min, q₂₅]`, `(q₂₅, q₅₀]`, …, `(q₇₅, max]`).

use crate::background::Background;
use crate::lime::normal::TruncatedNormal;

/// Segments of the tabulated inverse CDF of each bin (a power of two: the segment is the
/// top bits of the random word).
const SEGMENT_BITS: u32 = 6;
const SEGMENTS: usize = 1 << SEGMENT_BITS;
/// Table entries per bin: value and scaled slope at each of the `SEGMENTS + 1` nodes.
const NODES: usize = 2 * (SEGMENTS + 1);
/// Bins per feature at most (three edges).
const MAX_BINS: usize = 4;

/// How values are drawn in one bin.
#[derive(Clone, Debug)]
enum Bin {
    /// A bin of zero width (its one value).
    Point(f64),
    /// lime's truncated normal.
    Normal(TruncatedNormal),
    /// A bin whose truncated normal has no mass in double precision: uniform in
    /// `[low, high]`.
    Uniform(f64, f64),
}

impl Bin {
    /// The value at probability `u` in `[0, 1]`.
    fn inverse(&self, u: f64) -> f64 {
        match self {
            Bin::Normal(t) => t.inverse(u),
            Bin::Point(v) => *v,
            Bin::Uniform(low, high) => low + u * (high - low),
        }
    }

    /// The derivative of [`inverse`](Self::inverse) at `u`.
    fn inverse_slope(&self, u: f64) -> f64 {
        match self {
            Bin::Normal(t) => t.inverse_slope(u),
            Bin::Point(_) => 0.0,
            Bin::Uniform(low, high) => high - low,
        }
    }
}

/// lime's quartile discretiser of a background set, with the sampler of its bins.
///
/// Values are drawn by inverting each bin's CDF. The inverse is tabulated at 65 equally
/// spaced probabilities, with its slope (values and slopes as f32, the precision models
/// take values in), and interpolated by cubic Hermite polynomials between them: a draw
/// costs a look-up in a table that stays in the L1 cache instead of a rational function.
/// An end segment (the first or last 1/64 of probability) whose interpolation strays more
/// than 1e-5 of the bin's range from the exact inverse (a bin reaching far into a tail,
/// where the inverse curves sharply) is inverted exactly instead. The interpolation error
/// is below 1e-3 of the bin's scale everywhere (checked in the unit tests).
#[derive(Clone, Debug)]
pub(crate) struct QuartileDiscretizer {
    /// Per feature, the edges (at most three, increasing).
    edges: Vec<Vec<f64>>,
    /// Per feature, its sampler.
    samplers: Vec<FeatureSampler>,
}

/// The sampler of one feature's bins, laid out for the hot loop.
#[derive(Clone, Debug)]
struct FeatureSampler {
    /// The cumulative frequencies `c` of the bins but the last as integer thresholds
    /// `⌈c · 2³²⌉` on the high 32 random bits `h` (`h / 2³² ≥ c` exactly when `h` reaches
    /// the threshold), padded with 2³³ (never reached).
    thresholds: [u64; MAX_BINS - 1],
    /// Per bin slot, the inverse CDF and its slope times `1/64` at `u = i/64`,
    /// `i = 0..=64`, interleaved.
    table: [[f32; NODES]; MAX_BINS],
    /// Per bin slot, how values are drawn (padding slots are points at 0).
    bins: [Bin; MAX_BINS],
    /// Per bin slot, whether the first and the last segment are inverted exactly.
    exact_ends: [[bool; 2]; MAX_BINS],
}

impl QuartileDiscretizer {
    /// Bins every feature of `background` at its quartiles.
    pub(crate) fn new(background: &Background) -> QuartileDiscretizer {
        let m = background.n_features();
        let mut discretizer = QuartileDiscretizer {
            edges: Vec::with_capacity(m),
            samplers: Vec::with_capacity(m),
        };
        let mut column = Vec::with_capacity(background.n_rows());
        for j in 0..m {
            column.clear();
            column.extend(
                background
                    .rows()
                    .map(|row| f64::from(row.get(j).copied().unwrap_or(0.0))),
            );
            discretizer.add_feature(&column);
        }
        discretizer
    }

    /// The edges of a feature (at most three, increasing): numpy's 25th, 50th and 75th
    /// percentiles with repeats removed. `None` past the last feature.
    #[cfg(test)]
    pub(crate) fn edges(&self, feature: usize) -> Option<&[f64]> {
        self.edges.get(feature).map(Vec::as_slice)
    }

    /// The bin of `value` in `feature` (0 is `value ≤ q₂₅`): the number of edges strictly
    /// below it. `None` past the last feature.
    pub(crate) fn bin(&self, feature: usize, value: f64) -> Option<usize> {
        self.edges
            .get(feature)
            .map(|edges| edges.partition_point(|&e| e < value))
    }

    /// Number of features.
    #[cfg(test)]
    pub(crate) fn n_features(&self) -> usize {
        self.edges.len()
    }

    /// Draws a bin of `feature` with the background frequencies and a value in it, from
    /// 64 random bits: the high half picks the bin (32 bits are enough, the frequencies
    /// are multiples of one over the background's rows), the low half the value.
    ///
    /// Branch-free where it matters (this runs 100,000 times per explanation, at random):
    /// the bin is the number of cumulative frequencies `≤ u`; an empty bin has the same
    /// cumulative frequency as the one before it, so it is never drawn.
    #[inline]
    pub(crate) fn draw(&self, feature: usize, bits: u64) -> (usize, f32) {
        match self.samplers.get(feature) {
            Some(sampler) => sampler.draw(bits),
            None => (0, 0.0),
        }
    }

    /// Adds the bins of one column.
    fn add_feature(&mut self, column: &[f64]) {
        let mut sorted = column.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = [0.25, 0.5, 0.75]
            .iter()
            .map(|&q| percentile(&sorted, q))
            .collect();
        edges.dedup();
        let min = sorted.first().copied().unwrap_or(0.0);
        let max = sorted.last().copied().unwrap_or(0.0);
        let n_bins = edges.len() + 1;
        let bin_of = |v: f64| edges.partition_point(|&e| e < v).min(MAX_BINS - 1);
        let mut counts = [0usize; MAX_BINS];
        let mut sums = [0.0f64; MAX_BINS];
        for &v in column {
            let k = bin_of(v);
            counts[k] += 1;
            sums[k] += v;
        }
        let mut means = [0.0f64; MAX_BINS];
        for k in 0..MAX_BINS {
            if counts[k] > 0 {
                means[k] = sums[k] / counts[k] as f64;
            }
        }
        let mut squares = [0.0f64; MAX_BINS];
        for &v in column {
            let k = bin_of(v);
            squares[k] += (v - means[k]) * (v - means[k]);
        }
        let total = column.len().max(1) as u64;
        let mut thresholds = [1u64 << 33; MAX_BINS - 1];
        let mut running = 0usize;
        let bins: [Bin; MAX_BINS] = std::array::from_fn(|k| {
            running += counts[k];
            if k + 1 < n_bins {
                // ⌈c · 2³²⌉ of c = running / total, computed exactly in integers.
                thresholds[k] = ((running as u64) << 32).div_ceil(total);
            }
            if k >= n_bins {
                return Bin::Point(0.0);
            }
            let low = if k == 0 { min } else { edges[k - 1] };
            let high = if k + 1 == n_bins { max } else { edges[k] };
            let variance = if counts[k] == 0 {
                0.0
            } else {
                squares[k] / counts[k] as f64
            };
            let std = variance.sqrt() + 1e-11;
            // lime returns the standardised bound (a z-score) for a bin of zero width; the
            // bin's only value is meant, and is what is returned here.
            if low < high {
                let normal = TruncatedNormal::new(means[k], std, low, high);
                if normal.has_mass() {
                    Bin::Normal(normal)
                } else {
                    Bin::Uniform(low, high)
                }
            } else {
                Bin::Point(low)
            }
        });
        let table: [[f32; NODES]; MAX_BINS] = std::array::from_fn(|k| {
            std::array::from_fn(|e| {
                let u = (e / 2) as f64 / SEGMENTS as f64;
                if e % 2 == 0 {
                    bins[k].inverse(u) as f32
                } else {
                    (bins[k].inverse_slope(u) / SEGMENTS as f64) as f32
                }
            })
        });
        let exact_ends = std::array::from_fn(|k| {
            let range = (bins[k].inverse(1.0) - bins[k].inverse(0.0)).abs();
            [0, SEGMENTS - 1].map(|i| {
                [0.05, 0.25, 0.5, 0.75, 0.95].iter().any(|&t| {
                    let exact = bins[k].inverse((i as f64 + t) / SEGMENTS as f64);
                    (f64::from(hermite(&table[k], i, t as f32)) - exact).abs() > 1e-5 * range
                })
            })
        });
        self.samplers.push(FeatureSampler {
            thresholds,
            table,
            bins,
            exact_ends,
        });
        self.edges.push(edges);
    }
}

impl FeatureSampler {
    /// See [`QuartileDiscretizer::draw`].
    #[inline]
    fn draw(&self, bits: u64) -> (usize, f32) {
        let high = bits >> 32;
        let c = &self.thresholds;
        let k = (usize::from(high >= c[0]) + usize::from(high >= c[1]) + usize::from(high >= c[2]))
            & (MAX_BINS - 1);
        // The low word: its top bits are the segment, the rest the position in it.
        let low = bits as u32;
        let i = (low >> (32 - SEGMENT_BITS)) as usize & (SEGMENTS - 1);
        let t = (f64::from(low << SEGMENT_BITS) + 0.5) * (1.0 / 4_294_967_296.0);
        let end = if i == 0 {
            Some(0)
        } else if i == SEGMENTS - 1 {
            Some(1)
        } else {
            None
        };
        let value = if end.is_some_and(|e| self.exact_ends[k][e]) {
            self.bins[k].inverse((i as f64 + t) / SEGMENTS as f64) as f32
        } else {
            hermite(&self.table[k], i, t as f32)
        };
        (k, value)
    }
}

/// The cubic Hermite interpolation in segment `i` at `t` in `[0, 1]` of a bin's table:
/// `h00 v0 + h10 d0 + h01 v1 + h11 d1` (slopes pre-scaled by 1/64), in f32, the precision
/// the value is returned in.
#[inline]
fn hermite(node: &[f32; NODES], i: usize, t: f32) -> f32 {
    let i = i & (SEGMENTS - 1);
    let (v0, d0) = (node[2 * i], node[2 * i + 1]);
    let (v1, d1) = (node[2 * i + 2], node[2 * i + 3]);
    let t2 = t * t;
    let t3 = t2 * t;
    v0 + (3.0 * t2 - 2.0 * t3) * (v1 - v0) + (t3 - 2.0 * t2 + t) * d0 + (t3 - t2) * d1
}

/// numpy's `percentile` with linear interpolation (`method="linear"`) of sorted values at
/// the fraction `q`: index `h = q (n − 1)`, and numpy's two-sided lerp between the
/// neighbours so the result is bit-identical.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = q * (n - 1) as f64;
    let below = h.floor();
    let t = h - below;
    let i = below as usize;
    let a = sorted.get(i).copied().unwrap_or(f64::NAN);
    let Some(&b) = sorted.get(i + 1) else {
        return a;
    };
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interpolated draws against the exact inverse, for bins shaped like quartiles of
    /// a normal (an outer bin reaching far into a tail, an inner bin).
    #[test]
    fn tabulated_draws_follow_the_exact_inverse() {
        let rows: Vec<Vec<f32>> = (0..400)
            .map(|i| vec![super::super::normal::quantile((f64::from(i) + 0.5) / 400.0) as f32])
            .collect();
        let background = Background::from_rows(&rows, 1).unwrap_or_else(|_| unreachable!());
        let d = QuartileDiscretizer::new(&background);
        let mut worst = [0.0f64; MAX_BINS];
        for step in 0..200_000u64 {
            let low = (step * 21_474) as u32;
            for k in 0..MAX_BINS as u64 {
                let high = (k * 2 + 1) << 29; // the middle of each quarter
                let (bin, value) = d.draw(0, (high << 32) | u64::from(low));
                let u = (f64::from(low) + 0.5) / 4_294_967_296.0;
                let exact = d.samplers[0].bins[bin].inverse(u);
                let std = d.samplers[0].bins[bin].inverse_slope(0.5).abs().max(1e-9); // ~ the scale of the bin
                let e = (f64::from(value) - exact).abs() / std;
                worst[bin] = worst[bin].max(e);
            }
        }
        for (k, e) in worst.iter().enumerate() {
            assert!(*e < 1e-3, "bin {k}: worst error {e} of the bin's scale");
        }
    }
}
