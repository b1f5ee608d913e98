"""The exporter on pipelines: what it writes, and the ValueError naming any step or
estimator it cannot reproduce (so no file is ever written for such a model).

Runs under pytest, or as a script (``python python/tests/test_export_pipelines.py``), with
scikit-learn, numpy and pandas (python/requirements-explain.txt)."""

import json
import pathlib
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from whyline_export import export_model, model_to_dict, model_to_json  # noqa: E402


def _data(n=80):
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "city": rng.choice(["Lyon", "Paris", "Nice"], n),
            "income": rng.rand(n) * 1e5,
            "age": rng.randint(18, 80, n).astype(float),
        }
    )
    y = (X["income"] > 5e4).astype(int).to_numpy()
    return X, y


def _raises(model, *words):
    try:
        model_to_dict(model)
    except ValueError as error:
        for word in words:
            assert word in str(error), f"{word!r} not in {error}"
        return
    raise AssertionError(f"no ValueError for {model}")


def test_a_pipeline_is_written_as_version_2_with_its_input_columns():
    X, y = _data()
    ct = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]), ("num", StandardScaler(), ["income", "age"])]
    )
    doc = model_to_dict(make_pipeline(ct, HistGradientBoostingClassifier(max_iter=5)).fit(X, y))
    assert doc["format_version"] == 2
    assert doc["model_type"] == "hist_gradient_boosting"
    stage = doc["preprocessing"]
    assert [c["name"] for c in stage["inputs"]] == ["city", "income", "age"]
    assert stage["inputs"][0]["categories"] == ["Lyon", "Nice", "Paris"]
    assert stage["inputs"][0]["unknown"] == "ignore"
    assert len(stage["features"]) == doc["n_features"] == 5
    assert json.loads(model_to_json(make_pipeline(StandardScaler(), LinearRegression()).fit(X[["income"]], y)))[
        "format_version"
    ] == 2


def test_a_bare_estimator_stays_version_1():
    X, y = _data()
    doc = model_to_dict(LogisticRegression().fit(X[["income", "age"]], y))
    assert doc["format_version"] == 1
    assert "preprocessing" not in doc


def test_unsupported_steps_and_estimators_raise_a_value_error_naming_them(tmp_path=None):
    X, y = _data()
    numbers = X[["income", "age"]]
    _raises(make_pipeline(PolynomialFeatures(), LinearRegression()).fit(numbers, y), "PolynomialFeatures")
    _raises(make_pipeline(StandardScaler(), SVC()).fit(numbers, y), "SVC")
    _raises(SGDClassifier(loss="modified_huber").fit(numbers, y), "SGDClassifier", "modified_huber")
    rare = OneHotEncoder(min_frequency=30, handle_unknown="infrequent_if_exist")
    _raises(make_pipeline(ColumnTransformer([("c", rare, ["city"])]), LogisticRegression()).fit(X, y), "infrequent")
    # Nothing is written for a model the exporter refuses.
    target = pathlib.Path(tmp_path or ".") / "refused.whyline.json"
    try:
        export_model(make_pipeline(StandardScaler(), SVC()).fit(numbers, y), target)
    except ValueError:
        pass
    assert not target.exists()


if __name__ == "__main__":
    for name, test in sorted(globals().items()):
        if name.startswith("test_") and callable(test):
            test()
            print(name, "ok")
