//! Trace aggregation (the seed spec's §5 `aggregate_traces`): the mean, maximum and variance
//! of each feature's contribution across many traces, and of all contributions together,
//! with a scalar and a SIMD implementation whose results are bit-identical.
//!
//! # Identical bits on every backend
//!
//! The seed specification asks that all backends produce identical traces. Floating-point
//! sums give identical bits only when they add the same numbers in the same order, so both
//! implementations fix one order and differ only in how many features they do at once:
//!
//! - each feature's sum and sum of squared deviations run over the traces in order, in
//!   `f64` (a SIMD lane per feature: lanes never mix, so each lane adds in the scalar order);
//! - the maximum keeps the old value unless the new one is greater (`x > max`), so NaN never
//!   wins and `-0.0` versus `0.0` resolves the same way in both;
//! - the statistics of all contributions are derived from the per-feature ones by one
//!   scalar loop that both backends share (mean from the per-feature sums, variance by the
//!   parallel-axis rule `Σ_f [ss_f + n (mean_f - mean)²]`).
//!
//! No fused multiply-add is used (Rust never contracts `a * b + c`). A proptest checks the
//! two backends bit for bit on random traces (`tests/aggregate.rs`).
//!
//! The SIMD backend uses `wide`'s `f64x4`: a safe API (this workspace forbids `unsafe`) that
//! compiles to SSE2 pairs on a baseline x86_64 build and to AVX2 with
//! `-C target-cpu=native`, and to NEON on aarch64.

use wide::{CmpGt, f64x4};

use crate::error::{CoreError, Result};
use crate::path::DecisionPath;
use crate::trace::DecisionTrace;

/// Lanes of the SIMD backend.
const LANES: usize = 4;

/// Which implementation aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregationBackend {
    /// One feature at a time.
    Scalar,
    /// Four features at a time (`wide::f64x4`).
    Simd,
}

/// Statistics of the feature contributions of many traces.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceStatistics {
    /// Traces aggregated (those carrying contributions).
    pub traces: u64,
    /// Traces skipped because their path carries no contributions (a single tree's path,
    /// a KNN vote).
    pub skipped: u64,
    /// Mean contribution of each feature.
    pub mean: Vec<f64>,
    /// Largest contribution of each feature.
    pub max: Vec<f32>,
    /// Variance of each feature's contribution (population: divided by the number of
    /// traces).
    pub variance: Vec<f64>,
    /// Mean of all contributions.
    pub mean_contribution: f64,
    /// Largest of all contributions.
    pub max_contribution: f32,
    /// Variance of all contributions (population).
    pub contribution_variance: f64,
}

/// [`aggregate_traces_with`] on the SIMD backend.
///
/// ```
/// use whyline_core::{DecisionTrace, LinearPath, aggregate_traces};
///
/// let trace = |a: f32, b: f32| DecisionTrace {
///     timestamp_ns: 0, sequence: 0, input_hash: 0, output: a + b, latency_ns: 0,
///     path: LinearPath { contributions: vec![a, b], ..LinearPath::default() },
/// };
/// let stats = aggregate_traces(&[trace(1.0, -2.0), trace(3.0, 2.0)])?;
/// assert_eq!(stats.mean, [2.0, 0.0]);
/// assert_eq!(stats.max, [3.0, 2.0]);
/// assert_eq!(stats.variance, [1.0, 4.0]);
/// assert_eq!(stats.mean_contribution, 1.0);
/// # Ok::<(), whyline_core::CoreError>(())
/// ```
pub fn aggregate_traces<P: DecisionPath>(traces: &[DecisionTrace<P>]) -> Result<TraceStatistics> {
    aggregate_traces_with(AggregationBackend::Simd, traces)
}

/// Aggregates the feature contributions of `traces` on `backend`. Traces whose path carries
/// no contributions are skipped and counted; the others must all carry the same number
/// ([`CoreError::MixedWidths`] naming the first that does not). With no contributions at all,
/// every statistic is empty or zero.
pub fn aggregate_traces_with<P: DecisionPath>(
    backend: AggregationBackend,
    traces: &[DecisionTrace<P>],
) -> Result<TraceStatistics> {
    let mut rows: Vec<&[f32]> = Vec::with_capacity(traces.len());
    let mut skipped = 0u64;
    let mut width = None;
    for trace in traces {
        let contributions = trace.path.feature_contributions();
        if contributions.is_empty() {
            skipped += 1;
            continue;
        }
        match width {
            None => width = Some(contributions.len()),
            Some(w) if w != contributions.len() => {
                return Err(CoreError::MixedWidths {
                    sequence: trace.sequence,
                    expected: w,
                    found: contributions.len(),
                });
            }
            Some(_) => {}
        }
        rows.push(contributions);
    }
    let width = width.unwrap_or(0);
    let mut sums = vec![0.0f64; width];
    let mut max = rows.first().map_or_else(Vec::new, |first| first.to_vec());
    let mut squares = vec![0.0f64; width];
    let n = rows.len() as f64;
    let mut mean = vec![0.0f64; width];
    match backend {
        AggregationBackend::Scalar => {
            sum_and_max_scalar(&rows, 0, &mut sums, &mut max);
            divide(&sums, n, &mut mean);
            squares_scalar(&rows, 0, &mean, &mut squares);
        }
        AggregationBackend::Simd => {
            let simd_width = width - width % LANES;
            sum_and_max_simd(&rows, simd_width, &mut sums, &mut max);
            sum_and_max_scalar(&rows, simd_width, &mut sums, &mut max);
            divide(&sums, n, &mut mean);
            squares_simd(&rows, simd_width, &mean, &mut squares);
            squares_scalar(&rows, simd_width, &mean, &mut squares);
        }
    }
    let variance: Vec<f64> = squares
        .iter()
        .map(|ss| if n > 0.0 { ss / n } else { 0.0 })
        .collect();
    Ok(overall(
        rows.len() as u64,
        skipped,
        mean,
        max,
        variance,
        &sums,
        &squares,
    ))
}

/// `mean[f] = sums[f] / n` (0 for no traces).
fn divide(sums: &[f64], n: f64, mean: &mut [f64]) {
    for (m, s) in mean.iter_mut().zip(sums) {
        *m = if n > 0.0 { s / n } else { 0.0 };
    }
}

/// Sums and maxima of features `from..` over the rows, one feature at a time.
fn sum_and_max_scalar(rows: &[&[f32]], from: usize, sums: &mut [f64], max: &mut [f32]) {
    for row in rows {
        for f in from..sums.len() {
            let (Some(&x), Some(sum), Some(m)) = (row.get(f), sums.get_mut(f), max.get_mut(f))
            else {
                continue;
            };
            *sum += f64::from(x);
            if x > *m {
                *m = x;
            }
        }
    }
}

/// Sums of squared deviations of features `from..` over the rows, one feature at a time.
fn squares_scalar(rows: &[&[f32]], from: usize, mean: &[f64], squares: &mut [f64]) {
    for row in rows {
        for f in from..squares.len() {
            let (Some(&x), Some(&m), Some(ss)) = (row.get(f), mean.get(f), squares.get_mut(f))
            else {
                continue;
            };
            let d = f64::from(x) - m;
            *ss += d * d;
        }
    }
}

/// Four features of a row as `f64` lanes.
#[inline]
fn lanes(row: &[f32], at: usize) -> f64x4 {
    let mut v = [0.0f64; LANES];
    for (lane, x) in v
        .iter_mut()
        .zip(row.get(at..at + LANES).unwrap_or_default())
    {
        *lane = f64::from(*x);
    }
    f64x4::from(v)
}

/// Sums and maxima of features `..simd_width`, four at a time (lanes never mix).
fn sum_and_max_simd(rows: &[&[f32]], simd_width: usize, sums: &mut [f64], max: &mut [f32]) {
    for at in (0..simd_width).step_by(LANES) {
        let mut sum = f64x4::ZERO;
        let mut m = lanes(max, at);
        for row in rows {
            let x = lanes(row, at);
            sum += x;
            // Keep the old maximum unless the new value is greater, as the scalar loop does.
            m = x.simd_gt(m).blend(x, m);
        }
        for (i, (s, x)) in sum.to_array().into_iter().zip(m.to_array()).enumerate() {
            if let Some(slot) = sums.get_mut(at + i) {
                *slot += s;
            }
            if let Some(slot) = max.get_mut(at + i) {
                // Exact: each lane only ever held one of the row's f32 values.
                *slot = x as f32;
            }
        }
    }
}

/// Sums of squared deviations of features `..simd_width`, four at a time.
fn squares_simd(rows: &[&[f32]], simd_width: usize, mean: &[f64], squares: &mut [f64]) {
    for at in (0..simd_width).step_by(LANES) {
        let mut m = [0.0f64; LANES];
        for (lane, x) in m
            .iter_mut()
            .zip(mean.get(at..at + LANES).unwrap_or_default())
        {
            *lane = *x;
        }
        let m = f64x4::from(m);
        let mut ss = f64x4::ZERO;
        for row in rows {
            let d = lanes(row, at) - m;
            ss += d * d;
        }
        for (i, s) in ss.to_array().into_iter().enumerate() {
            if let Some(slot) = squares.get_mut(at + i) {
                *slot += s;
            }
        }
    }
}

/// The statistics of all contributions, from the per-feature ones (shared by both backends,
/// so its bits are the same).
fn overall(
    traces: u64,
    skipped: u64,
    mean: Vec<f64>,
    max: Vec<f32>,
    variance: Vec<f64>,
    sums: &[f64],
    squares: &[f64],
) -> TraceStatistics {
    let count = traces as f64 * mean.len() as f64;
    let total: f64 = sums.iter().fold(0.0, |acc, s| acc + s);
    let mean_contribution = if count > 0.0 { total / count } else { 0.0 };
    let mut max_contribution = max.first().copied().unwrap_or(0.0);
    for &m in &max {
        if m > max_contribution {
            max_contribution = m;
        }
    }
    // Parallel-axis rule: each feature's squares about the overall mean.
    let n = traces as f64;
    let spread: f64 = squares.iter().zip(&mean).fold(0.0, |acc, (ss, m)| {
        let d = m - mean_contribution;
        acc + ss + n * d * d
    });
    let contribution_variance = if count > 0.0 { spread / count } else { 0.0 };
    TraceStatistics {
        traces,
        skipped,
        mean,
        max,
        variance,
        mean_contribution,
        max_contribution,
        contribution_variance,
    }
}
