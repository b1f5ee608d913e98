#!/usr/bin/env bash
# Creates python/.venv and installs the pinned requirements.
# Usage: bash python/setup_venv.sh   (from the repository root or from python/)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python_bin="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
    "$python_bin" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --upgrade pip
"$here/.venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$here/.venv/bin/python" -c 'import numpy, sklearn, xgboost, lightgbm; print("numpy", numpy.__version__, "scikit-learn", sklearn.__version__, "xgboost", xgboost.__version__, "lightgbm", lightgbm.__version__)'
