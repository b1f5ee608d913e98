"""Train the small classifier that `whyline demo` embeds.

The seed specification's "cat scenario": a vehicle's planner chooses MAINTAIN_SPEED,
SLOW_DOWN, EMERGENCY_BRAKE or SWERVE from six sensor-fusion features. The labels come from a
simple time-to-collision policy. Small objects are deliberately rare in the training data (the
seed's root cause: "training data underrepresented small animals in motion"), so the model
reacts late to a cat, and whyline's monitor and incident report have something real to show.

    python/.venv/bin/python python/make_demo_model.py

writes crates/whyline-cli/assets/demo_model.json (scikit-learn 1.9.1, numpy 2.4.6; seed 2026).
"""

from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from whyline_export import export_model

FEATURES = [
    "distance_m",            # distance to the nearest object ahead
    "closing_speed_mps",     # how fast that distance shrinks
    "object_size_m",         # the object's largest extent
    "detection_confidence",  # perception's confidence in the object's class
    "lateral_offset_m",      # the object's offset from the lane centre
    "ego_speed_kmh",         # the vehicle's own speed
]
CLASSES = ["MAINTAIN_SPEED", "SLOW_DOWN", "EMERGENCY_BRAKE", "SWERVE"]


def policy(x):
    distance, closing, size, confidence, lateral, speed = x
    ttc = distance / max(closing, 0.1)
    in_path = abs(lateral) < 1.5
    if in_path and ttc < 1.2:
        # A large object with room beside it: swerve; otherwise brake.
        if size > 2.0 and speed > 40 and abs(lateral) > 0.6:
            return 3
        return 2
    if (in_path and ttc < 3.5) or (abs(lateral) < 2.5 and ttc < 1.5):
        return 1
    return 0


def sample(rng, n):
    size = np.where(rng.random(n) < 0.97, rng.uniform(0.8, 5.0, n), rng.uniform(0.1, 0.8, n))
    X = np.column_stack([
        rng.uniform(0.5, 60.0, n),
        rng.uniform(0.0, 18.0, n),
        size,
        rng.uniform(0.3, 1.0, n),
        rng.normal(0.0, 2.0, n),
        rng.uniform(10.0, 60.0, n),
    ])
    # Perception misses part of the closing speed of small objects: what the planner learns
    # about them is blurred.
    small = X[:, 2] < 0.8
    X[small, 1] *= rng.uniform(0.2, 1.0, small.sum())
    y = np.array([CLASSES[policy(row)] for row in X])
    return X, y


def main():
    rng = np.random.default_rng(2026)
    X, y = sample(rng, 20000)
    model = RandomForestClassifier(n_estimators=20, max_depth=9, min_samples_leaf=3, random_state=2026)
    model.fit(X, y)
    out = Path(__file__).resolve().parent.parent / "crates/whyline-cli/assets/demo_model.json"
    export_model(model, str(out), X_train=X, feature_names=FEATURES)
    print(f"wrote {out} ({out.stat().st_size} bytes); training accuracy {model.score(X, y):.3f}")


if __name__ == "__main__":
    main()
