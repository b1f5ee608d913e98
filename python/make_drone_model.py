"""Train the drone example's avoidance policy (examples/drone).

Synthetic encounters (seeded, no download): a multirotor flying a survey corridor meets
obstacles (masts, trees, a crane) ahead of it. It cruises when nothing is close or closing,
slows down when an obstacle is a few seconds away or the crosswind is strong, climbs when an
obstacle is about to be reached low, and turns away from an obstacle close ahead (left of an
obstacle on its right, right of one on its left). 4 % of the labels are flipped so that leaves
hold mixed classes and the recorded paths show real alternatives. A scikit-learn
DecisionTreeClassifier (depth 8) learns them from uniform situations and as many close
encounters.

    python/.venv-examples/bin/python python/make_drone_model.py

writes (scikit-learn and numpy as pinned in python/requirements.txt; seed 2027):
- examples/drone/avoidance_tree.whyline.json   the model, in the whyline JSON format
- examples/drone/avoidance_tree.expected.json  scikit-learn's predict_proba on 64 probe rows
                                               (the oracle of the example's tests)
"""

import json
from pathlib import Path

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from whyline_export import export_model

FEATURES = [
    "obstacle_distance_m",   # nearest obstacle in the forward sensor cone, 0 .. 80 (80: none)
    "obstacle_bearing_deg",  # its bearing, negative left, positive right, -30 .. 30
    "closing_speed_mps",     # how fast the distance shrinks, -5 .. 20
    "altitude_agl_m",        # height above ground, 10 .. 60
    "crosswind_mps",         # 0 .. 14
    "battery_pct",           # 5 .. 100
]
CLASSES = ["CRUISE", "SLOW_DOWN", "CLIMB", "AVOID_LEFT", "AVOID_RIGHT"]


def encounters(rng, n):
    """Close encounters, which uniform sampling sees too rarely: an obstacle 0-35 m ahead
    within 25 degrees, closing at survey to cruise speed."""
    return np.column_stack([
        np.round(rng.uniform(0.0, 35.0, n), 1),
        np.round(rng.uniform(-25.0, 25.0, n), 1),
        np.round(rng.uniform(2.0, 14.0, n), 1),
        np.round(rng.uniform(10.0, 60.0, n), 1),
        np.round(rng.uniform(0.0, 14.0, n), 1),
        np.round(rng.uniform(5.0, 100.0, n), 0),
    ])


def sample(rng, n):
    return np.column_stack([
        np.round(rng.uniform(0.0, 80.0, n), 1),
        np.round(rng.uniform(-30.0, 30.0, n), 1),
        np.round(rng.uniform(-5.0, 20.0, n), 1),
        np.round(rng.uniform(10.0, 60.0, n), 1),
        np.round(rng.uniform(0.0, 14.0, n), 1),
        np.round(rng.uniform(5.0, 100.0, n), 0),
    ])


def label(x):
    distance, bearing, closing, altitude, wind, battery = x
    ttc = distance / closing if closing > 0.5 else float("inf")
    if ttc < 2.5 and altitude < 30.0:
        return "CLIMB"
    if ttc < 4.0 and abs(bearing) < 20.0:
        # Turn away from the obstacle's side.
        return "AVOID_LEFT" if bearing >= 0.0 else "AVOID_RIGHT"
    if ttc < 8.0 or wind > 10.0 or battery < 12.0:
        return "SLOW_DOWN"
    return "CRUISE"


def main():
    rng = np.random.default_rng(2027)
    x = np.vstack([sample(rng, 6000), encounters(rng, 6000)])
    y = np.array([label(row) for row in x])
    flip = rng.random(len(y)) < 0.04
    y[flip] = rng.choice(CLASSES, flip.sum())
    model = DecisionTreeClassifier(max_depth=8, min_samples_leaf=5, random_state=2027)
    model.fit(x, y)

    here = Path(__file__).resolve().parent.parent / "examples" / "drone"
    export_model(model, str(here / "avoidance_tree.whyline.json"), X_train=x, feature_names=FEATURES)
    probes = sample(np.random.default_rng(7), 64)
    expected = {
        "features": FEATURES,
        "classes": [str(c) for c in model.classes_],
        "rows": probes.tolist(),
        "predict_proba": model.predict_proba(probes).tolist(),
    }
    (here / "avoidance_tree.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {here}/avoidance_tree.*.json; training accuracy {model.score(x, y):.3f}")


if __name__ == "__main__":
    main()
