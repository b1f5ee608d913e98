"""``whyline.Monitor``: a fitted model whose every prediction is recorded, with its decision
path and alerts, where a safety profile says (a ledger for SIL2–SIL4)."""

import json
import logging
import os

import numpy as np

from . import _inputs, _models, _native

_log = logging.getLogger("whyline")


def _library_rows(converted, rows64):
    """The rows as the library's own predict takes them (a DataFrame for an estimator
    fitted on one, a DMatrix for an XGBoost Booster; a categorical input column of a
    pipeline holds its category, not its index)."""
    original = converted.original
    names = getattr(original, "feature_names_in_", None)
    if converted.inputs is not None:
        rows = np.empty(rows64.shape, dtype=object)
        for j, column in enumerate(converted.inputs):
            if column.kind == "categorical":
                rows[:, j] = [
                    None if np.isnan(v) else column.categories[int(v)] for v in rows64[:, j]
                ]
            else:
                rows[:, j] = rows64[:, j]
        if names is None:
            return rows
        import pandas

        frame = pandas.DataFrame(rows, columns=list(names))
        for j, column in enumerate(converted.inputs):
            if column.kind == "numeric":
                frame[names[j]] = frame[names[j]].astype(np.float64)
        return frame
    if names is not None:
        import pandas

        return pandas.DataFrame(rows64, columns=list(names))
    if converted.library == "xgboost":
        import xgboost

        if isinstance(original, xgboost.Booster):
            return xgboost.DMatrix(rows64, feature_names=original.feature_names)
    return rows64


def library_output(converted, rows64):
    """What the library itself returns for ``rows64``: ``predict_proba`` of a classifier,
    ``predict`` otherwise (``None`` for a model given as bytes)."""
    original = converted.original
    if converted.library == "whyline":
        return None
    rows = _library_rows(converted, rows64)
    if converted.is_classifier and hasattr(original, "predict_proba"):
        return np.asarray(original.predict_proba(rows))
    return np.asarray(original.predict(rows))


class Monitor:
    """A fitted model wrapped so that every row it predicts is recorded.

    ``model`` is converted to whyline's native model once and checked against the
    library's own prediction on a probe row. ``ledger`` is the directory the profile's
    collector writes (created if missing). ``profile`` is a safety level (``"qm"``,
    ``"sil1"`` … ``"sil4"``) or a profile TOML file: it sets the collector, its
    durability, checkpoint signing and the Andon rules. When the profile signs and no
    ``signing_key`` file is given, a key is made under ``ledger/keys/`` (logged on the
    ``whyline`` logger, and in :attr:`key_files`). ``on_alert`` is called with each alert
    (a dict) after the call that raised it; :attr:`alerts` keeps them all.

    Use it as a context manager, or call :meth:`close`: closing flushes and closes the
    ledger; later calls raise ``MonitorClosedError``.
    """

    def __init__(self, model, ledger, profile="sil3", signing_key=None, on_alert=None):
        self._model = _models.convert(model)
        self._check_probe()
        self.ledger = os.fspath(ledger)
        """The directory recorded into."""
        self.alerts = []
        """Every alert raised so far, as dicts (level, rule and its values, sequence,
        timestamp_ns)."""
        self.on_alert = on_alert
        """Called with each alert (a dict), or ``None``."""
        key = None if signing_key is None else os.fspath(signing_key)
        self._native = _native.NativeMonitor(self._model.native, self.ledger, profile, key)
        created = set(map(str, self._native.created_files))
        keys = self._native.key_files
        if keys is not None and str(keys[0]) in created:
            _log.warning(
                "whyline: made a checkpoint signing key at %s (public key %s); keep it to sign "
                "later checkpoints, give the public key to whoever verifies",
                keys[0],
                keys[1],
            )

    def _check_probe(self):
        native = self._model.native
        probe = np.zeros((1, native.n_features), dtype=np.float64)
        expected = library_output(self._model, probe)
        if expected is None:
            return
        values, probabilities, _ = native.predict(probe)
        got = probabilities if self._model.is_classifier and probabilities is not None else values
        expected = np.asarray(expected, dtype=np.float64).reshape(got.shape[0], -1)
        got = got.reshape(expected.shape[0], -1)
        if expected.shape != got.shape and expected.shape[1] == 1 and got.shape[1] == 2:
            got = got[:, 1:]
        if expected.shape != got.shape or not np.allclose(got, expected, rtol=1e-5, atol=1e-7):
            raise _native.ModelError(
                f"the converted model predicts {got.ravel().tolist()} on the probe row (zeros), "
                f"the library {expected.ravel().tolist()}"
            )

    @property
    def closed(self):
        """Whether :meth:`close` was called."""
        return self._native.closed

    @property
    def key_files(self):
        """``(signing key, public key)`` files of the ledger's checkpoints, when it signs."""
        return self._native.key_files

    @property
    def collector(self):
        """The collector the profile chose: ``"ring"``, ``"stream"`` or ``"ledger"``."""
        return self._native.collector

    def _decide(self, X):
        rows32, rows64, one_row = _inputs.rows(X, self._model)
        try:
            result = self._native.predict(rows32, rows64)
        finally:
            self._deliver_alerts()
        return result, one_row

    def _deliver_alerts(self):
        for text in self._native.take_alerts():
            alert = json.loads(text)
            self.alerts.append(alert)
            if self.on_alert is not None:
                self.on_alert(alert)

    def _library_dtype(self):
        return np.float32 if self._model.library == "xgboost" else np.float64

    def predict(self, X):
        """Predicts and records every row of ``X``; returns what the library's ``predict``
        returns (class labels of a classifier, values of a regressor)."""
        (values, probabilities, _), one_row = self._decide(X)
        classes = self._model.classes
        if self._model.is_classifier and classes is not None:
            out = np.asarray(classes)[values.astype(np.int64)]
        elif self._model.is_classifier and self._model.library == "xgboost" and probabilities is not None:
            out = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities
            out = out.astype(np.float32)
        elif self._model.is_classifier and self._model.library == "lightgbm" and probabilities is not None:
            out = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities
        else:
            out = values.astype(self._library_dtype())
        return out[0] if one_row else out

    def predict_proba(self, X):
        """Predicts and records every row of ``X``; returns what the library's
        ``predict_proba`` returns (``(rows, classes)``)."""
        if not self._model.is_classifier:
            raise _native.ModelError("predict_proba: the model is not a classifier")
        (_, probabilities, _), one_row = self._decide(X)
        out = probabilities.astype(self._library_dtype(), copy=False)
        return out[0] if one_row else out

    def flush(self):
        """Makes every decision so far as durable as the profile promises."""
        self._native.flush()

    def close(self):
        """Flushes and closes the collector; closing twice does nothing."""
        self._native.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        state = "closed" if self.closed else self.collector
        return f"Monitor({self.ledger!r}, {state})"
