"""whyline.TreeExplainer against shap.TreeExplainer run in the same session on the same
models and rows: the same array shapes and dtypes, the same expected_value type, values
equal to 1e-9 (relative) for scikit-learn and LightGBM and 1e-5 for XGBoost's float32."""

import lightgbm
import numpy as np
import pandas as pd
import pytest
import shap
import xgboost
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import whyline

TOLERANCE = {"sklearn": (1e-9, 1e-12), "lightgbm": (1e-9, 1e-12), "xgboost": (1e-5, 1e-6)}


def _fit(name, data):
    X, y, b, m = data["X"], data["y"], data["binary"], data["multi"]
    models = {
        "dt-regressor": lambda: DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y),
        "dt-binary": lambda: DecisionTreeClassifier(max_depth=5, random_state=0).fit(X, b),
        "rf-regressor": lambda: RandomForestRegressor(20, max_depth=6, random_state=0).fit(X, y),
        "rf-binary": lambda: RandomForestClassifier(20, max_depth=6, random_state=0).fit(X, b),
        "rf-multiclass": lambda: RandomForestClassifier(20, max_depth=6, random_state=0).fit(X, m),
        "gb-regressor": lambda: GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, y),
        "gb-binary": lambda: GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, b),
        "xgb-regressor": lambda: xgboost.XGBRegressor(n_estimators=20, max_depth=4).fit(X, y),
        "xgb-binary": lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=4).fit(X, b),
        "xgb-multiclass": lambda: xgboost.XGBClassifier(n_estimators=10, max_depth=4).fit(X, m),
        "xgb-booster": lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=4).fit(X, b).get_booster(),
        "lgb-regressor": lambda: lightgbm.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y),
        "lgb-binary": lambda: lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, b),
        "lgb-multiclass": lambda: lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, m),
        "lgb-booster": lambda: lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, b).booster_,
    }
    return models[name]()


def _library(name):
    return {"xgb": "xgboost", "lgb": "lightgbm"}.get(name.split("-")[0], "sklearn")


def assert_same_as_shap(ours, theirs, library):
    rtol, atol = TOLERANCE[library]
    assert type(ours) is type(theirs), f"{type(ours)} vs shap's {type(theirs)}"
    ours_array, theirs_array = np.asarray(ours), np.asarray(theirs)
    assert ours_array.shape == theirs_array.shape
    assert ours_array.dtype == theirs_array.dtype
    np.testing.assert_allclose(ours_array, theirs_array, rtol=rtol, atol=atol)


def assert_expected_values_match(ours, theirs, library):
    rtol, atol = TOLERANCE[library]
    assert type(ours) is type(theirs), f"{type(ours)} vs shap's {type(theirs)}"
    if isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert type(o) is type(t)
        ours, theirs = np.array(ours), np.array(theirs)
    assert np.shape(ours) == np.shape(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


MODELS = [
    "dt-regressor", "dt-binary", "rf-regressor", "rf-binary", "rf-multiclass", "gb-regressor",
    "gb-binary", "xgb-regressor", "xgb-binary", "xgb-multiclass", "xgb-booster",
    "lgb-regressor", "lgb-binary", "lgb-multiclass", "lgb-booster",
]


@pytest.mark.parametrize("name", MODELS)
def test_shap_values_and_expected_value_equal_shaps(name, data):
    model = _fit(name, data)
    library = _library(name)
    theirs_explainer = shap.TreeExplainer(model)
    theirs = theirs_explainer.shap_values(data["rows"])
    ours_explainer = whyline.TreeExplainer(model)
    ours = ours_explainer.shap_values(data["rows"])
    assert_same_as_shap(ours, theirs, library)
    assert_expected_values_match(ours_explainer.expected_value, theirs_explainer.expected_value, library)


@pytest.mark.parametrize("name", ["xgb-regressor", "xgb-binary", "xgb-multiclass", "lgb-regressor", "lgb-binary", "lgb-multiclass"])
def test_missing_values_take_the_boosters_default_branches_as_shap_does(name, data_missing):
    model = _fit(name, data_missing)
    library = _library(name)
    theirs_explainer = shap.TreeExplainer(model)
    theirs = theirs_explainer.shap_values(data_missing["rows"])
    ours_explainer = whyline.TreeExplainer(model)
    assert_same_as_shap(ours_explainer.shap_values(data_missing["rows"]), theirs, library)
    assert_expected_values_match(ours_explainer.expected_value, theirs_explainer.expected_value, library)


@pytest.mark.parametrize("name", ["rf-regressor", "rf-binary", "rf-multiclass", "gb-binary", "xgb-binary"])
def test_interventional_values_equal_shaps_with_background_data(name, data):
    model = _fit(name, data)
    background = data["X"][:50]
    theirs_explainer = shap.TreeExplainer(model, background, feature_perturbation="interventional")
    theirs = theirs_explainer.shap_values(data["rows"][:10])
    ours_explainer = whyline.TreeExplainer(model, data=background)
    ours = ours_explainer.shap_values(data["rows"][:10])
    # shap's interventional algorithm is not additive beyond ~1e-8 (single-precision
    # weights in its C++ code): its sum misses the model's output by up to ~1e-8 where ours
    # adds up to it within 1e-15 (checked below), so the values are compared to 1e-6.
    assert type(ours) is type(theirs) and ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert type(ours_explainer.expected_value) is type(theirs_explainer.expected_value)
    np.testing.assert_allclose(ours_explainer.expected_value, theirs_explainer.expected_value, rtol=1e-9)
    if _library(name) == "sklearn" and name.endswith("regressor"):
        prediction = model.predict(data["rows"][:10].astype(np.float32))
        np.testing.assert_allclose(ours.sum(1) + ours_explainer.expected_value, prediction, rtol=1e-12)


def test_n_jobs_gives_the_same_bits(data):
    model = _fit("rf-multiclass", data)
    one = whyline.TreeExplainer(model).shap_values(data["rows"])
    many = whyline.TreeExplainer(model, n_jobs=3).shap_values(data["rows"])
    assert np.array_equal(one, many)


def test_one_row_gives_the_arrays_without_the_row_axis(data):
    model = _fit("rf-binary", data)
    theirs = shap.TreeExplainer(model).shap_values(data["rows"][0])
    ours = whyline.TreeExplainer(model).shap_values(data["rows"][0])
    assert_same_as_shap(ours, theirs, "sklearn")


def test_float32_fortran_order_and_list_inputs_give_the_same_values(data):
    model = _fit("rf-regressor", data)
    explainer = whyline.TreeExplainer(model)
    expected = explainer.shap_values(data["rows"])
    assert np.array_equal(explainer.shap_values(np.asfortranarray(data["rows"])), expected)
    assert np.array_equal(explainer.shap_values(data["rows"].astype(np.float32)), expected)
    assert np.array_equal(explainer.shap_values(data["rows"].tolist()), expected)


def test_dataframe_columns_are_matched_by_name(data):
    names = [f"x{i}" for i in range(6)]
    frame = pd.DataFrame(data["X"], columns=names)
    model = RandomForestRegressor(10, max_depth=5, random_state=0).fit(frame, data["y"])
    rows = pd.DataFrame(data["rows"], columns=names)
    theirs = shap.TreeExplainer(model).shap_values(rows)
    shuffled = rows[names[::-1]]
    ours = whyline.TreeExplainer(model).shap_values(shuffled)
    assert_same_as_shap(ours, theirs, "sklearn")


def test_callable_returns_a_shap_explanation(data):
    model = _fit("rf-regressor", data)
    explanation = whyline.TreeExplainer(model)(data["rows"][:5])
    assert isinstance(explanation, shap.Explanation)
    prediction = model.predict(data["rows"][:5].astype(np.float32))
    np.testing.assert_allclose(explanation.values.sum(1) + explanation.base_values, prediction, rtol=1e-9)
