//! The distribution of the one-sample two-sided Kolmogorov statistic `Dₙ` for finite `n`
//! (scipy's `kstwo`, after Simard and L'Ecuyer, "Computing the two-sided
//! Kolmogorov–Smirnov distribution", J. Stat. Software 39(11), 2011), which the asymptotic
//! two-sample p-value evaluates at the effective sample size.
//!
//! `P(Dₙ ≥ x)` picks, as scipy does, among:
//! - Ruben–Gambino's closed forms near the ends (`nx ≤ 1`, `nx ≥ n − 1`);
//! - twice the one-sided Smirnov tail (Birnbaum–Tingey's exact sum) where the two one-sided
//!   events cannot both happen (`x ≥ ½`) or where doubling is exact to double precision
//!   (`n x² ≥ 2.2` for `n > 140`, `> 4` for smaller `n`);
//! - Durbin's matrix method in Marsaglia–Tsang–Wang's form, Pomeranz's recursion, or the
//!   Pelz–Good asymptotic series for the body, by the same thresholds on `n`, `nx²` and
//!   `n x^{3/2}`.

const E128: i32 = 128;
const PI2: f64 = std::f64::consts::PI * std::f64::consts::PI;

fn two_pow(e: i32) -> f64 {
    f64::powi(2.0, e)
}

/// `P(Dₙ ≥ x)` for the two-sided one-sample Kolmogorov statistic of `n` values.
pub(crate) fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        // P(Dₙ < x) = n! / nⁿ (2t − 1)ⁿ for 1/(2n) ≤ x ≤ 1/n.
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (log_factorial_over_power(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nx2 = t * x;
    let cdf = if n <= 140 {
        if nx2 <= 0.754693 {
            durbin_cdf(n, x)
        } else if nx2 <= 4.0 {
            pomeranz_cdf(n, x)
        } else {
            return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
        }
    } else {
        if nx2 >= 370.0 {
            return 0.0;
        }
        if nx2 >= 2.2 {
            return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
        }
        if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
            durbin_cdf(n, x)
        } else {
            pelz_good_cdf(nf, x)
        }
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// `ln(n! / nⁿ)` by Stirling's series.
fn log_factorial_over_power(n: f64) -> f64 {
    // B₂ₖ / (2k(2k − 1)), highest order first.
    const COEFFICIENTS: [f64; 8] = [
        -3617.0 / 122_400.0,
        1.0 / 156.0,
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
        1.0 / 12.0,
    ];
    let r = 1.0 / n;
    let series = COEFFICIENTS.iter().fold(0.0, |acc, c| acc * (r / n) + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + r * series
}

/// The one-sided Smirnov tail `P(Dₙ⁺ ≥ x)` by Birnbaum and Tingey's exact sum
/// `x Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) (1 − x − j/n)^{n−j} (x + j/n)^{j−1}`, whose terms are all
/// positive; each is formed in logarithms (with `nx` split exactly into its integer and
/// fractional parts) and the sum is scaled by its largest term.
pub(crate) fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nx = nf * x;
    let residual = nf.mul_add(x, -nx);
    let mut floor = nx.floor();
    let mut alpha = (nx - floor) + residual;
    if alpha < 0.0 {
        floor -= 1.0;
        alpha += 1.0;
    } else if alpha >= 1.0 {
        floor += 1.0;
        alpha -= 1.0;
    }
    let terms = (nf - floor) as u64;
    let mut logs = Vec::with_capacity(terms as usize + 1);
    let mut log_binomial = 0.0f64;
    for j in 0..=terms {
        let jf = j as f64;
        let remaining = nf - floor - jf - alpha; // n(1 − x) − j
        if remaining > 0.0 || j == n {
            let low = if j == n {
                0.0
            } else {
                (nf - jf) * (remaining / nf).ln()
            };
            let high = (jf - 1.0) * ((floor + jf + alpha) / nf).ln();
            logs.push(log_binomial + low + high + x.ln());
        }
        log_binomial += (nf - jf).ln() - (jf + 1.0).ln();
    }
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return 0.0;
    }
    let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
    (top.exp() * sum).clamp(0.0, 1.0)
}

/// `P(Dₙ < x)` by Durbin's matrix: the `(k, k)` entry of `Hⁿ` times `n!/nⁿ`, with
/// `k = ⌈nx⌉`, powers of two carried apart so nothing overflows.
fn durbin_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let nd = nf * x;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    // 1/i! for i = 0..m, and v_i = (1 − h^{i+1}) / (i+1)!.
    let mut inverse_factorial = vec![1.0f64; m + 1];
    for i in 1..=m {
        inverse_factorial[i] = inverse_factorial[i - 1] / i as f64;
    }
    let mut v: Vec<f64> = (0..m)
        .map(|i| (1.0 - h.powi(i as i32 + 1)) * inverse_factorial[i + 1])
        .collect();
    let corner = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + corner) * inverse_factorial[m];
    let mut matrix = vec![0.0f64; m * m];
    for r in 0..m {
        for c in 1..m {
            if r + 1 >= c {
                matrix[r * m + c] = inverse_factorial[r + 1 - c];
            }
        }
        matrix[r * m] = v[r];
    }
    for c in 0..m {
        matrix[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut power = identity(m);
    let (mut exponent, mut matrix_exponent) = (0i32, 0i32);
    let mut remaining = n;
    while remaining > 0 {
        if remaining % 2 == 1 {
            power = multiply(&power, &matrix, m);
            exponent += matrix_exponent;
        }
        matrix = multiply(&matrix, &matrix, m);
        matrix_exponent *= 2;
        if matrix[(k - 1) * m + (k - 1)].abs() > two_pow(E128) {
            for value in &mut matrix {
                *value /= two_pow(E128);
            }
            matrix_exponent += E128;
        }
        remaining /= 2;
    }
    let mut p = power[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < two_pow(-E128) {
            p *= two_pow(E128);
            exponent -= E128;
        }
    }
    p * two_pow_wide(exponent)
}

/// `2^e` for exponents beyond `powi`'s comfortable range, as a product of exact steps.
fn two_pow_wide(mut e: i32) -> f64 {
    let mut scale = 1.0;
    while e > 1000 {
        scale *= two_pow(1000);
        e -= 1000;
    }
    while e < -1000 {
        scale *= two_pow(-1000);
        e += 1000;
    }
    scale * two_pow(e)
}

fn identity(m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        out[i * m + i] = 1.0;
    }
    out
}

fn multiply(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * m];
    for i in 0..m {
        for l in 0..m {
            let a_il = a[i * m + l];
            if a_il == 0.0 {
                continue;
            }
            for j in 0..m {
                out[i * m + j] += a_il * b[l * m + j];
            }
        }
    }
    out
}

/// The interval of row `i` of Pomeranz's recursion.
fn pomeranz_bounds(i: usize, n: i64, ll: i64, ceil_f: i64, round_f: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceil_f - 1, ll + ceil_f - 1)
    } else {
        let half = (i as i64 + 1) / 2;
        if (i + 1).is_multiple_of(2) {
            if half == n + 1 {
                (n - ll - ceil_f - 1, n + ll + ceil_f - 1)
            } else {
                (half - 1 - ll - round_f - 1, half + ll - 1 + ceil_f - 1)
            }
        } else {
            (half - 1 - ll - 1, half + ll + round_f - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(Dₙ < x)` by Pomeranz's recursion (1974) over the `2n + 2` points where the band's
/// edges cross the lattice, rows rescaled by powers of two.
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let ni = n as i64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceil_f = i64::from(f > 0.0);
    let round_f = i64::from(f > 0.5);
    let powers = 2 * (ll as usize + 1);
    // (g/n)^m/m!, (2g/n)^m/m!, ((1 − 2g)/n)^m/m!
    let mut g_power = vec![1.0f64; powers];
    let mut two_g_power = vec![1.0f64; powers];
    let mut rest_power = vec![1.0f64; powers];
    for m in 1..powers {
        let mf = m as f64;
        g_power[m] = g_power[m - 1] * (g / nf) / mf;
        two_g_power[m] = two_g_power[m - 1] * (2.0 * g / nf) / mf;
        rest_power[m] = rest_power[m - 1] * ((1.0 - 2.0 * g) / nf) / mf;
    }
    let mut previous = vec![0.0f64; powers];
    let mut current = vec![0.0f64; powers];
    current[0] = 1.0;
    let (mut previous_start, mut current_start) = (0i64, 0i64);
    let mut exponent = 0i32;
    let (mut j1, mut j2);
    (j1, _) = pomeranz_bounds(0, ni, ll, ceil_f, round_f);
    for i in 1..(2 * n as usize + 2) {
        let k1 = j1;
        std::mem::swap(&mut previous, &mut current);
        std::mem::swap(&mut previous_start, &mut current_start);
        current.iter_mut().for_each(|v| *v = 0.0);
        (j1, j2) = pomeranz_bounds(i, ni, ll, ceil_f, round_f);
        let weights = if i == 1 || i == 2 * n as usize + 1 {
            &g_power
        } else if i % 2 == 1 {
            &two_g_power
        } else {
            &rest_power
        };
        let width = j2 - k1 + 1;
        if width > 0 {
            let width = width as usize;
            let from = (k1 - previous_start) as usize;
            let source = &previous[from..(from + width).min(previous.len())];
            let skip = (j1 - k1) as usize;
            let count = (j2 - j1 + 1) as usize;
            // Entries skip..skip+count of the full convolution of source with weights[..width].
            for (out, index) in current.iter_mut().zip(skip..skip + count) {
                let mut sum = 0.0;
                for (a, s) in source.iter().enumerate() {
                    if a <= index
                        && let Some(w) = weights.get(index - a).filter(|_| index - a < width)
                    {
                        sum += s * w;
                    }
                }
                *out = sum;
            }
            let top = current.iter().copied().fold(0.0f64, f64::max);
            if top > 0.0 && top < two_pow(-E128) {
                current.iter_mut().for_each(|v| *v *= two_pow(E128));
                exponent -= E128;
            }
            current_start = previous_start + j1 - k1;
        }
    }
    let mut answer = current
        .get((ni - current_start) as usize)
        .copied()
        .unwrap_or(0.0);
    for m in 1..=n {
        if answer.abs() > two_pow(E128) {
            answer *= two_pow(-E128);
            exponent += E128;
        }
        answer *= m as f64;
    }
    answer * two_pow_wide(exponent)
}

/// `P(Dₙ < x)` by the Pelz–Good series: Li-Chien and Korolyuk's expansion
/// `K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2}` at `z = x√n`, each term rewritten with
/// Jacobi theta functions so it converges for small `z`.
fn pelz_good_cdf(n: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let pi = std::f64::consts::PI;
    let sqrt_2pi = (2.0 * pi).sqrt();
    let z = n.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let q_log = -PI2 / 8.0 / z2;
    if q_log < -708.0 {
        return 0.0;
    }
    let q = q_log.exp();
    let (pi4, pi6) = (PI2 * PI2, PI2 * PI2 * PI2);
    let k1a = -z2;
    let k1b = PI2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * PI2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = PI2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let max_k = (16.0 * z / pi).ceil() as i64;
    for kk in (1..=max_k).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let q_power = q.powf(8.0 * kk as f64);
        let coefficients = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (value, c) in k.iter_mut().zip(coefficients) {
            *value = *value * q_power + c;
        }
    }
    let divisors = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (value, d) in k.iter_mut().zip(divisors) {
        *value = *value * q * sqrt_2pi / d;
    }
    let q = (-PI2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut extra2, mut extra3) = (0.0, 0.0);
    for kk in (1..=max_k).rev() {
        let kf = kk as f64;
        let k2 = kf * kf;
        let q_power = q.powf(k2);
        extra2 += k2 * q_power;
        let kpi = pi * kf;
        extra3 += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * q_power;
    }
    k[2] += extra2 * PI2 * sqrt_2pi / (-36.0 * z3);
    k[3] += extra3 * PI2 * sqrt_2pi / (216.0 * z6);
    for (i, value) in k.iter_mut().enumerate() {
        *value /= n.powf(i as f64 / 2.0);
    }
    k.iter().sum::<f64>()
}
