"""Type stubs of the whyline package."""

import datetime
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Any  # numpy array (float32/float64, C or F order), pandas DataFrame, or lists
TimeLike = Union[int, datetime.datetime]

class WhylineError(Exception):
    """Base class of every error whyline raises."""

class InputError(WhylineError, ValueError):
    """Rows the model cannot take: wrong width, unknown feature names, NaN or infinity
    where the model has no missing-value rule."""

class ModelError(WhylineError):
    """A model whyline cannot load, or a method that does not fit the model."""

class ExplainError(WhylineError):
    """An explanation method refused its settings or failed."""

class LedgerError(WhylineError, OSError):
    """A path that is not a ledger, an I/O failure, an unreadable key, a bad window."""

class MonitorError(WhylineError):
    """The monitor refused a profile or a decision."""

class MonitorClosedError(MonitorError):
    """A call on a monitor that was closed."""

class TreeExplainer:
    """Exact TreeSHAP with shap.TreeExplainer's interface and output conventions."""

    expected_value: Any
    def __init__(self, model: Any, data: Optional[ArrayLike] = ..., n_jobs: Optional[int] = ...) -> None: ...
    @property
    def model(self) -> Any:
        """The fitted model explained."""
    @property
    def feature_names(self) -> Optional[List[str]]:
        """The columns shap_values attributes to (a pipeline's input columns)."""
    def shap_values(
        self, X: ArrayLike, n_jobs: Optional[int] = ..., features: str = ...
    ) -> npt.NDArray[np.floating[Any]]:
        """SHAP values shaped and typed as shap.TreeExplainer(model).shap_values(X); for a
        pipeline, per input column (features="input") or per estimator feature
        (features="estimator", shap's values on pipeline[-1])."""
    def __call__(self, X: ArrayLike) -> Any:
        """A shap.Explanation when shap is installed, else the values."""

class Explanations:
    """Explanations of many rows by one method."""

    method: str
    settings: Dict[str, Any]
    values: Union[npt.NDArray[np.float64], List[List[Dict[str, Any]]]]
    base_values: Optional[npt.NDArray[np.float64]]
    residuals: Optional[npt.NDArray[np.float64]]
    documents: List[Dict[str, Any]]
    def __len__(self) -> int: ...

def explain(
    model: Any,
    X: ArrayLike,
    method: str = ...,
    background: Optional[ArrayLike] = ...,
    seed: int = ...,
    n_jobs: Optional[int] = ...,
) -> Explanations:
    """Explains every row of X with one method (tree-shap, kernel-shap, linear-shap, lime,
    ig, saliency, counterfactual)."""

class Monitor:
    """A fitted model whose every prediction is recorded where a safety profile says."""

    ledger: str
    alerts: List[Dict[str, Any]]
    on_alert: Optional[Callable[[Dict[str, Any]], None]]
    def __init__(
        self,
        model: Any,
        ledger: PathLike,
        profile: str = ...,
        signing_key: Optional[PathLike] = ...,
        on_alert: Optional[Callable[[Dict[str, Any]], None]] = ...,
    ) -> None: ...
    @property
    def closed(self) -> bool:
        """Whether close() was called."""
    @property
    def key_files(self) -> Optional[Tuple[str, str]]:
        """(signing key, public key) files, when the ledger signs."""
    @property
    def collector(self) -> str:
        """ring, stream or ledger."""
    def predict(self, X: ArrayLike) -> Any:
        """Predicts and records every row; returns what the library's predict returns."""
    def predict_proba(self, X: ArrayLike) -> npt.NDArray[np.floating[Any]]:
        """Predicts and records every row; returns what the library's predict_proba returns."""
    def flush(self) -> None:
        """Makes every decision so far as durable as the profile promises."""
    def close(self) -> None:
        """Flushes and closes the collector."""
    def __enter__(self) -> "Monitor": ...
    def __exit__(self, *exc: Any) -> bool: ...

class FirstBad:
    """The first bad entry verification found."""

    index: int
    kind: str
    offset: int
    path: str
    torn_tail: bool

class VerifyResult:
    """The outcome of Ledger.verify."""

    json: Dict[str, Any]
    intact: bool
    entries: int
    first_bad: Optional[FirstBad]
    checkpoints: Optional[int]
    signatures_checked: bool
    root: Optional[str]
    crash_residue: List[Dict[str, Any]]
    time_index_mismatch: Optional[int]
    def __bool__(self) -> bool: ...

class IncidentReport:
    """An incident report."""

    text: str
    def to_json(self) -> str:
        """The report as one JSON document."""
    def to_dict(self) -> Dict[str, Any]:
        """The JSON document parsed."""
    def to_html(self, path: Optional[PathLike] = ...) -> str:
        """The report as a self-contained HTML page, written to path when given."""

class Ledger:
    """A ledger directory, read back."""

    path: str
    def __init__(self, path: PathLike) -> None: ...
    def verify(self, public_key: Optional[PathLike] = ...) -> VerifyResult:
        """Re-hashes every entry and checks chain, Merkle roots and signatures."""
    def investigate(
        self,
        at: Union[str, int, datetime.datetime],
        before: str = ...,
        after: str = ...,
        public_key: Optional[PathLike] = ...,
        model: Optional[PathLike] = ...,
    ) -> IncidentReport:
        """The incident report of the window at - before ... at + after."""
    def decisions(self, start: Optional[TimeLike] = ..., end: Optional[TimeLike] = ...) -> Any:
        """The recorded decisions: a pandas DataFrame, or a list of dicts without pandas."""

def export_model(
    model: Any,
    path: PathLike,
    X_train: Optional[ArrayLike] = ...,
    feature_names: Optional[Sequence[str]] = ...,
    class_names: Optional[Sequence[str]] = ...,
) -> None:
    """Writes a fitted scikit-learn model in the whyline JSON model format."""

__all__: List[str]
