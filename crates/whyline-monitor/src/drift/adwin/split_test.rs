//! ADWIN's split test: river's, and the pre-test that rules most split points out without
//! a division or a root.

use super::Adwin;

/// Relative slack of [`SplitTest::certainly_not`], a million times the rounding it covers.
const SLACK: f64 = 1e-9;

/// The split test of one scan: `|μ0 - μ1| > ε` for `n0` items of sum `u0` (older side) and
/// `n1` items of sum `u1` (newer side).
pub(super) struct SplitTest {
    pub(super) min_length: f64,
    delta_prime: f64,
    /// Window variance per item, `σ²_W`.
    window_variance: f64,
    /// `(2/3) δ'`, rounded as river rounds it.
    linear_coefficient: f64,
    /// For the pre-test: `min_length - 1`; and, with `sides = a + b` (the same integer at
    /// every point of a scan, `|W| - 2 min_length + 2`), `(2/3) δ' (1 - 2 SLACK) sides` and
    /// `2 σ² δ' (1 - 3 SLACK) sides` (the `1 + SLACK` of the left side divided out:
    /// `1 - 2s <= (1 - s) / (1 + s)` and `1 - 3s <= (1 - s) / (1 + s)²`).
    below_min: f64,
    /// `SLACK |W|`: the rounding allowance of the cancelling difference is taken against
    /// `(|u0| + |u1|) |W| >= |u0| n1 + |u1| n0`, one product fewer per point.
    slack_width: f64,
    pretest_linear: f64,
    pretest_quadratic: f64,
}

impl SplitTest {
    /// The constants of a scan; river recomputes them at every split point from the same
    /// inputs, so computing them once gives the same bits.
    #[inline]
    pub(super) fn new(adwin: &Adwin) -> Self {
        let delta_prime = (2.0 * adwin.width.ln() / adwin.delta).ln();
        let window_variance = adwin.variance / adwin.width;
        let linear_coefficient = 2.0 / 3.0 * delta_prime;
        let min_length = adwin.min_window_length;
        let sides = (adwin.width - min_length + 1.0) - min_length + 1.0;
        Self {
            min_length,
            delta_prime,
            window_variance,
            linear_coefficient,
            below_min: min_length - 1.0,
            slack_width: SLACK * adwin.width,
            pretest_linear: linear_coefficient * (1.0 - 2.0 * SLACK) * sides,
            pretest_quadratic: 2.0 * window_variance * delta_prime * (1.0 - 3.0 * SLACK) * sides,
        }
    }

    /// river's test, in river's order of operations.
    #[inline]
    pub(super) fn exact(&self, n0: f64, n1: f64, u0: f64, u1: f64) -> bool {
        let mean_gap = (u0 / n0) - (u1 / n1);
        let m_recip = 1.0 / (n0 - self.min_length + 1.0) + 1.0 / (n1 - self.min_length + 1.0);
        let linear = self.linear_coefficient * m_recip;
        let epsilon = (2.0 * m_recip * self.window_variance * self.delta_prime).sqrt() + linear;
        mean_gap.abs() > epsilon
    }

    /// `true` only when [`exact`](Self::exact) is certainly `false`; four divisions and a
    /// square root cheaper.
    ///
    /// With `a = n0 - min + 1`, `b = n1 - min + 1`, `P = n0 n1`, `K = a b`, the exact test is
    /// `|u0 n1 - u1 n0| / P > c (a + b) / K + sqrt(2 σ² δ' (a + b) / K)` (`c = 2δ'/3`).
    /// Multiplied through by `P K`, with the left side rounded up and the right side rounded
    /// down by [`SLACK`] (relative, and relative to the sums' magnitude for the cancelling
    /// difference), it needs no division and, squared, no root:
    ///
    /// ```text
    /// e = (|u0 n1 - u1 n0| + s (|u0| n1 + |u1| n0)) K (1 + s) - c (a + b) P (1 - s)
    /// no split if e <= 0, or if e² < 2 σ² δ' (a + b) K P² (1 - s) and that bound is finite
    /// ```
    ///
    /// The slack `s = 1e-9` is more than a million times the rounding error of either form
    /// (a few units of 2^-53), so a split within it of the threshold goes to `exact`, which
    /// decides it as river does. Overflow (inputs near `f64::MAX`) makes `e` infinite or NaN
    /// and the bound infinite, and both then fail to conclude; underflow only shrinks terms
    /// that are negligible against `c (a + b) P >= 0.2`. The form computed is `e / (1 + s)`
    /// against the bound over `(1 + s)²` (both folded into the constants, a little lower),
    /// `a + b`, the same integer at every point of a scan, is folded into them too, and the
    /// cancelling difference's allowance is taken against `(|u0| + |u1|) (n0 + n1)`, which
    /// is larger.
    #[inline]
    pub(super) fn certainly_not(&self, n0: f64, n1: f64, u0: f64, u1: f64) -> bool {
        let a = n0 - self.below_min;
        let b = n1 - self.below_min;
        let k = a * b;
        let p = n0 * n1;
        let cross = (u0 * n1 - u1 * n0).abs();
        let allowance = (u0.abs() + u1.abs()) * self.slack_width;
        // `e / (1 + s)`, against constants a little lower than the bound's over `1 + s` and
        // `(1 + s)²` (see `below_min`): it concludes only where `e` does.
        let excess = (cross + allowance) * k - self.pretest_linear * p;
        if excess <= 0.0 {
            return true;
        }
        let bound = self.pretest_quadratic * k * p * p;
        bound.is_finite() && excess * excess < bound
    }
}

#[cfg(test)]
mod tests {
    use crate::drift::AdwinConfig;
    use crate::error::MonitorError;

    use super::Adwin;

    /// Windows of every scale, from a deterministic generator: the pre-test never changes
    /// the scan's answer.
    #[test]
    fn pretest_never_changes_the_split_decision() -> Result<(), MonitorError> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f64::from(u32::try_from(state >> 32).unwrap_or(0)) / 4_294_967_296.0
        };
        let (mut decisions, mut splits) = (0, 0);
        for (offset, scale) in [
            (0.0, 1.0),
            (1e6, 1e-3),
            (0.0, 1e-300),
            (-1e150, 1e148),
            (3.0, 0.0),
        ] {
            for shift in [0.0, 0.05, 0.3, 2.0] {
                let config = AdwinConfig {
                    clock: 1,
                    ..AdwinConfig::default()
                };
                let mut adwin = Adwin::new(config)?;
                for i in 0..6000 {
                    let jump = if i >= 3000 { shift * scale } else { 0.0 };
                    let x = offset + scale * (uniform() - 0.5) + jump;
                    adwin.insert(x);
                    let fast = adwin.find_split_with(true);
                    assert_eq!(
                        fast,
                        adwin.find_split_with(false),
                        "offset {offset} scale {scale} i {i}"
                    );
                    decisions += 1;
                    if fast {
                        splits += 1;
                        adwin.delete_oldest_bucket();
                    }
                }
            }
        }
        assert!(
            splits > 100 && splits < decisions / 2,
            "{splits} splits of {decisions}"
        );
        Ok(())
    }
}
