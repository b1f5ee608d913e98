"""Shared data and helpers of the whyline package tests.

The oracles are the libraries themselves, installed at the versions
``python/requirements-test.txt`` pins: scikit-learn, XGBoost and LightGBM for predictions,
shap 0.51.0 for SHAP values, and the ``whyline`` CLI for ledgers.
"""

import os
import pathlib
import subprocess
import warnings

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]

warnings.filterwarnings("ignore", message=".*LightGBM binary classifier.*")


@pytest.fixture(scope="session")
def data():
    """Seeded rows: 300 × 6 standard normal, a regression target and 2- and 3-class labels."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=300)
    return {
        "X": X,
        "y": y,
        "binary": (y > np.median(y)).astype(int),
        "multi": np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])),
        "rows": rng.normal(size=(40, 6)),
    }


@pytest.fixture(scope="session")
def data_missing(data):
    """The same rows with one value in ten missing (NaN)."""
    rng = np.random.default_rng(8)
    X = data["X"].copy()
    X[rng.random(X.shape) < 0.1] = np.nan
    rows = data["rows"].copy()
    rows[rng.random(rows.shape) < 0.1] = np.nan
    return {**data, "X": X, "rows": rows}


def whyline_cli():
    """The ``whyline`` binary: ``$WHYLINE_BIN``, else the workspace's debug build. A test
    needing it fails (never skips) when it is missing: scripts/test.sh builds it first."""
    candidates = [os.environ.get("WHYLINE_BIN")]
    target = os.environ.get("CARGO_TARGET_DIR", str(REPO / "target"))
    candidates += [os.path.join(target, "debug", "whyline"), os.path.join(target, "release", "whyline")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise AssertionError(
        "the whyline CLI is not built: run `cargo build -p whyline-cli` or set WHYLINE_BIN"
    )


def run_cli(*args):
    """Runs the CLI; returns (exit code, stdout, stderr)."""
    done = subprocess.run([whyline_cli(), *map(str, args)], capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr
