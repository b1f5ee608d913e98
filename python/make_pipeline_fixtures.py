"""Fixtures for the models people actually fit: scikit-learn Pipelines and ColumnTransformers
with scalers, imputers and encoders, HistGradientBoosting (missing values, categorical
splits), ExtraTrees and the other linear models (Lasso, ElasticNet, SGDClassifier,
LinearSVC).

Each set NAME is three files in --out:

- ``NAME.whyline.json``: the model, exported by ``python/whyline/export/``;
- ``NAME.rows.csv``: held-out rows as a user has them (category strings, empty cells for
  missing values, a column the pipeline drops);
- ``NAME.expected.json``: scikit-learn's outputs for those rows (``predict``, ``proba``,
  ``raw`` = ``decision_function`` or the raw prediction), the transformed rows the
  estimator reads (``transformed``), and, where shap supports the estimator, shap's
  TreeExplainer values on the transformed rows (``shap``: ``values[output][row][feature]``,
  ``expected_value``).

Usage (shap lives in the explain venv, with the same scikit-learn)::

    python/.venv-explain/bin/python python/make_pipeline_fixtures.py \
        --out crates/whyline-models/tests/fixtures/pipelines

Pinned versions: python/requirements-explain.txt (scikit-learn 1.9.1, shap 0.51.0).
"""

import argparse
import json
import pathlib

import numpy as np
import pandas as pd
import shap
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import LinearSVC

from whyline_export import export_model

CITIES = ["Lille", "Lyon", "Nice", "Paris"]
PLANS = ["basic", "plus", "pro"]


def credit_data(n, seed, missing=0.1):
    """Synthetic applicants: a city and a plan (strings), income, age, debt (numbers, some
    income and city missing), an id the pipelines drop."""
    rng = np.random.RandomState(seed)
    city = rng.choice(CITIES, n).astype(object)
    plan = rng.choice(PLANS, n).astype(object)
    income = np.round(rng.lognormal(10.8, 0.4, n), 2)
    age = rng.randint(18, 80, n).astype(np.float64)
    debt = np.round(rng.gamma(2.0, 4000.0, n), 2)
    score = (
        (income - 50000) / 20000
        - debt / 10000
        + (age - 45) / 30
        + np.where(city == "Paris", 0.8, 0.0)
        - np.where(city == "Nice", 0.5, 0.0)
        + np.where(plan == "pro", 0.7, np.where(plan == "plus", 0.2, 0.0))
        + rng.normal(0, 0.5, n)
    )
    income[rng.rand(n) < missing] = np.nan
    city[rng.rand(n) < missing / 2] = np.nan
    frame = pd.DataFrame(
        {
            "id": np.arange(n).astype(str),
            "city": city,
            "income": income,
            "age": age,
            "debt": debt,
            "plan": plan,
        }
    )
    return frame, score


def write_csv(frame, path):
    """The rows as a user has them: strings for categories, empty cells for missing
    values, numbers written with Python's shortest round-trip repr."""
    lines = [",".join(frame.columns)]
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                cells.append("")
            elif isinstance(value, (float, np.floating)):
                cells.append(repr(float(value)))
            else:
                cells.append(str(value))
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def floats(array):
    out = []
    for v in np.asarray(array, dtype=np.float64).ravel():
        out.append(None if np.isnan(v) else float(v))
    return out


def per_row(array):
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    return [floats(row) for row in array]


def transformed(model, X):
    """What the estimator reads: the pipeline's steps, then HistGradientBoosting's own
    encoder of its categorical features."""
    steps = model.steps[:-1] if isinstance(model, Pipeline) else []
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    Xt = X
    for _, step in steps:
        Xt = step.transform(Xt)
    internal = getattr(estimator, "_preprocessor", None)
    if internal is not None:
        Xt = internal.transform(Xt)
    if hasattr(Xt, "toarray"):
        Xt = Xt.toarray()
    return estimator, np.asarray(Xt, dtype=np.float64)


def shap_values(estimator, Xt):
    explainer = shap.TreeExplainer(estimator)
    values = np.asarray(explainer.shap_values(Xt), dtype=np.float64)
    if values.ndim == 2:
        values = values[None, :, :]
    else:  # (rows, features, outputs)
        values = np.transpose(values, (2, 0, 1))
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
    return {
        "values": [[floats(r) for r in output] for output in values],
        "expected_value": floats(expected),
    }


def write_set(out, name, model, X_train, X_test, with_shap):
    export_model(model, out / f"{name}.whyline.json")
    write_csv(X_test, out / f"{name}.rows.csv")
    estimator, Xt = transformed(model, X_test)
    doc = {
        "model": f"{name}.whyline.json",
        "rows": f"{name}.rows.csv",
        "library": {"name": "scikit-learn", "version": sklearn.__version__},
        "predict": floats(
            model.predict(X_test)
            if not hasattr(estimator, "classes_")
            else np.searchsorted(estimator.classes_, model.predict(X_test))
        ),
        "proba": per_row(model.predict_proba(X_test)) if hasattr(model, "predict_proba") else None,
        "raw": (
            per_row(model.decision_function(X_test))
            if hasattr(model, "decision_function")
            else None
            if hasattr(estimator, "classes_")
            else per_row(model.predict(X_test))
        ),
        "transformed": [floats(r) for r in Xt],
        "shap": shap_values(estimator, Xt) if with_shap else None,
    }
    (out / f"{name}.expected.json").write_text(json.dumps(doc, allow_nan=False) + "\n")
    print(name, "ok")


def numeric_and_categorical(scaler, encoder, numbers=("income", "age", "debt")):
    return ColumnTransformer(
        [
            ("cat", encoder, ["city", "plan"]),
            ("num", scaler, list(numbers)),
        ],
        remainder="drop",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    frame, score = credit_data(1200 + args.rows, seed=7)
    train, test = frame.iloc[:1200], frame.iloc[1200:].copy()
    # One applicant from a city no model saw.
    test.iloc[0, test.columns.get_loc("city")] = "Brest"
    y_bin = (score > np.median(score)).astype(int)[:1200]
    y_reg = score[:1200]
    y_multi = np.digitize(score, np.quantile(score, [0.33, 0.66]))[:1200]
    labels = np.array(["deny", "review", "approve"])[y_multi]

    def complete(X):
        """Rows without missing values, for estimators that refuse NaN."""
        X = X.copy()
        X["income"] = X["income"].fillna(50000.0)
        X["city"] = X["city"].fillna("Lyon")
        return X

    # 1. The CLI's case: one-hot and scaling into histogram boosting (missing income).
    ohe = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    model = make_pipeline(
        numeric_and_categorical(StandardScaler(), ohe),
        HistGradientBoostingClassifier(max_iter=40, max_depth=4, random_state=0),
    ).fit(train, y_bin)
    write_set(out, "pipe_ohe_scaler_hgb_clf", model, train, test, with_shap=True)

    # 2. The first example: scaling into logistic regression.
    numbers = ["income", "age", "debt"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
        complete(train)[numbers], y_bin
    )
    write_set(out, "pipe_scaler_logreg", model, None, complete(test)[numbers], with_shap=False)

    # 3. Imputers, ordinal encoding and robust scaling into a regressor whose categorical
    # splits read the ordinal codes (HistGradientBoosting's own encoder on top).
    ct = ColumnTransformer(
        [
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ),
                ["city", "plan"],
            ),
            ("num", make_pipeline(SimpleImputer(strategy="median"), RobustScaler()), ["income"]),
        ],
        remainder="passthrough",
    )
    hgb = HistGradientBoostingRegressor(
        max_iter=40, max_depth=4, categorical_features=[0, 1], random_state=0
    )
    model = make_pipeline(ct, hgb).fit(train.drop(columns=["id"]), y_reg)
    write_set(out, "pipe_impute_ordinal_hgb_reg", model, None, test.drop(columns=["id"]),
              with_shap=False)

    # 4. Multiclass histogram boosting with string categories of its own (pandas category
    # dtype): its internal ordinal encoder, unknown and missing categories.
    cats = train.drop(columns=["id"]).copy()
    cats_test = test.drop(columns=["id"]).copy()
    for column in ("city", "plan"):
        dtype = pd.CategoricalDtype(sorted(set(cats[column].dropna())))
        cats[column] = cats[column].astype(dtype)
        cats_test[column] = cats_test[column].astype(str).where(cats_test[column].notna())
        cats_test[column] = cats_test[column].astype(
            pd.CategoricalDtype(sorted(set(cats_test[column].dropna()) | set(dtype.categories)))
        )
    model = HistGradientBoostingClassifier(
        max_iter=25, max_depth=4, categorical_features="from_dtype", random_state=0
    ).fit(cats, labels)
    write_set(out, "hgb_native_categories_multiclass", model, None, cats_test, with_shap=False)

    # 5. HistGradientBoosting alone on numbers with NaN (shap supports it).
    model = HistGradientBoostingRegressor(max_iter=30, max_depth=5, random_state=0).fit(
        train[numbers], y_reg
    )
    write_set(out, "hgb_reg_missing", model, None, test[numbers], with_shap=True)

    # 6. ExtraTrees: a classifier behind min-max scaling (clipped) and one-hot (drop first),
    # and a regressor alone.
    model = make_pipeline(
        numeric_and_categorical(
            MinMaxScaler(clip=True),
            OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False),
        ),
        ExtraTreesClassifier(n_estimators=20, max_depth=6, random_state=0),
    ).fit(complete(train), labels)
    write_set(out, "pipe_minmax_ohe_extra_trees_clf", model, None, complete(test),
              with_shap=True)
    model = ExtraTreesRegressor(n_estimators=20, max_depth=6, random_state=0).fit(
        complete(train)[numbers], y_reg
    )
    write_set(out, "extra_trees_reg", model, None, complete(test)[numbers], with_shap=True)

    # 7. The other linear models, each behind one-hot and scaling.
    def linear(name, estimator, y):
        model = make_pipeline(
            numeric_and_categorical(
                StandardScaler(), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            ),
            estimator,
        ).fit(complete(train), y)
        write_set(out, name, model, None, complete(test), with_shap=False)

    linear("pipe_lasso", Lasso(alpha=0.01), y_reg)
    linear("pipe_elastic_net", ElasticNet(alpha=0.01, l1_ratio=0.3), y_reg)
    linear("pipe_sgd_hinge_multiclass", SGDClassifier(loss="hinge", random_state=0), labels)
    linear("pipe_sgd_log_multiclass", SGDClassifier(loss="log_loss", random_state=0), labels)
    linear("pipe_sgd_log_binary", SGDClassifier(loss="log_loss", random_state=0), y_bin)
    linear("pipe_linear_svc", LinearSVC(random_state=0), y_bin)

    # 8. Estimators that need scaled inputs most: k-nearest neighbours and an MLP.
    linear("pipe_knn_clf", KNeighborsClassifier(n_neighbors=7), labels)
    linear(
        "pipe_mlp_reg",
        MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0),
        y_reg,
    )


if __name__ == "__main__":
    main()
