"""Bad input is a whyline.WhylineError subclass with the CLI's message, never a crash."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import whyline


@pytest.fixture(scope="module")
def forest(data):
    return RandomForestClassifier(10, max_depth=4, random_state=0).fit(data["X"], data["binary"])


def test_wrong_width_is_an_input_error_with_the_clis_message(forest, data):
    explainer = whyline.TreeExplainer(forest)
    with pytest.raises(whyline.InputError, match="input row has 5 features, the model expects 6"):
        explainer.shap_values(data["rows"][:, :5])
    # Also a ValueError, for code that catches the builtin kind.
    with pytest.raises(ValueError):
        explainer.shap_values(data["rows"][:, :5])


def test_nan_without_a_missing_rule_is_an_input_error(data):
    model = LogisticRegression().fit(data["X"], data["binary"])
    rows = data["rows"][:3].copy()
    rows[1, 2] = np.nan
    with pytest.raises(whyline.InputError, match="feature 2: value NaN is not finite and the model has no missing-value rule"):
        whyline.explain(model, rows, method="linear-shap", background=data["X"][:50])


def test_unknown_and_missing_feature_names_are_input_errors(data):
    names = [f"x{i}" for i in range(6)]
    model = RandomForestClassifier(5, random_state=0).fit(pd.DataFrame(data["X"], columns=names), data["binary"])
    rows = pd.DataFrame(data["rows"], columns=names).rename(columns={"x3": "income"})
    with pytest.raises(whyline.InputError, match='missing "x3"; unknown columns "income"'):
        whyline.TreeExplainer(model).shap_values(rows)


def test_a_path_that_is_not_a_ledger_is_a_ledger_error(tmp_path):
    with pytest.raises(whyline.LedgerError):
        whyline.Ledger(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(whyline.LedgerError):
        whyline.Ledger(tmp_path / "empty").verify()
    (tmp_path / "file").write_text("not a ledger")
    with pytest.raises(OSError):
        whyline.Ledger(tmp_path / "file")


def test_a_closed_monitor_refuses_every_call(forest, data, tmp_path):
    monitor = whyline.Monitor(forest, tmp_path / "ledger", profile="sil2")
    monitor.predict(data["rows"][:2])
    monitor.close()
    monitor.close()  # twice does nothing
    assert monitor.closed
    with pytest.raises(whyline.MonitorClosedError, match="closed"):
        monitor.predict(data["rows"][:2])
    with pytest.raises(whyline.MonitorError):
        monitor.flush()


def test_unsupported_models_are_model_errors(data):
    from sklearn.svm import SVC

    with pytest.raises(whyline.ModelError, match="SVC"):
        whyline.TreeExplainer(SVC().fit(data["X"][:50], data["binary"][:50]))
    with pytest.raises(whyline.ModelError, match="tree-shap"):
        whyline.TreeExplainer(LogisticRegression().fit(data["X"], data["binary"]))
    with pytest.raises(whyline.WhylineError):
        whyline.TreeExplainer(object())


def test_every_error_is_a_whyline_error():
    for error in (whyline.InputError, whyline.ModelError, whyline.ExplainError, whyline.LedgerError,
                  whyline.MonitorError, whyline.MonitorClosedError):
        assert issubclass(error, whyline.WhylineError)
