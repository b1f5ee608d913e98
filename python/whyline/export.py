"""Export fitted scikit-learn models to the whyline JSON model format (version 1).

Depends only on scikit-learn and numpy. The format is documented in docs/model-format.md.

Usage from Python::

    from whyline_export import export_model
    export_model(model, "model.json", X_train=X, feature_names=names)

Supported estimators: LinearRegression, Ridge, LogisticRegression (binary and multinomial),
DecisionTreeClassifier/Regressor, RandomForestClassifier/Regressor,
GradientBoostingClassifier/Regressor, KNeighborsClassifier/Regressor,
MLPClassifier/Regressor. Anything else raises ValueError, so a file is never written for a
model whyline could not reproduce.
"""

import json

import numpy as np
import sklearn
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

FORMAT = "whyline-model"
FORMAT_VERSION = 1


def _floats(array):
    """A flat list of Python floats (float64 values written with full precision)."""
    return [float(v) for v in np.asarray(array, dtype=np.float64).ravel()]


def _thresholds(array):
    """Thresholds as numbers, except infinite ones (scikit-learn uses +inf for a split that
    sends every non-missing value left), written as the strings "inf" and "-inf"."""
    out = []
    for v in np.asarray(array, dtype=np.float64).ravel():
        if np.isposinf(v):
            out.append("inf")
        elif np.isneginf(v):
            out.append("-inf")
        else:
            out.append(float(v))
    return out


def _ints(array):
    return [int(v) for v in np.asarray(array).ravel()]


def _feature_stats(X):
    if X is None:
        return None
    X = np.asarray(X, dtype=np.float64)
    return {
        "n_samples": int(X.shape[0]),
        "mean": _floats(np.nanmean(X, axis=0)),
        "std": _floats(np.nanstd(X, axis=0)),
        "min": _floats(np.nanmin(X, axis=0)),
        "max": _floats(np.nanmax(X, axis=0)),
    }


def _tree(tree_):
    """The full node arrays of a fitted sklearn ``Tree`` (single output only)."""
    if tree_.n_outputs != 1:
        raise ValueError("multi-output trees are not supported")
    n_nodes = int(tree_.node_count)
    value = np.asarray(tree_.value, dtype=np.float64).reshape(n_nodes, -1)
    out = {
        "n_nodes": n_nodes,
        "children_left": _ints(tree_.children_left),
        "children_right": _ints(tree_.children_right),
        "feature": _ints(tree_.feature),
        "threshold": _thresholds(tree_.threshold),
        "impurity": _floats(tree_.impurity),
        "n_node_samples": _ints(tree_.n_node_samples),
        "weighted_n_node_samples": _floats(tree_.weighted_n_node_samples),
        "n_values": int(value.shape[1]),
        "value": _floats(value),
    }
    missing = getattr(tree_, "missing_go_to_left", None)
    if missing is not None:
        out["missing_go_to_left"] = [bool(v) for v in np.asarray(missing).ravel()]
    return out


def _classes(model):
    classes = getattr(model, "classes_", None)
    if classes is None:
        return None, None
    names = [str(c) for c in classes]
    try:
        values = _floats(classes)
    except (TypeError, ValueError):
        values = None
    return names, values


def _linear(model):
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    if isinstance(model, LogisticRegression):
        link = "logistic" if coef.shape[0] == 1 else "softmax"
        kind, task = "logistic_regression", "classification"
    else:
        if coef.shape[0] != 1:
            raise ValueError("multi-target linear regression is not supported")
        link, task = "identity", "regression"
        kind = "ridge" if isinstance(model, Ridge) else "linear_regression"
    if intercept.shape[0] == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    return kind, task, {
        "link": link,
        "n_outputs": int(coef.shape[0]),
        "coef": _floats(coef),
        "intercept": _floats(intercept),
    }


def _gradient_boosting(model):
    if model.init_ == "zero":
        init_raw = np.zeros(model.n_trees_per_iteration_)
    else:
        probe = np.zeros((1, model.n_features_in_), dtype=np.float32)
        init_raw = model._raw_predict_init(probe)[0]
    estimators = np.asarray(model.estimators_)
    trees = [_tree(est.tree_) for est in estimators.ravel()]
    if isinstance(model, GradientBoostingClassifier):
        task = "classification"
        link = "logistic" if model.n_trees_per_iteration_ == 1 else "softmax"
    else:
        task, link = "regression", "identity"
    return task, {
        "loss": str(model.loss),
        "link": link,
        "learning_rate": float(model.learning_rate),
        "n_trees_per_iteration": int(model.n_trees_per_iteration_),
        "init_raw": _floats(init_raw),
        "trees": trees,
    }


def _knn(model):
    metric = model.effective_metric_
    if metric != "euclidean":
        raise ValueError(f"KNN metric {metric!r} is not supported (euclidean only)")
    if not isinstance(model.weights, str) or model.weights not in ("uniform", "distance"):
        raise ValueError("KNN weights must be 'uniform' or 'distance'")
    fit_X = np.asarray(model._fit_X, dtype=np.float64)
    y = np.asarray(model._y)
    if y.ndim != 1:
        raise ValueError("multi-output KNN is not supported")
    return {
        "n_neighbors": int(model.n_neighbors),
        "weights": model.weights,
        "metric": "euclidean",
        "n_samples": int(fit_X.shape[0]),
        "fit_X": _floats(fit_X),
        "fit_y": _floats(y),
    }


def _mlp(model):
    layers = []
    for coef, bias in zip(model.coefs_, model.intercepts_):
        coef = np.asarray(coef, dtype=np.float64)
        layers.append(
            {
                "n_inputs": int(coef.shape[0]),
                "n_outputs": int(coef.shape[1]),
                "weights": _floats(coef),
                "bias": _floats(bias),
            }
        )
    return {
        "activation": str(model.activation),
        "out_activation": str(model.out_activation_),
        "layers": layers,
    }


def model_to_dict(model, X_train=None, feature_names=None, class_names=None):
    """The whyline JSON document of a fitted model, as a dict.

    ``class_names`` (optional) names the classes by class index, in ``classes_`` order;
    by default each class is named by ``str()`` of its label.
    """
    n_features = int(model.n_features_in_)
    if feature_names is None and hasattr(model, "feature_names_in_"):
        feature_names = [str(n) for n in model.feature_names_in_]
    if feature_names is not None:
        feature_names = [str(n) for n in feature_names]
        if len(feature_names) != n_features:
            raise ValueError("feature_names has the wrong length")
    default_names, class_values = _classes(model)
    if class_names is None:
        class_names = default_names
    else:
        class_names = [str(n) for n in class_names]
        if default_names is None or len(class_names) != len(default_names):
            raise ValueError("class_names must name every class of a classifier")

    if isinstance(model, (LinearRegression, Ridge, LogisticRegression)):
        kind, task, body = _linear(model)
    elif isinstance(model, (DecisionTreeClassifier, DecisionTreeRegressor)):
        kind = "decision_tree"
        task = "classification" if isinstance(model, DecisionTreeClassifier) else "regression"
        body = {"tree": _tree(model.tree_)}
    elif isinstance(model, (RandomForestClassifier, RandomForestRegressor)):
        kind = "random_forest"
        task = "classification" if isinstance(model, RandomForestClassifier) else "regression"
        body = {"trees": [_tree(est.tree_) for est in model.estimators_]}
    elif isinstance(model, (GradientBoostingClassifier, GradientBoostingRegressor)):
        kind = "gradient_boosting"
        task, body = _gradient_boosting(model)
    elif isinstance(model, (KNeighborsClassifier, KNeighborsRegressor)):
        kind = "knn"
        task = "classification" if isinstance(model, KNeighborsClassifier) else "regression"
        body = _knn(model)
    elif isinstance(model, (MLPClassifier, MLPRegressor)):
        kind = "mlp"
        task = "classification" if isinstance(model, MLPClassifier) else "regression"
        body = _mlp(model)
    else:
        raise ValueError(f"unsupported estimator {type(model).__name__}")

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "producer": {
            "library": "scikit-learn",
            "library_version": sklearn.__version__,
            "exporter": "whyline_export.py",
        },
        "estimator": type(model).__name__,
        "model_type": kind,
        "task": task,
        "n_features": n_features,
        "feature_names": feature_names,
        "class_names": class_names,
        "class_values": class_values,
        "feature_stats": _feature_stats(X_train),
        "model": body,
    }


def export_model(model, path, X_train=None, feature_names=None, class_names=None):
    """Writes a fitted model to ``path`` in the whyline JSON model format."""
    document = model_to_dict(
        model, X_train=X_train, feature_names=feature_names, class_names=class_names
    )
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, allow_nan=False, separators=(",", ":"))
        handle.write("\n")
