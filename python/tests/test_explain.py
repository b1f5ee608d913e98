"""whyline.explain: each method's output checked against an outside oracle (shap, the
library's own predictions)."""

import numpy as np
import shap
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import whyline


def test_tree_shap_explains_the_predicted_class_as_shap(data):
    model = RandomForestClassifier(20, max_depth=5, random_state=0).fit(data["X"], data["multi"])
    rows = data["rows"][:10]
    result = whyline.explain(model, rows, method="tree-shap", n_jobs=2)
    theirs = shap.TreeExplainer(model).shap_values(rows)
    predicted = model.predict(rows.astype(np.float32))
    expected = np.stack([theirs[i, :, c] for i, c in enumerate(predicted)])
    np.testing.assert_allclose(result.values, expected, rtol=1e-9, atol=1e-12)
    assert result.method == "tree-shap" and result.values.dtype == np.float64
    assert np.all(result.residuals < 1e-9)


def test_linear_shap_equals_shaps_linear_explainer(data):
    model = LogisticRegression().fit(data["X"], data["binary"])
    background = data["X"][:100]
    rows = data["rows"][:10]
    result = whyline.explain(model, rows, method="linear-shap", background=background)
    theirs = shap.LinearExplainer(model, background).shap_values(rows)
    np.testing.assert_allclose(result.values, theirs, rtol=1e-5, atol=1e-6)


def test_kernel_shap_adds_up_and_is_seeded(data):
    model = RandomForestClassifier(10, max_depth=4, random_state=0).fit(data["X"], data["binary"])
    rows = data["rows"][:3]
    first = whyline.explain(model, rows, method="kernel-shap", background=data["X"][:20], seed=3)
    again = whyline.explain(model, rows, method="kernel-shap", background=data["X"][:20], seed=3, n_jobs=2)
    assert np.array_equal(first.values, again.values)
    proba = model.predict_proba(rows.astype(np.float32))
    predicted = proba.argmax(axis=1)
    total = first.values.sum(axis=1) + first.base_values
    np.testing.assert_allclose(total, proba[np.arange(3), predicted], atol=1e-6)
    assert first.settings["seed"] == 3


def test_counterfactuals_flip_the_librarys_decision(data):
    model = LogisticRegression().fit(data["X"], data["binary"])
    rows = data["rows"][:5]
    result = whyline.explain(model, rows, method="counterfactual")
    assert result.base_values is None and len(result.values) == 5
    for row, document in zip(rows, result.documents):
        changed = np.asarray(document["counterfactual_input"], dtype=np.float64)
        before = model.predict(row.reshape(1, -1))[0]
        after = model.predict(changed.reshape(1, -1))[0]
        assert before != after
        assert len(document["changes"]) >= 1
