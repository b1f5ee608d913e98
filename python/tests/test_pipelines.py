"""Fitted scikit-learn pipelines passed in memory, with raw rows (string categories
included) as the user has them: DataFrames, numpy object arrays, lists of dicts.

Oracles: the pipeline's own ``predict_proba`` and ``predict``, and shap's TreeExplainer on
``pipeline[-1]`` with ``pipeline[:-1].transform(X)``."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

import whyline

CITIES = ["Lyon", "Paris", "Nice", "Brest"]


def _frame(n, seed, cities=CITIES[:3]):
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "city": rng.choice(cities, n),
            "plan": rng.choice(["free", "pro", "team"], n),
            "income": rng.random(n) * 1e5,
            "age": age,
        }
    )


def _labels(X):
    score = X["income"] / 1e5 + (X["city"] == "Paris") * 0.4 - (X["plan"] == "free") * 0.3
    return (score + X["age"].fillna(40) / 200 > 0.7).astype(int).to_numpy()


def _pipeline(estimator, unknown="ignore"):
    columns = ColumnTransformer(
        [
            ("city", OneHotEncoder(handle_unknown=unknown), ["city"]),
            (
                "plan",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ["plan"],
            ),
            ("income", StandardScaler(), ["income"]),
            ("age", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["age"]),
        ]
    )
    return make_pipeline(columns, estimator)


ESTIMATORS = {
    "random_forest": lambda: RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0),
    "logistic": lambda: LogisticRegression(max_iter=1000),
    "hist_gradient_boosting": lambda: HistGradientBoostingClassifier(max_iter=20, random_state=0),
}


@pytest.fixture(scope="module")
def table():
    X = _frame(400, 1)
    return {"X": X, "y": _labels(X), "rows": _frame(60, 2)}


@pytest.fixture(scope="module")
def pipelines(table):
    return {name: _pipeline(make()).fit(table["X"], table["y"]) for name, make in ESTIMATORS.items()}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_monitor_predict_proba_equals_the_pipelines_for_every_input_form(name, pipelines, table, tmp_path):
    pipeline, rows = pipelines[name], table["rows"]
    expected = pipeline.predict_proba(rows)
    with whyline.Monitor(pipeline, ledger=tmp_path / "ledger", profile="sil2") as monitor:
        for given in (rows, rows.to_numpy(dtype=object), rows.to_dict("records")):
            got = monitor.predict_proba(given)
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(monitor.predict(rows), pipeline.predict(rows))
        one = monitor.predict_proba(rows.iloc[0].to_dict())
        np.testing.assert_allclose(one, expected[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["random_forest", "hist_gradient_boosting"])
def test_tree_shap_on_the_estimators_features_equals_shaps_on_the_last_step(name, pipelines, table):
    pipeline, rows = pipelines[name], table["rows"]
    transformed = pipeline[:-1].transform(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = shap.TreeExplainer(pipeline[-1])
        expected = oracle.shap_values(transformed)
    explainer = whyline.TreeExplainer(pipeline)
    got = explainer.shap_values(rows, features="estimator")
    assert got.shape == np.shape(expected) and got.dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(explainer.expected_value, oracle.expected_value, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["random_forest", "hist_gradient_boosting"])
def test_input_column_values_sum_the_encoded_columns_and_add_up_to_the_output(name, pipelines, table):
    pipeline, rows = pipelines[name], table["rows"]
    explainer = whyline.TreeExplainer(pipeline)
    by_feature = explainer.shap_values(rows, features="estimator")
    by_input = explainer.shap_values(rows)
    assert explainer.feature_names == ["city", "plan", "income", "age"]
    assert by_input.shape[:2] == (len(rows), 4)
    # The three one-hot columns of "city" add up into "city"; the others map one to one.
    np.testing.assert_allclose(by_input[:, 0], by_feature[:, 0:3].sum(axis=1), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(by_input[:, 1:], by_feature[:, 3:])
    base = np.asarray(explainer.expected_value)
    if name == "random_forest":
        # Probability space: base + Σ values is each class's probability.
        np.testing.assert_allclose(base + by_input.sum(axis=1), pipeline.predict_proba(rows), atol=1e-9)
    else:
        margin = pipeline.decision_function(rows)
        np.testing.assert_allclose(base + by_input.sum(axis=1), margin, atol=1e-9)


def _interventional_shapley(model, x, background):
    """Interventional Shapley values of ``model.predict_proba`` at ``x`` by enumerating
    every coalition: ``v(S)`` is the mean output over the background rows with the
    features in ``S`` taken from ``x``."""
    f = x.shape[0]
    value = {}
    for k in range(f + 1):
        for S in itertools.combinations(range(f), k):
            hybrid = background.copy()
            hybrid[:, list(S)] = x[list(S)]
            value[S] = model.predict_proba(hybrid).mean(axis=0)
    phi = np.zeros((f, len(value[()])))
    for i in range(f):
        others = [j for j in range(f) if j != i]
        for k in range(f):
            weight = math.factorial(k) * math.factorial(f - k - 1) / math.factorial(f)
            for S in itertools.combinations(others, k):
                phi[i] += weight * (value[tuple(sorted(S + (i,)))] - value[S])
    return phi


def test_interventional_values_on_a_pipeline_are_the_exact_shapley_values(pipelines, table):
    # The oracle is the definition, not shap: shap 0.51's interventional TreeSHAP is off by
    # up to 1e-3 on these trees (a one-hot feature split twice on one path), while both
    # add up to the output; ours equals the enumeration to 1e-15.
    pipeline, rows = pipelines["random_forest"], table["rows"].iloc[:3]
    background = table["X"].iloc[:50]
    explainer = whyline.TreeExplainer(pipeline, data=background)
    got = explainer.shap_values(rows, features="estimator")
    transformed, reference = pipeline[:-1].transform(rows), pipeline[:-1].transform(background)
    for i in range(len(rows)):
        expected = _interventional_shapley(pipeline[-1], transformed[i], reference)
        np.testing.assert_allclose(got[i], expected, rtol=1e-9, atol=1e-12)
    mean = pipeline[-1].predict_proba(reference).mean(axis=0)
    np.testing.assert_allclose(explainer.expected_value, mean, rtol=1e-12)


def test_explain_speaks_of_the_input_columns(pipelines, table):
    pipeline, rows = pipelines["random_forest"], table["rows"].iloc[:5]
    result = whyline.explain(pipeline, rows, method="tree-shap")
    assert result.values.shape == (5, 4)
    document = result.documents[0]
    assert document["feature_names"] == ["city", "plan", "income", "age"]
    assert document["row_text"][0] == rows["city"].iloc[0]
    predicted = pipeline.predict_proba(rows)[np.arange(5), pipeline.predict(rows)]
    np.testing.assert_allclose(result.base_values + result.values.sum(axis=1), predicted, atol=1e-9)


def test_an_unknown_category_is_ignored_or_refused_as_scikit_learn_does(table, tmp_path):
    rows = _frame(30, 3, cities=CITIES)
    assert (rows["city"] == "Brest").any()
    ignoring = _pipeline(RandomForestClassifier(n_estimators=5, random_state=0)).fit(table["X"], table["y"])
    with whyline.Monitor(ignoring, ledger=tmp_path / "ignore", profile="sil2") as monitor:
        np.testing.assert_allclose(monitor.predict_proba(rows), ignoring.predict_proba(rows), atol=1e-12)
    refusing = _pipeline(RandomForestClassifier(n_estimators=5, random_state=0), unknown="error")
    refusing.fit(table["X"], table["y"])
    with pytest.raises(ValueError):
        refusing.predict_proba(rows)
    with whyline.Monitor(refusing, ledger=tmp_path / "error", profile="sil2") as monitor:
        with pytest.raises(whyline.InputError, match="unknown category 'Brest' in column \"city\""):
            monitor.predict_proba(rows)
        known = rows[rows["city"] != "Brest"]
        np.testing.assert_allclose(monitor.predict_proba(known), refusing.predict_proba(known), atol=1e-12)
    with pytest.raises(whyline.InputError, match="Brest"):
        whyline.TreeExplainer(refusing).shap_values(rows)


def test_missing_columns_and_keys_are_named(pipelines, table):
    pipeline, rows = pipelines["random_forest"], table["rows"]
    explainer = whyline.TreeExplainer(pipeline)
    with pytest.raises(whyline.InputError, match='missing "plan"'):
        explainer.shap_values(rows.drop(columns=["plan"]))
    records = rows.iloc[:2].to_dict("records")
    del records[1]["income"]
    with pytest.raises(whyline.InputError, match='row 2: no value for "income"'):
        explainer.shap_values(records)
    with pytest.raises(whyline.InputError, match="the model expects 4"):
        explainer.shap_values(rows.to_numpy(dtype=object)[:, :3])


def test_recorded_decision_paths_speak_of_the_input_columns(pipelines, table, tmp_path):
    # Every split of every recorded path names an input column, and the direction taken
    # agrees with the raw row itself: numbers on their own scale (not standardized), a
    # category test on the category's index among the encoder's categories.
    pipeline, rows = pipelines["random_forest"], table["rows"].iloc[:5]
    with whyline.Monitor(pipeline, ledger=tmp_path / "ledger", profile="sil2") as monitor:
        monitor.predict_proba(rows)
    decisions = whyline.Ledger(tmp_path / "ledger").decisions()
    assert len(decisions) == len(rows)
    names = ["city", "plan", "income", "age"]
    categories = {"city": sorted(set(table["X"]["city"])), "plan": sorted(set(table["X"]["plan"]))}
    checked = set()
    for (_, row), path in zip(rows.iterrows(), decisions["path"]):
        for tree in path["tree_paths"]:
            for split in tree["splits"]:
                name = names[split["feature_index"]]
                value = row[name]
                if split["test"] == "in_categories":
                    left = categories[name].index(value) in split["categories"]
                elif split["test"] == "less_or_equal":
                    if split["missing"]:
                        continue
                    left = np.float32(value) <= np.float32(split["threshold"])
                else:
                    continue
                assert left == split["went_left"], (name, value, split)
                checked.add(split["test"])
    assert checked == {"in_categories", "less_or_equal"}


def test_linear_shap_of_a_pipeline_is_shaps_on_the_last_step_summed_by_column(pipelines, table):
    # The background is raw rows too; complete ones (the native background takes no NaN).
    pipeline, rows = pipelines["logistic"], table["rows"].iloc[:10]
    background = table["X"].dropna().iloc[:100]
    result = whyline.explain(pipeline, rows, method="linear-shap", background=background)
    oracle = shap.LinearExplainer(pipeline[-1], pipeline[:-1].transform(background))
    theirs = oracle.shap_values(pipeline[:-1].transform(rows))
    by_input = np.column_stack([theirs[:, 0:3].sum(axis=1), theirs[:, 3], theirs[:, 4], theirs[:, 5]])
    np.testing.assert_allclose(result.values, by_input, rtol=1e-6, atol=1e-7)
    assert np.all(result.residuals < 1e-9)
