"""Train the small credit model and write the sample input that the README's `whyline explain`
line runs on.

Synthetic loan applications (seeded, no download): the approval labels come from a noisy
logistic rule of income, debt ratio, credit history and late payments; a scikit-learn
LogisticRegression learns them.

    python/.venv-examples/bin/python python/make_example_model.py

writes (scikit-learn 1.9.1, numpy 2.4.6; seed 2026):
- examples/models/credit_logistic.json   the model, in the whyline JSON format
- examples/data/credit.csv               eight new applications, with a header
- examples/data/credit.expected.json     scikit-learn's predict and predict_proba on them
                                         (the oracle of the README test in whyline-cli)
"""

import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from whyline_export import export_model

FEATURES = [
    "age",                   # years
    "income_k",              # yearly income, thousands
    "debt_ratio",            # monthly debt payments / monthly income
    "credit_history_years",  # years since the first credit line
    "late_payments",         # late payments in the last two years
    "loan_amount_k",         # the amount asked for, thousands
]
CLASSES = ["approve", "deny"]


def sample(rng, n):
    X = np.column_stack([
        rng.integers(21, 71, n),
        np.round(rng.lognormal(np.log(55.0), 0.45, n), 1),
        np.round(rng.beta(2.0, 5.0, n), 3),
        rng.integers(0, 31, n),
        rng.poisson(0.8, n),
        np.round(rng.uniform(2.0, 60.0, n), 1),
    ]).astype(np.float64)
    # Never more history than adult years.
    X[:, 3] = np.minimum(X[:, 3], X[:, 0] - 18)
    return X


def label(rng, X):
    age, income, debt, history, late, amount = X.T
    score = (
        -1.0 + 0.035 * income - 6.0 * debt + 0.08 * history - 0.9 * late - 0.03 * amount
        + 0.005 * (age - 40)
    )
    approve = rng.random(len(X)) < 1.0 / (1.0 + np.exp(-score))
    return np.where(approve, "approve", "deny")


def main():
    rng = np.random.default_rng(2026)
    X = sample(rng, 2000)
    y = label(rng, X)
    model = LogisticRegression(max_iter=10000)
    model.fit(X, y)

    root = Path(__file__).resolve().parent.parent
    model_path = root / "examples/models/credit_logistic.json"
    data_dir = root / "examples/data"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    export_model(model, str(model_path), X_train=X, feature_names=FEATURES)

    new = sample(np.random.default_rng(7), 8)
    lines = [",".join(FEATURES)]
    for row in new:
        lines.append(",".join(f"{v:g}" for v in row))
    (data_dir / "credit.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The oracle runs on the values exactly as the CSV writes them.
    written = np.array([[float(c) for c in line.split(",")] for line in lines[1:]])
    expected = {
        "model": "examples/models/credit_logistic.json",
        "input": "examples/data/credit.csv",
        "classes": [str(c) for c in model.classes_],
        "predict": [str(c) for c in model.predict(written)],
        "predict_proba": model.predict_proba(written).tolist(),
    }
    with open(data_dir / "credit.expected.json", "w", encoding="utf-8") as handle:
        json.dump(expected, handle, indent=1)
        handle.write("\n")
    print(f"wrote {model_path}; training accuracy {model.score(X, y):.3f}")


if __name__ == "__main__":
    main()
