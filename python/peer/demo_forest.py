"""The demo random forest, retrained exactly as python/make_demo_model.py trains it.

`whyline demo` and `whyline serve --model demo=crates/whyline-cli/assets/demo_model.json`
serve the whyline JSON export of this forest. Training is deterministic (seed 2026, the
versions in python/requirements-serve.txt equal those that wrote the export), so the forest
built here is the same forest: `check_against_fixture` proves it on the demo rows.
"""

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR))

from make_demo_model import FEATURES, sample  # noqa: E402  (the one definition of the data)

FIXTURES = REPO / "crates/whyline-load/tests/fixtures"
ROWS_CSV = FIXTURES / "demo_rows.csv"
EXPECTED_JSON = FIXTURES / "demo_rows.expected.json"


def train():
    """The forest of make_demo_model.main(), trained on the same 20,000 rows."""
    rng = np.random.default_rng(2026)
    X, y = sample(rng, 20000)
    model = RandomForestClassifier(n_estimators=20, max_depth=9, min_samples_leaf=3, random_state=2026)
    model.fit(X, y)
    return model


def read_rows(path=ROWS_CSV):
    """The demo rows: a header of the six feature names, then one row per line."""
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header != FEATURES:
            raise ValueError(f"{path}: header {header}, expected {FEATURES}")
        return np.array([[float(v) for v in line.split(",")] for line in f if line.strip()])


def check_against_fixture(model):
    """Raises unless `model.predict_proba` on the demo rows equals the committed fixture
    bit for bit (the fixture the Rust tests compare the whyline JSON model with)."""
    expected = json.loads(EXPECTED_JSON.read_text())
    if list(model.classes_) != expected["classes"]:
        raise ValueError(f"classes {list(model.classes_)}, fixture {expected['classes']}")
    got = model.predict_proba(read_rows())
    want = np.array(expected["predict_proba"])
    if got.shape != want.shape or not np.array_equal(got, want):
        worst = float(np.max(np.abs(got - want))) if got.shape == want.shape else float("nan")
        raise ValueError(f"predict_proba differs from {EXPECTED_JSON} (max difference {worst})")
    return len(want)
