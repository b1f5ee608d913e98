"""Export fitted scikit-learn models to the whyline JSON model format (versions 1 and 2).

Depends only on scikit-learn and numpy. The format is documented in docs/model-format.md.

Usage from Python::

    from whyline_export import export_model
    export_model(model, "model.json", X_train=X, feature_names=names)
    document = model_to_dict(model, X_train=X)     # the same document, without a file

Supported estimators: LinearRegression, Ridge, Lasso, ElasticNet, LogisticRegression
(binary and multinomial), SGDClassifier (hinge and log loss), LinearSVC,
DecisionTreeClassifier/Regressor, RandomForestClassifier/Regressor,
ExtraTreesClassifier/Regressor, GradientBoostingClassifier/Regressor,
HistGradientBoostingClassifier/Regressor, KNeighborsClassifier/Regressor,
MLPClassifier/Regressor; each alone or at the end of a Pipeline whose other steps are
ColumnTransformer, StandardScaler, MinMaxScaler, RobustScaler, MaxAbsScaler, SimpleImputer,
OneHotEncoder, OrdinalEncoder or "passthrough" (a preprocessing stage, format version 2).
Anything else raises ValueError naming the step, so a file is never written for a model
whyline could not reproduce.
"""

import json

import numpy as np
import sklearn
from sklearn.compose import ColumnTransformer
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
from sklearn.impute import SimpleImputer
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
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

FORMAT = "whyline-model"
FORMAT_VERSION = 1
# Documents with a preprocessing stage: readers of version 1 would take the raw columns for
# the estimator's features, so they must refuse such a file.
FORMAT_VERSION_PREPROCESSING = 2


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


# --- The preprocessing stage -------------------------------------------------------------
#
# Every feature the estimator sees is traced back to one input column and the chain of
# per-value operations scikit-learn applies to it. A categorical input's value is its
# category's index in the input's `categories` (-1 for an unknown category, NaN when
# missing), so the operations after an encoder work on that index.


def _is_missing(value):
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return value is None


def _category(value):
    """A category as JSON: a string, or a number when the column held numbers."""
    if isinstance(value, (str, np.str_)):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return str(value)


class _Input:
    def __init__(self, name):
        self.name = name
        self.kind = None  # "numeric" | "categorical"; None until a step says
        self.categories = None
        self.accepts_unknown = True
        self.missing_is_category = False


class _Feature:
    """One column flowing through the preprocessing: its input and its operations so far.

    ``pending`` holds imputation fills on a column whose kind is not known yet (strings or
    numbers): they become operations once an encoder or a scaler types the input."""

    def __init__(self, input_index):
        self.input = input_index
        self.ops = []
        self.pending = []
        self.encoded = False  # True once an encoder turned the value into a number

    def copy(self):
        f = _Feature(self.input)
        f.ops = list(self.ops)
        f.pending = list(self.pending)
        f.encoded = self.encoded
        return f


class _Tracer:
    def __init__(self, names):
        self.inputs = [_Input(n) for n in names]
        self.steps = []

    def _numeric(self, feature, step):
        """Marks the feature's input numeric (a numeric operation is applied to it)."""
        if feature.encoded:
            return
        inp = self.inputs[feature.input]
        if inp.kind == "categorical":
            raise ValueError(
                f"unsupported step {step}: input column {inp.name!r} is both categorical and "
                "numeric"
            )
        inp.kind = "numeric"
        for fill in feature.pending:
            feature.ops.append({"op": "impute", "value": float(fill)})
        feature.pending = []

    def transform(self, step, features):
        """The features after ``step`` (a fitted transformer) applied to ``features``."""
        name = type(step).__name__
        if isinstance(step, str):
            if step == "passthrough":
                return features
            if step == "drop":
                return []
            raise ValueError(f"unsupported step {step!r}")
        if step is None:
            return features
        self.steps.append(name)
        if isinstance(step, Pipeline):
            for _, sub in step.steps:
                features = self.transform(sub, features)
            return features
        if isinstance(step, ColumnTransformer):
            return self._column_transformer(step, features)
        if isinstance(step, FunctionTransformer):
            if step.func is None or getattr(step.func, "func", None) is check_array_function():
                return features
            raise ValueError("unsupported step FunctionTransformer (any function but the identity)")
        if isinstance(step, (StandardScaler, RobustScaler, MaxAbsScaler)):
            if isinstance(step, StandardScaler):
                center = step.mean_ if step.with_mean else None
                scale = step.scale_ if step.with_std else None
            elif isinstance(step, RobustScaler):
                center = step.center_ if step.with_centering else None
                scale = step.scale_ if step.with_scaling else None
            else:
                center, scale = None, step.scale_
            out = []
            for j, f in enumerate(features):
                f = f.copy()
                self._numeric(f, name)
                f.ops.append(
                    {
                        "op": "standardize",
                        "center": 0.0 if center is None else float(center[j]),
                        "scale": 1.0 if scale is None else float(scale[j]),
                    }
                )
                out.append(f)
            return out
        if isinstance(step, MinMaxScaler):
            low, high = step.feature_range
            out = []
            for j, f in enumerate(features):
                f = f.copy()
                self._numeric(f, name)
                f.ops.append(
                    {"op": "affine", "scale": float(step.scale_[j]), "offset": float(step.min_[j])}
                )
                if step.clip:
                    f.ops.append({"op": "clip", "min": float(low), "max": float(high)})
                out.append(f)
            return out
        if isinstance(step, SimpleImputer):
            return self._imputer(step, features)
        if isinstance(step, OneHotEncoder):
            return self._one_hot(step, features)
        if isinstance(step, OrdinalEncoder):
            return self._ordinal(step, features)
        raise ValueError(f"unsupported step {name}")

    def _column_transformer(self, ct, features):
        out = []
        indices = ct._transformer_to_input_indices
        for name, transformer, _ in ct.transformers_:
            columns = indices.get(name, [])
            if isinstance(transformer, str) and transformer == "drop":
                continue
            if len(columns) == 0:
                continue
            selected = [features[int(i)] for i in columns]
            out.extend(self.transform(transformer, selected))
        return out

    def _imputer(self, step, features):
        if not _is_missing(step.missing_values):
            raise ValueError(
                f"unsupported step SimpleImputer(missing_values={step.missing_values!r}): "
                "only NaN/None"
            )
        if step.add_indicator:
            raise ValueError("unsupported step SimpleImputer(add_indicator=True)")
        out = []
        for j, f in enumerate(features):
            fill = step.statistics_[j]
            if _is_missing(fill):
                if step.keep_empty_features:
                    fill = 0.0
                else:
                    continue  # scikit-learn drops a column that was all missing
            f = f.copy()
            inp = self.inputs[f.input]
            if f.encoded or inp.kind == "numeric":
                f.ops.append({"op": "impute", "value": float(fill)})
            else:
                f.pending.append(fill)
            out.append(f)
        return out

    def _categorize(self, f, categories, accepts_unknown, name):
        """Prepares ``f`` for an encoder with ``categories``: a raw column becomes a
        categorical input (its value is the category index); a numeric chain gets a
        lookup of its value among the categories. Returns the feature."""
        # scikit-learn puts a missing value (NaN or None), when it saw one, last.
        missing_known = len(categories) > 0 and _is_missing(categories[-1])
        if missing_known:
            categories = categories[:-1]
        for c in categories:
            if _is_missing(c):
                raise ValueError(f"unsupported step {name}: more than one missing category")
        f = f.copy()
        inp = self.inputs[f.input]
        raw = not f.encoded and not f.ops and inp.kind != "numeric"
        if raw:
            cats = [_category(c) for c in categories]
            if inp.kind == "categorical" and inp.categories != cats:
                raise ValueError(
                    f"unsupported step {name}: input column {inp.name!r} is encoded twice "
                    "with different categories"
                )
            inp.kind, inp.categories = "categorical", cats
            inp.accepts_unknown = inp.accepts_unknown and accepts_unknown
            inp.missing_is_category = inp.missing_is_category or missing_known
            for fill in f.pending:
                index = cats.index(_category(fill)) if _category(fill) in cats else -1
                f.ops.append({"op": "impute", "value": float(index)})
            f.pending = []
        else:
            self._numeric(f, name)
            try:
                values = [float(c) for c in categories]
            except (TypeError, ValueError):
                raise ValueError(
                    f"unsupported step {name}: string categories after a numeric step"
                ) from None
            if not accepts_unknown:
                raise ValueError(
                    f"unsupported step {name}(handle_unknown='error') after a numeric step"
                )
            f.ops.append({"op": "lookup", "values": values})
        f.encoded = True
        return f, missing_known

    def _one_hot(self, step, features):
        if getattr(step, "_infrequent_enabled", False):
            raise ValueError("unsupported step OneHotEncoder with infrequent categories")
        accepts_unknown = step.handle_unknown in ("ignore", "infrequent_if_exist")
        drop = getattr(step, "drop_idx_", None)
        out = []
        for j, f in enumerate(features):
            categories = step.categories_[j]
            base, missing_known = self._categorize(
                f, categories, accepts_unknown, "OneHotEncoder"
            )
            dropped = None if drop is None or drop[j] is None else int(drop[j])
            n_known = len(categories) - int(missing_known)
            for k in range(len(categories)):
                if k == dropped:
                    continue
                g = base.copy()
                if k < n_known:
                    g.ops.append({"op": "one_hot", "category": k})
                else:
                    g.ops.append({"op": "one_hot_missing"})
                out.append(g)
        return out

    def _ordinal(self, step, features):
        if getattr(step, "_infrequent_enabled", False):
            raise ValueError("unsupported step OrdinalEncoder with infrequent categories")
        accepts_unknown = step.handle_unknown == "use_encoded_value"
        out = []
        for j, f in enumerate(features):
            g, missing_known = self._categorize(
                f, step.categories_[j], accepts_unknown, "OrdinalEncoder"
            )
            missing = step.encoded_missing_value
            if missing_known and not _is_missing(missing):
                g.ops.append({"op": "impute", "value": float(missing)})
            if accepts_unknown:
                g.ops.append({"op": "unknown", "value": _json_float(step.unknown_value)})
            out.append(g)
        return out

    def document(self, features):
        out = []
        for f in features:
            inp = self.inputs[f.input]
            if f.pending:
                # A fill on a column no encoder or scaler typed: a numeric column.
                if inp.kind == "categorical":
                    raise ValueError(
                        f"unsupported model: categorical column {inp.name!r} reaches the "
                        "estimator unencoded"
                    )
                f = f.copy()
                self._numeric(f, "SimpleImputer")
            elif not f.encoded and inp.kind == "categorical":
                raise ValueError(
                    f"unsupported model: categorical column {inp.name!r} reaches the "
                    "estimator unencoded"
                )
            elif inp.kind is None:
                inp.kind = "numeric"
            out.append({"input": f.input, "ops": f.ops})
        inputs = []
        for inp in self.inputs:
            entry = {"name": inp.name, "kind": inp.kind or "ignored"}
            if inp.kind == "categorical":
                entry["categories"] = inp.categories
                entry["unknown"] = "ignore" if inp.accepts_unknown else "error"
                entry["missing"] = "category" if inp.missing_is_category else "unknown"
            inputs.append(entry)
        return {"inputs": inputs, "features": out, "steps": self.steps}


def _json_float(value):
    """A number for JSON: NaN becomes the string "nan"."""
    value = float(value)
    if np.isnan(value):
        return "nan"
    return value


def check_array_function():
    """scikit-learn's ``check_array``: HistGradientBoosting's own preprocessor wraps it in a
    FunctionTransformer for its numeric columns (an identity on floats)."""
    from sklearn.utils.validation import check_array

    return check_array


def _split_pipeline(model):
    """(steps before the estimator, the estimator)."""
    steps = []
    while isinstance(model, Pipeline):
        steps.extend(s for _, s in model.steps[:-1])
        model = model.steps[-1][1]
    return steps, model


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


def _dense(X):
    if hasattr(X, "toarray"):
        X = X.toarray()
    return np.asarray(X, dtype=np.float64)


def model_to_dict(model, X_train=None, feature_names=None, class_names=None):
    """The whyline JSON document of a fitted model (an estimator, or a Pipeline ending in
    one), as a dict.

    ``feature_names`` names the model's input columns (by default its
    ``feature_names_in_``); ``class_names`` (optional) names the classes by class index, in
    ``classes_`` order; by default each class is named by ``str()`` of its label.
    ``X_train`` (optional) gives the training statistics, of the estimator's features.
    """
    steps, estimator = _split_pipeline(model)
    internal = getattr(estimator, "_preprocessor", None)
    n_inputs = int(model.n_features_in_)
    if feature_names is None and hasattr(model, "feature_names_in_"):
        feature_names = [str(n) for n in model.feature_names_in_]
    if feature_names is not None:
        feature_names = [str(n) for n in feature_names]
        if len(feature_names) != n_inputs:
            raise ValueError("feature_names has the wrong length")
    default_names, class_values = _classes(estimator)
    if class_names is None:
        class_names = default_names
    else:
        class_names = [str(n) for n in class_names]
        if default_names is None or len(class_names) != len(default_names):
            raise ValueError("class_names must name every class of a classifier")

    kind, task, body = _estimator(estimator)
    preprocessing = None
    n_features = int(estimator.n_features_in_)
    estimator_names = feature_names
    if steps or internal is not None:
        inputs = feature_names or [f"x{i}" for i in range(n_inputs)]
        tracer = _Tracer(inputs)
        features = [_Feature(i) for i in range(n_inputs)]
        for step in steps:
            features = tracer.transform(step, features)
        if internal is not None:
            features = tracer.transform(internal, features)
        if internal is not None:
            n_features = len(features)
        if len(features) != n_features:
            raise ValueError(
                f"the preprocessing gives {len(features)} features, the estimator takes "
                f"{n_features}"
            )
        preprocessing = tracer.document(features)
        estimator_names = None
        if steps:
            try:
                prefix = Pipeline([(f"s{i}", s) for i, s in enumerate(steps)])
                estimator_names = [str(n) for n in prefix.get_feature_names_out()]
            except Exception:  # noqa: BLE001 - names are informational
                estimator_names = None
        if internal is not None or estimator_names is None or len(estimator_names) != n_features:
            estimator_names = [
                f"{inputs[f['input']]}" if not f["ops"] else f"{inputs[f['input']]}[{i}]"
                for i, f in enumerate(preprocessing["features"])
            ]
        if X_train is not None and steps:
            X_train = _dense(Pipeline([(f"s{i}", s) for i, s in enumerate(steps)]).transform(X_train))
            if internal is not None:
                X_train = _dense(internal.transform(X_train))
        elif X_train is not None and internal is not None:
            X_train = _dense(internal.transform(X_train))

    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if preprocessing is None else FORMAT_VERSION_PREPROCESSING,
        "producer": {
            "library": "scikit-learn",
            "library_version": sklearn.__version__,
            "exporter": "whyline_export.py",
        },
        "estimator": type(model).__name__ if preprocessing is None else type(estimator).__name__,
        "model_type": kind,
        "task": task,
        "n_features": n_features,
        "feature_names": estimator_names,
        "class_names": class_names,
        "class_values": class_values,
        "feature_stats": _feature_stats(X_train),
        "model": body,
    }
    if preprocessing is not None:
        document["preprocessing"] = preprocessing
    return document


def model_to_json(model, X_train=None, feature_names=None, class_names=None):
    """The whyline JSON document of a fitted model as a string (what ``export_model``
    writes, without the trailing newline)."""
    document = model_to_dict(
        model, X_train=X_train, feature_names=feature_names, class_names=class_names
    )
    return json.dumps(document, allow_nan=False, separators=(",", ":"))


def export_model(model, path, X_train=None, feature_names=None, class_names=None):
    """Writes a fitted model to ``path`` in the whyline JSON model format."""
    text = model_to_json(
        model, X_train=X_train, feature_names=feature_names, class_names=class_names
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.write("\n")
