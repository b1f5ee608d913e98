"""``whyline.TreeExplainer``: shap's ``TreeExplainer`` interface over whyline's TreeSHAP.

The arrays come back as shap 0.51 returns them for the same model, so code written for
shap runs unchanged:

======================  ==========================  =====================================
library                 ``shap_values(X)``          ``expected_value``
======================  ==========================  =====================================
scikit-learn            float64, ``(n, f)`` or      ``ndarray`` of shape ``(1,)`` or
                        ``(n, f, k)``               ``(k,)``
XGBoost                 float32, ``(n, f)`` or      ``numpy.float32``, or a list of them
                        ``(n, f, k)``
LightGBM                float64, ``(n, f)`` or      ``numpy.float64``, or a list of them
                        ``(n, f, k)``
any, with ``data=``     float64, ``(n, f)`` or      ``numpy.float64``, or an ``ndarray``
(interventional)        ``(n, f, k)``               ``(k,)``
======================  ==========================  =====================================

``k`` is the number of outputs: classes of a scikit-learn tree or forest classifier (binary
included, in probability space), boosting groups of a multiclass booster (margins). A 1-D
row gives the arrays without the row axis.
"""

import numpy as np

from . import _inputs, _models


class TreeExplainer:
    """Exact TreeSHAP for a fitted tree model, computed in Rust with the GIL released.

    ``model`` is a fitted scikit-learn tree, forest or gradient-boosting estimator, an
    ``xgboost.Booster`` / ``XGBModel`` or a ``lightgbm.Booster`` / ``LGBMModel``, passed in
    memory. Without ``data`` the values are path-dependent (shap's default); with ``data``
    (a background set) they are interventional, as shap's
    ``feature_perturbation="interventional"``. ``n_jobs`` spreads rows over threads
    (``None``: one, ``-1``: every core).
    """

    def __init__(self, model, data=None, n_jobs=None):
        self._model = _models.convert(model)
        self._n_jobs = _models.n_jobs_of(n_jobs)
        native = self._model.native
        if data is None:
            self._background = None
            empty = np.zeros((0, native.n_features), dtype=np.float32)
            _, base = native.tree_shap(empty, 1)
        else:
            self._background, _, _ = _inputs.rows(data, self._model)
            _, base = native.tree_shap_interventional(self._background[:1], self._background, 1)
        self._base = np.asarray(base, dtype=np.float64)
        self.expected_value = self._expected_value(self._base)
        """The expected model output (shap's ``expected_value``, same type and shape)."""

    @property
    def model(self):
        """The fitted model explained."""
        return self._model.original

    def _float32(self):
        return self._model.library == "xgboost" and self._background is None

    def _expected_value(self, base):
        if self._background is not None:
            return np.float64(base[0]) if base.size == 1 else base.copy()
        library = self._model.library
        if library == "xgboost":
            values = [np.float32(b) for b in base]
        elif library == "lightgbm":
            values = [np.float64(b) for b in base]
        else:
            return base.copy()
        return values[0] if len(values) == 1 else values

    def shap_values(self, X, n_jobs=None):
        """SHAP values of every row of ``X`` (numpy array, DataFrame or list), shaped and
        typed as ``shap.TreeExplainer(model).shap_values(X)`` returns them."""
        rows32, _, one_row = _inputs.rows(X, self._model)
        jobs = self._n_jobs if n_jobs is None else _models.n_jobs_of(n_jobs)
        native = self._model.native
        if self._background is None:
            values, _ = native.tree_shap(rows32, jobs)
        else:
            values, _ = native.tree_shap_interventional(rows32, self._background, jobs)
        if values.shape[2] == 1:
            values = values[:, :, 0]
        if self._float32():
            values = values.astype(np.float32)
        values = np.ascontiguousarray(values)
        return values[0] if one_row else values

    def __call__(self, X):
        """The values as a ``shap.Explanation`` when shap is installed (``values``,
        ``base_values``, ``data``), else as :meth:`shap_values` returns them."""
        values = self.shap_values(X)
        try:
            import shap
        except ImportError:
            return values
        data = np.asarray(X)
        n = values.shape[0] if values.ndim > 1 else 1
        base = np.tile(np.atleast_1d(np.asarray(self.expected_value)), (n, 1))
        if base.shape[1] == 1:
            base = base[:, 0]
        return shap.Explanation(values, base_values=base, data=data)
