"""Gradient boosting (``GradientBoostingClassifier``/``Regressor``) and histogram gradient
boosting (``HistGradientBoostingClassifier``/``Regressor``: the thresholds it predicts with,
missing-value directions, categorical bitsets) in the exporter's document."""

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier

from ._arrays import _floats, _ints, _thresholds, _tree


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


def _bitset_members(row):
    """The values (0..255) whose bits are set in one row of a scikit-learn bitset."""
    members = []
    for word_index, word in enumerate(np.asarray(row, dtype=np.uint64)):
        for bit in range(32):
            if (int(word) >> bit) & 1:
                members.append(word_index * 32 + bit)
    return members


def _hist_tree(predictor, known_categories):
    """One ``TreePredictor`` in the tree arrays, with the thresholds scikit-learn predicts
    with (``num_threshold``, compared with the float64 value), the missing directions and,
    for categorical splits, the categories that go left."""
    nodes = predictor.nodes
    n_nodes = int(nodes.shape[0])
    is_leaf = nodes["is_leaf"].astype(bool)
    left = np.where(is_leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(is_leaf, -1, nodes["right"].astype(np.int64))
    feature = np.where(is_leaf, -2, nodes["feature_idx"].astype(np.int64))
    categorical = nodes["is_categorical"].astype(bool) & ~is_leaf
    categories_left = []
    for i in range(n_nodes):
        if categorical[i]:
            row = predictor.raw_left_cat_bitsets[int(nodes["bitset_idx"][i])]
            categories_left.append(_bitset_members(row))
        else:
            categories_left.append(None)
    count = nodes["count"].astype(np.int64)
    return {
        "n_nodes": n_nodes,
        "children_left": _ints(left),
        "children_right": _ints(right),
        "feature": _ints(feature),
        "threshold": _thresholds(np.where(is_leaf | categorical, 0.0, nodes["num_threshold"])),
        "missing_go_to_left": [bool(v) for v in nodes["missing_go_to_left"]],
        "n_node_samples": _ints(count),
        "weighted_n_node_samples": _floats(count),
        "gain": _floats(np.where(is_leaf, 0.0, nodes["gain"])),
        "n_values": 1,
        "value": _floats(nodes["value"]),
        "categories_left": categories_left,
    }


def _hist_gradient_boosting(model):
    if isinstance(model, HistGradientBoostingClassifier):
        task = "classification"
        link = "logistic" if model.n_trees_per_iteration_ == 1 else "softmax"
    else:
        task = "regression"
        loss = model.loss if isinstance(model.loss, str) else type(model.loss).__name__
        if loss not in ("squared_error", "absolute_error", "quantile"):
            raise ValueError(
                f"unsupported estimator HistGradientBoostingRegressor(loss={loss!r}): "
                "squared_error, absolute_error and quantile are supported"
            )
        link = "identity"
    known_bitsets, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
    n_features = int(model._n_features if hasattr(model, "_n_features") else len(f_idx_map))
    is_categorical = getattr(model, "_is_categorical_remapped", None)
    known = []
    for f in range(n_features):
        if is_categorical is not None and bool(is_categorical[f]):
            known.append(_bitset_members(known_bitsets[int(f_idx_map[f])]))
        else:
            known.append(None)
    trees = [
        _hist_tree(predictor, known)
        for iteration in model._predictors
        for predictor in iteration
    ]
    return task, {
        "loss": str(model.loss),
        "link": link,
        "n_trees_per_iteration": int(model.n_trees_per_iteration_),
        "init_raw": _floats(model._baseline_prediction),
        "known_categories": known,
        "trees": trees,
    }
