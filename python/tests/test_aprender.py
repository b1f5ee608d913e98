"""Models saved by aprender (the Rust library), passed to the package as paths to their `.apr`
files: `Monitor` predicts what aprender's own `predict` gave (the fixtures'
`.expected.json`, written by `tools/apr-fixtures` with aprender 0.27.8), and `TreeExplainer`'s
values add up to that prediction."""

import json

import numpy as np
import pytest

import whyline

from conftest import REPO

FIXTURES = REPO / "crates/whyline-models/tests/fixtures/aprender/0.27.8"


def _fixture(name):
    expected = json.loads((FIXTURES / f"{name}.expected.json").read_text())
    return FIXTURES / f"{name}.apr", np.asarray(expected["inputs"], dtype=np.float64), expected


@pytest.mark.parametrize("name", ["decision_tree_classifier", "random_forest_classifier"])
def test_monitor_on_an_apr_classifier_predicts_aprenders_labels(name, tmp_path):
    path, rows, expected = _fixture(name)
    with whyline.Monitor(str(path), tmp_path / "ledger", profile="sil2") as monitor:
        labels = monitor.predict(rows)
    assert [int(label) for label in labels] == expected["predict"]
    assert whyline.Ledger(tmp_path / "ledger").verify().intact


@pytest.mark.parametrize("name", ["decision_tree_regressor", "random_forest_regressor"])
def test_tree_explainer_on_an_apr_regressor_adds_up_to_aprenders_prediction(name, tmp_path):
    path, rows, expected = _fixture(name)
    explainer = whyline.TreeExplainer(path)
    values = explainer.shap_values(rows)
    assert values.shape == rows.shape
    total = values.sum(axis=1) + np.asarray(explainer.expected_value).reshape(-1)[0]
    # aprender predicts in f32: within a few f32 steps of its own output.
    np.testing.assert_allclose(total, expected["predict"], rtol=1e-5, atol=1e-5)
    with whyline.Monitor(path, tmp_path / "ledger", profile="sil2") as monitor:
        np.testing.assert_allclose(monitor.predict(rows), expected["predict"], rtol=1e-5, atol=1e-5)
