"""Side by side at the command line: `whyline explain --jobs 1` against shap and lime, per
row, on the same models and rows, in the same run.

Usage (from the repository root)::

    cargo build --release -p whyline-cli
    python/.venv-explain/bin/python python/bench_cli_vs_shap.py [--whyline target/release/whyline] [--repeat 3]

The models and rows are those of the criterion benches (crates/whyline-explain/benches/models,
written by ``bench_vs_shap.py --write-models``; this script writes them when
bench_rf.whyline.json is missing):

    tree-shap    RandomForestRegressor 100 trees, max_depth 8, 20 features    shap TreeExplainer
    tree-shap    RandomForestClassifier 100 trees, max_depth 8, 3 classes      shap TreeExplainer (every class)
    tree-shap    XGBoost regressor 100 trees, max_depth 6                      shap TreeExplainer
    kernel-shap  LogisticRegression, 100 background rows, 1,000 samples        shap KernelExplainer(l1_reg=False)
    lime         LogisticRegression, lime's defaults (1,000 training rows)     lime explain_instance(num_features=20)

whyline runs once per repetition on all rows (the JSON lines go to /dev/null). Two figures:
per row of a run (the wall or CPU time of the whole command, model loading and explainer
construction included, divided by the rows), and per extra row (the difference between a
run on the rows repeated --cycles times and a run on one row, divided by the extra rows:
what each further row costs once the model is loaded, as the peers' figures exclude
building their explainers). CPU time is user + sys of the child. The
peers run in this process, one `shap_values` / `explain_instance` call per row as a user
explaining one decision at a time would, single-threaded (numpy's BLAS and XGBoost pinned to
one thread); their CPU time is this process's user + sys over the same loop. Each figure is
the best of --repeat runs (the machine is shared: the best run is the least disturbed), and
the median is printed beside it. The load average is printed before and after.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import time
import warnings

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
sys.path.insert(0, here)
MODELS = os.path.join(root, "crates", "whyline-explain", "benches", "models")


def loadavg():
    with open("/proc/loadavg", encoding="utf-8") as h:
        return " ".join(h.read().split()[:3])


def write_json_lines(path, rows):
    with open(path, "w", encoding="utf-8") as h:
        for row in rows:
            h.write(json.dumps({"features": [float(np.float32(x)) for x in row]}) + "\n")


def run_cli(whyline, args, input_path):
    """(wall s, cpu s) of one `whyline explain --jobs 1 args --input input_path`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([whyline, "explain", "--format", "json", "--jobs", "1", *args, "--input", input_path],
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_cli(whyline, args, inputs, repeat):
    """Best of `repeat` (and the median wall) of `whyline explain args`, ms per row:
    {"wall", "median", "cpu"} per row of a run on inputs["rows"], and {"extra_wall",
    "extra_cpu"} per extra row between inputs["one"] and inputs["cycled"]."""
    runs = {name: [run_cli(whyline, args, path) for _ in range(repeat)]
            for name, (path, _) in inputs.items()}
    per_row = lambda name, k: [r[k] * 1000.0 / inputs[name][1] for r in runs[name]]
    extra = inputs["cycled"][1] - inputs["one"][1]
    best = lambda name, k: min(r[k] for r in runs[name])
    return {
        "wall": min(per_row("rows", 0)),
        "median": statistics.median(per_row("rows", 0)),
        "cpu": min(per_row("rows", 1)),
        "extra_wall": (best("cycled", 0) - best("one", 0)) * 1000.0 / extra,
        "extra_cpu": (best("cycled", 1) - best("one", 1)) * 1000.0 / extra,
    }


def time_peer(fn, rows, repeat):
    """(best wall ms/row, median wall ms/row, best cpu ms/row) of fn over rows, one call each."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu0 = time.process_time()
        start = time.perf_counter()
        for r in rows:
            fn(r)
        walls.append((time.perf_counter() - start) * 1000.0 / len(rows))
        cpus.append((time.process_time() - cpu0) * 1000.0 / len(rows))
    return {"wall": min(walls), "median": statistics.median(walls), "cpu": min(cpus)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whyline", default=os.path.join(root, "target", "release", "whyline"))
    parser.add_argument("--rows", type=int, default=100, help="rows whyline explains")
    parser.add_argument("--peer-rows", type=int, default=20,
                        help="rows shap's TreeExplainer explains (KernelExplainer and lime take a quarter)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=10,
                        help="the rows repeated this many times for the per-extra-row figure")
    parser.add_argument("--only", choices=["tree-shap", "kernel-shap", "lime"])
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if not os.path.exists(os.path.join(MODELS, "bench_rf.whyline.json")):
        import bench_vs_shap
        bench_vs_shap.write_models()
    import shap
    import xgboost as xgb
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression
    from bench_vs_shap import data, data3, forest_classifier

    X, y, Xc, yc = data()
    rows, crows = X[: args.rows], Xc[: args.rows]
    print(f"load average at start: {loadavg()}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: os.path.join(tmp, f"{name}.jsonl") for name in ("background", "train")}
        write_json_lines(paths["background"], Xc[100:200])
        write_json_lines(paths["train"], Xc[:1000])

        def inputs(name, data):
            sets = {"rows": data, "one": data[:1], "cycled": np.concatenate([data] * args.cycles)}
            out = {}
            for key, value in sets.items():
                path = os.path.join(tmp, f"{name}_{key}.jsonl")
                write_json_lines(path, value)
                out[key] = (path, len(value))
            return out

        regression = inputs("regression", rows)
        classification = inputs("classification", crows)
        rf_path = os.path.join(MODELS, "bench_rf.whyline.json")
        xgb_path = os.path.join(MODELS, "bench_xgb.xgb.json")
        clf_path = os.path.join(MODELS, "bench_rf_clf.whyline.json")
        lr_path = os.path.join(MODELS, "bench_logreg.whyline.json")
        peer = args.peer_rows
        if args.only in (None, "tree-shap"):
            rf = RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0, n_jobs=1).fit(X, y)
            tree = shap.TreeExplainer(rf)
            results.append(("tree-shap, RandomForestRegressor 100 x 8",
                            time_cli(args.whyline, ["--method", "tree-shap", "--model", rf_path], regression,
                                     args.repeat),
                            time_peer(lambda r: tree.shap_values(r[None, :]), rows[:peer], args.repeat),
                            "shap TreeExplainer"))
            X3, y3 = data3()
            classifier_rows = X3[: args.rows]
            clf = forest_classifier(X3, y3)
            clf_tree = shap.TreeExplainer(clf)
            results.append(("tree-shap, RandomForestClassifier 100 x 8, 3 classes",
                            time_cli(args.whyline, ["--method", "tree-shap", "--model", clf_path],
                                     inputs("classification3", classifier_rows), args.repeat),
                            time_peer(lambda r: clf_tree.shap_values(r[None, :]), classifier_rows[:peer],
                                      args.repeat),
                            "shap TreeExplainer"))
            booster = xgb.Booster(model_file=xgb_path)
            booster.set_param({"nthread": 1})
            xtree = shap.TreeExplainer(booster)
            results.append(("tree-shap, XGBoost 100 x depth 6",
                            time_cli(args.whyline, ["--method", "tree-shap", "--model", xgb_path], regression,
                                     args.repeat),
                            time_peer(lambda r: xtree.shap_values(r[None, :].astype(np.float32)),
                                      rows[:peer], args.repeat),
                            "shap TreeExplainer"))
        lr = LogisticRegression(max_iter=2000).fit(Xc, yc)
        if args.only in (None, "kernel-shap"):
            kernel = shap.KernelExplainer(lr.predict_proba, Xc[100:200])
            results.append(("kernel-shap, logistic, 100 background, 1,000 samples",
                            time_cli(args.whyline, ["--method", "kernel-shap", "--samples", "1000",
                                                    "--model", lr_path, "--background", paths["background"]],
                                     classification, args.repeat),
                            time_peer(lambda r: kernel.shap_values(r[None, :], nsamples=1000, l1_reg=False,
                                                                   silent=True),
                                      crows[: max(peer // 4, 2)], args.repeat),
                            "shap KernelExplainer"))
        if args.only in (None, "lime"):
            from lime.lime_tabular import LimeTabularExplainer
            explainer = LimeTabularExplainer(Xc[:1000], random_state=0)
            results.append(("lime, logistic, defaults (1,000 training rows)",
                            time_cli(args.whyline, ["--method", "lime", "--model", lr_path,
                                                    "--background", paths["train"]],
                                     classification, args.repeat),
                            time_peer(lambda r: explainer.explain_instance(r, lr.predict_proba, num_features=20),
                                      crows[: max(peer // 4, 2)], args.repeat),
                            "lime explain_instance"))
    print(f"load average at end:   {loadavg()}")
    print(f"whyline --jobs 1: {args.rows} rows per run; per extra row: {args.rows * args.cycles} rows less 1 row;"
          f" best of {args.repeat} (median wall in brackets); ms per row; ratio = peer / whyline")
    print(f"{'method and model':52} {'whyline wall':>17} {'peer wall':>17} {'ratio':>6}"
          f" {'whyline cpu':>11} {'peer cpu':>8} {'ratio':>6} {'extra row wall':>14} {'ratio':>6}"
          f" {'extra row cpu':>13} {'ratio':>6}  peer")
    for name, ours, theirs, peer_name in results:
        print(f"{name:52} {ours['wall']:7.3f} ({ours['median']:7.3f}) {theirs['wall']:7.3f} ({theirs['median']:7.3f})"
              f" {theirs['wall'] / ours['wall']:6.1f} {ours['cpu']:11.3f} {theirs['cpu']:8.3f} {theirs['cpu'] / ours['cpu']:6.1f}"
              f" {ours['extra_wall']:14.3f} {theirs['wall'] / ours['extra_wall']:6.1f}"
              f" {ours['extra_cpu']:13.3f} {theirs['cpu'] / ours['extra_cpu']:6.1f}  {peer_name}")


if __name__ == "__main__":
    main()
