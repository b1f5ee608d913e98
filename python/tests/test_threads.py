"""The native calls release the GIL while they compute, and ``n_jobs`` spreads rows over
threads without changing a bit of the result.

How the GIL test tells, without timing thresholds: a second Python thread counts, giving
the GIL back after every step (``time.sleep(0)``), and the switch interval is raised to
10 s, so the main thread never hands the GIL over on its own. The count read right before
and right after a call can then differ only if the call let go of the GIL: a call that
holds it (the pure-Python control below) sees exactly no progress, one that releases it
sees the counter move."""

import sys
import threading
import time

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import whyline


class Counter:
    """A thread counting until stopped, yielding the GIL after every step."""

    def __init__(self):
        self.count = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop:
            self.count += 1
            time.sleep(0)

    def __enter__(self):
        self._interval = sys.getswitchinterval()
        self._thread.start()
        while self.count == 0:
            time.sleep(0.001)
        sys.setswitchinterval(10.0)
        # Let the counter step once more under the new interval. A wait for the GIL that it
        # began under the old one (5 ms) ends by asking the holder to drop the GIL: the
        # control below then saw one step on a loaded machine (CI, 2026-12-07).
        seen = self.count
        while self.count == seen:
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        sys.setswitchinterval(self._interval)
        self._stop = True
        self._thread.join()

    def progress_during(self, call):
        before = self.count
        call()
        return self.count - before


def _busy_python(n=300_000):
    total = 0
    for i in range(n):
        total += i * i
    return total


@pytest.fixture(scope="module")
def big(data):
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(300, 6))
    forest = RandomForestRegressor(30, max_depth=6, random_state=0).fit(data["X"], data["y"])
    classifier = RandomForestClassifier(20, max_depth=6, random_state=0).fit(data["X"], data["binary"])
    return {"rows": rows, "forest": forest, "classifier": classifier}


def test_a_call_holding_the_gil_lets_the_counter_make_no_progress():
    # The control: the method can fail. Pure Python holds the GIL (no switch in 10 s).
    with Counter() as counter:
        assert counter.progress_during(_busy_python) == 0


def test_tree_shap_releases_the_gil(big):
    explainer = whyline.TreeExplainer(big["forest"])
    explainer.shap_values(big["rows"][:1])  # the trees compile once, first
    with Counter() as counter:
        assert counter.progress_during(lambda: explainer.shap_values(big["rows"])) > 0


def test_explain_releases_the_gil(big):
    rows, background = big["rows"][:20], big["rows"][:30]
    with Counter() as counter:
        call = lambda: whyline.explain(big["classifier"], rows, "kernel-shap", background=background)  # noqa: E731
        assert counter.progress_during(call) > 0


def test_monitor_and_ledger_release_the_gil(big, tmp_path):
    rows = big["rows"]
    with whyline.Monitor(big["classifier"], tmp_path / "ledger", profile="sil2") as monitor:
        with Counter() as counter:
            assert counter.progress_during(lambda: monitor.predict_proba(rows)) > 0
    ledger = whyline.Ledger(tmp_path / "ledger")
    with Counter() as counter:
        assert counter.progress_during(ledger.verify) > 0


@pytest.mark.parametrize("method", ["tree-shap", "kernel-shap", "lime"])
def test_explain_with_n_jobs_gives_the_same_bits_as_one_thread(method, big):
    rows, background = big["rows"][:12], big["rows"][:40]
    one = whyline.explain(big["classifier"], rows, method, background=background, n_jobs=1)
    many = whyline.explain(big["classifier"], rows, method, background=background, n_jobs=3)
    assert np.array_equal(one.values, many.values)
    assert np.array_equal(one.base_values, many.base_values)


def test_interventional_tree_shap_with_n_jobs_gives_the_same_bits(big):
    rows, background = big["rows"][:12], big["rows"][:20]
    one = whyline.TreeExplainer(big["classifier"], data=background).shap_values(rows)
    many = whyline.TreeExplainer(big["classifier"], data=background, n_jobs=-1).shap_values(rows, n_jobs=4)
    assert np.array_equal(one, many)
