"""Oracle fixtures for crates/whyline-explain: shap (TreeExplainer, LinearExplainer,
KernelExplainer) values for the committed model fixtures of whyline-models.

Usage (from the repository root)::

    python3 -m venv python/.venv-explain
    python/.venv-explain/bin/pip install -r python/requirements-explain.txt
    python/.venv-explain/bin/python python/make_explain_fixtures.py [--out DIR] [--rows N]

Models are not copied: XGBoost and LightGBM boosters are read from
crates/whyline-models/tests/fixtures/, and the scikit-learn models are re-fitted with the
exact recipes of python/make_model_fixtures.py (the script checks that the re-fitted model
predicts exactly what the committed NAME.expected.json says, so it is the same model).

Each NAME.shap.json holds:

    model           model file name in crates/whyline-models/tests/fixtures/
    method          tree_path_dependent | tree_interventional | linear | kernel
    output          margin | probability | value  (what the values explain)
    rows            the explained rows (float32 values, NaN as null)
    values          [row][output][feature] attributions
    expected_value  [output] shap's base value
    background      rows of the background set (interventional, linear, kernel)
    library         versions of shap and the model's library

Each NAME.lime.json (--only lime writes just these) holds, for LimeTabularExplainer with its
defaults over `background` and each explained row:

    model, output, rows, background, library   as above (output: probability | value)
    label           the explained output (class index; 0 for regressors)
    kernel_width    lime's default 0.75 sqrt(M)
    edges           [feature] the quartile edges lime's QuartileDiscretizer computed
    neighbourhoods  [row] {binary: rows as "0101..." strings (lime's scaled_data, first row
                    the instance), targets: predict_fn on lime's inverse rows, distances:
                    lime's euclidean distances, weights/intercept/score/local_pred:
                    LimeBase.explain_instance_with_data(scaled_data, targets, distances,
                    label, num_features=M, feature_selection="auto")}
    explain_instance  [row] weights of explain_instance(row, predict_fn, labels=[label],
                    num_features=M, num_samples=5000) for random_state 0..4 (a statistical
                    reference: numpy's sampler cannot be reproduced)
    normal          scipy.stats.norm cdf and ppf on grids (the Rust sampler's functions)
"""
import argparse
import json
import os
import sys

import numpy as np
import shap
import sklearn

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import make_model_fixtures as mmf  # noqa: E402

MODELS = os.path.join(here, "..", "crates", "whyline-models", "tests", "fixtures")


def rows_json(X):
    return [[None if np.isnan(v) else float(np.float32(v)) for v in row] for row in np.asarray(X, dtype=np.float64)]


def as_row_output_feature(values, n_rows, n_features):
    """shap returns (n, M), (n, M, K) or a list of K (n, M): normalise to [row][output][feature]."""
    if isinstance(values, list):
        arr = np.stack([np.asarray(v) for v in values], axis=-1)
    else:
        arr = np.asarray(values)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    assert arr.shape[0] == n_rows and arr.shape[1] == n_features, arr.shape
    return np.transpose(arr, (0, 2, 1)).astype(np.float64).tolist()


def expected_list(e):
    return np.atleast_1d(np.asarray(e, dtype=np.float64)).tolist()


def write(out, name, doc):
    doc["library"]["shap"] = shap.__version__
    with open(os.path.join(out, f"{name}.shap.json"), "w", encoding="utf-8") as h:
        json.dump(doc, h, allow_nan=False, separators=(",", ":"))
        h.write("\n")


def refit_sklearn():
    """Re-runs make_model_fixtures' scikit-learn recipes, keeping the fitted models."""
    fitted = {}

    def capture(out_dir, name, model, X_tr, y_tr, X_te, names, **_):
        model.fit(X_tr, y_tr)
        with open(os.path.join(MODELS, f"{name}.expected.json"), encoding="utf-8") as h:
            expected = json.load(h)
        pred = np.asarray(model.predict(X_te), dtype=np.float64)
        # The same model: equal predictions, to the last bits a BLAS of another processor
        # may round differently (LinearRegression's solve on this Zen 5 host differs from the
        # one the fixtures were written on by an ulp or two).
        want = np.asarray(expected["predict"], dtype=np.float64)
        assert np.allclose(pred, want, rtol=1e-12, atol=0.0), (name, np.max(np.abs(pred - want)))
        fitted[name] = (model, np.asarray(X_tr, dtype=np.float64), np.asarray(X_te, dtype=np.float64))

    mmf.sk = capture
    mmf.sklearn_models(None, 30)
    return fitted


def tree_fixtures(out, rows, fitted):
    # shap 0.51 rejects multiclass GradientBoostingClassifier (sk_gb_clf_iris): the Rust
    # tests check that one against brute-force enumeration only.
    sk_lib = {"name": "scikit-learn", "version": sklearn.__version__}
    for name, output in [
        ("sk_tree_clf_iris", "probability"),
        ("sk_tree_reg_diabetes", "value"),
        ("sk_tree_clf_classification", "probability"),
        ("sk_rf_clf_wine", "probability"),
        ("sk_rf_reg_diabetes", "value"),
        ("sk_gb_clf_breast_cancer", "margin"),
        ("sk_gb_reg_diabetes", "margin"),
    ]:
        model, _, X_te = fitted[name]
        X = X_te[:rows]
        explainer = shap.TreeExplainer(model)
        values = explainer.shap_values(X, check_additivity=True)
        write(out, name, {
            "model": f"{name}.whyline.json", "method": "tree_path_dependent", "output": output,
            "rows": rows_json(X), "values": as_row_output_feature(values, len(X), X.shape[1]),
            "expected_value": expected_list(explainer.expected_value), "library": dict(sk_lib),
        })

    import xgboost as xgb
    for name in ["xgb_reg_squarederror_diabetes", "xgb_reg_logistic_diabetes",
                 "xgb_binary_logistic_breast_cancer_missing", "xgb_multi_softprob_iris",
                 "xgb_multi_softmax_wine"]:
        booster = xgb.Booster(model_file=os.path.join(MODELS, f"{name}.xgb.json"))
        with open(os.path.join(MODELS, f"{name}.expected.json"), encoding="utf-8") as h:
            X = np.array([[np.nan if v is None else v for v in r] for r in json.load(h)["inputs"]], dtype=np.float32)[:rows]
        explainer = shap.TreeExplainer(booster)
        values = explainer.shap_values(X)
        write(out, name, {
            "model": f"{name}.xgb.json", "method": "tree_path_dependent", "output": "margin",
            "rows": rows_json(X), "values": as_row_output_feature(values, len(X), X.shape[1]),
            "expected_value": expected_list(explainer.expected_value),
            "library": {"name": "xgboost", "version": xgb.__version__},
        })

    import lightgbm as lgb
    for name in ["lgb_regression_diabetes", "lgb_binary_breast_cancer", "lgb_multiclass_iris",
                 "lgb_binary_missing_breast_cancer", "lgb_regression_zero_as_missing",
                 "lgb_binary_categorical", "lgb_binary_many_categories"]:
        booster = lgb.Booster(model_file=os.path.join(MODELS, f"{name}.lgb.txt"))
        with open(os.path.join(MODELS, f"{name}.expected.json"), encoding="utf-8") as h:
            X = np.array([[np.nan if v is None else v for v in r] for r in json.load(h)["inputs"]], dtype=np.float64)[:rows]
        explainer = shap.TreeExplainer(booster)
        values = explainer.shap_values(X)
        write(out, name, {
            "model": f"{name}.lgb.txt", "method": "tree_path_dependent", "output": "margin",
            "rows": rows_json(X), "values": as_row_output_feature(values, len(X), X.shape[1]),
            "expected_value": expected_list(explainer.expected_value),
            "library": {"name": "lightgbm", "version": lgb.__version__},
        })


def linear_fixtures(out, rows, fitted, n_background):
    sk_lib = {"name": "scikit-learn", "version": sklearn.__version__}
    for name in ["sk_linreg_diabetes", "sk_logreg_breast_cancer", "sk_ridge_regression",
                 "sk_logreg_iris"]:
        model, X_tr, X_te = fitted[name]
        background = X_tr[:n_background]
        X = X_te[:rows]
        explainer = shap.LinearExplainer(model, background)
        values = explainer.shap_values(X)
        write(out, f"{name}.linear", {
            "model": f"{name}.whyline.json", "method": "linear", "output": "margin",
            "rows": rows_json(X), "background": rows_json(background),
            "values": as_row_output_feature(values, len(X), X.shape[1]),
            "expected_value": expected_list(explainer.expected_value), "library": dict(sk_lib),
        })


def multiclass_linear_fixtures(out, rows, n_background):
    """One-vs-rest logistic and hinge (margin) SGDClassifiers on standardised wine: models
    no other fixture has, written here with whyline_export beside their NAME.linear.shap.json
    (which then names `model_dir: "explain"`). Besides shap's values, `proba` holds
    predict_proba of the rows and `proba_at_mean` predict_proba at the background mean: the
    model's own probability where every feature sits at its expectation (LinearSHAP's base
    value in probability space)."""
    from sklearn.linear_model import SGDClassifier
    from whyline_export import export_model

    X, y, names = mmf.load("wine")
    X_tr, X_te, y_tr, _ = mmf.split(X, y, 30)
    Xs_tr, Xs_te = mmf.standardize(X_tr, X_te)
    sk_lib = {"name": "scikit-learn", "version": sklearn.__version__}
    for name, loss in [("sk_sgd_log_wine", "log_loss"), ("sk_sgd_hinge_wine", "hinge")]:
        model = SGDClassifier(loss=loss, alpha=0.1, random_state=mmf.SEED).fit(Xs_tr, y_tr)
        export_model(model, os.path.join(out, f"{name}.whyline.json"), feature_names=names,
                     class_names=[str(c) for c in model.classes_])
        background = Xs_tr[:n_background]
        X = Xs_te[:rows]
        explainer = shap.LinearExplainer(model, background)
        values = explainer.shap_values(X)
        doc = {
            "model": f"{name}.whyline.json", "model_dir": "explain", "method": "linear",
            "output": "margin", "rows": rows_json(X), "background": rows_json(background),
            "values": as_row_output_feature(values, len(X), X.shape[1]),
            "expected_value": expected_list(explainer.expected_value),
            "predict": [int(v) for v in model.predict(X)], "library": dict(sk_lib),
        }
        if loss == "log_loss":
            doc["proba"] = model.predict_proba(X).tolist()
            doc["proba_at_mean"] = model.predict_proba(background.mean(axis=0)[None, :])[0].tolist()
        write(out, f"{name}.linear", doc)


def kernel_fixtures(out, rows, fitted, n_background):
    """KernelExplainer with every coalition enumerated (nsamples >= 2^M) and l1_reg=False."""
    sk_lib = {"name": "scikit-learn", "version": sklearn.__version__}
    for name, output in [("sk_knn_clf_iris", "probability"), ("sk_knn_reg_diabetes", "value"),
                         ("sk_mlp_clf_wine", "probability"), ("sk_tree_clf_iris", "probability")]:
        model, X_tr, X_te = fitted[name]
        background = X_tr[:n_background]
        X = X_te[:rows]
        f = model.predict_proba if output == "probability" else model.predict
        explainer = shap.KernelExplainer(f, background)
        m = X.shape[1]
        values = explainer.shap_values(X, nsamples=2 ** m + 2 * m, l1_reg=False, silent=True)
        write(out, f"{name}.kernel", {
            "model": f"{name}.whyline.json", "method": "kernel", "output": output,
            "rows": rows_json(X), "background": rows_json(background),
            "values": as_row_output_feature(values, len(X), m),
            "expected_value": expected_list(explainer.expected_value), "library": dict(sk_lib),
        })


def interventional_fixtures(out, fitted, n_rows=4, n_background=10):
    """shap.TreeExplainer(model, background, feature_perturbation="interventional")."""
    sk_lib = {"name": "scikit-learn", "version": sklearn.__version__}
    for name, output in [("sk_tree_clf_iris", "probability"), ("sk_rf_reg_diabetes", "value"),
                         ("sk_gb_clf_breast_cancer", "margin")]:
        model, X_tr, X_te = fitted[name]
        background = X_tr[:n_background]
        X = X_te[:n_rows]
        explainer = shap.TreeExplainer(model, background, feature_perturbation="interventional")
        values = explainer.shap_values(X, check_additivity=True)
        write(out, f"{name}.interventional", {
            "model": f"{name}.whyline.json", "method": "tree_interventional", "output": output,
            "rows": rows_json(X), "background": rows_json(background),
            "values": as_row_output_feature(values, len(X), X.shape[1]),
            "expected_value": expected_list(explainer.expected_value), "library": dict(sk_lib),
        })


def lime_fixtures(out, fitted, n_background=80, n_rows=1, n_samples=500):
    """LIME neighbourhoods built by lime itself, and lime's surrogate on them."""
    import lime
    import lime.lime_tabular
    import scipy
    from scipy.stats import norm
    from sklearn.metrics import pairwise_distances

    versions = {"name": "scikit-learn", "version": sklearn.__version__, "lime": lime.__version__ if hasattr(lime, "__version__") else "0.2.0.1",
                "numpy": np.__version__, "scipy": scipy.__version__}
    for name, output in [("sk_logreg_breast_cancer", "probability"), ("sk_rf_reg_diabetes", "value"),
                         ("sk_tree_clf_iris", "probability")]:
        model, X_tr, X_te = fitted[name]
        # The Rust side holds rows as float32: give lime exactly those values.
        background = X_tr[:n_background].astype(np.float32).astype(np.float64)
        X = X_te[:n_rows].astype(np.float32).astype(np.float64)
        classifier = output == "probability"
        predict_fn = model.predict_proba if classifier else model.predict
        M = X.shape[1]
        neighbourhoods, instance_weights, labels = [], [], []
        for row in X:
            label = int(model.predict(row[None, :])[0]) if classifier else 0
            labels.append(label)
            explainer = lime.lime_tabular.LimeTabularExplainer(
                background, mode="classification" if classifier else "regression", random_state=0)
            data, inverse = explainer._LimeTabularExplainer__data_inverse(row, n_samples)
            scaled = (data - explainer.scaler.mean_) / explainer.scaler.scale_
            distances = pairwise_distances(scaled, scaled[0].reshape(1, -1), metric="euclidean").ravel()
            targets = predict_fn(inverse)
            if not classifier:
                targets = targets[:, None]
            intercept, exp, score, local_pred = explainer.base.explain_instance_with_data(
                scaled, targets, distances, label, M, feature_selection="auto")
            weights = [0.0] * M
            for j, w in exp:
                weights[int(j)] = float(w)
            assert len(exp) == M, "lime selected fewer features than M"
            assert set(np.unique(scaled)) <= {0.0, 1.0}
            neighbourhoods.append({
                "binary": ["".join("1" if v else "0" for v in r) for r in scaled],
                "targets": targets[:, label].astype(np.float64).tolist(),
                "distances": distances.astype(np.float64).tolist(),
                "weights": weights, "intercept": float(intercept), "score": float(score),
                "local_pred": float(np.ravel(local_pred)[0]),
            })
            runs = []
            for seed in range(5):
                explainer = lime.lime_tabular.LimeTabularExplainer(
                    background, mode="classification" if classifier else "regression", random_state=seed)
                e = explainer.explain_instance(row, predict_fn, labels=[label], num_features=M, num_samples=5000)
                w = [0.0] * M
                for j, v in e.local_exp[label if classifier else 1]:
                    w[int(j)] = float(v)
                runs.append(w)
            instance_weights.append(runs)
        edges = [np.asarray(explainer.discretizer.lambdas[j].__defaults__[0], dtype=np.float64).tolist() for j in range(M)]
        with open(os.path.join(out, f"{name}.lime.json"), "w", encoding="utf-8") as h:
            json.dump({
                "model": f"{name}.whyline.json", "method": "lime", "output": output,
                "rows": rows_json(X), "labels": labels, "background": rows_json(background),
                "kernel_width": float(np.sqrt(M) * 0.75), "edges": edges,
                "neighbourhoods": neighbourhoods, "explain_instance": instance_weights,
                "library": versions,
            }, h, allow_nan=False, separators=(",", ":"))
            h.write("\n")
    xs = np.linspace(-12.0, 12.0, 97)
    ps = np.concatenate([np.logspace(-15, -1, 29), np.linspace(0.1, 0.9, 17), 1 - np.logspace(-1, -12, 23)])
    with open(os.path.join(out, "normal.lime.json"), "w", encoding="utf-8") as h:
        json.dump({"x": xs.tolist(), "cdf": norm.cdf(xs).tolist(), "p": ps.tolist(), "ppf": norm.ppf(ps).tolist(),
                   "library": {"scipy": scipy.__version__}}, h, allow_nan=False, separators=(",", ":"))
        h.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.join(here, "..", "crates", "whyline-explain", "tests", "fixtures")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--background", type=int, default=20)
    parser.add_argument("--only", choices=["lime", "linear", "tree"], help="write only these fixtures")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.only == "linear":
        multiclass_linear_fixtures(args.out, args.rows, args.background)
        return
    fitted = refit_sklearn()
    if args.only == "tree":
        tree_fixtures(args.out, args.rows, fitted)
        return
    lime_fixtures(args.out, fitted)
    if args.only == "lime":
        return
    tree_fixtures(args.out, args.rows, fitted)
    linear_fixtures(args.out, args.rows, fitted, args.background)
    multiclass_linear_fixtures(args.out, args.rows, args.background)
    kernel_fixtures(args.out, 3, fitted, 5)
    interventional_fixtures(args.out, fitted)


if __name__ == "__main__":
    main()
