//! The standard normal distribution for LIME's sampler: its CDF `Φ`, its quantile function
//! `Φ⁻¹`, and draws from a normal truncated to an interval by inversion.
//!
//! Written here because `std` has no `erf` and the crate needs only these three
//! functions; both are checked against `scipy.stats.norm` in `tests/lime.rs`.
//!
//! - `Φ(x)` for `x ≤ 0`: Marsaglia's series `½ + φ(x) Σ x^(2n+1)/(2n+1)!!` for `x > −5`,
//!   the continued fraction of the Mills ratio below; `Φ(x) = 1 − Φ(−x)` above 0. Relative
//!   error below 1e-9 everywhere, much better near the centre.
//! - `Φ⁻¹(p)`: Acklam's rational approximation (relative error below 1.2e-9), without the
//!   refinement step: the values are sample points, not reported numbers.

/// `1/√(2π)`.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal density.
pub(crate) fn density(x: f64) -> f64 {
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// The standard normal CDF.
pub(crate) fn cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 0.0 {
        return 1.0 - lower_cdf(-x);
    }
    lower_cdf(x)
}

/// `Φ(x)` for `x ≤ 0`, with relative precision in the tail.
fn lower_cdf(x: f64) -> f64 {
    if x < -38.5 {
        return 0.0;
    }
    if x > -5.0 {
        // Marsaglia (2004): Φ(x) = ½ + φ(x) (x + x³/3 + x⁵/(3·5) + …).
        let x2 = x * x;
        let mut term = x;
        let mut sum = x;
        let mut n = 1.0;
        while n < 400.0 {
            n += 2.0;
            term *= x2 / n;
            let next = sum + term;
            if next == sum {
                break;
            }
            sum = next;
        }
        return 0.5 + density(x) * sum;
    }
    // Mills ratio R(t) = (1 − Φ(t))/φ(t) = 1/(t + 1/(t + 2/(t + 3/(t + …)))), evaluated
    // from the bottom; 60 levels reach double precision for t ≥ 5.
    let t = -x;
    let mut fraction = t;
    for k in (1..=60).rev() {
        fraction = t + f64::from(k) / fraction;
    }
    density(x) / fraction
}

/// The standard normal quantile function (Acklam's algorithm), for `0 < p < 1`; 0 and 1
/// map to the infinities. The central polynomials are evaluated by Estrin's scheme (short
/// dependency chains: this runs 100,000 times per explanation).
#[inline]
pub(crate) fn quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const LOW: f64 = 0.024_25;
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        let r2 = r * r;
        let r4 = r2 * r2;
        let numerator = (A[0] * r + A[1]) * r4 + (A[2] * r + A[3]) * r2 + (A[4] * r + A[5]);
        let denominator = (B[0] * r + B[1]) * r4 + (B[2] * r + B[3]) * r2 + (B[4] * r + 1.0);
        numerator * q / denominator
    }
}

/// A normal `N(mean, std²)` truncated to `[low, high]`, drawn by inversion:
/// `z = Φ⁻¹(Φ(a) + u (Φ(b) − Φ(a)))` on the standardised interval `[a, b]`, reflected to
/// the lower half-line when `a > 0` so the CDF values keep their precision.
#[derive(Clone, Debug)]
pub(crate) struct TruncatedNormal {
    /// `Φ(a)`, `Φ(b) − Φ(a)` on the (possibly reflected) standardised interval.
    p_low: f64,
    p_width: f64,
    a: f64,
    b: f64,
    /// `mean`, and `±std` (negative when reflected).
    mean: f64,
    signed_std: f64,
    low: f64,
    high: f64,
}

impl TruncatedNormal {
    /// `std` must be positive and `low ≤ high`; the caller guarantees both.
    pub(crate) fn new(mean: f64, std: f64, low: f64, high: f64) -> TruncatedNormal {
        let (mut a, mut b) = ((low - mean) / std, (high - mean) / std);
        let reflected = a > 0.0;
        if reflected {
            (a, b) = (-b, -a);
        }
        let p_low = cdf(a);
        TruncatedNormal {
            p_low,
            p_width: cdf(b) - p_low,
            a,
            b,
            mean,
            signed_std: if reflected { -std } else { std },
            low,
            high,
        }
    }

    /// Whether the interval has probability mass in double precision (an interval far in
    /// a tail may not; the caller samples it uniformly instead).
    pub(crate) fn has_mass(&self) -> bool {
        self.p_width > 0.0
    }

    /// The value at probability `u` in `[0, 1]` of the truncated distribution, within
    /// `[low, high]`.
    pub(crate) fn inverse(&self, u: f64) -> f64 {
        let z = quantile(self.p_low + u * self.p_width).clamp(self.a, self.b);
        (self.mean + self.signed_std * z).clamp(self.low, self.high)
    }

    /// The derivative of [`inverse`](Self::inverse) at `u`: `±std (Φ(b) − Φ(a)) / φ(z)`.
    pub(crate) fn inverse_slope(&self, u: f64) -> f64 {
        let z = quantile(self.p_low + u * self.p_width).clamp(self.a, self.b);
        let slope = self.signed_std * self.p_width / density(z);
        if slope.is_finite() { slope } else { 0.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_and_quantile_invert_each_other() {
        for i in 1..200 {
            let p = f64::from(i) / 200.0;
            let x = quantile(p);
            assert!((cdf(x) - p).abs() < 2e-8 * p.min(1.0 - p), "p {p}");
        }
    }

    /// scipy.stats.norm's cdf and ppf on grids (`tests/fixtures/normal.lime.json`).
    #[test]
    fn cdf_and_quantile_match_scipy() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/normal.lime.json"
        );
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let floats = |key: &str| -> Vec<f64> {
            doc[key].as_array().map_or_else(Vec::new, |a| {
                a.iter().filter_map(serde_json::Value::as_f64).collect()
            })
        };
        let (x, expected) = (floats("x"), floats("cdf"));
        assert!(!x.is_empty() && x.len() == expected.len());
        for (x, e) in x.iter().zip(&expected) {
            // Relative to the smaller tail, where the sampler works.
            let tail = e.min(1.0 - e).max(f64::MIN_POSITIVE);
            let ours = cdf(*x);
            assert!(
                (ours - e).abs() <= 1e-9 * tail,
                "cdf({x}): ours {ours} scipy {e}"
            );
        }
        let (p, expected) = (floats("p"), floats("ppf"));
        assert!(!p.is_empty() && p.len() == expected.len());
        for (p, e) in p.iter().zip(&expected) {
            let ours = quantile(*p);
            assert!(
                (ours - e).abs() <= 2e-9 * e.abs().max(1.0),
                "ppf({p}): ours {ours} scipy {e}"
            );
        }
    }

    #[test]
    fn truncated_draws_stay_in_the_interval() {
        for (mean, std, low, high) in [
            (0.0, 1.0, -0.5, 0.5),
            (10.0, 0.1, 12.0, 13.0),
            (0.0, 1.0, -30.0, -29.0),
        ] {
            let t = TruncatedNormal::new(mean, std, low, high);
            for i in 0..=100 {
                let v = t.inverse(f64::from(i) / 100.0);
                assert!((low..=high).contains(&v), "{v} outside [{low}, {high}]");
            }
        }
    }
}
