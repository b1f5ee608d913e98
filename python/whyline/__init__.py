"""whyline for Python: explain and record every decision of an ML model.

- :class:`TreeExplainer` — shap's ``TreeExplainer`` interface (same arrays, same
  ``expected_value``) over whyline's exact TreeSHAP in Rust, many times faster, and
  parallel with ``n_jobs``.
- :func:`explain` — TreeSHAP, KernelSHAP, LinearSHAP, LIME, integrated gradients,
  saliency and counterfactuals on many rows at once.
- :class:`Monitor` — a fitted model whose every prediction is recorded (decision, path,
  alerts) in a tamper-evident ledger, with the durability of a safety profile.
- :class:`Ledger` — a ledger verified, investigated, and its decisions listed.
- :func:`export_model` — writes a fitted scikit-learn model to whyline's JSON model format.

Models are passed in memory: a fitted scikit-learn estimator, an ``xgboost.Booster`` or
``XGBModel``, a ``lightgbm.Booster`` or ``LGBMModel``, or a fitted scikit-learn
``Pipeline`` (``ColumnTransformer``, encoders, scalers, imputers) ending in one of those
estimators. Inputs are numpy arrays (float32 or float64, C or F order; object arrays with
category strings for a pipeline), pandas DataFrames (columns matched by name), lists of
rows or lists of dicts (keys matched by name). Every error is a :class:`WhylineError`.

>>> import whyline
>>> explainer = whyline.TreeExplainer(model)              # doctest: +SKIP
>>> values = explainer.shap_values(X)                     # doctest: +SKIP
"""

from . import _native
from ._explain import Explanations, explain
from ._ledger import FirstBad, IncidentReport, Ledger, VerifyResult
from ._monitor import Monitor
from ._native import (
    ExplainError,
    InputError,
    LedgerError,
    ModelError,
    MonitorClosedError,
    MonitorError,
    WhylineError,
)
from ._tree import TreeExplainer


def export_model(model, path, X_train=None, feature_names=None, class_names=None):
    """Writes a fitted scikit-learn ``model`` to ``path`` in the whyline JSON model format
    (``docs/model-format.md``); ``X_train`` adds the training statistics the monitor's
    out-of-distribution rules use. See :mod:`whyline.export`."""
    from .export import export_model as _export

    _export(model, path, X_train=X_train, feature_names=feature_names, class_names=class_names)


__version__ = _native.__version__

__all__ = [
    "ExplainError",
    "Explanations",
    "FirstBad",
    "IncidentReport",
    "InputError",
    "Ledger",
    "LedgerError",
    "ModelError",
    "Monitor",
    "MonitorClosedError",
    "MonitorError",
    "TreeExplainer",
    "VerifyResult",
    "WhylineError",
    "explain",
    "export_model",
]
