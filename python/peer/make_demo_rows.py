"""Write the demo rows and scikit-learn's predict_proba on them (the load generator's rows
and the oracle that the peer and whyline serve the same forest).

    python/.venv-serve/bin/python python/peer/make_demo_rows.py

writes crates/whyline-load/tests/fixtures/demo_rows.csv (1,000 rows drawn from the demo
model's training distribution with seed 7, values rounded to 4 decimals) and
demo_rows.expected.json (classes and predict_proba of the retrained demo forest;
scikit-learn 1.9.1, numpy 2.4.6).
"""

import json

import numpy as np

from demo_forest import EXPECTED_JSON, FEATURES, ROWS_CSV, sample, train


def main():
    X, _ = sample(np.random.default_rng(7), 1000)
    X = np.round(X, 4)
    ROWS_CSV.parent.mkdir(parents=True, exist_ok=True)
    with open(ROWS_CSV, "w") as f:
        f.write(",".join(FEATURES) + "\n")
        for row in X:
            f.write(",".join(repr(float(v)) for v in row) + "\n")
    model = train()
    proba = model.predict_proba(X)
    EXPECTED_JSON.write_text(json.dumps({
        "source": "python/peer/make_demo_rows.py",
        "classes": [str(c) for c in model.classes_],
        "predict_proba": [[float(p) for p in row] for row in proba],
    }) + "\n")
    print(f"wrote {ROWS_CSV} and {EXPECTED_JSON} ({len(X)} rows)")


if __name__ == "__main__":
    main()
