"""``whyline.explain``: every method of ``whyline explain`` on many rows at once."""

import json

import numpy as np

from . import _inputs, _models, _native

METHODS = {
    "tree-shap": "tree-shap",
    "kernel-shap": "kernel-shap",
    "linear-shap": "linear-shap",
    "lime": "lime",
    "ig": "integrated-gradients",
    "integrated-gradients": "integrated-gradients",
    "saliency": "saliency",
    "counterfactual": "counterfactual",
}
_SEEDED = {"kernel-shap", "lime", "counterfactual"}


class Explanations:
    """Explanations of many rows by one method.

    Attributions (every method but ``counterfactual``): ``values`` is a float64 array
    ``(rows, features)``, ``base_values`` and ``residuals`` are float64 arrays ``(rows,)``
    (``|base + Σ values − model output|``, the sum-check of each row). For
    ``counterfactual``, ``values`` is a list (one per row) of lists of changes (dicts with
    the feature, its old and new value) and ``base_values`` / ``residuals`` are ``None``.
    ``method`` is the method's name, ``settings`` the settings it ran with (seed included),
    ``documents`` each row's full JSON document (as ``whyline explain --format json``).
    """

    def __init__(self, method, settings, values, base_values, residuals, documents):
        self.method = method
        self.settings = settings
        self.values = values
        self.base_values = base_values
        self.residuals = residuals
        self.documents = documents

    def __len__(self):
        return len(self.documents)

    def __repr__(self):
        return f"Explanations(method={self.method!r}, rows={len(self)})"


def explain(model, X, method="tree-shap", background=None, seed=0, n_jobs=None):
    """Explains every row of ``X`` with ``method``: ``"tree-shap"``, ``"kernel-shap"``,
    ``"linear-shap"``, ``"lime"``, ``"ig"`` (integrated gradients), ``"saliency"`` or
    ``"counterfactual"``, over ``background`` (the reference rows some methods need; with
    ``tree-shap`` it makes the values interventional), with ``seed`` for the sampling
    methods, on ``n_jobs`` threads. Returns :class:`Explanations`."""
    name = METHODS.get(method)
    if name is None:
        raise _native.ExplainError(
            f"unknown method {method!r}; one of {', '.join(sorted(METHODS))}"
        )
    converted = _models.convert(model)
    rows32, _, _ = _inputs.rows(X, converted)
    settings = {"method": name}
    if name in _SEEDED:
        settings["seed"] = int(seed)
    if name == "tree-shap" and background is not None:
        settings["interventional"] = True
    background32 = None
    if background is not None:
        background32, _, _ = _inputs.rows(background, converted)
    documents = [
        json.loads(text)
        for text in converted.native.explain(
            rows32, json.dumps(settings), background32, _models.n_jobs_of(n_jobs)
        )
    ]
    run_settings = documents[0].get("settings", settings) if documents else settings
    if name == "counterfactual":
        values = [document.get("changes", []) for document in documents]
        return Explanations(name, run_settings, values, None, None, documents)
    width = converted.native.n_features
    values = np.array([d["values"] for d in documents], dtype=np.float64).reshape(-1, width)
    base = np.array([d["base_value"] for d in documents], dtype=np.float64)
    residuals = np.array([d["residual"] for d in documents], dtype=np.float64)
    return Explanations(name, run_settings, values, base, residuals, documents)
