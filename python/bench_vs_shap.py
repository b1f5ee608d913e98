"""Side-by-side timings: shap (and lime) on the models and rows the criterion benches of
crates/whyline-explain use, and the ratio to the criterion figures.

Usage (from the repository root)::

    python/.venv-explain/bin/python python/bench_vs_shap.py --write-models   # once: bench models
    CARGO_TARGET_DIR=/work/target-explain cargo bench -p whyline-explain -- --warm-up-time 1 --measurement-time 3
    python/.venv-explain/bin/python python/bench_vs_shap.py [--criterion DIR]

--write-models trains and writes, to crates/whyline-explain/benches/models/:

    bench_rf.whyline.json     RandomForestRegressor(100 trees, max_depth 8) on
                              make_regression(10000 x 20, random_state=0)
    bench_xgb.xgb.json        XGBoost regressor, 100 trees, max_depth 6, same data
    bench_logreg.whyline.json LogisticRegression on make_classification(10000 x 20, random_state=0)
    bench_rf_clf.whyline.json RandomForestClassifier(100 trees, max_depth 8) on
                              make_classification(10000 x 20, 3 classes, random_state=0)
    bench_data.json           100 rows to explain and 100 background rows per data set

shap runs single-threaded (XGBoost with nthread=1) and so do numpy's BLAS threads (set
below, before numpy loads: lime's ridge fits otherwise spread over every core); the figures
are ms per row. --only lime times just lime (explain_instance with num_features=20, so its
surrogate keeps every feature as whyline's does).
"""
import argparse
import json
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
import time
import warnings

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
OUT = os.path.join(here, "..", "crates", "whyline-explain", "benches", "models")


def f32(X):
    return np.asarray(X, dtype=np.float32).astype(np.float64)


def data():
    from sklearn import datasets
    X, y = datasets.make_regression(n_samples=10000, n_features=20, random_state=0)
    Xc, yc = datasets.make_classification(n_samples=10000, n_features=20, random_state=0)
    return f32(X), y, f32(Xc), yc


def data3():
    """Three classes, 20 features: the classifier forest's data."""
    from sklearn import datasets
    X3, y3 = datasets.make_classification(n_samples=10000, n_features=20, n_informative=10,
                                          n_classes=3, random_state=0)
    return f32(X3), y3


def forest_classifier(X3, y3):
    from sklearn.ensemble import RandomForestClassifier
    return RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0,
                                  n_jobs=1).fit(X3, y3)


def write_models():
    import xgboost as xgb
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression
    from whyline_export import export_model

    os.makedirs(OUT, exist_ok=True)
    X, y, Xc, yc = data()
    rf = RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0, n_jobs=1).fit(X, y)
    export_model(rf, os.path.join(OUT, "bench_rf.whyline.json"), X_train=X)
    booster = xgb.train({"max_depth": 6, "eta": 0.3, "seed": 0, "nthread": 1},
                        xgb.DMatrix(np.asarray(X, dtype=np.float32), label=y), num_boost_round=100)
    booster.save_model(os.path.join(OUT, "bench_xgb.xgb.json"))
    lr = LogisticRegression(max_iter=2000).fit(Xc, yc)
    export_model(lr, os.path.join(OUT, "bench_logreg.whyline.json"), X_train=Xc)
    X3, y3 = data3()
    export_model(forest_classifier(X3, y3), os.path.join(OUT, "bench_rf_clf.whyline.json"),
                 X_train=X3)
    doc = {"regression_rows": X[:100].tolist(), "regression_background": X[100:200].tolist(),
           "classification_rows": Xc[:100].tolist(), "classification_background": Xc[100:200].tolist(),
           "classification_train": Xc[:1000].tolist(), "classification3_rows": X3[:100].tolist()}
    with open(os.path.join(OUT, "bench_data.json"), "w", encoding="utf-8") as h:
        json.dump(doc, h)
    for name in os.listdir(OUT):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name)) / 1e6:.2f} MB")
    return rf, booster, lr


def per_row(fn, rows, repeat=1):
    start = time.perf_counter()
    for _ in range(repeat):
        for r in rows:
            fn(r)
    return (time.perf_counter() - start) * 1000.0 / (repeat * len(rows))


def criterion_ms(criterion_dir, bench_id):
    path = os.path.join(criterion_dir, bench_id.replace("/", "_"), "new", "estimates.json")
    try:
        with open(path, encoding="utf-8") as h:
            return json.load(h)["mean"]["point_estimate"] / 1e6
    except OSError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-models", action="store_true")
    parser.add_argument("--criterion", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target")), "criterion"))
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--only", choices=["lime"], help="time only this peer")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import shap
    import xgboost as xgb
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LogisticRegression

    if args.only == "lime":
        _, _, Xc, yc = data()
        lr = LogisticRegression(max_iter=2000).fit(Xc, yc)
        results = [lime_result(Xc, lr, Xc[: args.rows])]
        report(results, args.criterion)
        return
    if args.write_models:
        rf, booster, lr = write_models()
    else:
        X, y, Xc, yc = data()
        rf = RandomForestRegressor(n_estimators=100, max_depth=8, random_state=0, n_jobs=1).fit(X, y)
        booster = xgb.Booster(model_file=os.path.join(OUT, "bench_xgb.xgb.json"))
        lr = LogisticRegression(max_iter=2000).fit(Xc, yc)
    X, y, Xc, yc = data()
    rows = X[: args.rows]
    crow = Xc[: args.rows]
    results = []

    tree = shap.TreeExplainer(rf)
    results.append(("tree_shap/random_forest_100x8", per_row(lambda r: tree.shap_values(r[None, :]), rows)))
    X3, y3 = data3()
    clf_tree = shap.TreeExplainer(forest_classifier(X3, y3))
    results.append(("tree_shap/random_forest_classifier_100x8_3", per_row(
        lambda r: clf_tree.shap_values(r[None, :]), X3[: args.rows])))
    booster.set_param({"nthread": 1})
    xtree = shap.TreeExplainer(booster)
    results.append(("tree_shap/xgboost_100x6", per_row(lambda r: xtree.shap_values(r[None, :].astype(np.float32)), rows)))
    results.append(("tree_shap/xgboost_100x6 (pred_contribs)", per_row(
        lambda r: booster.predict(xgb.DMatrix(r[None, :].astype(np.float32)), pred_contribs=True), rows)))

    kernel = shap.KernelExplainer(lr.predict_proba, Xc[100:200])
    results.append(("kernel_shap/logistic_bg100_1000", per_row(
        lambda r: kernel.shap_values(r[None, :], nsamples=1000, l1_reg=False, silent=True), crow[:5])))

    results.append(lime_result(Xc, lr, crow))
    report(results, args.criterion)


def lime_result(Xc, lr, crow):
    """lime with its defaults over the first 1,000 training rows (as benches/lime.rs), all
    20 features in the surrogate (whyline keeps every feature)."""
    from lime.lime_tabular import LimeTabularExplainer
    lime = LimeTabularExplainer(Xc[:1000], random_state=0)
    return ("lime/logistic_defaults", per_row(
        lambda r: lime.explain_instance(r, lr.predict_proba, num_features=20), crow[:10]))


def report(results, criterion_dir):
    print(f"{'bench':45} {'peer ms/row':>12} {'whyline ms/row':>15} {'ratio':>8}")
    for name, ms in results:
        ours = criterion_ms(criterion_dir, name.split(" ")[0])
        ratio = f"{ms / ours:8.1f}" if ours else "       -"
        ours_text = f"{ours:15.4f}" if ours else "              -"
        print(f"{name:45} {ms:12.3f} {ours_text} {ratio}")


if __name__ == "__main__":
    main()
