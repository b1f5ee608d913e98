//! Gauss–Legendre quadrature on `[0, 1]`, computed once per point count by Newton's method
//! on the Legendre polynomials (deterministic: the same bits on every run).
//!
//! TreeSHAP uses it to integrate the Shapley weights exactly: a path of `d` distinct
//! features gives a polynomial of degree `d − 1`, which `⌈d/2⌉` points integrate exactly.
//! Integrated gradients uses it for the path integral.

use std::sync::OnceLock;

/// Largest point count kept in the shared table; larger counts are computed on demand.
const TABLE: usize = 64;

/// Nodes and weights of an `n`-point rule on `[0, 1]`, nodes increasing.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rule {
    pub(crate) nodes: Vec<f64>,
    pub(crate) weights: Vec<f64>,
}

fn table() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| (0..=TABLE).map(compute).collect())
}

/// The `n`-point rule (n ≥ 1; n = 0 gives the empty rule).
pub(crate) fn rule(n: usize) -> std::borrow::Cow<'static, Rule> {
    match table().get(n) {
        Some(rule) => std::borrow::Cow::Borrowed(rule),
        None => std::borrow::Cow::Owned(compute(n)),
    }
}

/// Newton iteration on `P_n` from Chebyshev-like starting points, then mapped to `[0, 1]`.
fn compute(n: usize) -> Rule {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            let (p, dp) = legendre(n, x);
            derivative = dp;
            let step = p / dp;
            x -= step;
            if step.abs() <= 1e-16 {
                let (_, dp) = legendre(n, x);
                derivative = dp;
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * derivative * derivative);
        // Symmetric pair on [-1, 1] → [0, 1]: t = (1 ± x)/2, weight w/2.
        if let Some(slot) = nodes.get_mut(i) {
            *slot = (1.0 - x) / 2.0;
        }
        if let Some(slot) = weights.get_mut(i) {
            *slot = w / 2.0;
        }
        if let Some(slot) = nodes.get_mut(n - 1 - i) {
            *slot = (1.0 + x) / 2.0;
        }
        if let Some(slot) = weights.get_mut(n - 1 - i) {
            *slot = w / 2.0;
        }
    }
    Rule { nodes, weights }
}

/// `(P_n(x), P_n'(x))` by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    if n == 0 {
        return (1.0, 0.0);
    }
    for k in 2..=n {
        let kf = k as f64;
        let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
        p0 = p1;
        p1 = p2;
    }
    let dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
    (p1, dp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_integrate_polynomials_exactly() {
        for n in 1..=40usize {
            let r = rule(n);
            for degree in 0..(2 * n) {
                let integral: f64 = r
                    .nodes
                    .iter()
                    .zip(&r.weights)
                    .map(|(t, w)| w * t.powi(degree as i32))
                    .sum();
                let exact = 1.0 / (degree as f64 + 1.0);
                assert!(
                    (integral - exact).abs() < 1e-14,
                    "n {n} degree {degree}: {integral} vs {exact}"
                );
            }
        }
    }
}
