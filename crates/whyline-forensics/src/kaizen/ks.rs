//! The two-sample Kolmogorov–Smirnov test, with the p-value scipy's `ks_2samp` gives by
//! default (`alternative='two-sided'`, `method='auto'`, scipy 1.17).
//!
//! The statistic is `D = max |F₁(x) − F₂(x)|` over every observed `x`, the empirical CDFs
//! counting values `≤ x` (ties in and across the samples are handled by evaluating both CDFs
//! at each distinct value). The p-value:
//!
//! - **exact** when both samples hold at most 10 000 values: `D` is snapped to the lattice
//!   `h / lcm(n₁, n₂)`, and `P(D ≥ h / lcm)` under the null is the share of monotone lattice
//!   paths from `(0, 0)` to `(n₁, n₂)` that leave the band `|x/n₁ − y/n₂| < h / lcm`. Equal
//!   sizes use the alternating reflection series of Gnedenko–Korolyuk, summed in Horner form;
//!   unequal sizes use Hodges' inside method with Viehmann's recursion for `1 − p` (each cell
//!   holds the probability that a path to it has already left the band, so the numbers stay
//!   in `[0, 1]`). Should the exact sum fail (not finite, or outside `[0, 1]`), the
//!   asymptotic one is used, as scipy does.
//! - **asymptotic** otherwise: the one-sample Kolmogorov distribution's survival function
//!   `P(Dₙ ≥ D)` at the effective size `n = round(n₁n₂ / (n₁ + n₂))`
//!   ([`kolmogorov_sf`](super::kolmogorov::kolmogorov_sf), scipy's `kstwo.sf`).

use serde::Serialize;

use super::kolmogorov::kolmogorov_sf;

/// Beyond this many values in either sample, the p-value is asymptotic (scipy's
/// `MAX_AUTO_N`).
pub const KS_EXACT_MAX_N: usize = 10_000;

/// How a [`KsTest`]'s p-value was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// The exact null distribution of the two-sample statistic.
    Exact,
    /// The one-sample Kolmogorov distribution at the effective sample size.
    Asymptotic,
}

/// The result of a two-sample Kolmogorov–Smirnov test.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KsTest {
    /// `max |F₁ − F₂|` (on the lattice `h / lcm(n₁, n₂)` when exact).
    pub statistic: f64,
    /// The two-sided p-value.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: KsMethod,
}

/// The two-sample Kolmogorov–Smirnov test of `a` against `b` (two-sided, scipy's
/// `method='auto'`); `None` when either sample is empty or holds a NaN.
///
/// ```
/// use whyline_forensics::ks_2samp;
/// let same = ks_2samp(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap();
/// assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
/// let apart = ks_2samp(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]).unwrap();
/// assert_eq!(apart.statistic, 1.0);
/// assert!((apart.p_value - 2.0 / 70.0).abs() < 1e-15); // 2 of C(8, 4) orderings
/// ```
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsTest> {
    if a.is_empty() || b.is_empty() || a.iter().chain(b).any(|v| v.is_nan()) {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n1, n2) = (a.len(), b.len());
    let (below, above) = extreme_differences(&a, &b);
    // The larger deviation; a tie goes to F₁ − F₂ (scipy's choice, irrelevant to the value).
    let d = if below > above { below } else { above };
    if n1.max(n2) <= KS_EXACT_MAX_N
        && let Some((statistic, p_value)) = exact(n1 as u64, n2 as u64, d)
    {
        return Some(KsTest {
            statistic,
            p_value,
            method: KsMethod::Exact,
        });
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let effective = (m * n / (m + n)).round_ties_even();
    Some(KsTest {
        statistic: d,
        p_value: kolmogorov_sf(effective as u64, d).clamp(0.0, 1.0),
        method: KsMethod::Asymptotic,
    })
}

/// `(max(F₂ − F₁) clipped at 0, max(F₁ − F₂))` over the values of both sorted samples.
fn extreme_differences(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut lowest, mut highest) = (f64::INFINITY, f64::NEG_INFINITY);
    while i < a.len() || j < b.len() {
        // The next distinct value, and both CDFs just after it.
        let x = match (a.get(i), b.get(j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&u| u <= x) {
            i += 1;
        }
        while b.get(j).is_some_and(|&v| v <= x) {
            j += 1;
        }
        let difference = i as f64 / n1 - j as f64 / n2;
        lowest = lowest.min(difference);
        highest = highest.max(difference);
    }
    ((-lowest).clamp(0.0, 1.0), highest)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The exact two-sided p-value: `(D on the lattice, P(D' ≥ D))`, `None` when the sum failed.
fn exact(n1: u64, n2: u64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 {
        outside_square(n1, h)
    } else {
        outside_band(n1, n2, g, h)
    };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some((d, p))
}

/// `P(D_{n,n} ≥ h/n)` = `2 Σ_{k≥1} (−1)^{k−1} C(2n, n−kh) / C(2n, n)`, each ratio a product of
/// `h` factors, nested as `2 A₁(1 − A₂(1 − A₃(…)))` so that no difference of large terms
/// is ever taken.
fn outside_square(n: u64, h: u64) -> f64 {
    let n_f = n as f64;
    let mut p = 0.0;
    let mut k = n / h;
    loop {
        // A_k = C(2n, n − kh) / C(2n, n − (k−1)h): h factors (n − kh − j) / (n + kh + j + 1).
        let kh = (k * h) as f64;
        let mut ratio = 1.0;
        for j in 0..h {
            let j = j as f64;
            ratio = (n_f - kh - j) * ratio / (n_f + kh + j + 1.0);
        }
        p = ratio * (1.0 - p);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    2.0 * p
}

/// `P(D_{m,n} ≥ h / lcm)` for `m ≠ n`: the share of lattice paths from `(0, 0)` to `(m, n)`
/// that touch `|x·n/g − y·m/g| ≥ h`, by columns. `u(x, y)` is the probability that a uniform
/// random path to `(x, y)` has already left the band: 1 outside it, and inside
/// `u(x, y) = (x·u(x−1, y) + y·u(x, y−1)) / (x + y)` (a path to `(x, y)` came from the left
/// with probability `x / (x + y)`). Only the band's cells of the current column are kept.
fn outside_band(m: u64, n: u64, g: u64, h: u64) -> f64 {
    // Symmetric in m and n: walk the longer side.
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = ((m / g) as f64, (n / g) as f64);
    let hf = h as f64;
    let n_us = n as usize;
    // Column x = 0: rows y < lo are inside the band (and 0), rows from `hi` are outside (1).
    let mut lo = 0usize;
    let mut hi = ((hf / mg).ceil() as usize).min(n_us + 1);
    let mut column = vec![1.0f64; (2 * hi + 2).min(n_us + 1).max(hi)];
    for cell in column.iter_mut().take(hi) {
        *cell = 0.0;
    }
    let mut len = hi - lo;
    for x in 1..=m {
        let (last_lo, last_len) = (lo, len);
        let xf = x as f64;
        // Rows inside the band at column x: (ng·x − h)/mg < y < (ng·x + h)/mg.
        lo = ((((ng * xf - hf) / mg).floor() + 1.0).max(0.0) as usize).min(n_us);
        hi = (((ng * xf + hf) / mg).ceil() as usize).min(n_us + 1);
        if hi <= lo {
            return 1.0;
        }
        let needed = hi - lo + last_len;
        if column.len() < needed {
            column.resize(needed, 1.0);
        }
        // The cell below the window: outside the band (1) unless it is row 0's boundary.
        let mut below = if lo == 0 { 0.0 } else { 1.0 };
        for offset in 0..hi - lo {
            let y = lo + offset;
            let left = column.get(y - last_lo).copied().unwrap_or(1.0);
            below = (left * xf + below * y as f64) / (xf + y as f64);
            if let Some(cell) = column.get_mut(offset) {
                *cell = below;
            }
        }
        len = hi - lo;
        // Cells the previous column held above the new window are outside the band.
        for cell in column
            .iter_mut()
            .skip(len)
            .take(last_len.saturating_sub(len))
        {
            *cell = 1.0;
        }
    }
    column.get(len.wrapping_sub(1)).copied().unwrap_or(1.0)
}
