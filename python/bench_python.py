"""Side-by-side timings of the whyline Python package and the libraries it replaces, on the
same models and rows in one process; prints the ratios.

1. ``whyline.TreeExplainer(rf).shap_values(X)`` against ``shap.TreeExplainer(rf)
   .shap_values(X)``: RandomForestRegressor(100 trees, max_depth 8) on 20 features, 1,000
   rows; whyline on one thread and with ``n_jobs`` (every core), shap (single-threaded C++).
2. ``Monitor.predict_proba(x)`` on one row of a RandomForestClassifier(100 trees, max_depth
   8), recording into a ledger with interval durability (profile ``sil2``: group commit of
   256 entries or 5 ms, HMAC-signed checkpoints), against scikit-learn's own unaudited
   ``predict_proba(x)`` on one row; and the parts of the Python boundary: a native call that
   does nothing (a property read), the input conversion, and the native prediction without
   recording.

3. With ``--floor``: the same model and row through the Rust monitor alone
   (``crates/whyline-python/examples/monitor_floor.rs``, built with ``cargo build --release
   -p whyline-python --example monitor_floor``): what one decision costs without Python, and
   its parts (the path, the library-exact prediction, encoding the record, hashing it).

Usage (in the test venv, after ``pip install ./python``):

    python/.venv-test/bin/python python/bench_python.py [--rows 1000] [--repeat 5] [--floor]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

# Run as `python python/bench_python.py`, Python puts this folder first on the path, and its
# `whyline/` (the sources, without the built native module) would shadow the installed package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

warnings.filterwarnings("ignore")


def best(function, repeat, number=1):
    """Best per-call time in seconds over ``repeat`` runs of ``number`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            function()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500, help="single-row calls per run")
    parser.add_argument("--floor", action="store_true", help="also run the Rust monitor alone")
    args = parser.parse_args()

    import shap
    import sklearn
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    import whyline
    from whyline import _inputs, _models

    cores = os.cpu_count() or 1
    print(f"whyline {whyline.__version__}, shap {shap.__version__}, scikit-learn {sklearn.__version__}, {cores} cores")

    # 1. TreeSHAP.
    X, y = make_regression(n_samples=5000, n_features=20, noise=0.1, random_state=0)
    rf = RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0, n_jobs=-1).fit(X, y)
    rows = np.random.default_rng(1).normal(size=(args.rows, 20))
    theirs = shap.TreeExplainer(rf)
    ours = whyline.TreeExplainer(rf)
    ours_parallel = whyline.TreeExplainer(rf, n_jobs=-1)
    difference = np.abs(ours.shap_values(rows) - theirs.shap_values(rows)).max()
    t_shap = best(lambda: theirs.shap_values(rows), args.repeat)
    t_ours = best(lambda: ours.shap_values(rows), args.repeat)
    t_parallel = best(lambda: ours_parallel.shap_values(rows), args.repeat)
    print(f"\nTreeSHAP, RandomForestRegressor(100 trees, depth 8, 20 features), {args.rows} rows "
          f"(max |difference| {difference:.1e}):")
    print(f"  shap.TreeExplainer.shap_values            {t_shap * 1e3:9.1f} ms")
    print(f"  whyline.TreeExplainer, 1 thread           {t_ours * 1e3:9.1f} ms   {t_shap / t_ours:5.1f}x faster")
    print(f"  whyline.TreeExplainer, n_jobs=-1 ({cores})      {t_parallel * 1e3:9.1f} ms   {t_shap / t_parallel:5.1f}x faster")

    # 2. One audited prediction against one unaudited scikit-learn prediction.
    Xc, yc = make_classification(n_samples=5000, n_features=20, n_informative=10, random_state=0)
    clf = RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(Xc, yc)
    row = Xc[:1].copy()
    t_sklearn = best(lambda: clf.predict_proba(row), args.repeat, max(1, args.calls // 10))
    print(f"\nOne row, RandomForestClassifier(100 trees, depth 8, 20 features):")
    print(f"  sklearn predict_proba (unaudited)           {t_sklearn * 1e6:9.1f} µs")
    with tempfile.TemporaryDirectory() as directory:
        profile = os.path.join(directory, "sil2-100ms.toml")
        with open(profile, "w") as handle:
            handle.write('[inference_monitor]\nintegrity_level = "SIL2"\ndurability = "interval"\n'
                         "group_commit_ms = 100\ngroup_commit_entries = 256\n")
        for name, chosen in [("sil2: group commit 256 entries / 5 ms", "sil2"),
                             ("sil2, group commit 256 entries / 100 ms", profile)]:
            ledger = os.path.join(directory, os.path.basename(chosen) + "-ledger")
            with whyline.Monitor(clf, ledger, profile=chosen) as monitor:
                assert np.allclose(monitor.predict_proba(row), clf.predict_proba(row))
                converted = monitor._model
                t_monitor = best(lambda: monitor.predict_proba(row), args.repeat, args.calls)
                r32, r64, _ = _inputs.rows(row, converted)
                t_native_monitor = best(lambda: monitor._native.predict(r32, r64), args.repeat, args.calls)
            decisions = len(whyline.Ledger(ledger).decisions())
            print(f"  Monitor.predict_proba, ledger ({name}), {decisions} decisions recorded:")
            print(f"    the whole call                            {t_monitor * 1e6:9.1f} µs   {t_sklearn / t_monitor:5.1f}x faster than sklearn")
            print(f"    the native part (decide, record, predict) {t_native_monitor * 1e6:9.1f} µs")
        native = converted.native
        t_getter = best(lambda: native.n_features, args.repeat, args.calls)
        t_inputs = best(lambda: _inputs.rows(row, converted), args.repeat, args.calls)
        t_native = best(lambda: native.predict(r64), args.repeat, args.calls)
    print("  the Python boundary:")
    print(f"    a native call doing nothing (getter)      {t_getter * 1e6:9.2f} µs")
    print(f"    input conversion (numpy -> f32 + f64)     {t_inputs * 1e6:9.2f} µs")
    print(f"    native predict, not recorded (GIL released) {t_native * 1e6:7.2f} µs")

    if args.floor:
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(repo, "target"))
        binary = os.path.join(target, "release", "examples", "monitor_floor")
        with tempfile.TemporaryDirectory() as directory:
            model_path = os.path.join(directory, "rf.whyline.json")
            row_path = os.path.join(directory, "row.json")
            whyline.export_model(clf, model_path)
            with open(row_path, "w") as handle:
                json.dump([float(v) for v in row[0]], handle)
            print()
            subprocess.run([binary, model_path, row_path, str(args.calls)], check=True)


if __name__ == "__main__":
    main()
