"""The estimator families of the exporter: linear models, single trees and forests, nearest
neighbours and multilayer perceptrons, and the dispatch from a fitted estimator to its
``(model_type, task, body)`` (boosting is in :mod:`.boosting`)."""

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ._arrays import _floats, _tree
from .boosting import _gradient_boosting, _hist_gradient_boosting


def _linear(model):
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
    if isinstance(model, LogisticRegression):
        link = "logistic" if coef.shape[0] == 1 else "softmax"
        kind, task = "logistic_regression", "classification"
    elif isinstance(model, SGDClassifier):
        kind, task = "sgd_classifier", "classification"
        if model.loss == "hinge":
            link = "margin"
        elif model.loss == "log_loss":
            # One-vs-rest: each class's logistic, normalised (not a softmax).
            link = "logistic" if coef.shape[0] == 1 else "ovr_logistic"
        else:
            raise ValueError(
                f"unsupported estimator SGDClassifier(loss={model.loss!r}): "
                "hinge and log_loss are supported"
            )
    elif isinstance(model, LinearSVC):
        # Its decision function (the margin) is its output: it has no probabilities.
        kind, task, link = "linear_svc", "classification", "margin"
    else:
        if coef.shape[0] != 1:
            raise ValueError("multi-target linear regression is not supported")
        link, task = "identity", "regression"
        kind = {
            Ridge: "ridge",
            Lasso: "lasso",
            ElasticNet: "elastic_net",
        }.get(type(model), "linear_regression")
    if intercept.shape[0] == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    return kind, task, {
        "link": link,
        "n_outputs": int(coef.shape[0]),
        "coef": _floats(coef),
        "intercept": _floats(intercept),
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


def _estimator(model):
    """(model_type, task, body) of a bare fitted estimator."""
    if isinstance(model, (LinearRegression, Ridge, Lasso, ElasticNet, LogisticRegression,
                          SGDClassifier, LinearSVC)):
        return _linear(model)
    if isinstance(model, (DecisionTreeClassifier, DecisionTreeRegressor)):
        task = "classification" if isinstance(model, DecisionTreeClassifier) else "regression"
        return "decision_tree", task, {"tree": _tree(model.tree_)}
    if isinstance(model, (RandomForestClassifier, RandomForestRegressor,
                          ExtraTreesClassifier, ExtraTreesRegressor)):
        kind = ("extra_trees" if isinstance(model, (ExtraTreesClassifier, ExtraTreesRegressor))
                else "random_forest")
        task = ("classification"
                if isinstance(model, (RandomForestClassifier, ExtraTreesClassifier))
                else "regression")
        return kind, task, {"trees": [_tree(est.tree_) for est in model.estimators_]}
    if isinstance(model, (GradientBoostingClassifier, GradientBoostingRegressor)):
        task, body = _gradient_boosting(model)
        return "gradient_boosting", task, body
    if isinstance(model, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        task, body = _hist_gradient_boosting(model)
        return "hist_gradient_boosting", task, body
    if isinstance(model, (KNeighborsClassifier, KNeighborsRegressor)):
        task = "classification" if isinstance(model, KNeighborsClassifier) else "regression"
        return "knn", task, _knn(model)
    if isinstance(model, (MLPClassifier, MLPRegressor)):
        task = "classification" if isinstance(model, MLPClassifier) else "regression"
        return "mlp", task, _mlp(model)
    raise ValueError(f"unsupported estimator {type(model).__name__}")
