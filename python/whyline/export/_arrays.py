"""Arrays of fitted scikit-learn objects as JSON values, and the node arrays of a fitted
``Tree``: what every estimator family of the exporter writes with."""

import numpy as np


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


def _json_float(value):
    """A number for JSON: NaN becomes the string "nan"."""
    value = float(value)
    if np.isnan(value):
        return "nan"
    return value
