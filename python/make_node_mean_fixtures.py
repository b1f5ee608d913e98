"""XGBoost's approximate (Saabas) contributions of the committed XGBoost fixtures, for
crates/whyline-models/tests/fixtures/saabas/.

``Booster.predict(pred_contribs=True, approx_contribs=True)`` walks each row's path and
credits every split's feature with the change of the node mean value from parent to child;
the bias column is the root's mean plus the base margin. XGBoost computes those means itself
(``FillNodeMeanValues``: the cover-weighted mean of the children), so the contributions are
an outside oracle for the internal node values whyline's importer fills in.

Usage (from the repository root, with the explain venv: it has xgboost 3.2.0)::

    python/.venv-explain/bin/python python/make_node_mean_fixtures.py

Each NAME.approx_contribs.json holds ``model`` (the file in the fixture directory above),
``library``, ``contribs`` (``[row][group][feature + 1]``, the bias last) for the inputs of
NAME.expected.json.
"""
import json
import os

import numpy as np
import xgboost as xgb

here = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(here, "..", "crates", "whyline-models", "tests", "fixtures")
NAMES = ["xgb_binary_logistic_breast_cancer_missing", "xgb_multi_softmax_wine",
         "xgb_multi_softprob_iris", "xgb_reg_logistic_diabetes", "xgb_reg_squarederror_diabetes"]


def main():
    out = os.path.join(FIXTURES, "saabas")
    os.makedirs(out, exist_ok=True)
    for name in NAMES:
        booster = xgb.Booster()
        booster.load_model(os.path.join(FIXTURES, f"{name}.xgb.json"))
        with open(os.path.join(FIXTURES, f"{name}.expected.json"), encoding="utf-8") as h:
            inputs = json.load(h)["inputs"]
        X = np.array([[np.nan if v is None else v for v in row] for row in inputs],
                     dtype=np.float32)
        contribs = booster.predict(xgb.DMatrix(X, missing=np.nan), pred_contribs=True,
                                   approx_contribs=True)
        contribs = np.asarray(contribs, dtype=np.float64).reshape(len(X), -1, X.shape[1] + 1)
        with open(os.path.join(out, f"{name}.approx_contribs.json"), "w", encoding="utf-8") as h:
            json.dump({"model": f"{name}.xgb.json",
                       "library": {"name": "xgboost", "version": xgb.__version__},
                       "contribs": contribs.tolist()}, h, separators=(",", ":"))
            h.write("\n")


if __name__ == "__main__":
    main()
