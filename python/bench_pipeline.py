"""Side by side on a pipeline: `whyline explain` against scikit-learn + shap, on the same
Pipeline(ColumnTransformer(OneHotEncoder, StandardScaler), HistGradientBoostingClassifier)
and the same rows (category strings, missing incomes), in the same run.

Usage (from the repository root)::

    cargo build --release -p whyline-cli
    python/.venv-explain/bin/python python/bench_pipeline.py [--whyline target/release/whyline] [--rows 1000]

Figures (best of --repeat runs; the machine is shared):

- TreeSHAP of every row: ``whyline explain --method tree-shap --jobs 1 --format json`` on
  the CSV (the whole command: process start, model load, row parsing, transform, TreeSHAP,
  JSON out) against ``shap.TreeExplainer(hgb).shap_values(pipe[:-1].transform(X))`` in
  this process (transform and shap only: no file reading, no explainer construction);
- the values agree: whyline's per-column values against shap's per-feature values summed
  by input column (the largest absolute difference is printed).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import shap  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_pipeline_fixtures import credit_data, numeric_and_categorical, write_csv  # noqa: E402
from whyline_export import export_model  # noqa: E402


def best(times):
    return min(times), sorted(times)[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--whyline", default="target/release/whyline")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    frame, score = credit_data(3000 + args.rows, seed=11)
    train, test = frame.iloc[:3000], frame.iloc[3000:]
    y = (score[:3000] > np.median(score)).astype(int)
    pipe = make_pipeline(
        numeric_and_categorical(
            StandardScaler(), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
        ),
        HistGradientBoostingClassifier(max_iter=100, max_depth=6, random_state=0),
    ).fit(train, y)

    with tempfile.TemporaryDirectory() as tmp:
        model_file = pathlib.Path(tmp) / "pipeline.whyline.json"
        rows_file = pathlib.Path(tmp) / "rows.csv"
        export_model(pipe, model_file)
        write_csv(test, rows_file)
        command = [args.whyline, "explain", "--method", "tree-shap", "--jobs", "1",
                   "--format", "json", "--model", str(model_file), "--input", str(rows_file)]
        ours, output = [], b""
        for _ in range(args.repeat):
            start = time.perf_counter()
            output = subprocess.run(command, check=True, capture_output=True).stdout
            ours.append(time.perf_counter() - start)

        hgb = pipe[-1]
        explainer = shap.TreeExplainer(hgb)
        theirs, values = [], None
        for _ in range(args.repeat):
            start = time.perf_counter()
            Xt = pipe[:-1].transform(test)
            values = explainer.shap_values(Xt)
            theirs.append(time.perf_counter() - start)

    lines = [json.loads(line) for line in output.splitlines()]
    inputs = pipe[0].n_features_in_
    feature_input = []
    for name, _, columns in pipe[0].transformers_:
        if name == "remainder":
            continue
        for column in columns:
            index = list(pipe[0].feature_names_in_).index(column)
            width = (len(pipe[0].named_transformers_[name].categories_[columns.index(column)])
                     if name == "cat" else 1)
            feature_input.extend([index] * width)
    summed = np.zeros((len(lines), inputs))
    for f, i in enumerate(feature_input):
        summed[:, i] += values[:, f]
    ours_values = np.array([line["values"] for line in lines])
    worst = float(np.max(np.abs(ours_values - summed)))

    n = args.rows
    (o_best, o_median), (t_best, t_median) = best(ours), best(theirs)
    print(f"pipeline: OneHotEncoder + StandardScaler -> HistGradientBoostingClassifier "
          f"(100 iterations, depth 6), {n} rows")
    print(f"whyline explain --method tree-shap --jobs 1 (whole command): "
          f"{o_best * 1e3:.1f} ms best, {o_median * 1e3:.1f} ms median, "
          f"{o_best / n * 1e6:.1f} us/row")
    print(f"scikit-learn transform + shap TreeExplainer.shap_values: "
          f"{t_best * 1e3:.1f} ms best, {t_median * 1e3:.1f} ms median, "
          f"{t_best / n * 1e6:.1f} us/row")
    print(f"ratio shap / whyline: {t_best / o_best:.1f}x")
    print(f"largest |whyline - shap summed by column|: {worst:.3e}")


if __name__ == "__main__":
    main()
