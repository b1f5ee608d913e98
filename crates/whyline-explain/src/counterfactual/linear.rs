//! Exact counterfactuals of a binary logistic model: the decision is `g(x) = b + w·x > 0`,
//! so flipping it asks `a·δ ≥ τ` for `a = ±w` and the gap `τ`, within the box the bounds
//! and immutable features leave each `δ_j`.
//!
//! - weighted L1 (`Σ c_j |δ_j|`, with `c_j` 1 or 1/MAD): a fractional knapsack — move the
//!   features by decreasing `|a_j| / c_j`, each as far as its bound, until the gap closes;
//! - L2: the KKT conditions give `δ_j = a_j · min(λ, λ_j)`, `λ_j` the multiplier at which
//!   feature `j` reaches its bound; `Σ a_j² min(λ, λ_j)` is piecewise linear in `λ`, solved
//!   exactly after sorting the `λ_j`.
//!
//! The row is read back in f32; if rounding undoes the flip the gap is widened (doubling a
//! tiny margin) and the problem solved again.

use whyline_models::{LinearLink, LinearModel};

use super::Cost;
use crate::error::{ExplainError, Impossible, Result};

pub(super) fn solve(
    model: &LinearModel,
    row: &[f32],
    original: usize,
    bounds: &[(f64, f64)],
    weights: &[f64],
    cost: Cost,
) -> Result<(Vec<f32>, f64)> {
    if model.link != LinearLink::Logistic {
        return Err(ExplainError::MethodDoesNotFit {
            method: "counterfactual",
            model: "linear (not binary logistic)",
            hint: "the closed form covers binary logistic models",
        });
    }
    let n = model.n_features;
    let w = model.coefficients.get(..n).unwrap_or(&[]);
    let b = model.intercepts.first().copied().unwrap_or(0.0);
    let margin = |x: &[f32]| b + w.iter().zip(x).map(|(w, &x)| w * f64::from(x)).sum::<f64>();
    let g = margin(row);
    // Going to class 1 needs g' > 0 (strict); going to class 0 needs g' <= 0.
    let up = original == 0;
    let a: Vec<f64> = w.iter().map(|&w| if up { w } else { -w }).collect();
    let room: Vec<f64> = a
        .iter()
        .zip(row)
        .zip(bounds)
        .map(|((&aj, &x), &(low, high))| {
            let x = f64::from(x);
            if aj > 0.0 {
                high - x
            } else if aj < 0.0 {
                x - low
            } else {
                0.0
            }
        })
        .collect();
    if a.iter().zip(&room).all(|(aj, r)| *aj == 0.0 || *r == 0.0) {
        return Err(ExplainError::ImpossibleCounterfactual {
            reason: Impossible::AllFeaturesImmutable,
        });
    }
    let reach: f64 = a.iter().zip(&room).map(|(aj, r)| aj.abs() * r).sum();
    // Reading the row back in f32 moves the margin by up to about one f32 ulp of each
    // term: start the margin of safety there, so one or two rounds usually suffice.
    let rounding = w
        .iter()
        .zip(row)
        .map(|(w, &x)| (w * f64::from(x)).abs())
        .sum::<f64>()
        * f64::from(f32::EPSILON)
        / 2.0;
    let mut epsilon = if up {
        rounding + 1e-12 * (1.0 + g.abs())
    } else {
        0.0
    };
    for _ in 0..60 {
        let gap = if up { -g + epsilon } else { g + epsilon };
        if reach < gap {
            let best = if up { g + reach } else { g - reach };
            return Err(ExplainError::ImpossibleCounterfactual {
                reason: Impossible::NotReachable {
                    best,
                    threshold: 0.0,
                },
            });
        }
        let delta = match cost {
            Cost::L1 | Cost::MadL1 => knapsack(&a, &room, weights, gap),
            Cost::L2 => water_fill(&a, &room, gap),
        };
        let candidate: Vec<f32> = row
            .iter()
            .zip(&delta)
            .zip(bounds)
            .map(|((&x, d), &(low, high))| {
                if *d == 0.0 {
                    x
                } else {
                    let v = (f64::from(x) + d) as f32;
                    v.clamp(low as f32, high as f32)
                }
            })
            .collect();
        let flipped = if up {
            margin(&candidate) > 0.0
        } else {
            margin(&candidate) <= 0.0
        };
        if flipped {
            let cost_value = match cost {
                Cost::L2 => delta.iter().map(|d| d * d).sum::<f64>().sqrt(),
                Cost::L1 | Cost::MadL1 => delta.iter().zip(weights).map(|(d, c)| d.abs() * c).sum(),
            };
            return Ok((candidate, cost_value));
        }
        epsilon = if epsilon == 0.0 {
            rounding + 1e-12 * (1.0 + g.abs())
        } else {
            epsilon * 2.0
        };
    }
    Err(ExplainError::ImpossibleCounterfactual {
        reason: Impossible::SearchExhausted { evaluated: 60 },
    })
}

/// Minimises `Σ c_j |δ_j|` subject to `Σ a_j δ_j ≥ gap` and `|δ_j| ≤ room_j`.
pub(super) fn knapsack(a: &[f64], room: &[f64], c: &[f64], gap: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..a.len())
        .filter(|&j| a.get(j).is_some_and(|v| *v != 0.0) && room.get(j).is_some_and(|r| *r > 0.0))
        .collect();
    let efficiency =
        |j: usize| a.get(j).map_or(0.0, |v| v.abs()) / c.get(j).copied().unwrap_or(1.0);
    order.sort_by(|&i, &j| efficiency(j).total_cmp(&efficiency(i)).then(i.cmp(&j)));
    let mut delta = vec![0.0; a.len()];
    let mut need = gap;
    for j in order {
        if need <= 0.0 {
            break;
        }
        let (aj, r) = (
            a.get(j).copied().unwrap_or(0.0),
            room.get(j).copied().unwrap_or(0.0),
        );
        let step = (need / aj.abs()).min(r);
        if let Some(d) = delta.get_mut(j) {
            *d = aj.signum() * step;
        }
        need -= aj.abs() * step;
    }
    delta
}

/// Minimises `Σ δ_j²` subject to `Σ a_j δ_j ≥ gap` and `|δ_j| ≤ room_j`.
pub(super) fn water_fill(a: &[f64], room: &[f64], gap: f64) -> Vec<f64> {
    // λ_j: where feature j reaches its bound (δ_j = a_j λ until then).
    let mut breaks: Vec<(f64, f64)> = a
        .iter()
        .zip(room)
        .filter(|(aj, _)| **aj != 0.0)
        .map(|(aj, r)| (r / aj.abs(), aj * aj))
        .collect();
    breaks.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut slope: f64 = breaks.iter().map(|(_, a2)| a2).sum();
    let mut reached = 0.0;
    let mut lambda_at = 0.0;
    let mut lambda = f64::INFINITY;
    for &(lambda_j, a2) in &breaks {
        let next = reached + slope * (lambda_j - lambda_at);
        if next >= gap {
            lambda = lambda_at + (gap - reached) / slope;
            break;
        }
        reached = next;
        lambda_at = lambda_j;
        slope -= a2;
    }
    a.iter()
        .zip(room)
        .map(|(&aj, &r)| {
            if aj == 0.0 {
                0.0
            } else {
                aj * lambda.min(r / aj.abs())
            }
        })
        .collect()
}
