"""shap's TreeExplainer per row in CPU time (process_time) and wall time on the bench forests
(RandomForestRegressor and the 3-class RandomForestClassifier of bench_vs_shap.py, the same
first 20 rows): the peer side of `cargo run --release -p whyline-explain --example
tree_shap_cpu`. Single-threaded; each forest one row per call, then the 20 rows in one call.

Usage (from the repository root)::

    python/.venv-explain/bin/python python/bench_tree_shap_cpu.py
"""
import os
import sys
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_vs_shap as bench  # noqa: E402


def main():
    warnings.filterwarnings("ignore")
    import shap
    from sklearn.ensemble import RandomForestRegressor

    X, y, _, _ = bench.data()
    X3, y3 = bench.data3()
    regressor = RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0,
                                      n_jobs=1).fit(X, y)
    classifier = bench.forest_classifier(X3, y3)
    for name, model, rows in [("RandomForestRegressor", regressor, X[:20]),
                              ("RandomForestClassifier, 3 classes", classifier, X3[:20])]:
        explainer = shap.TreeExplainer(model)
        explainer.shap_values(rows[:1])
        cpu, wall = time.process_time(), time.perf_counter()
        repeats = 3
        for _ in range(repeats):
            for row in rows:
                explainer.shap_values(row[None, :])
        n = repeats * len(rows)
        print(f"shap {name}: cpu {(time.process_time() - cpu) * 1e3 / n:.3f} ms/row, "
              f"wall {(time.perf_counter() - wall) * 1e3 / n:.3f} ms/row")
        # The same rows in one call, as the Rust side's `shap_values_rows_into`.
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(repeats):
            explainer.shap_values(rows)
        print(f"shap {name} (rows in one call): cpu {(time.process_time() - cpu) * 1e3 / n:.3f} "
              f"ms/row, wall {(time.perf_counter() - wall) * 1e3 / n:.3f} ms/row")


if __name__ == "__main__":
    main()
