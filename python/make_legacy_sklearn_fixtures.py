"""Fixtures written by scikit-learn 1.3, the last version that stored a classifier tree's
`tree_.value` as weighted class counts (1.4 and later store class fractions), for
crates/whyline-models/tests/fixtures/sklearn13/.

Usage (from the repository root)::

    python3 -m venv python/.venv-sklearn13
    python/.venv-sklearn13/bin/pip install -r python/requirements-sklearn13.txt
    python/.venv-sklearn13/bin/python python/make_legacy_sklearn_fixtures.py [--out DIR]

Same recipes and NAME.expected.json layout as make_model_fixtures.py. The forests are fitted
with class_weight="balanced", so their counts are weighted (not whole numbers) and the
trees' totals differ: a reader that averaged the counts instead of each tree's fractions
would predict other probabilities than scikit-learn's predict_proba.
"""
import argparse
import os
import sys

import sklearn
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model_fixtures as mmf  # noqa: E402

SEED = mmf.SEED


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "crates", "whyline-models", "tests", "fixtures",
                               "sklearn13")
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--rows", type=int, default=30)
    args = parser.parse_args()
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 4):
        sys.exit(f"scikit-learn {sklearn.__version__} stores fractions: run this script with "
                 "the 1.3 venv (see its docstring)")
    os.makedirs(args.out, exist_ok=True)
    mmf.SK = {"name": "scikit-learn", "version": sklearn.__version__}

    X, y, names = mmf.load("iris")
    X_tr, X_te, y_tr, _ = mmf.split(X, y, args.rows)
    mmf.sk(args.out, "sk13_tree_clf_iris", DecisionTreeClassifier(max_depth=4, random_state=SEED),
           X_tr, y_tr, X_te, names, dataset="iris")

    X, y, names = mmf.load("wine")
    X_tr, X_te, y_tr, _ = mmf.split(X, y, args.rows)
    mmf.sk(args.out, "sk13_rf_clf_wine",
           RandomForestClassifier(n_estimators=10, max_depth=5, class_weight="balanced",
                                  random_state=SEED),
           X_tr, y_tr, X_te, names, dataset="wine")

    X, y, names = mmf.load("breast_cancer")
    X_tr, X_te, y_tr, _ = mmf.split(X, y, args.rows)
    mmf.sk(args.out, "sk13_extra_trees_clf_breast_cancer",
           ExtraTreesClassifier(n_estimators=8, max_depth=6, class_weight="balanced",
                                random_state=SEED),
           X_tr, y_tr, X_te, names, dataset="breast_cancer")


if __name__ == "__main__":
    main()
