"""Inputs as the native module takes them: C-contiguous float32 and float64 rows in the
model's input order.

Rows come as numpy arrays (any float dtype, C or F order; object arrays holding strings),
pandas DataFrames (columns matched by name against the model's input names), lists of rows
and lists of dicts (keys matched by name). A model with a preprocessing stage (a
scikit-learn ``Pipeline``) takes its input columns as the user has them: a categorical
column holds its categories (``"Paris"``), which become the category's index here, as the
model format defines it (``docs/model-format.md``, "Preprocessing"): ``-1`` for a category
the encoder does not know (where it accepts one, ``handle_unknown="ignore"``; else an
``InputError`` as scikit-learn raises), NaN for a missing value (``None``, NaN).
"""

import numpy as np

from . import _native


def _quoted(names):
    return ", ".join(f'"{n}"' for n in names)


class InputColumn:
    """One input column of a model with a preprocessing stage, from the model document's
    ``preprocessing.inputs`` entry."""

    __slots__ = ("name", "kind", "categories", "accepts_unknown", "_index")

    def __init__(self, entry):
        self.name = str(entry["name"])
        self.kind = entry.get("kind", "numeric")
        self.categories = list(entry.get("categories") or [])
        self.accepts_unknown = entry.get("unknown", "error") == "ignore"
        self._index = {}
        for i, category in enumerate(self.categories):
            # A number category matches the number whatever its Python type (1, 1.0, np.int64).
            key = float(category) if isinstance(category, (int, float)) else category
            self._index.setdefault(key, float(i))

    def encode(self, values):
        """The column's values as float64: numbers as they are, categories by index."""
        if self.kind == "ignored":
            return np.full(len(values), np.nan)
        if self.kind != "categorical":
            return _numbers(values, self.name)
        out = np.empty(len(values), dtype=np.float64)
        index = self._index
        for i, value in enumerate(values):
            if _is_missing(value):
                out[i] = np.nan
                continue
            key = value
            if not isinstance(value, str):
                try:
                    key = float(value)
                except (TypeError, ValueError):
                    key = str(value)
            found = index.get(key)
            if found is None:
                if not self.accepts_unknown:
                    known = ", ".join(repr(c) for c in self.categories)
                    raise _native.InputError(
                        f'row {i + 1}: unknown category {value!r} in column "{self.name}" '
                        f"(the encoder knows {known} and has handle_unknown=\"error\")"
                    )
                found = -1.0
            out[i] = found
        return out


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return value != value
    # pandas.NA and NaT
    return type(value).__name__ in ("NAType", "NaTType")


def _numbers(values, name):
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _native.InputError(f'column "{name}": not numbers ({error})') from None


def input_columns(preprocessing):
    """The :class:`InputColumn` list of a model document's ``preprocessing`` section, or
    ``None`` when no input is categorical (then rows are plain numbers)."""
    if not preprocessing:
        return None
    columns = [InputColumn(entry) for entry in preprocessing.get("inputs", [])]
    if not any(c.kind in ("categorical", "ignored") for c in columns):
        return None
    return columns


def _check_names(columns, feature_names):
    missing = [n for n in feature_names if n not in columns]
    unknown = [c for c in columns if c not in feature_names]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {_quoted(missing)}")
        if unknown:
            parts.append(f"unknown columns {_quoted(unknown)}")
        raise _native.InputError(
            "the columns do not name the model's features: " + "; ".join(parts)
        )
    seen = set()
    for column in columns:
        if column in seen:
            first = columns.index(column)
            second = columns.index(column, first + 1)
            raise _native.InputError(
                f'feature "{column}" names two columns ({first + 1} and {second + 1})'
            )
        seen.add(column)


def _frame_columns(frame, feature_names):
    """The frame's columns in the model's order, as a list of 1-D arrays."""
    columns = [str(c) for c in frame.columns]
    if feature_names is None:
        # A model without names takes the columns in order, as the CLI does.
        return [frame.iloc[:, j].to_numpy() for j in range(len(columns))]
    _check_names(columns, feature_names)
    position = {name: j for j, name in enumerate(columns)}
    return [frame.iloc[:, position[name]].to_numpy() for name in feature_names]


def _dict_columns(records, feature_names):
    if feature_names is None:
        raise _native.InputError("rows as dicts: the model has no feature names to match the keys")
    keys = set()
    for record in records:
        keys.update(str(k) for k in record)
    _check_names(sorted(keys, key=lambda k: (k not in feature_names, k)), feature_names)
    columns = []
    for name in feature_names:
        column = []
        for i, record in enumerate(records):
            if name not in record:
                raise _native.InputError(f'row {i + 1}: no value for "{name}"')
            column.append(record[name])
        columns.append(column)
    return columns


def _encoded(X, converted, columns):
    """Rows of a model with categorical inputs as float64 values, and whether ``X`` was one
    row."""
    names = converted.feature_names
    one_row = False
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        values = _frame_columns(X, names)
    elif isinstance(X, dict):
        one_row = True
        values = _dict_columns([X], names)
    elif isinstance(X, (list, tuple)) and X and all(isinstance(r, dict) for r in X):
        values = _dict_columns(X, names)
    else:
        array = np.asarray(X, dtype=object)
        if array.ndim == 1:
            one_row = True
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise _native.InputError(
                f"rows: {array.ndim} dimensions, expected rows of features (2)"
            )
        values = [array[:, j] for j in range(array.shape[1])]
    if len(values) != len(columns):
        raise _native.InputError(
            f"input row has {len(values)} features, the model expects {len(columns)}"
        )
    n_rows = len(values[0]) if values else 0
    out = np.empty((n_rows, len(columns)), dtype=np.float64)
    for j, (column, cells) in enumerate(zip(columns, values)):
        out[:, j] = column.encode(cells)
    return out, one_row


def rows(X, converted):
    """``(rows32, rows64, one_row)``: ``X`` as C-contiguous float32 and float64 2-D arrays
    of the model's input values, and whether ``X`` was a single row (1-D)."""
    if converted.inputs is not None:
        values, one_row = _encoded(X, converted, converted.inputs)
    else:
        values, one_row = _numeric(X, converted)
    rows64 = np.ascontiguousarray(values, dtype=np.float64)
    rows32 = np.ascontiguousarray(values, dtype=np.float32)
    return rows32, rows64, one_row


def _numeric(X, converted):
    names = converted.feature_names
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        frame = X
        if names is not None:
            _check_names([str(c) for c in frame.columns], names)
            frame = frame.copy()
            frame.columns = [str(c) for c in frame.columns]
            frame = frame[names]
        try:
            return frame.to_numpy(dtype=np.float64), False
        except (TypeError, ValueError) as error:
            raise _native.InputError(f"rows: not numbers ({error})") from None
    if isinstance(X, dict) or (
        isinstance(X, (list, tuple)) and X and all(isinstance(r, dict) for r in X)
    ):
        records = [X] if isinstance(X, dict) else X
        columns = _dict_columns(records, names)
        values = np.column_stack([_numbers(c, n) for c, n in zip(columns, names)])
        return values, isinstance(X, dict)
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise _native.InputError(f"rows: not numbers ({error})") from None
    one_row = values.ndim == 1
    if one_row:
        values = values.reshape(1, -1)
    if values.ndim != 2:
        raise _native.InputError(f"rows: {values.ndim} dimensions, expected rows of features (2)")
    return values, one_row
