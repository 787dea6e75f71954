"""scikit-learn's 8x8 handwritten digits: ships inside scikit-learn, the offline default."""

from __future__ import annotations

import numpy as np

from engine.data.base import Dataset, Split

SPLIT_SEED = 0


def ready(home=None) -> bool:
    return True


def load(home=None) -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)  # (N, 8, 8) in [0, 1]
    y = bunch.target.astype(np.int64)
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, test_size=0.2, random_state=SPLIT_SEED, stratify=y)
    valid, test = train_test_split(rest, test_size=0.5, random_state=SPLIT_SEED, stratify=y[rest])
    splits = [Split(x[i], y[i]) for i in (train, valid, test)]
    return Dataset("digits", "image", "classification", [str(d) for d in range(10)], *splits,
                   meta={"image_shape": (8, 8)})
