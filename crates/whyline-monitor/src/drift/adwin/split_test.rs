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
        let bound = self.pretest_quadratic * k * p * p;
        // Without branches (`|`, `&`), so that a group of points vectorises.
        (excess <= 0.0) | (bound.is_finite() & (excess * excess < bound))
    }
}

/// Split points pre-tested together: a group fills a few vector registers of each sum.
pub(super) const LANES: usize = 8;

/// A group of up to [`LANES`] split points of one scan, oldest first: each point's sizes and
/// sums of both sides.
pub(super) struct SplitPoints {
    /// Points in the group; a full group is replaced by the next push.
    len: usize,
    lanes_n0: [f64; LANES],
    lanes_n1: [f64; LANES],
    lanes_u0: [f64; LANES],
    lanes_u1: [f64; LANES],
}

impl SplitPoints {
    /// An empty group.
    #[inline]
    pub(super) fn new() -> Self {
        Self {
            len: 0,
            lanes_n0: [0.0; LANES],
            lanes_n1: [0.0; LANES],
            lanes_u0: [0.0; LANES],
            lanes_u1: [0.0; LANES],
        }
    }

    /// Adds the point where `n0` items of sum `u0` are older and `n1` of sum `u1` newer (the
    /// caller keeps these running sums in registers); `true` when the group is full.
    #[inline]
    pub(super) fn push(&mut self, n0: f64, n1: f64, u0: f64, u1: f64) -> bool {
        if self.len == LANES {
            self.len = 0;
        }
        let i = self.len;
        if let (Some(lane_n0), Some(lane_n1), Some(lane_u0), Some(lane_u1)) = (
            self.lanes_n0.get_mut(i),
            self.lanes_n1.get_mut(i),
            self.lanes_u0.get_mut(i),
            self.lanes_u1.get_mut(i),
        ) {
            (*lane_n0, *lane_n1, *lane_u0, *lane_u1) = (n0, n1, u0, u1);
        }
        self.len += 1;
        self.len == LANES
    }

    /// Whether the last group was full (and so already tested when its last point came).
    #[inline]
    pub(super) fn group_tested(&self) -> bool {
        self.len == LANES
    }
}

impl SplitTest {
    /// Whether any point of the group passes the exact test, oldest first. With `pretest`, the
    /// whole group goes through [`certainly_not`](Self::certainly_not) first, branch-free over
    /// all lanes (stale lanes past the group's length are computed and ignored).
    #[inline]
    pub(super) fn any_split(&self, points: &SplitPoints, pretest: bool) -> bool {
        let mut open = [true; LANES];
        if pretest {
            for (i, open) in open.iter_mut().enumerate() {
                *open = !self.certainly_not_lane(points, i);
            }
        }
        let len = points.len.min(LANES);
        for i in 0..len {
            let (Some(&n0), Some(&n1), Some(&u0), Some(&u1), Some(&open)) = (
                points.lanes_n0.get(i),
                points.lanes_n1.get(i),
                points.lanes_u0.get(i),
                points.lanes_u1.get(i),
                open.get(i),
            ) else {
                return false;
            };
            if open && n1 >= self.min_length && n0 >= self.min_length && self.exact(n0, n1, u0, u1)
            {
                return true;
            }
        }
        false
    }

    /// [`certainly_not`](Self::certainly_not) of one lane of the group.
    #[inline(always)]
    fn certainly_not_lane(&self, points: &SplitPoints, i: usize) -> bool {
        let get = |lanes: &[f64; LANES]| lanes.get(i).copied().unwrap_or(0.0);
        let (n0, n1, u0, u1) = (
            get(&points.lanes_n0),
            get(&points.lanes_n1),
            get(&points.lanes_u0),
            get(&points.lanes_u1),
        );
        self.certainly_not(n0, n1, u0, u1)
    }
}

#[cfg(test)]
mod tests {
    use crate::drift::AdwinConfig;
    use crate::error::MonitorError;

    use super::Adwin;

    /// The pre-test is sound point by point: wherever it says "certainly not", river's exact
    /// test finds no split, over every split point of a window and mean gaps from far below
    /// the threshold to far above it (so both answers of the exact test occur).
    #[test]
    fn certainly_not_is_never_said_of_a_split() -> Result<(), MonitorError> {
        let mut adwin = Adwin::new(AdwinConfig {
            clock: 1,
            ..AdwinConfig::default()
        })?;
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            adwin.insert((state >> 11) as f64 / (1u64 << 53) as f64);
        }
        let test = super::SplitTest::new(&adwin);
        let width = adwin.width;
        let (mut splits, mut concluded) = (0, 0);
        let mut n0 = test.min_length;
        while n0 <= width - test.min_length {
            let n1 = width - n0;
            for step in 0..60 {
                let gap = 1e-4 * 1.25f64.powi(step);
                for sign in [1.0, -1.0] {
                    let (u0, u1) = (n0 * 0.5, n1 * (0.5 - sign * gap));
                    let exact = test.exact(n0, n1, u0, u1);
                    let pretest = test.certainly_not(n0, n1, u0, u1);
                    assert!(
                        !(pretest && exact),
                        "n0 {n0} n1 {n1} gap {gap}: the pre-test ruled out a split"
                    );
                    splits += usize::from(exact);
                    concluded += usize::from(pretest);
                }
            }
            n0 += 7.0;
        }
        assert!(
            splits > 1000 && concluded > 1000,
            "{splits} splits, {concluded} ruled out"
        );
        // It rules out most points that are not splits: that is what it is for.
        let points = 2 * 60 * ((width - 2.0 * test.min_length) / 7.0 + 1.0).floor() as usize;
        assert!(
            concluded * 10 >= (points - splits) * 9,
            "{concluded} of {} non-splits ruled out",
            points - splits
        );
        // At the threshold itself (the smallest gap the exact test splits at, found by
        // bisection to the last bit), where only the slack keeps the two forms apart.
        for n0 in [
            test.min_length,
            width / 3.0,
            width / 2.0,
            width - test.min_length,
        ] {
            let n1 = width - n0;
            let splits_at = |gap: f64| test.exact(n0, n1, n0 * 0.5, n1 * (0.5 - gap));
            let (mut below, mut above) = (0.0, 1.0);
            while !splits_at(above) {
                below = above;
                above *= 2.0;
            }
            assert!(!splits_at(below));
            for _ in 0..200 {
                let middle = 0.5 * (below + above);
                if middle <= below || middle >= above {
                    break;
                }
                if splits_at(middle) {
                    above = middle;
                } else {
                    below = middle;
                }
            }
            assert!(
                !test.certainly_not(n0, n1, n0 * 0.5, n1 * (0.5 - above)),
                "n0 {n0}: ruled out at the threshold gap {above}"
            );
        }
        Ok(())
    }

    /// Windows of every scale, from a deterministic generator: neither the pre-test nor the
    /// grouping of split points changes the answer of river's point-by-point scan.
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
            // A minimum side of 1 makes the newest points (the last, partial group) matter.
            for (shift, min_window_length) in [0.0, 0.05, 0.3, 2.0]
                .into_iter()
                .flat_map(|shift| [(shift, 5), (shift, 1)])
            {
                let config = AdwinConfig {
                    clock: 1,
                    min_window_length,
                    ..AdwinConfig::default()
                };
                let mut adwin = Adwin::new(config)?;
                for i in 0..6000 {
                    let jump = if i >= 3000 { shift * scale } else { 0.0 };
                    let x = offset + scale * (uniform() - 0.5) + jump;
                    adwin.insert(x);
                    let fast = adwin.find_split_with(true);
                    let reference = adwin.find_split_point_by_point();
                    assert_eq!(
                        fast, reference,
                        "offset {offset} scale {scale} min {min_window_length} i {i}"
                    );
                    assert_eq!(
                        adwin.find_split_with(false),
                        reference,
                        "groups without the pre-test: offset {offset} scale {scale} i {i}"
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
