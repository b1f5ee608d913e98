"""Train models on float64 data that float32 cannot hold and write them, with the libraries'
own outputs at full precision, to crates/whyline-models/tests/fixtures/f64/.

Usage (from the repository root, after `bash python/setup_venv.sh`)::

    python/.venv/bin/python python/make_f64_fixtures.py [--out DIR] [--rows N]

The model fixtures of make_model_fixtures.py feed float32-representable rows, so they cannot
tell a model that computes on the f64 row from one that rounds it to f32 first. Here every
input is a standard normal float64 draw (seeded), so a model that rounds a row to f32 where
its library does not is off by about 1e-8 relative, and the Rust tests, which compare at
1e-12, fail. Tree models get, besides the random rows, rows whose value on a root split's
feature sits on that split's threshold or one float64 step either side, and halfway between
the two float32 neighbours of the threshold: there the library's reading of the row (rounded
to f32 by scikit-learn's trees and XGBoost, compared in f64 by LightGBM) decides the branch.

For each model NAME it writes the model file (NAME.whyline.json, NAME.xgb.json or
NAME.lgb.txt) and NAME.expected.json with the fields of make_model_fixtures.py, except that
`inputs` are the float64 rows (every value written with repr, which round-trips), and:

    seed         the seed of the data (and of the model where it is random)
    neighbors    KNN only: kneighbors() indices and distances per row, or null

Outputs are written with repr (17 significant digits where needed): predict(),
predict_proba(), decision_function() / output_margin / raw_score, apply() / pred_leaf.
Boosters are predicted after reloading the saved model file, so the outputs are those of the
file the tests load.
"""

import argparse
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whyline_export import export_model  # noqa: E402

SEEDS = [101, 202, 303]
N_TRAIN = 240
SK = None


def nested(a):
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return a.tolist()
    return np.asarray(a, dtype=np.float64).tolist()


def rows_json(X):
    return [[None if np.isnan(v) else float(v) for v in row] for row in np.asarray(X, dtype=np.float64)]


def write_expected(out_dir, name, seed, model_file, library, kind, X, predict, proba, raw,
                   leaves, neighbors=None):
    doc = {
        "model": model_file,
        "library": library,
        "kind": kind,
        "seed": seed,
        "inputs": rows_json(X),
        "predict": nested(predict),
        "proba": nested(proba),
        "raw": nested(raw),
        "leaves": nested(leaves),
        "neighbors": neighbors,
    }
    with open(os.path.join(out_dir, f"{name}.expected.json"), "w", encoding="utf-8") as h:
        json.dump(doc, h, allow_nan=False, separators=(",", ":"))
        h.write("\n")


def normal(seed, n_features, n_test):
    """Standard normal float64 training and test rows; no value is a float32."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_TRAIN + n_test, n_features))
    assert np.all(X.astype(np.float32).astype(np.float64) != X), "a draw is a float32"
    return rng, X[:N_TRAIN], X[N_TRAIN:]


def classes(rng, X, n_classes):
    """Labels from a noisy linear score per class."""
    W = rng.standard_normal((X.shape[1], n_classes))
    return np.argmax(X @ W + 0.5 * rng.standard_normal((len(X), n_classes)), axis=1)


def target(rng, X):
    w = rng.standard_normal(X.shape[1])
    return X @ w + np.sin(2.0 * X[:, 0]) + 0.1 * rng.standard_normal(len(X))


def names(n):
    return [f"x{i}" for i in range(n)]


def near(t):
    """Values that decide a split on threshold t differently in f32 and in f64."""
    t = float(t)
    t32 = np.float32(t)
    if float(t32) > t:
        t32 = np.nextafter(t32, np.float32(-np.inf))
    up32 = np.nextafter(t32, np.float32(np.inf))
    half = (float(t32) + float(up32)) / 2.0
    values = [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), half,
              np.nextafter(half, np.inf), np.nextafter(half, -np.inf),
              float(t32), float(up32)]
    return [float(v) for v in values if np.isfinite(v)]


def boundary_rows(base, splits):
    """One row per (feature, value near the threshold), each a copy of a base row."""
    rows = []
    for i, (feature, threshold) in enumerate(splits):
        for value in near(threshold):
            row = base[i % len(base)].copy()
            row[feature] = value
            rows.append(row)
    return np.array(rows)


def sk_root_splits(model):
    """(feature, threshold) of the root split of the first trees of a fitted model."""
    if hasattr(model, "tree_"):
        trees = [model.tree_]
    else:
        trees = [e.tree_ for e in np.asarray(model.estimators_).ravel()[:4]]
    return [(int(t.feature[0]), float(t.threshold[0])) for t in trees if t.feature[0] >= 0]


def sk(out_dir, name, seed, model, X_tr, y_tr, X_te, with_boundary=False):
    model.fit(X_tr, y_tr)
    if with_boundary:
        X_te = np.vstack([X_te, boundary_rows(X_te, sk_root_splits(model))])
    model_file = f"{name}.whyline.json"
    export_model(model, os.path.join(out_dir, model_file), X_train=X_tr,
                 feature_names=names(X_tr.shape[1]))
    proba = model.predict_proba(X_te) if hasattr(model, "predict_proba") else None
    raw = None
    if hasattr(model, "decision_function"):
        raw = np.asarray(model.decision_function(X_te)).reshape(len(X_te), -1)
    leaves = None
    if hasattr(model, "apply"):
        leaves = np.asarray(model.apply(X_te)).reshape(len(X_te), -1)
    neighbors = None
    if hasattr(model, "kneighbors"):
        distances, indices = model.kneighbors(X_te)
        neighbors = {"indices": nested(indices), "distances": nested(distances)}
    write_expected(out_dir, name, seed, model_file, SK, "whyline", X_te, model.predict(X_te),
                   proba, raw, leaves, neighbors)


def sklearn_models(out_dir, rows):
    # Linear and logistic regression: multinomial on every seed (3, 4, 5 classes).
    for seed, n_classes in zip(SEEDS, [3, 4, 5]):
        rng, X_tr, X_te = normal(seed, 6, rows)
        y = classes(rng, np.vstack([X_tr, X_te]), n_classes)[:N_TRAIN]
        sk(out_dir, f"f64_logreg_multinomial_s{seed}", seed, LogisticRegression(max_iter=5000), X_tr, y, X_te)
    for seed in SEEDS[:2]:
        rng, X_tr, X_te = normal(seed + 1, 8, rows)
        y = classes(rng, X_tr, 2)
        sk(out_dir, f"f64_logreg_binary_s{seed}", seed, LogisticRegression(max_iter=5000), X_tr, y, X_te)
        sk(out_dir, f"f64_linreg_s{seed}", seed, LinearRegression(), X_tr, target(rng, X_tr), X_te)

    # KNN: classifiers and regressors, uniform and distance weights.
    seed = SEEDS[0]
    rng, X_tr, X_te = normal(seed + 2, 5, rows)
    y = classes(rng, X_tr, 3)
    yr = target(rng, X_tr)
    for weights in ["uniform", "distance"]:
        sk(out_dir, f"f64_knn_clf_{weights}_s{seed}", seed,
           KNeighborsClassifier(n_neighbors=7, weights=weights, algorithm="brute"), X_tr, y, X_te)
        sk(out_dir, f"f64_knn_reg_{weights}_s{seed}", seed,
           KNeighborsRegressor(n_neighbors=5, weights=weights, algorithm="brute"), X_tr, yr, X_te)

    # MLPs: each hidden activation, classifiers (multiclass softmax and binary logistic
    # outputs) and regressors.
    for seed, activation in zip(SEEDS, ["relu", "tanh", "logistic"]):
        rng, X_tr, X_te = normal(seed + 3, 7, rows)
        n_classes = 2 if activation == "tanh" else 3
        y = classes(rng, X_tr, n_classes)
        sk(out_dir, f"f64_mlp_clf_{activation}_s{seed}", seed,
           MLPClassifier(hidden_layer_sizes=(12, 6), activation=activation, max_iter=2000, random_state=seed),
           X_tr, y, X_te)
        sk(out_dir, f"f64_mlp_reg_{activation}_s{seed}", seed,
           MLPRegressor(hidden_layer_sizes=(10,), activation=activation, max_iter=2000, random_state=seed),
           X_tr, target(rng, X_tr), X_te)

    # Trees, forests and gradient boosting: bit-identical on f32-cast rows, with boundary rows.
    seed = SEEDS[1]
    rng, X_tr, X_te = normal(seed + 4, 6, rows)
    y = classes(rng, X_tr, 3)
    yr = target(rng, X_tr)
    sk(out_dir, f"f64_tree_clf_s{seed}", seed, DecisionTreeClassifier(max_depth=6, random_state=seed), X_tr, y, X_te, True)
    sk(out_dir, f"f64_tree_reg_s{seed}", seed, DecisionTreeRegressor(max_depth=6, random_state=seed), X_tr, yr, X_te, True)
    sk(out_dir, f"f64_rf_clf_s{seed}", seed, RandomForestClassifier(n_estimators=8, max_depth=5, random_state=seed), X_tr, y, X_te, True)
    sk(out_dir, f"f64_rf_reg_s{seed}", seed, RandomForestRegressor(n_estimators=8, max_depth=5, random_state=seed), X_tr, yr, X_te, True)
    sk(out_dir, f"f64_gb_clf_s{seed}", seed, GradientBoostingClassifier(n_estimators=10, max_depth=3, random_state=seed), X_tr, y, X_te, True)
    sk(out_dir, f"f64_gb_reg_s{seed}", seed, GradientBoostingRegressor(n_estimators=10, max_depth=3, random_state=seed), X_tr, yr, X_te, True)


def xgboost_models(out_dir, rows):
    import xgboost as xgb

    lib = {"name": "xgboost", "version": xgb.__version__}
    seed = SEEDS[2]

    def run(name, objective, X_tr, y_tr, X_te, extra=None):
        params = {"objective": objective, "max_depth": 3, "eta": 0.3, "seed": seed, "nthread": 1}
        params.update(extra or {})
        # The DMatrix rounds the float64 rows to float32, as it does for every user.
        booster = xgb.train(params, xgb.DMatrix(X_tr, label=y_tr), num_boost_round=8)
        model_file = f"{name}.xgb.json"
        path = os.path.join(out_dir, model_file)
        booster.save_model(path)
        booster = xgb.Booster(model_file=path)
        trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
        splits = [(int(t["split_indices"][0]), float(t["split_conditions"][0])) for t in trees[:4]
                  if t["left_children"][0] != -1]
        X_te = np.vstack([X_te, boundary_rows(X_te, splits)])
        dtest = xgb.DMatrix(X_te)
        pred = booster.predict(dtest)
        raw = booster.predict(dtest, output_margin=True).reshape(len(X_te), -1)
        leaves = booster.predict(dtest, pred_leaf=True).reshape(len(X_te), -1)
        proba = pred if objective == "multi:softprob" else None
        write_expected(out_dir, name, seed, model_file, lib, "xgboost", X_te, pred, proba, raw, leaves)

    rng, X_tr, X_te = normal(seed + 5, 6, rows)
    run(f"f64_xgb_binary_s{seed}", "binary:logistic", X_tr, classes(rng, X_tr, 2), X_te)
    run(f"f64_xgb_softprob_s{seed}", "multi:softprob", X_tr, classes(rng, X_tr, 3), X_te, {"num_class": 3})
    run(f"f64_xgb_reg_s{seed}", "reg:squarederror", X_tr, target(rng, X_tr), X_te)


def lightgbm_models(out_dir, rows):
    import lightgbm as lgb

    lib = {"name": "lightgbm", "version": lgb.__version__}
    seed = SEEDS[2]

    def run(name, params, X_tr, y_tr, X_te, categorical=None):
        base = {"num_leaves": 8, "learning_rate": 0.2, "seed": seed, "num_threads": 1,
                "verbose": -1, "deterministic": True, "min_data_in_leaf": 5}
        base.update(params)
        dtrain = lgb.Dataset(X_tr, label=y_tr, categorical_feature=categorical or "auto",
                             params={"verbose": -1})
        booster = lgb.train(base, dtrain, num_boost_round=8)
        model_file = f"{name}.lgb.txt"
        path = os.path.join(out_dir, model_file)
        booster.save_model(path)
        booster = lgb.Booster(model_file=path)
        splits = []
        for info in booster.dump_model()["tree_info"][:4]:
            root = info["tree_structure"]
            if "split_feature" in root and root.get("decision_type") == "<=":
                splits.append((int(root["split_feature"]), float(root["threshold"])))
        X_te = np.vstack([X_te, boundary_rows(X_te, splits)])
        # LightGBM reads the float64 rows as doubles.
        pred = booster.predict(X_te)
        raw = np.asarray(booster.predict(X_te, raw_score=True)).reshape(len(X_te), -1)
        leaves = np.asarray(booster.predict(X_te, pred_leaf=True)).reshape(len(X_te), -1)
        proba = pred if pred.ndim == 2 else None
        write_expected(out_dir, name, seed, model_file, lib, "lightgbm", X_te, pred, proba, raw, leaves)

    rng, X_tr, X_te = normal(seed + 6, 6, rows)
    run(f"f64_lgb_regression_s{seed}", {"objective": "regression"}, X_tr, target(rng, X_tr), X_te)
    run(f"f64_lgb_binary_s{seed}", {"objective": "binary"}, X_tr, classes(rng, X_tr, 2), X_te)
    run(f"f64_lgb_multiclass_s{seed}", {"objective": "multiclass", "num_class": 3}, X_tr, classes(rng, X_tr, 3), X_te)

    # A categorical column (codes 0..5 that flip the label for 1 and 4); the test rows hold
    # fractional and negative codes, which LightGBM truncates toward zero (-0.5 is code 0).
    y = classes(rng, X_tr, 2)
    codes = rng.integers(0, 6, size=N_TRAIN).astype(np.float64)
    y = np.where(np.isin(codes, [1, 4]), 1 - y, y)
    Xc_tr = np.column_stack([codes, X_tr[:, 1:]])
    Xc_te = np.column_stack([rng.integers(0, 6, size=len(X_te)).astype(np.float64), X_te[:, 1:]])
    Xc_te[:6, 0] = [-0.5, 0.5, 1.7, 4.25, -1.0, 9.0]
    run(f"f64_lgb_categorical_s{seed}", {"objective": "binary", "min_data_per_group": 5, "cat_smooth": 1.0},
        Xc_tr, y, Xc_te, categorical=[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "crates", "whyline-models", "tests", "fixtures", "f64")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    global SK
    SK = {"name": "scikit-learn", "version": sklearn.__version__}
    sklearn_models(args.out, args.rows)
    xgboost_models(args.out, args.rows)
    lightgbm_models(args.out, args.rows)


if __name__ == "__main__":
    main()
