//! The population stability index between a reference sample and a current one.
//!
//! Definition (Siddiqi, *Credit Risk Scorecards*, 2006; Yurdakul, "Statistical properties of
//! the population stability index", 2018), with the binning fixed so the number is
//! reproducible:
//!
//! 1. Bin edges are the reference sample's deciles `q₁ … q₉` (linear interpolation between
//!    order statistics, numpy's default `np.quantile`), duplicates removed; bins are
//!    `(−∞, q₁], (q₁, q₂], …, (q₉, ∞)` (a value equal to an edge falls in the bin below it).
//! 2. `pᵢ` and `cᵢ` are the shares of the reference and current samples in bin `i`, each
//!    floored at [`PSI_FLOOR`] so that an empty bin gives a large finite term, not infinity.
//! 3. `PSI = Σᵢ (cᵢ − pᵢ) ln(cᵢ / pᵢ)`.
//!
//! Rule of thumb: below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a major one.

/// The floor of a bin's share (an empty bin counts as this share).
pub const PSI_FLOOR: f64 = 1e-4;

/// Number of bins before duplicate edges are merged.
pub const PSI_BINS: usize = 10;

/// The population stability index of `current` against `reference` (see the module docs);
/// `None` when either is empty or holds a NaN.
///
/// ```
/// use whyline_forensics::psi;
/// let reference: Vec<f64> = (0..1000).map(|i| i as f64).collect();
/// assert!(psi(&reference, &reference).unwrap().abs() < 1e-12);
/// let shifted: Vec<f64> = reference.iter().map(|v| v + 500.0).collect();
/// assert!(psi(&reference, &shifted).unwrap() > 0.25);
/// ```
pub fn psi(reference: &[f64], current: &[f64]) -> Option<f64> {
    if reference.is_empty()
        || current.is_empty()
        || reference.iter().chain(current).any(|v| v.is_nan())
    {
        return None;
    }
    let mut sorted = reference.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..PSI_BINS)
        .map(|i| quantile(&sorted, i as f64 / PSI_BINS as f64))
        .collect();
    edges.dedup();
    let shares = |sample: &[f64]| {
        let mut counts = vec![0usize; edges.len() + 1];
        for v in sample {
            // The first edge ≥ v: numpy's searchsorted(edges, v, side='left').
            let bin = edges.partition_point(|e| e < v);
            if let Some(c) = counts.get_mut(bin) {
                *c += 1;
            }
        }
        counts
            .into_iter()
            .map(|c| (c as f64 / sample.len() as f64).max(PSI_FLOOR))
            .collect::<Vec<f64>>()
    };
    let (p, c) = (shares(reference), shares(current));
    Some(p.iter().zip(&c).map(|(p, c)| (c - p) * (c / p).ln()).sum())
}

/// The `q`-quantile of a sorted sample by linear interpolation, formed as numpy's default
/// `np.quantile` forms it (position `(n − 1)q`, then `a + (b − a)t`, or `b − (b − a)(1 − t)`
/// from `t = ½` on) so that the edges agree to the bit.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let Some(&last) = sorted.last() else {
        return f64::NAN;
    };
    let position = (n - 1) as f64 * q;
    if position >= (n - 1) as f64 {
        return last;
    }
    let below = position.floor().max(0.0);
    let t = position - below;
    let below = below as usize;
    let a = sorted.get(below).copied().unwrap_or(last);
    let b = sorted.get(below + 1).copied().unwrap_or(last);
    let difference = b - a;
    if t >= 0.5 {
        b - difference * (1.0 - t)
    } else {
        a + difference * t
    }
}
