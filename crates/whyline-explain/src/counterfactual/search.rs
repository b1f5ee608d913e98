//! A seeded counterfactual search for any classifier (KNN, MLP, multinomial and large tree
//! ensembles): valid by construction, near-minimal in practice, never exact.
//!
//! 1. **Local linearisation** (smooth models): the decision score — the log-odds of the
//!    row's class against the best other class, or the margins where the model has them —
//!    is differentiated by forward differences over the mutable features, and the exact
//!    closed-form step of the linear case (fractional knapsack for L1 costs, water-filling
//!    for L2, within the bounds) is taken, doubled until the decision flips. Up to three
//!    rounds re-linearise at the boundary point found. Models whose score is flat at the
//!    row (KNN, trees) skip this.
//! 2. **Growing spheres** (Laugel et al. 2018) in the cost's geometry (L2 balls, or
//!    weighted-L1 balls), restricted to the mutable features and clamped to the bounds:
//!    the ball is halved while it holds a flip, then grown in doubling layers until a layer
//!    holds one. Each point moves a random subset of the features, so sparse changes are
//!    sampled as often as dense ones.
//! 3. **Polishing** every candidate: sparsification (each changed feature reset to its
//!    original value while the flip holds, largest cost saving first), a bisection along
//!    the segment to the original row, then a bisection of each changed feature alone.
//! 4. **Single-feature moves**: each mutable feature alone, both ways, in doubling steps
//!    of its scale, while cheaper than the best candidate so far, bisected back to the
//!    boundary (the L1 optimum of a linear model moves one feature; tree ensembles often
//!    flip on one threshold).
//! 5. **Threshold steps** (tree models, [`thresholds`]): greedy crossings of the nearest
//!    split thresholds, the one that lowers the lead most per unit of cost first, then
//!    polished as the others.
//!
//! The cheapest candidate wins. Every point accepted was predicted by the model and flips
//! the decision; when none was found within `max_evaluations` model calls the error is
//! [`Impossible::SearchExhausted`]. Draws come from ChaCha8 seeded with the settings'
//! seed and the search is sequential, so the same seed gives the same bits.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use whyline_models::{Model, ModelKind};

use super::{Cost, Problem, linear};

mod thresholds;
use crate::error::{ExplainError, Impossible, Result};
use crate::model_output::predict_f32;

/// Points sampled per sphere or layer.
const LAYER_SAMPLES: usize = 32;
/// Halvings of the initial ball at most.
const MAX_HALVINGS: usize = 24;
/// Layers sampled once the layers lie beyond every reachable point.
const LAYERS_PAST_REACH: usize = 4;
/// Bisection steps of the line searches.
const BISECTIONS: usize = 24;
/// Bisection steps of each single-feature shrink.
const FEATURE_BISECTIONS: usize = 30;
/// Linearisation rounds.
const GRADIENT_ROUNDS: usize = 3;

/// A valid counterfactual found by the search.
pub(super) struct Found {
    /// The point.
    pub(super) point: Vec<f32>,
    /// Its cost.
    pub(super) cost: f64,
    /// Model evaluations made.
    pub(super) evaluations: usize,
}

/// Runs the search within `max_evaluations` model calls; see the module docs.
pub(super) fn solve(problem: Problem<'_>, seed: u64, max_evaluations: usize) -> Result<Found> {
    let Problem {
        model,
        row,
        original,
        bounds,
        weights,
        cost,
    } = problem;
    let mutable: Vec<usize> = (0..row.len())
        .filter(|&j| {
            let (low, high) = bounds.get(j).copied().unwrap_or((0.0, 0.0));
            row.get(j).is_some_and(|x| !x.is_nan()) && low < high
        })
        .collect();
    if mutable.is_empty() {
        return Err(ExplainError::ImpossibleCounterfactual {
            reason: Impossible::AllFeaturesImmutable,
        });
    }
    let stats = model.info().feature_stats.as_ref();
    let scale: Vec<f64> = row
        .iter()
        .enumerate()
        .map(|(j, &x)| {
            let std = stats.and_then(|s| s.std.get(j).copied()).unwrap_or(0.0);
            if std > 0.0 && std.is_finite() {
                std
            } else {
                f64::from(x).abs().max(1.0)
            }
        })
        .collect();
    let mut search = Search {
        model,
        margins: matches!(
            model.kind(),
            ModelKind::Linear(_) | ModelKind::GradientBoosting(_)
        ),
        row,
        original,
        bounds,
        weights,
        l2: cost == Cost::L2,
        mutable,
        scale,
        evaluations: 0,
        max_evaluations,
        rng: ChaCha8Rng::seed_from_u64(seed),
    };
    let mut best: Option<(f64, Vec<f32>)> = None;
    if let Some(point) = search.linearised()? {
        let point = search.polish(point)?;
        best = Some((search.cost(&point), point));
    }
    if let Some(point) = search.spheres()? {
        let point = search.polish(point)?;
        let c = search.cost(&point);
        if best.as_ref().is_none_or(|(b, _)| c < *b) {
            best = Some((c, point));
        }
    }
    let bound = best.as_ref().map_or(f64::INFINITY, |(b, _)| *b);
    if let Some((c, point)) = search.axes(bound)? {
        best = Some((c, point));
    }
    let bound = best.as_ref().map_or(f64::INFINITY, |(b, _)| *b);
    if let Some((_, point)) = search.threshold_steps(thresholds::trees_of(model), bound)? {
        let point = search.polish(point)?;
        let c = search.cost(&point);
        if c < bound {
            best = Some((c, point));
        }
    }
    match best {
        Some((cost, point)) => Ok(Found {
            point,
            cost,
            evaluations: search.evaluations,
        }),
        None => Err(ExplainError::ImpossibleCounterfactual {
            reason: Impossible::SearchExhausted {
                evaluated: search.evaluations,
            },
        }),
    }
}

struct Search<'a> {
    model: &'a Model,
    /// Score from the raw margins (linear, boosting) rather than log-probabilities.
    margins: bool,
    row: &'a [f32],
    original: usize,
    bounds: &'a [(f64, f64)],
    weights: &'a [f64],
    l2: bool,
    mutable: Vec<usize>,
    /// Per-feature scale (training standard deviation, else `max(|x|, 1)`).
    scale: Vec<f64>,
    evaluations: usize,
    max_evaluations: usize,
    rng: ChaCha8Rng,
}

impl Search<'_> {
    fn exhausted(&self) -> bool {
        self.evaluations >= self.max_evaluations
    }

    /// Whether the model decides `x` differently from the row; `false` once the budget is
    /// spent (so nothing unverified is ever accepted).
    fn flips(&mut self, x: &[f32]) -> Result<bool> {
        Ok(self.score(x)?.is_some_and(|(flipped, _)| flipped))
    }

    /// The decision at `x` and the row's class's lead over the best other class (positive
    /// while the decision holds), or `None` once the budget is spent.
    fn score(&mut self, x: &[f32]) -> Result<Option<(bool, f64)>> {
        if self.exhausted() {
            return Ok(None);
        }
        self.evaluations += 1;
        let prediction = predict_f32(self.model, x)?;
        let flipped = prediction.value as usize != self.original;
        let lead = |scores: &[f64], log: bool| {
            let read = |v: f64| if log { v.max(1e-300).ln() } else { v };
            let own = scores.get(self.original).copied().map_or(f64::NAN, read);
            let other = scores
                .iter()
                .enumerate()
                .filter(|(c, _)| *c != self.original)
                .map(|(_, &v)| read(v))
                .fold(f64::NEG_INFINITY, f64::max);
            own - other
        };
        let s = match (&prediction.raw[..], &prediction.probabilities) {
            ([margin], _) if self.margins => {
                if self.original == 1 {
                    *margin
                } else {
                    -*margin
                }
            }
            (raw, _) if self.margins && raw.len() > 1 => lead(raw, false),
            (_, Some(p)) => lead(p, true),
            _ => f64::NAN,
        };
        Ok(Some((flipped, s)))
    }

    /// The cost of moving the row to `x`.
    fn cost(&self, x: &[f32]) -> f64 {
        let deltas = self.row.iter().zip(x).map(|(&a, &b)| {
            if a.is_nan() {
                0.0
            } else {
                f64::from(b) - f64::from(a)
            }
        });
        if self.l2 {
            deltas.map(|d| d * d).sum::<f64>().sqrt()
        } else {
            deltas.zip(self.weights).map(|(d, w)| d.abs() * w).sum()
        }
    }

    /// `v` within feature `j`'s bounds, as a finite f32.
    fn clamp(&self, j: usize, v: f64) -> f32 {
        let (low, high) = self.bounds.get(j).copied().unwrap_or((v, v));
        let v = v.clamp(low, high);
        let v = if v.is_nan() { low } else { v };
        (v as f32).clamp(f32::MIN, f32::MAX)
    }

    /// `row + t (z − row)` on the mutable features.
    fn between(&self, z: &[f32], t: f64) -> Vec<f32> {
        let mut y = self.row.to_vec();
        for &j in &self.mutable {
            let (Some(&a), Some(&b)) = (self.row.get(j), z.get(j)) else {
                continue;
            };
            let v = f64::from(a) + t * (f64::from(b) - f64::from(a));
            if let Some(slot) = y.get_mut(j) {
                *slot = self.clamp(j, v);
            }
        }
        y
    }

    /// Bisects the segment from the row (not flipped) to `z` (flipped): the flipped point
    /// nearest the row found.
    fn line_search(&mut self, z: Vec<f32>) -> Result<Vec<f32>> {
        let (mut low, mut high) = (0.0f64, 1.0f64);
        let mut best = z.clone();
        for _ in 0..BISECTIONS {
            let mid = 0.5 * (low + high);
            let y = self.between(&z, mid);
            if y == best || y.as_slice() == self.row {
                break;
            }
            if self.flips(&y)? {
                best = y;
                high = mid;
            } else {
                low = mid;
            }
        }
        Ok(best)
    }

    /// Steps of the linearised problem at `at`: the closed-form flip of `s(at) − a·(y − at)`
    /// from the row, doubled until the model flips, then bisected back to the boundary.
    fn linearised(&mut self) -> Result<Option<Vec<f32>>> {
        let mut at = self.row.to_vec();
        let mut best: Option<(f64, Vec<f32>)> = None;
        for _ in 0..GRADIENT_ROUNDS {
            let Some((_, s_at)) = self.score(&at)? else {
                break;
            };
            if !s_at.is_finite() {
                break;
            }
            let mut a = vec![0.0; self.row.len()];
            for k in 0..self.mutable.len() {
                let Some(&j) = self.mutable.get(k) else {
                    continue;
                };
                let x = f64::from(at.get(j).copied().unwrap_or(0.0));
                let h = 1e-3 * self.scale.get(j).copied().unwrap_or(1.0);
                let mut v = self.clamp(j, x + h);
                if f64::from(v) == x {
                    v = self.clamp(j, x - h);
                }
                let step = f64::from(v) - x;
                if step == 0.0 {
                    continue;
                }
                let mut y = at.clone();
                if let Some(slot) = y.get_mut(j) {
                    *slot = v;
                }
                let Some((_, s)) = self.score(&y)? else {
                    return Ok(best.map(|(_, p)| p));
                };
                if let Some(slot) = a.get_mut(j) {
                    *slot = -(s - s_at) / step;
                }
            }
            if a.iter().all(|v| *v == 0.0 || !v.is_finite()) {
                break;
            }
            // s(row + δ) ≈ s(at) − a·(row − at) − a·δ < 0.
            let offset: f64 = a
                .iter()
                .zip(self.row.iter().zip(&at))
                .map(|(aj, (&r, &p))| aj * (f64::from(r) - f64::from(p)))
                .sum();
            let gap = s_at - offset;
            if gap.is_nan() || gap <= 0.0 {
                break;
            }
            let room: Vec<f64> = a
                .iter()
                .zip(self.row)
                .zip(self.bounds)
                .map(|((&aj, &x), &(low, high))| {
                    let x = f64::from(x);
                    if x.is_nan() || !aj.is_finite() {
                        0.0
                    } else if aj > 0.0 {
                        (high - x).min(f64::from(f32::MAX))
                    } else if aj < 0.0 {
                        (x - low).min(f64::from(f32::MAX))
                    } else {
                        0.0
                    }
                })
                .collect();
            let a: Vec<f64> = a
                .iter()
                .map(|v| if v.is_finite() { *v } else { 0.0 })
                .collect();
            let delta = if self.l2 {
                linear::water_fill(&a, &room, gap)
            } else {
                linear::knapsack(&a, &room, self.weights, gap)
            };
            let mut found = None;
            for doubling in 0..8 {
                let factor = f64::from(1u32 << doubling) * 1.001;
                let mut z = self.row.to_vec();
                for (j, d) in delta.iter().enumerate() {
                    if *d != 0.0
                        && let Some(slot) = z.get_mut(j)
                    {
                        *slot = self.clamp(j, f64::from(*slot) + factor * d);
                    }
                }
                if self.flips(&z)? {
                    found = Some(z);
                    break;
                }
            }
            let Some(z) = found else { break };
            let point = self.line_search(z)?;
            let c = self.cost(&point);
            if best.as_ref().is_some_and(|(b, _)| c >= *b) {
                break;
            }
            at = point.clone();
            best = Some((c, point));
        }
        Ok(best.map(|(_, p)| p))
    }

    /// Growing spheres: the cheapest flip sampled in the smallest ball or layer holding one.
    fn spheres(&mut self) -> Result<Option<Vec<f32>>> {
        let d = self.mutable.len() as f64;
        let mut radius = self
            .mutable
            .iter()
            .map(|&j| {
                let s = self.scale.get(j).copied().unwrap_or(1.0);
                if self.l2 {
                    s
                } else {
                    s * self.weights.get(j).copied().unwrap_or(1.0)
                }
            })
            .sum::<f64>()
            / d;
        // The cost of the farthest reachable point.
        let reach = {
            let far = self.mutable.iter().map(|&j| {
                let x = f64::from(self.row.get(j).copied().unwrap_or(0.0));
                let (low, high) = self.bounds.get(j).copied().unwrap_or((x, x));
                let w = if self.l2 {
                    1.0
                } else {
                    self.weights.get(j).copied().unwrap_or(1.0)
                };
                w * (x - low).max(high - x)
            });
            if self.l2 {
                far.map(|v| v * v).sum::<f64>().sqrt()
            } else {
                far.sum()
            }
        };
        let mut best: Option<(f64, Vec<f32>)> = None;
        for _ in 0..MAX_HALVINGS {
            if !self.layer(0.0, radius, &mut best)? {
                break;
            }
            radius /= 2.0;
        }
        let (mut low, mut high) = (radius, 2.0 * radius);
        let mut past_reach = 0;
        while best.is_none() && !self.exhausted() && high < 1e38 && past_reach < LAYERS_PAST_REACH {
            self.layer(low, high, &mut best)?;
            if low > reach {
                past_reach += 1;
            }
            low = high;
            high *= 2.0;
        }
        Ok(best.map(|(_, p)| p))
    }

    /// Samples a layer `low ≤ cost ≤ high`; keeps the cheapest flip; whether one flipped.
    fn layer(&mut self, low: f64, high: f64, best: &mut Option<(f64, Vec<f32>)>) -> Result<bool> {
        let mut any = false;
        let mut chosen = self.mutable.clone();
        let mut direction = vec![0.0f64; chosen.len()];
        for _ in 0..LAYER_SAMPLES {
            if self.exhausted() {
                break;
            }
            // A random subset of k features (partial Fisher–Yates), then a direction on
            // the unit sphere of the cost over them.
            let k = 1 + (self.next_u64() % chosen.len() as u64) as usize;
            for i in 0..k {
                let pick = i + (self.next_u64() % (chosen.len() - i) as u64) as usize;
                chosen.swap(i, pick);
            }
            let mut norm = 0.0;
            for slot in direction.iter_mut().take(k) {
                let v = if self.l2 {
                    self.normal()
                } else {
                    let e = -(1.0 - self.uniform()).ln();
                    if self.next_u64() & 1 == 1 { e } else { -e }
                };
                norm += if self.l2 { v * v } else { v.abs() };
                *slot = v;
            }
            let norm = if self.l2 { norm.sqrt() } else { norm };
            if norm.is_nan() || norm <= 0.0 {
                continue;
            }
            let rho = low + (high - low) * self.uniform();
            let mut z = self.row.to_vec();
            for (&j, &u) in chosen.iter().zip(&direction).take(k) {
                let w = if self.l2 {
                    1.0
                } else {
                    self.weights.get(j).copied().unwrap_or(1.0)
                };
                if let Some(slot) = z.get_mut(j) {
                    *slot = self.clamp(j, f64::from(*slot) + rho * u / norm / w);
                }
            }
            if self.flips(&z)? {
                any = true;
                let c = self.cost(&z);
                if best.as_ref().is_none_or(|(b, _)| c < *b) {
                    *best = Some((c, z));
                }
            }
        }
        Ok(any)
    }

    /// One feature at a time, both ways, in doubling steps from `2^-12` to `2^12` of its
    /// scale (while cheaper than `bound`), then bisected back: the cheapest single-feature
    /// flip found that costs less than `bound`, with its cost.
    fn axes(&mut self, bound: f64) -> Result<Option<(f64, Vec<f32>)>> {
        let mut best: Option<(f64, Vec<f32>)> = None;
        for k in 0..self.mutable.len() {
            let Some(&j) = self.mutable.get(k) else {
                continue;
            };
            let x = f64::from(self.row.get(j).copied().unwrap_or(0.0));
            let scale = self.scale.get(j).copied().unwrap_or(1.0);
            for sign in [1.0, -1.0] {
                let mut previous = x;
                for power in -12..=12 {
                    let limit = best.as_ref().map_or(bound, |(b, _)| *b);
                    let v = self.clamp(j, x + sign * scale * 2f64.powi(power));
                    let mut z = self.row.to_vec();
                    if let Some(slot) = z.get_mut(j) {
                        *slot = v;
                    }
                    if f64::from(v) == previous || self.cost(&z) >= limit || self.exhausted() {
                        break;
                    }
                    if self.flips(&z)? {
                        let z = self.bisect_feature(z, j, previous)?;
                        let c = self.cost(&z);
                        if c < limit {
                            best = Some((c, z));
                        }
                        break;
                    }
                    previous = f64::from(v);
                }
            }
        }
        Ok(best)
    }

    /// Bisects feature `j` of the flipped `point` toward `low` (a value that does not flip).
    fn bisect_feature(&mut self, mut point: Vec<f32>, j: usize, low: f64) -> Result<Vec<f32>> {
        let mut low = low;
        let mut high = f64::from(point.get(j).copied().unwrap_or(0.0));
        for _ in 0..FEATURE_BISECTIONS {
            let mid = self.clamp(j, 0.5 * (low + high));
            if f64::from(mid) == low || f64::from(mid) == high {
                break;
            }
            let mut y = point.clone();
            if let Some(slot) = y.get_mut(j) {
                *slot = mid;
            }
            if self.flips(&y)? {
                point = y;
                high = f64::from(mid);
            } else {
                low = f64::from(mid);
            }
        }
        Ok(point)
    }

    /// Sparsifies, bisects to the row, then shrinks each changed feature alone.
    fn polish(&mut self, mut point: Vec<f32>) -> Result<Vec<f32>> {
        let mut changed: Vec<(f64, usize)> = self
            .mutable
            .iter()
            .filter_map(|&j| {
                let (a, b) = (self.row.get(j)?, point.get(j)?);
                let d = f64::from(*b) - f64::from(*a);
                let saving = if self.l2 {
                    d * d
                } else {
                    d.abs() * self.weights.get(j).copied().unwrap_or(1.0)
                };
                (d != 0.0).then_some((saving, j))
            })
            .collect();
        changed.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
        for &(_, j) in &changed {
            let mut y = point.clone();
            if let (Some(slot), Some(&x)) = (y.get_mut(j), self.row.get(j)) {
                *slot = x;
            }
            if self.flips(&y)? {
                point = y;
            }
        }
        let mut point = self.line_search(point)?;
        for &(_, j) in &changed {
            let (Some(&x), Some(&z)) = (self.row.get(j), point.get(j)) else {
                continue;
            };
            if x != z {
                point = self.bisect_feature(point, j, f64::from(x))?;
            }
        }
        Ok(point)
    }

    fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform in `[0, 1)` from 53 bits.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
