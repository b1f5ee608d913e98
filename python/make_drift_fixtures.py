#!/usr/bin/env python3
"""Oracle fixtures for whyline's drift detectors (DDM, EDDM, ADWIN, Page-Hinkley).

Feeds deterministic streams through `river`'s detectors and writes, for each stream, the
inputs, the detector parameters and the indices at which river reported a warning and a drift
(river's `warning_detected` / `drift_detected` flags read after each `update`) to
`crates/whyline-monitor/tests/fixtures/drift/<name>.json`.

Usage (from the repository root):

    python3.11 -m venv python/.venv-drift
    python/.venv-drift/bin/pip install -r python/requirements-drift.txt
    python/.venv-drift/bin/python python/make_drift_fixtures.py [--out DIR]

The streams are river's documented examples plus longer random streams with several change
points (Bernoulli error streams for DDM/EDDM, Gaussian mean shifts for ADWIN/Page-Hinkley),
some with non-default parameters. Gaussian values are rounded to 4 decimals so the files stay
small; the rounded value is what river sees, so the fixture is exact.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random

import numpy as np
import river
from river import drift

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "crates" / "whyline-monitor" / "tests" / "fixtures" / "drift"

FACTORIES = {
    "DDM": drift.binary.DDM,
    "EDDM": drift.binary.EDDM,
    "ADWIN": drift.ADWIN,
    "PageHinkley": drift.PageHinkley,
}


# ADWIN's window after every STATE_EVERY-th update and after each drift: [index, width,
# total, variance, estimation], so that the window's bookkeeping (bucket merges, the
# oldest bucket dropped) is checked, not only the detections it leads to. EDDM: [index,
# largest p2s] after each error.
STATE_EVERY = 97


def run(detector: str, params: dict, inputs: list) -> tuple[list[int], list[int], list]:
    """Feed `inputs` to a fresh river detector; return (warning indices, drift indices,
    ADWIN's window states)."""
    det = FACTORIES[detector](**params)
    warnings, drifts, states = [], [], []
    for i, x in enumerate(inputs):
        det.update(x)
        if getattr(det, "warning_detected", False):
            warnings.append(i)
        if det.drift_detected:
            drifts.append(i)
        if detector == "ADWIN" and (i % STATE_EVERY == STATE_EVERY - 1 or det.drift_detected):
            states.append([i, det.width, det.total, det.variance, det.estimation])
        # EDDM's largest p2s after every error: the reference its levels are taken from,
        # so the step at which it is first set (after the warm start) is checked too.
        if detector == "EDDM" and x == 1:
            states.append([i, det._p2s_prime_max])
    return warnings, drifts, states


# --- streams -------------------------------------------------------------------------------


def doc_two_regimes_0_1_then_4_8() -> list:
    """ADWIN and PageHinkley docstring example (river 0.26)."""
    rng = random.Random(12345)
    return rng.choices([0, 1], k=1000) + rng.choices(range(4, 8), k=1000)


def doc_range4_then_4_8() -> list:
    """The variant quoted in whyline's issue #6: choice(range(4)) then choice(range(4, 8))."""
    rng = random.Random(12345)
    return [rng.choice(range(4)) for _ in range(1000)] + [
        rng.choice(range(4, 8)) for _ in range(1000)
    ]


def doc_binary_seed42() -> list:
    """DDM and EDDM docstring example (river 0.26)."""
    rng = random.Random(42)
    stream = rng.choices([0, 1], k=1000)
    return stream + rng.choices([0, 1], k=1000, weights=[0.3, 0.7])


def bernoulli(seed: int, segments: list[tuple[float, int]]) -> list:
    """0/1 error stream: each segment is (error probability, length)."""
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for p, n in segments:
        out.extend(int(v) for v in (rng.random(n) < p))
    return out


def gaussian(seed: int, segments: list[tuple[float, float, int]]) -> list:
    """Gaussian stream: each segment is (mean, standard deviation, length), rounded to 1e-4."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    for mu, sd, n in segments:
        out.extend(round(float(v), 4) for v in rng.normal(mu, sd, n))
    return out


BERN_A = [(0.1, 1500), (0.3, 1500), (0.05, 1500), (0.5, 1500)]
BERN_B = [(0.2, 1000), (0.2, 1000), (0.6, 800), (0.15, 1200), (0.35, 1000)]
BERN_C = [(0.02, 2000), (0.1, 1000), (0.02, 1000), (0.4, 1000)]
GAUSS_A = [(0.0, 1.0, 1500), (1.5, 1.0, 1500), (-0.5, 1.0, 1500), (3.0, 1.0, 1500)]
GAUSS_B = [(0.0, 0.5, 1000), (0.3, 0.5, 1000), (0.3, 2.0, 1000), (-1.0, 0.5, 1000), (5.0, 1.0, 1000)]
GAUSS_C = [(10.0, 1.0, 2000), (9.0, 1.0, 1500), (12.0, 3.0, 1500)]

CASES: list[tuple[str, str, dict, list]] = [
    # river's documented examples
    ("adwin_doc", "ADWIN", {}, doc_two_regimes_0_1_then_4_8()),
    ("adwin_doc_range4", "ADWIN", {}, doc_range4_then_4_8()),
    ("page_hinkley_doc", "PageHinkley", {}, doc_two_regimes_0_1_then_4_8()),
    ("ddm_doc", "DDM", {}, doc_binary_seed42()),
    ("eddm_doc", "EDDM", {"alpha": 0.8, "beta": 0.75}, doc_binary_seed42()),
    # binary error streams, defaults and other parameters
    ("ddm_bernoulli_a", "DDM", {}, bernoulli(1, BERN_A)),
    ("ddm_bernoulli_b", "DDM", {}, bernoulli(2, BERN_B)),
    ("ddm_bernoulli_c_params", "DDM",
     {"warm_start": 100, "warning_threshold": 1.5, "drift_threshold": 2.5}, bernoulli(3, BERN_C)),
    ("eddm_bernoulli_a", "EDDM", {}, bernoulli(1, BERN_A)),
    ("eddm_bernoulli_b", "EDDM", {}, bernoulli(2, BERN_B)),
    ("eddm_bernoulli_c_params", "EDDM",
     {"warm_start": 50, "alpha": 0.9, "beta": 0.8}, bernoulli(3, BERN_C)),
    # an error exactly at the warm start's last update (the 5th, warm_start = 5), where
    # river does not yet take p2s into account, then errors at growing then shrinking gaps
    ("eddm_warm_start_boundary", "EDDM", {"warm_start": 5, "alpha": 0.95, "beta": 0.9},
     [0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1] * 3),
    # ADWIN on real values and on binary streams
    ("adwin_gauss_a", "ADWIN", {}, gaussian(11, GAUSS_A)),
    ("adwin_gauss_b", "ADWIN", {}, gaussian(12, GAUSS_B)),
    ("adwin_gauss_c_params", "ADWIN",
     {"delta": 0.05, "clock": 1, "max_buckets": 3, "min_window_length": 10, "grace_period": 50},
     gaussian(13, GAUSS_C)),
    ("adwin_gauss_b_clock7", "ADWIN",
     {"delta": 0.01, "clock": 7, "max_buckets": 2, "min_window_length": 3, "grace_period": 0},
     gaussian(12, GAUSS_B)),
    ("adwin_gauss_d_edge", "ADWIN",
     {"delta": 0.05, "clock": 1, "max_buckets": 2, "min_window_length": 1, "grace_period": 0},
     gaussian(14, [(0.0, 1.0, 1500), (3.0, 1.0, 1500), (-2.0, 1.0, 1500)])),
    ("adwin_bernoulli_a", "ADWIN", {}, bernoulli(1, BERN_A)),
    # a long, mostly stable stream: a window of thousands of items, a dozen bucket levels
    ("adwin_bernoulli_long", "ADWIN", {}, bernoulli(4, [(0.2, 15000), (0.3, 10000), (0.2, 5000)])),
    # Page-Hinkley in each mode
    ("page_hinkley_gauss_a", "PageHinkley", {}, gaussian(11, GAUSS_A)),
    ("page_hinkley_gauss_b", "PageHinkley", {}, gaussian(12, GAUSS_B)),
    ("page_hinkley_gauss_c_up", "PageHinkley",
     {"mode": "up", "threshold": 20.0, "delta": 0.01, "min_instances": 50}, gaussian(13, GAUSS_C)),
    ("page_hinkley_gauss_b_down", "PageHinkley",
     {"mode": "down", "threshold": 10.0, "alpha": 0.999}, gaussian(12, GAUSS_B)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    for name, detector, params, inputs in CASES:
        warnings, drifts, states = run(detector, params, inputs)
        doc = {
            "name": name,
            "detector": detector,
            "params": params,
            "river_version": river.__version__,
            "inputs": inputs,
            "warnings": warnings,
            "drifts": drifts,
        }
        if states:
            doc["states"] = states
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        print(f"{path.relative_to(REPO)}: {len(inputs)} inputs, "
              f"{len(warnings)} warning flags, drifts at {drifts}")


if __name__ == "__main__":
    main()
