"""Train the game AI example's NPC decision tree (examples/game_ai).

Synthetic combat situations (seeded, no download): the NPC chases a visible player within
range while healthy and armed, takes cover when hurt or outranged, and reloads when out of
ammunition; 6 % of the labels are flipped so that leaves hold mixed classes and the overlay
shows real alternatives. A scikit-learn DecisionTreeClassifier (depth 4) learns them.

    python/.venv-examples/bin/python python/make_game_model.py

writes (scikit-learn 1.9.1, numpy 2.4.6; seed 2026):
- examples/game_ai/npc_tree.whyline.json   the model, in the whyline JSON format
- examples/game_ai/npc_tree.expected.json  scikit-learn's predict_proba on 64 probe rows
                                           (the oracle of the example's tests)
"""

import json
from pathlib import Path

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from whyline_export import export_model

FEATURES = [
    "player_visible",   # 1 when the NPC sees the player
    "player_distance",  # metres
    "health",           # 0 .. 1
    "ammo",             # rounds in the magazine, 0 .. 30
]
CLASSES = ["CHASE_PLAYER", "TAKE_COVER", "RELOAD"]


def sample(rng, n):
    return np.column_stack([
        (rng.random(n) < 0.6).astype(np.float64),
        np.round(rng.uniform(0.0, 250.0, n), 1),
        np.round(rng.uniform(0.0, 1.0, n), 2),
        rng.integers(0, 31, n).astype(np.float64),
    ])


def label(rng, X):
    visible, distance, health, ammo = X.T
    y = np.where(
        ammo == 0,
        "RELOAD",
        np.where((visible == 1) & (distance < 100.0) & (health > 0.3), "CHASE_PLAYER", "TAKE_COVER"),
    )
    flip = rng.random(len(X)) < 0.06
    y[flip] = rng.choice(CLASSES, flip.sum())
    return y


def main():
    rng = np.random.default_rng(2026)
    X = sample(rng, 4000)
    y = label(rng, X)
    model = DecisionTreeClassifier(max_depth=4, min_samples_leaf=25, random_state=0)
    model.fit(X, y)

    root = Path(__file__).resolve().parent.parent / "examples/game_ai"
    root.mkdir(parents=True, exist_ok=True)
    export_model(model, str(root / "npc_tree.whyline.json"), X_train=X, feature_names=FEATURES)

    probe = sample(np.random.default_rng(7), 64)
    expected = {
        "features": FEATURES,
        "classes": [str(c) for c in model.classes_],
        "rows": probe.tolist(),
        "predict_proba": model.predict_proba(probe).tolist(),
    }
    with open(root / "npc_tree.expected.json", "w", encoding="utf-8") as handle:
        json.dump(expected, handle, indent=1)
        handle.write("\n")
    print(f"wrote {root}; training accuracy {model.score(X, y):.3f}")


if __name__ == "__main__":
    main()
