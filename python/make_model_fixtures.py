"""Train small models with fixed seeds and write them, with the libraries' own outputs, as
fixtures for crates/whyline-models/tests/fixtures/.

Usage (from the repository root, after `bash python/setup_venv.sh`)::

    python/.venv/bin/python python/make_model_fixtures.py [--out DIR] [--rows N]

For each model NAME it writes the model file (NAME.whyline.json, NAME.xgb.json or
NAME.lgb.txt) and NAME.expected.json with:

    model        file name of the model
    library      {"name", "version"} of the training library
    kind         what the Rust tests should expect to load
    inputs       rows of float32-representable inputs (NaN written as null)
    predict      the library's predict()
    proba        predict_proba() (classifiers), or null
    raw          raw margins / decision values: [[per output]] per row, or null
    leaves       apply() / pred_leaf: per row, one leaf id per tree, or null
    neighbors    KNN only: kneighbors() indices and distances per row, or null

Inputs are cast to float32 before training and prediction, so the library sees exactly
the values the Rust side reads.
"""

import argparse
import json
import os
import sys

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from whyline_export import export_model  # noqa: E402

SEED = 7


def f32(X):
    """float32 values held in float64 arrays: what both sides see."""
    return np.asarray(X, dtype=np.float32).astype(np.float64)


def rows_json(X):
    out = []
    for row in np.asarray(X, dtype=np.float64):
        out.append([None if np.isnan(v) else float(np.float32(v)) for v in row])
    return out


def nested(a):
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype.kind in "iu":
        return a.tolist()
    return np.asarray(a, dtype=np.float64).tolist()


def write_expected(out_dir, name, model_file, library, kind, X, predict, proba, raw, leaves,
                   neighbors=None):
    doc = {
        "model": model_file,
        "library": library,
        "kind": kind,
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


def load(name):
    if name == "iris":
        d = datasets.load_iris()
    elif name == "wine":
        d = datasets.load_wine()
    elif name == "breast_cancer":
        d = datasets.load_breast_cancer()
    elif name == "diabetes":
        d = datasets.load_diabetes()
    elif name == "digits":
        d = datasets.load_digits()
    else:
        raise ValueError(name)
    CLASS_NAMES[name] = [str(n) for n in d.target_names] if hasattr(d, "target_names") else None
    return f32(d.data), d.target, [str(n) for n in d.feature_names]


def split(X, y, rows):
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=rows, random_state=SEED)
    return X_tr, X_te, y_tr, y_te


def standardize(X_tr, X_te):
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
    std[std == 0] = 1.0
    return f32((X_tr - mean) / std), f32((X_te - mean) / std)


SK = None
CLASS_NAMES = {}
# --only: write just the sets whose name contains this (None: every set).
ONLY = None


def wanted(name):
    return ONLY is None or ONLY in name


def sk(out_dir, name, model, X_tr, y_tr, X_te, names, dataset=None):
    if not wanted(name):
        return
    model.fit(X_tr, y_tr)
    model_file = f"{name}.whyline.json"
    class_names = None
    if dataset and hasattr(model, "classes_") and CLASS_NAMES.get(dataset) is not None:
        class_names = [CLASS_NAMES[dataset][int(c)] for c in model.classes_]
    export_model(model, os.path.join(out_dir, model_file), X_train=X_tr, feature_names=names,
                 class_names=class_names)
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
    write_expected(out_dir, name, model_file, SK, "whyline", X_te, model.predict(X_te), proba, raw,
                   leaves, neighbors)


def sklearn_models(out_dir, rows):
    X, y, names = load("iris")
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    sk(out_dir, "sk_logreg_iris", LogisticRegression(max_iter=2000), X_tr, y_tr, X_te, names, dataset="iris")
    sk(out_dir, "sk_tree_clf_iris", DecisionTreeClassifier(max_depth=4, random_state=SEED), X_tr, y_tr, X_te, names, dataset="iris")
    sk(out_dir, "sk_gb_clf_iris", GradientBoostingClassifier(n_estimators=10, max_depth=2, random_state=SEED), X_tr, y_tr, X_te, names, dataset="iris")
    sk(out_dir, "sk_knn_clf_iris", KNeighborsClassifier(n_neighbors=5, algorithm="brute"), X_tr, y_tr, X_te, names, dataset="iris")

    X, y, names = load("breast_cancer")
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    Xs_tr, Xs_te = standardize(X_tr, X_te)
    sk(out_dir, "sk_logreg_breast_cancer", LogisticRegression(max_iter=5000), Xs_tr, y_tr, Xs_te, names, dataset="breast_cancer")
    sk(out_dir, "sk_gb_clf_breast_cancer", GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=SEED), X_tr, y_tr, X_te, names, dataset="breast_cancer")
    sk(out_dir, "sk_mlp_clf_breast_cancer", MLPClassifier(hidden_layer_sizes=(16,), activation="tanh", max_iter=500, random_state=SEED), Xs_tr, y_tr, Xs_te, names, dataset="breast_cancer")

    X, y, names = load("wine")
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    Xs_tr, Xs_te = standardize(X_tr, X_te)
    sk(out_dir, "sk_rf_clf_wine", RandomForestClassifier(n_estimators=10, max_depth=5, random_state=SEED), X_tr, y_tr, X_te, names, dataset="wine")
    sk(out_dir, "sk_knn_clf_wine_distance", KNeighborsClassifier(n_neighbors=7, weights="distance", algorithm="brute"), Xs_tr, y_tr, Xs_te, names, dataset="wine")
    sk(out_dir, "sk_mlp_clf_wine", MLPClassifier(hidden_layer_sizes=(12, 8), activation="relu", max_iter=1000, random_state=SEED), Xs_tr, y_tr, Xs_te, names, dataset="wine")

    X, y, names = load("diabetes")
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    sk(out_dir, "sk_linreg_diabetes", LinearRegression(), X_tr, y_tr, X_te, names)
    sk(out_dir, "sk_tree_reg_diabetes", DecisionTreeRegressor(max_depth=6, random_state=SEED), X_tr, y_tr, X_te, names)
    sk(out_dir, "sk_rf_reg_diabetes", RandomForestRegressor(n_estimators=10, max_depth=5, random_state=SEED), X_tr, y_tr, X_te, names)
    sk(out_dir, "sk_gb_reg_diabetes", GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=SEED), X_tr, y_tr, X_te, names)
    sk(out_dir, "sk_knn_reg_diabetes", KNeighborsRegressor(n_neighbors=5, weights="distance", algorithm="brute"), X_tr, y_tr, X_te, names)

    # Missing values in scikit-learn trees: trained with NaN, so splits learn where
    # missing values go (missing_go_to_left), and NaN in the test rows.
    X, y, names = load("breast_cancer")
    Xm = with_missing(X, 0.1, SEED)
    X_tr, X_te, y_tr, y_te = split(Xm, y, rows)
    sk(out_dir, "sk_tree_clf_missing_breast_cancer", DecisionTreeClassifier(max_depth=5, random_state=SEED), X_tr, y_tr, X_te, names, dataset="breast_cancer")
    X, y, names = load("diabetes")
    Xm = with_missing(X, 0.1, SEED)
    X_tr, X_te, y_tr, y_te = split(Xm, y, rows)
    sk(out_dir, "sk_rf_reg_missing_diabetes", RandomForestRegressor(n_estimators=5, max_depth=4, random_state=SEED), X_tr, y_tr, X_te, names)

    X, y, names = load("digits")
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    sk(out_dir, "sk_logreg_digits", LogisticRegression(max_iter=5000), X_tr / 16.0, y_tr, f32(X_te / 16.0), names)

    X, y = datasets.make_regression(n_samples=300, n_features=20, n_informative=10, noise=5.0, random_state=SEED)
    X = f32(X)
    names = [f"x{i}" for i in range(20)]
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    sk(out_dir, "sk_ridge_regression", Ridge(alpha=1.0), X_tr, y_tr, X_te, names)
    sk(out_dir, "sk_mlp_reg_regression", MLPRegressor(hidden_layer_sizes=(10,), activation="logistic", max_iter=2000, random_state=SEED), X_tr, y_tr / 100.0, X_te, names)

    X, y = datasets.make_classification(n_samples=300, n_features=20, n_informative=8, random_state=SEED)
    X = f32(X)
    names = [f"x{i}" for i in range(20)]
    X_tr, X_te, y_tr, y_te = split(X, y, rows)
    sk(out_dir, "sk_logreg_classification", LogisticRegression(max_iter=2000), X_tr, y_tr, X_te, names)
    sk(out_dir, "sk_tree_clf_classification", DecisionTreeClassifier(max_depth=6, criterion="entropy", random_state=SEED), X_tr, y_tr, X_te, names)


def with_missing(X, rate, seed):
    rng = np.random.RandomState(seed)
    X = X.copy()
    X[rng.rand(*X.shape) < rate] = np.nan
    return X


def categorical_data():
    """Column 0 holds category codes 0..7 that flip the target for codes 1, 4 and 6."""
    Xc, yc = datasets.make_classification(n_samples=400, n_features=6, n_informative=4, random_state=SEED)
    rng = np.random.RandomState(SEED)
    cats = rng.randint(0, 8, size=len(yc))
    yc = np.where(np.isin(cats, [1, 4, 6]), 1 - yc, yc)
    return f32(np.column_stack([cats.astype(np.float64), Xc[:, 1:]])), yc


def xgboost_models(out_dir, rows):
    import xgboost as xgb

    lib = {"name": "xgboost", "version": xgb.__version__}

    def run(name, objective, X_tr, y_tr, X_te, extra=None, rounds=10):
        if not wanted(name):
            return
        params = {"objective": objective, "max_depth": 3, "eta": 0.3, "seed": SEED, "nthread": 1}
        params.update(extra or {})
        dtrain = xgb.DMatrix(np.asarray(X_tr, dtype=np.float32), label=y_tr)
        booster = xgb.train(params, dtrain, num_boost_round=rounds)
        model_file = f"{name}.xgb.json"
        booster.save_model(os.path.join(out_dir, model_file))
        dtest = xgb.DMatrix(np.asarray(X_te, dtype=np.float32))
        pred = booster.predict(dtest)
        raw = booster.predict(dtest, output_margin=True).reshape(len(X_te), -1)
        leaves = booster.predict(dtest, pred_leaf=True).reshape(len(X_te), -1)
        proba = pred if objective == "multi:softprob" else None
        write_expected(out_dir, name, model_file, lib, "xgboost", X_te, pred, proba, raw, leaves)

    X, y, _ = load("diabetes")
    X_tr, X_te, y_tr, _ = split(X, y, rows)
    run("xgb_reg_squarederror_diabetes", "reg:squarederror", X_tr, y_tr, X_te)
    run("xgb_reg_logistic_diabetes", "reg:logistic", X_tr, (y_tr - y.min()) / (y.max() - y.min()), X_te)

    X, y, _ = load("breast_cancer")
    Xm = with_missing(X, 0.1, SEED)
    X_tr, X_te, y_tr, _ = split(Xm, y, rows)
    run("xgb_binary_logistic_breast_cancer_missing", "binary:logistic", X_tr, y_tr, X_te)

    X, y, _ = load("iris")
    X_tr, X_te, y_tr, _ = split(X, y, rows)
    run("xgb_multi_softprob_iris", "multi:softprob", X_tr, y_tr, X_te, {"num_class": 3})

    X, y, _ = load("wine")
    X_tr, X_te, y_tr, _ = split(X, y, rows)
    run("xgb_multi_softmax_wine", "multi:softmax", X_tr, y_tr, X_te, {"num_class": 3})

    # A categorical feature (column 0, codes 0..7, declared with feature_types "c"), with a
    # NaN, an unseen category and a negative value in the test rows.
    if not wanted("xgb_binary_categorical"):
        return
    Xc, yc = categorical_data()
    Xc_tr, Xc_te, yc_tr, _ = split(Xc, yc, rows)
    Xc_te = Xc_te.copy()
    Xc_te[0, 0], Xc_te[1, 0], Xc_te[2, 0] = np.nan, 11.0, -1.0
    types = ["c"] + ["q"] * (Xc.shape[1] - 1)
    params = {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": SEED,
              "nthread": 1, "max_cat_to_onehot": 1}
    dtrain = xgb.DMatrix(np.asarray(Xc_tr, dtype=np.float32), label=yc_tr, feature_types=types,
                         enable_categorical=True)
    booster = xgb.train(params, dtrain, num_boost_round=10)
    name = "xgb_binary_categorical"
    booster.save_model(os.path.join(out_dir, f"{name}.xgb.json"))
    dtest = xgb.DMatrix(np.asarray(Xc_te, dtype=np.float32), feature_types=types, enable_categorical=True)
    write_expected(out_dir, name, f"{name}.xgb.json", lib, "xgboost", Xc_te, booster.predict(dtest), None,
                   booster.predict(dtest, output_margin=True).reshape(len(Xc_te), -1),
                   booster.predict(dtest, pred_leaf=True).reshape(len(Xc_te), -1))


def lightgbm_models(out_dir, rows):
    import lightgbm as lgb

    lib = {"name": "lightgbm", "version": lgb.__version__}

    def run(name, params, X_tr, y_tr, X_te, rounds=10, categorical=None):
        if not wanted(name):
            return
        base = {"num_leaves": 8, "learning_rate": 0.2, "seed": SEED, "num_threads": 1,
                "verbose": -1, "deterministic": True, "min_data_in_leaf": 5}
        base.update(params)
        dtrain = lgb.Dataset(X_tr, label=y_tr, categorical_feature=categorical or "auto",
                             params={"verbose": -1})
        booster = lgb.train(base, dtrain, num_boost_round=rounds)
        model_file = f"{name}.lgb.txt"
        booster.save_model(os.path.join(out_dir, model_file))
        pred = booster.predict(X_te)
        raw = np.asarray(booster.predict(X_te, raw_score=True)).reshape(len(X_te), -1)
        leaves = np.asarray(booster.predict(X_te, pred_leaf=True)).reshape(len(X_te), -1)
        proba = pred if pred.ndim == 2 else None
        write_expected(out_dir, name, model_file, lib, "lightgbm", X_te, pred, proba, raw, leaves)

    X, y, _ = load("diabetes")
    X_tr, X_te, y_tr, _ = split(X, y, rows)
    run("lgb_regression_diabetes", {"objective": "regression"}, X_tr, y_tr, X_te)

    X, y, _ = load("breast_cancer")
    X_tr, X_te, y_tr, _ = split(X, y, rows)
    run("lgb_binary_breast_cancer", {"objective": "binary"}, X_tr, y_tr, X_te)

    X, y, _ = load("iris")
    X_tr, X_te, y_tr, _ = split(X, y, rows)
    run("lgb_multiclass_iris", {"objective": "multiclass", "num_class": 3}, X_tr, y_tr, X_te)

    # Missing values: NaN in training and test rows (missing type NaN), plus zeros treated
    # as missing on a second model (zero_as_missing).
    X, y, _ = load("breast_cancer")
    Xm = with_missing(X, 0.15, SEED)
    X_tr, X_te, y_tr, _ = split(Xm, y, rows)
    run("lgb_binary_missing_breast_cancer", {"objective": "binary"}, X_tr, y_tr, X_te)
    Xz = np.where(np.isnan(Xm), 0.0, Xm)
    Xz_tr, Xz_te, yz_tr, _ = split(Xz, y, rows)
    Xz_te = Xz_te.copy()
    Xz_te[::3, 0] = np.nan
    run("lgb_regression_zero_as_missing", {"objective": "regression", "zero_as_missing": True}, Xz_tr, yz_tr.astype(np.float64), Xz_te)

    # A categorical feature: column 0 holds category codes 0..7 that drive the target.
    Xc, yc = categorical_data()
    Xc_tr, Xc_te, yc_tr, _ = split(Xc, yc, rows)
    Xc_te = Xc_te.copy()
    Xc_te[0, 0] = np.nan
    Xc_te[1, 0] = 11.0  # a category never seen in training
    run("lgb_binary_categorical", {"objective": "binary", "min_data_per_group": 5, "cat_smooth": 1.0},
        Xc_tr, yc_tr, Xc_te, categorical=[0])

    # A categorical feature with 100 codes: LightGBM's split bitsets then span several 32-bit
    # words (codes 32 and up live past the first). Codes in FLIP flip the target; the test
    # rows add a NaN, an unseen code (150) and codes of every word.
    Xm, ym = datasets.make_classification(n_samples=1500, n_features=4, n_informative=3,
                                          n_redundant=0, random_state=SEED)
    rng = np.random.RandomState(SEED)
    codes = rng.randint(0, 100, size=len(ym))
    flip = [3, 17, 33, 40, 41, 58, 64, 77, 90, 96, 99]
    ym = np.where(np.isin(codes, flip), 1 - ym, ym)
    Xm = f32(np.column_stack([codes.astype(np.float64), Xm[:, 1:]]))
    Xm_tr, Xm_te, ym_tr, _ = split(Xm, ym, rows)
    Xm_te = Xm_te.copy()
    Xm_te[0, 0], Xm_te[1, 0], Xm_te[2, 0], Xm_te[3, 0], Xm_te[4, 0] = np.nan, 150.0, 33.0, 64.0, 99.0
    run("lgb_binary_many_categories",
        {"objective": "binary", "min_data_per_group": 5, "cat_smooth": 1.0, "max_cat_threshold": 64},
        Xm_tr, ym_tr, Xm_te, rounds=20, categorical=[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "crates", "whyline-models", "tests", "fixtures")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--rows", type=int, default=30)
    parser.add_argument("--only", help="write only the sets whose name contains this")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    global SK, ONLY
    ONLY = args.only
    SK = {"name": "scikit-learn", "version": sklearn.__version__}
    sklearn_models(args.out, args.rows)
    xgboost_models(args.out, args.rows)
    lightgbm_models(args.out, args.rows)


if __name__ == "__main__":
    main()
