"""TensorFlow Playground's 2-D toy data: two classes of points in the plane, generated from a seed (nothing to
fetch). The shapes follow the Playground's `src/dataset.ts`: `circle` (radius 5: class 1 inside radius 2.5,
class 0 in the ring 3.5..5), `xor` (the quadrants, padded 0.3 away from the axes), `gauss` (two Gaussians at
(2, 2) and (-2, -2)) and `spiral` (two arms of 1.75 turns out to radius 5). Noise moves the points (spiral,
gauss) or the point the label is taken at (circle, xor), as the Playground does.

Class 1 is the Playground's positive label (+1), class 0 its negative (-1). The inputs are the columns x1, x2
and the extra features switched on (x1², x2², x1·x2, sin x1, sin x2), all computed by `plane_features`, the
one function the training split, the decision-boundary grid and prediction share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from engine.config.options import Option
from engine.data.base import Dataset, Split

if TYPE_CHECKING:  # imported where used: ~1 s of start-up that predicting a digit or a headline skips
    import pandas as pd

SHAPES = ("circle", "xor", "gauss", "spiral")
CLASSES = ("negative (-1)", "positive (+1)")
EXTENT = 6.0  # the plane shown: [-6, 6] in x1 and x2, as in the Playground
# extra input feature option -> (column name, how it is computed from x1, x2)
EXTRA_FEATURES: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "x1_squared": ("x1^2", lambda a, b: a * a),
    "x2_squared": ("x2^2", lambda a, b: b * b),
    "x1_x2": ("x1*x2", lambda a, b: a * b),
    "sin_x1": ("sin(x1)", lambda a, b: np.sin(a)),
    "sin_x2": ("sin(x2)", lambda a, b: np.sin(b)),
}

OPTIONS = (
    Option("shape", "str", "circle", "playground: the shape of the two classes (as in TensorFlow Playground)",
           choices=SHAPES),
    Option("noise", "int", 0, "playground: noise in percent", min=0, max=50),
    Option("points", "int", 500, "playground: number of points", min=20, max=5000),
    Option("train_share", "float", 0.5, "playground: share of the points to train on; the rest is split evenly "
           "into valid and test", min=0.1, max=0.9),
    Option("data_seed", "int", 0, "playground: seed of the points' noise and of the split", min=0, max=2**31 - 1),
    *(Option(name, "bool", False, f"playground: extra input feature {column}") for name, (column, _) in
      EXTRA_FEATURES.items()),
)
# as the Playground: small tanh layers, small batches, many short epochs and no early stop (the spiral's valid
# loss plateaus for a hundred epochs before it falls)
DEFAULTS = {"lr": 0.01, "batch_size": 16, "epochs": 300, "early_stopping": False,
            "model_args": {"mlp": {"layers": 3, "width": 8, "activation": "tanh", "batch_norm": False,
                                   "dropout": 0.0, "input_norm": False}}}


def ready(home=None) -> bool:
    return True


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    radius, half = 5.0, n // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, half), rng.uniform(radius * 0.7, radius, n - half)])
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    moved = pts + rng.uniform(-radius, radius, (n, 2)) * noise
    return pts, (np.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5).astype(np.int64)


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)  # padding away from the axes
    moved = pts + rng.uniform(-5, 5, (n, 2)) * noise
    return pts, (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + 3.5 * noise / 0.5  # the Playground's scale: noise 0 -> 0.5, noise 0.5 -> 4
    half = n // 2
    pts = np.concatenate([rng.normal(2, np.sqrt(variance), (half, 2)),
                          rng.normal(-2, np.sqrt(variance), (n - half, 2))])
    return pts, np.concatenate([np.ones(half, np.int64), np.zeros(n - half, np.int64)])


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    arms, labels = [], []
    for delta, label, count in ((0.0, 1, n // 2), (np.pi, 0, n - n // 2)):
        i = np.arange(count) / count
        r, t = i * 5, 1.75 * i * 2 * np.pi + delta
        arms.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.uniform(-1, 1, (count, 2)) * noise)
        labels.append(np.full(count, label, np.int64))
    return np.concatenate(arms), np.concatenate(labels)


GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}


def generate(shape: str, points: int, noise: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 2) float64, labels (N,) int64) of `shape` with `noise` percent, from `seed`."""
    return GENERATORS[shape](np.random.default_rng(seed), points, noise / 100.0)


def extra_features(data_args: dict) -> list[str]:
    """The extra feature options switched on in `data_args`, in declaration order."""
    return [name for name in EXTRA_FEATURES if data_args.get(name)]


def plane_features(x1: np.ndarray, x2: np.ndarray, extra: Sequence[str] = ()) -> pd.DataFrame:
    """The model's input columns for points (x1, x2): x1, x2 and the extra features named in `extra`."""
    import pandas as pd

    x1, x2 = np.asarray(x1, np.float64), np.asarray(x2, np.float64)
    columns = {"x1": x1, "x2": x2}
    for name in extra:
        column, fn = EXTRA_FEATURES[name]
        columns[column] = fn(x1, x2)
    return pd.DataFrame(columns)


def load(home=None, shape: str = "circle", noise: int = 0, points: int = 500, train_share: float = 0.5,
         data_seed: int = 0, **extra) -> Dataset:
    pts, y = generate(shape, points, noise, data_seed)
    order = np.random.default_rng([data_seed, 1]).permutation(points)
    n_train = int(round(train_share * points))
    n_valid = (points - n_train) // 2
    parts = (order[:n_train], order[n_train:n_train + n_valid], order[n_train + n_valid:])
    features = extra_features(extra)
    splits = [Split(plane_features(pts[i, 0], pts[i, 1], features), y[i]) for i in parts]
    return Dataset("playground", "table", "classification", list(CLASSES), *splits,
                   meta={"plane": {"extent": EXTENT, "features": features}, "shape": shape})
