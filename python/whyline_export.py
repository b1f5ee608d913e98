"""Compatibility wrapper: the exporter lives in the package, as ``whyline.export``.

The fixture scripts import ``whyline_export`` from this folder without installing the package
(its native module is not needed to export a model), so this file loads
``whyline/export.py`` by path rather than importing the ``whyline`` package.
"""

import importlib.util
import pathlib
import sys

_PATH = pathlib.Path(__file__).resolve().parent / "whyline" / "export.py"
_SPEC = importlib.util.spec_from_file_location("_whyline_export_impl", _PATH)
if _SPEC is None or _SPEC.loader is None:
    raise ImportError(f"cannot load the whyline exporter from {_PATH}")
_MODULE = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = _MODULE
_SPEC.loader.exec_module(_MODULE)

export_model = _MODULE.export_model
model_to_dict = _MODULE.model_to_dict
model_to_json = _MODULE.model_to_json
__all__ = ["export_model", "model_to_dict", "model_to_json"]
