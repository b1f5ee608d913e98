"""Oracle fixtures for `whyline kaizen`'s drift statistics.

Writes crates/whyline-forensics/tests/fixtures/kaizen/ks_psi.json:
- `ks`: sample pairs with scipy.stats.ks_2samp's default answer (two-sided, method='auto':
  exact while both samples hold at most 10 000 values, asymptotic beyond), statistic and
  p-value at full precision. Sizes 1..5000 for the exact path (equal and unequal sizes, ties
  within and across samples, identical samples, samples far apart) and pairs with one side
  over 10 000 for the asymptotic path at effective sizes from ~20 to ~5000.
- `psi`: pairs with the population stability index as docs/kaizen.md defines it (reference
  deciles by numpy's default np.quantile, bins (-inf, q1], ..., (q9, inf) after removing
  duplicate edges, shares floored at 1e-4, sum of (c - p) ln(c / p)), computed with numpy.
- `clustering`: point sets with scikit-learn's silhouette_score of three labellings each and
  KMeans's inertia (k-means++, n_init=10), which whyline's k-means must reach.

Run with python/.venv-kaizen (requirements-kaizen.txt):
    python/.venv-kaizen/bin/python python/make_kaizen_fixtures.py
"""

import json
import pathlib

import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

OUT = pathlib.Path(__file__).resolve().parent.parent / (
    "crates/whyline-forensics/tests/fixtures/kaizen/ks_psi.json"
)
rng = np.random.default_rng(2026)


def normal(n, shift=0.0, scale=1.0, decimals=None):
    if decimals is None:
        decimals = 6 if n <= 2000 else 3
    return np.round(rng.normal(shift, scale, n), decimals)


def ks_case(name, a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    result = scipy.stats.ks_2samp(a, b)
    method = "exact" if max(len(a), len(b)) <= 10000 else "asymptotic"
    return {
        "name": name,
        "a": a.tolist(),
        "b": b.tolist(),
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "method": method,
    }


PSI_FLOOR = 1e-4


def psi(reference, current):
    reference = np.asarray(reference, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    # Deciles as i/10 exactly (np.linspace(0, 1, 11) rounds 0.3 differently).
    qs = np.array([i / 10 for i in range(1, 10)])
    edges = np.unique(np.quantile(reference, qs))
    def shares(sample):
        bins = np.searchsorted(edges, sample, side="left")
        counts = np.bincount(bins, minlength=len(edges) + 1)
        return np.maximum(counts / len(sample), PSI_FLOOR)
    p, c = shares(reference), shares(current)
    return float(np.sum((c - p) * np.log(c / p)))


def psi_case(name, reference, current):
    return {
        "name": name,
        "reference": np.asarray(reference, dtype=np.float64).tolist(),
        "current": np.asarray(current, dtype=np.float64).tolist(),
        "psi": psi(reference, current),
    }


def main():
    ks = []
    # Exact path: equal sizes (the reflection series) and unequal sizes (the band recursion).
    for n1, n2, shift in [
        (1, 1, 0.0), (1, 5, 0.0), (5, 5, 0.0), (5, 5, 2.0), (5, 7, 0.5), (8, 12, 1.0),
        (10, 10, 0.3), (20, 35, 0.4), (50, 50, 0.2), (64, 100, 0.25), (100, 150, 0.1),
        (137, 4999, 0.2), (300, 299, 0.15), (500, 1000, 0.1), (1000, 1000, 0.05),
        (1000, 1000, 0.5), (2000, 3000, 0.03), (2500, 5000, 0.08), (4999, 5000, 0.02),
        (5000, 5000, 0.04), (5000, 5000, 0.0), (777, 333, 1.5), (3, 4000, 0.0),
        (10000, 10000, 0.01), (9999, 10000, 0.03),
    ]:
        ks.append(ks_case(f"normal {n1} vs {n2}, shift {shift}", normal(n1), normal(n2, shift)))
    # Far apart: p-values down to the smallest the exact sums reach.
    ks.append(ks_case("disjoint 4 vs 4", [1, 2, 3, 4], [5, 6, 7, 8]))
    ks.append(ks_case("disjoint 40 vs 60", normal(40), normal(60, 10.0)))
    ks.append(ks_case("disjoint 400 vs 300", normal(400), normal(300, 10.0)))
    # Ties, within and across samples (integer-valued data).
    for n1, n2, lam1, lam2 in [(30, 30, 3, 3), (50, 80, 2, 3), (400, 600, 4, 4), (2000, 1500, 5, 6)]:
        ks.append(ks_case(f"poisson ties {n1} vs {n2}", rng.poisson(lam1, n1), rng.poisson(lam2, n2)))
    ks.append(ks_case("one repeated value each", [1.0] * 20, [1.0] * 30))
    ks.append(ks_case("two-valued 25 vs 40", rng.integers(0, 2, 25), rng.integers(0, 2, 40)))
    same = normal(250)
    ks.append(ks_case("identical 250", same, same.copy()))
    same_big = normal(3000, decimals=3)
    ks.append(ks_case("identical 3000", same_big, same_big.copy()))
    # Asymptotic path: one side over 10 000; effective sizes across kstwo's branches
    # (n <= 140: Durbin, Pomeranz, Smirnov; n > 140: Durbin, Pelz-Good, Smirnov).
    for n1, n2, shift in [
        (10001, 5, 0.0), (10001, 20, 0.3), (10500, 60, 0.2), (10500, 140, 0.1),
        (10500, 140, 0.45), (12000, 139, 0.9), (11000, 1000, 0.02), (11000, 1000, 0.12),
        (11000, 1000, 0.5), (12000, 9000, 0.005), (12000, 9000, 0.03), (10001, 500, 2.0),
        (10001, 10001, 0.0),
    ]:
        ks.append(ks_case(
            f"asymptotic {n1} vs {n2}, shift {shift}",
            normal(n1, decimals=4), normal(n2, shift, decimals=4),
        ))

    # The remaining branches: Durbin's matrix for n > 140 (D tiny: a sample and itself with
    # a few values moved), Ruben-Gambino's closed forms at both ends (three values at chosen
    # quantiles of a large sample).
    big = normal(10001, decimals=4)
    moved = big.copy()
    moved[:25] += 0.5
    ks.append(ks_case("asymptotic 10001 vs itself with 25 values moved", big, moved))
    ks.append(ks_case("asymptotic 10001 vs its quartiles", big, np.quantile(big, [0.25, 0.5, 0.75])))
    ks.append(ks_case("asymptotic 10001 vs its top decile", big, np.quantile(big, [0.8, 0.9, 0.95])))

    psis = []
    base = normal(5000)
    psis.append(psi_case("same distribution", base, normal(5000)))
    psis.append(psi_case("shift 0.1", base, normal(3000, 0.1)))
    psis.append(psi_case("shift 0.5", base, normal(3000, 0.5)))
    psis.append(psi_case("scale 2", base, normal(2000, 0.0, 2.0)))
    psis.append(psi_case("far apart (empty bins)", base, normal(1000, 8.0)))
    psis.append(psi_case("small samples", normal(12), normal(9, 0.3)))
    psis.append(psi_case("identical", base, base.copy()))
    psis.append(psi_case("ties (duplicate edges)", rng.poisson(1.5, 4000), rng.poisson(2.0, 3000)))
    psis.append(psi_case("two-valued", rng.integers(0, 2, 500), rng.integers(0, 2, 700)))
    psis.append(psi_case("values on the edges", np.arange(101.0), np.arange(0.0, 101.0, 2.0)))

    # Clustering: scikit-learn's silhouette_score of given labellings, and KMeans's inertia
    # (k-means++, n_init=10) on planted blobs, which whyline's k-means must reach.
    clustering = []
    for name, centres, spread, n in [
        ("three blobs in 4-D", [[5, 30, 0.3, 0.2], [40, 80, 2, 0.9], [15, 50, 4, 0.5]], 0.8, 240),
        ("two overlapping blobs in 2-D", [[0, 0], [2.5, 1]], 1.0, 200),
        ("five blobs in 3-D", [[0, 0, 0], [6, 0, 0], [0, 6, 0], [0, 0, 6], [6, 6, 6]], 0.7, 300),
    ]:
        centres = np.asarray(centres, dtype=np.float64)
        truth = rng.integers(0, len(centres), n)
        points = np.round(centres[truth] + rng.normal(0, spread, (n, centres.shape[1])), 6)
        shuffled = rng.integers(0, len(centres), n)
        fitted = KMeans(n_clusters=len(centres), n_init=10, random_state=0).fit(points)
        clustering.append({
            "name": name,
            "points": points.tolist(),
            "k": len(centres),
            "labellings": [
                {"labels": truth.tolist(), "silhouette": float(silhouette_score(points, truth))},
                {"labels": shuffled.tolist(), "silhouette": float(silhouette_score(points, shuffled))},
                {"labels": fitted.labels_.tolist(), "silhouette": float(silhouette_score(points, fitted.labels_))},
            ],
            "sklearn_inertia": float(fitted.inertia_),
        })

    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generator": "python/make_kaizen_fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "ks": ks,
        "psi": psis,
        "scikit_learn": sklearn.__version__,
        "clustering": clustering,
    }
    OUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}: {len(ks)} ks_2samp pairs, {len(psis)} psi pairs, {len(clustering)} clusterings")


if __name__ == "__main__":
    main()
