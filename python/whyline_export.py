"""Compatibility wrapper: the exporter lives in the package, as ``whyline.export``.

The fixture scripts import ``whyline_export`` from this folder without installing the package
(its native module is not needed to export a model), so this file loads
the exporter's folder ``whyline/export/`` by path (as a package of its own, so its modules
import one another) rather than importing the ``whyline`` package.
"""

import importlib.util
import pathlib
import sys

_FOLDER = pathlib.Path(__file__).resolve().parent / "whyline" / "export"
_PATH = _FOLDER / "__init__.py"
_SPEC = importlib.util.spec_from_file_location(
    "_whyline_export_impl", _PATH, submodule_search_locations=[str(_FOLDER)]
)
if _SPEC is None or _SPEC.loader is None:
    raise ImportError(f"cannot load the whyline exporter from {_PATH}")
_MODULE = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = _MODULE
_SPEC.loader.exec_module(_MODULE)

export_model = _MODULE.export_model
model_to_dict = _MODULE.model_to_dict
model_to_json = _MODULE.model_to_json
__all__ = ["export_model", "model_to_dict", "model_to_json"]
