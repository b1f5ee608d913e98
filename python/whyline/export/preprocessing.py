"""The preprocessing stage of a ``Pipeline`` in the exporter's document (format version 2):
each feature the estimator reads traced back to one input column and the per-value
operations scikit-learn applies to it (``docs/model-format.md``, "Preprocessing")."""

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
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

from ._arrays import _json_float


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


def check_array_function():
    """scikit-learn's ``check_array``: HistGradientBoosting's own preprocessor wraps it in a
    FunctionTransformer for its numeric columns (an identity on floats)."""
    from sklearn.utils.validation import check_array

    return check_array
