"""Export fitted scikit-learn models to the whyline JSON model format (versions 1 and 2).

Depends only on scikit-learn and numpy. The format is documented in docs/model-format.md.

Usage from Python::

    from whyline_export import export_model
    export_model(model, "model.json", X_train=X, feature_names=names)
    document = model_to_dict(model, X_train=X)     # the same document, without a file

The modules, by concept: :mod:`.estimators` (linear models, trees and forests, nearest
neighbours, perceptrons), :mod:`.boosting` (gradient and histogram gradient boosting),
:mod:`.preprocessing` (the pipeline's steps), ``_arrays`` (arrays as JSON values).

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
from sklearn.pipeline import Pipeline

from ._arrays import _classes, _feature_stats
from .estimators import _estimator
from .preprocessing import _Feature, _Tracer

__all__ = ["export_model", "model_to_dict", "model_to_json"]

FORMAT = "whyline-model"
FORMAT_VERSION = 1
# Documents with a preprocessing stage: readers of version 1 would take the raw columns for
# the estimator's features, so they must refuse such a file.
FORMAT_VERSION_PREPROCESSING = 2


def _split_pipeline(model):
    """(steps before the estimator, the estimator)."""
    steps = []
    while isinstance(model, Pipeline):
        steps.extend(s for _, s in model.steps[:-1])
        model = model.steps[-1][1]
    return steps, model


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
