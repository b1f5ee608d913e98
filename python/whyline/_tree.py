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

A scikit-learn ``Pipeline`` (``ColumnTransformer``, encoders, scalers, imputers, then a
tree model) is explained on its estimator's features (what shap gives for ``pipeline[-1]``
on ``pipeline[:-1].transform(X)``: ``shap_values(X, features="estimator")``), and by
default those values are summed into the pipeline's input columns (``f`` is then the
number of input columns; the one-hot columns of ``"city"`` add up into ``"city"``), so they
speak of the columns the user gave and still add up to the same output.
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
        feature_inputs = native.feature_inputs
        self._feature_inputs = None if feature_inputs is None else np.asarray(feature_inputs)
        if data is None:
            self._background = None
            empty = np.zeros((0, native.n_estimator_features), dtype=np.float32)
            _, base = native.tree_shap(empty, 1)
        else:
            self._background = self._features(data)[0]
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

    def _features(self, X):
        """``(rows32, one_row)``: the rows the trees read (a pipeline's estimator features,
        computed in float64 as scikit-learn's ``transform`` does, then rounded to float32 as
        scikit-learn's trees read them)."""
        rows32, rows64, one_row = _inputs.rows(X, self._model)
        if self._feature_inputs is not None:
            features = self._model.native.transform(rows64)
            rows32 = np.ascontiguousarray(features, dtype=np.float32)
        return rows32, one_row

    @property
    def feature_names(self):
        """The names of the columns :meth:`shap_values` attributes to (the input columns of
        a pipeline), or ``None`` when the model has none."""
        return self._model.feature_names

    def shap_values(self, X, n_jobs=None, features="input"):
        """SHAP values of every row of ``X`` (numpy array, DataFrame, list of rows or of
        dicts), shaped and typed as ``shap.TreeExplainer(model).shap_values(X)`` returns
        them.

        For a pipeline, ``features="input"`` (the default) gives one value per input column
        (an encoded column's values summed back into it); ``features="estimator"`` gives the
        estimator's own values, one per feature it reads, as shap gives them for
        ``pipeline[-1]`` on ``pipeline[:-1].transform(X)``. Both add up to the same output.
        """
        if features not in ("input", "estimator"):
            raise ValueError(f'features: "input" or "estimator", not {features!r}')
        rows32, one_row = self._features(X)
        jobs = self._n_jobs if n_jobs is None else _models.n_jobs_of(n_jobs)
        native = self._model.native
        if self._background is None:
            values, _ = native.tree_shap(rows32, jobs)
        else:
            values, _ = native.tree_shap_interventional(rows32, self._background, jobs)
        if self._feature_inputs is not None and features == "input":
            values = self._summed_into_inputs(values)
        if values.shape[2] == 1:
            values = values[:, :, 0]
        if self._float32():
            values = values.astype(np.float32)
        values = np.ascontiguousarray(values)
        return values[0] if one_row else values

    def _summed_into_inputs(self, values):
        """``(rows, estimator features, outputs)`` values added into their input columns,
        in feature order (as the Rust side's ``Preprocessing::attribute``)."""
        n_inputs = self._model.native.n_features
        out = np.zeros((values.shape[0], n_inputs, values.shape[2]), dtype=np.float64)
        np.add.at(out, (slice(None), self._feature_inputs, slice(None)), values)
        return out

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
