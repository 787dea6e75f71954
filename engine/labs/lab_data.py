"""The image data the gradient labs use: MNIST when it is registered and fetched, else the 8x8 digits."""

from __future__ import annotations

import torch

from engine.data import DATASETS, load_dataset


def image_dataset(name: str = "mnist", home=None) -> str:
    """`name` if it can be loaded without a download, else "digits" (ships with scikit-learn)."""
    spec = DATASETS.get(name)
    if spec is not None and spec.kind == "image" and spec.ready(home):
        return name
    return "digits"


def image_batch(name: str = "mnist", n: int = 100, home=None, split: str = "train",
                dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The first `n` examples of a split, flattened to (n, H*W) in [0, 1]: (x, t, dataset used)."""
    used = image_dataset(name, home)
    data = getattr(load_dataset(used, home), split)
    x = torch.as_tensor(data.x[:n], dtype=dtype).reshape(min(n, len(data)), -1)
    t = torch.as_tensor(data.y[:n], dtype=torch.long)
    return x, t, used


def image_split(name: str = "mnist", home=None, split: str = "train") -> tuple[torch.Tensor, torch.Tensor, str]:
    used = image_dataset(name, home)
    data = getattr(load_dataset(used, home), split)
    return torch.as_tensor(data.x, dtype=torch.float32).reshape(len(data), -1), \
        torch.as_tensor(data.y, dtype=torch.long), used
