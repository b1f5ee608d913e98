"""Inputs as the native module takes them: C-contiguous float32 and float64 rows in the
model's feature order, from numpy arrays (any float dtype, C or F order), pandas DataFrames
(columns matched by name against the model's feature names) and lists."""

import numpy as np

from . import _native


def _quoted(names):
    return ", ".join(f'"{n}"' for n in names)


def _from_frame(frame, feature_names, n_features):
    columns = [str(c) for c in frame.columns]
    if feature_names is None:
        # A model without names takes the columns in order, as the CLI does.
        return frame.to_numpy(dtype=np.float64)
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
    frame = frame.copy()
    frame.columns = columns
    return frame[feature_names].to_numpy(dtype=np.float64)


def rows(X, converted):
    """``(rows32, rows64, one_row)``: ``X`` as C-contiguous float32 and float64 2-D arrays,
    and whether ``X`` was a single row (1-D)."""
    native = converted.native
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        values = _from_frame(X, converted.feature_names, native.n_features)
    else:
        try:
            values = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise _native.InputError(f"rows: not numbers ({error})") from None
    one_row = values.ndim == 1
    if one_row:
        values = values.reshape(1, -1)
    if values.ndim != 2:
        raise _native.InputError(f"rows: {values.ndim} dimensions, expected rows of features (2)")
    rows64 = np.ascontiguousarray(values, dtype=np.float64)
    rows32 = np.ascontiguousarray(values, dtype=np.float32)
    return rows32, rows64, one_row
