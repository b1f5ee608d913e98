"""Fitted models of scikit-learn, XGBoost and LightGBM, converted in memory to whyline's
native model (``whyline._native.NativeModel``): no file is written.

- scikit-learn: the exporter's document (``whyline.export.model_to_json``) as bytes;
- XGBoost: ``Booster.save_raw("json")`` (an ``XGBModel`` gives its ``get_booster()``);
- LightGBM: ``Booster.model_to_string()`` (an ``LGBMModel`` gives its ``booster_``);
- bytes, or a path to a model file of any format whyline reads.
"""

import json
import os
import re

import numpy as np

from . import _inputs, _native

_AUTO_NAME = re.compile(r"^(Column_|f)\d+$")


class Converted:
    """A fitted model with its native form and what the Python side needs about it."""

    __slots__ = (
        "library",
        "original",
        "native",
        "classes",
        "feature_names",
        "is_classifier",
        "inputs",
    )

    def __init__(
        self, library, original, native, classes, feature_names, is_classifier, document=None
    ):
        self.library = library
        self.original = original
        self.native = native
        self.classes = classes
        self.feature_names = feature_names
        self.is_classifier = is_classifier
        self.inputs = _inputs.input_columns((document or {}).get("preprocessing"))
        """The input columns when some are categorical (``None``: rows are numbers)."""


def _module(model):
    return type(model).__module__.split(".")[0]


def _names(names):
    """The model's feature names, or ``None`` when they are the library's generated ones."""
    if not names:
        return None
    names = [str(n) for n in names]
    if all(_AUTO_NAME.match(n) for n in names):
        return None
    return names


def convert(model):
    """Converts ``model`` (fitted) to a :class:`Converted`; raises ``ModelError`` for
    models whyline cannot reproduce."""
    if isinstance(model, Converted):
        return model
    if isinstance(model, _native.NativeModel):
        return Converted("whyline", model, model, None, _names(model.feature_names), bool(model.class_names))
    if isinstance(model, (bytes, bytearray)):
        return _from_bytes(bytes(model), "<bytes>")
    if isinstance(model, (str, os.PathLike)):
        with open(model, "rb") as handle:
            return _from_bytes(handle.read(), os.fspath(model))
    module = _module(model)
    if module == "xgboost":
        return _xgboost(model)
    if module == "lightgbm":
        return _lightgbm(model)
    if module == "sklearn":
        return _sklearn(model)
    raise _native.ModelError(
        f"{type(model).__module__}.{type(model).__name__}: not a model whyline reads "
        "(a fitted scikit-learn estimator, an xgboost Booster or XGBModel, a lightgbm "
        "Booster or LGBMModel, or model bytes)"
    )


def _document(data):
    """The whyline JSON document in ``data``, or ``None`` for another format."""
    if not data.lstrip()[:1] == b"{":
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    return document if isinstance(document, dict) and document.get("format") == "whyline-model" else None


def _from_bytes(data, source):
    native = _native.NativeModel(data, source)
    return Converted(
        "whyline",
        native,
        native,
        None,
        _names(native.feature_names),
        bool(native.class_names),
        _document(data),
    )


def _sklearn(model):
    from .export import model_to_dict

    try:
        document = model_to_dict(model)
        data = json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as error:
        raise _native.ModelError(f"{type(model).__name__}: {error}") from None
    except AttributeError as error:
        raise _native.ModelError(f"{type(model).__name__}: not fitted ({error})") from None
    native = _native.NativeModel(data, f"<{type(model).__name__}>")
    classes = getattr(model, "classes_", None)
    return Converted(
        "sklearn", model, native, classes, _names(native.feature_names), classes is not None, document
    )


def _xgboost(model):
    import xgboost

    booster = model.get_booster() if isinstance(model, xgboost.XGBModel) else model
    if not isinstance(booster, xgboost.Booster):
        raise _native.ModelError(f"{type(model).__name__}: not an xgboost Booster or XGBModel")
    data = bytes(booster.save_raw("json"))
    native = _native.NativeModel(data, f"<xgboost {type(model).__name__}>")
    classes = getattr(model, "classes_", None) if isinstance(model, xgboost.XGBModel) else None
    is_classifier = isinstance(model, xgboost.XGBClassifier) or bool(native.class_names)
    return Converted("xgboost", model, native, classes, _names(booster.feature_names), is_classifier)


def _lightgbm(model):
    import lightgbm

    booster = model.booster_ if isinstance(model, lightgbm.LGBMModel) else model
    if not isinstance(booster, lightgbm.Booster):
        raise _native.ModelError(f"{type(model).__name__}: not a lightgbm Booster or LGBMModel")
    data = booster.model_to_string().encode()
    native = _native.NativeModel(data, f"<lightgbm {type(model).__name__}>")
    classes = getattr(model, "classes_", None) if isinstance(model, lightgbm.LGBMModel) else None
    is_classifier = isinstance(model, lightgbm.LGBMClassifier) or bool(native.class_names)
    return Converted("lightgbm", model, native, classes, _names(booster.feature_name()), is_classifier)


def n_jobs_of(n_jobs):
    """Threads for ``n_jobs``: ``None`` is 1, ``-1`` every core, ``-2`` all but one, ..."""
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, n_jobs)


def as_array(values, dtype):
    """``values`` as a C-contiguous array of ``dtype`` (a copy only when needed)."""
    return np.ascontiguousarray(values, dtype=dtype)
