"""Image featurizers: flat pixel vectors (MLPs) and one-channel images (CNNs)."""

from __future__ import annotations

import numpy as np
import torch

from engine.features.base import Featurizer


class FlatPixels(Featurizer):
    """Images (N, H, W) in [0, 1] -> (N, H*W)."""

    kind = "flat_pixels"

    def __init__(self, shape=(8, 8)):
        self.shape = tuple(shape)

    def fit(self, dataset) -> None:
        self.shape = tuple(dataset.train.x.shape[1:])

    def transform(self, raw) -> torch.Tensor:
        arr = np.asarray(raw, dtype=np.float32)
        return torch.from_numpy(arr.reshape(len(arr), -1).copy())

    def spec(self) -> dict:
        return {"input_dim": int(np.prod(self.shape)), "image_shape": self.shape}

    def state(self) -> dict:
        return {"kind": self.kind, "shape": list(self.shape)}

    @classmethod
    def from_state(cls, state: dict, home=None) -> FlatPixels:
        return cls(state["shape"])


class ImagePixels(Featurizer):
    """Images (N, H, W) in [0, 1] -> (N, 1, H, W) for convolutional models."""

    kind = "image_pixels"

    def __init__(self, shape=(8, 8)):
        self.shape = tuple(shape)

    def fit(self, dataset) -> None:
        self.shape = tuple(dataset.train.x.shape[1:])

    def transform(self, raw) -> torch.Tensor:
        arr = np.ascontiguousarray(raw, dtype=np.float32)
        return torch.from_numpy(arr.reshape(len(arr), 1, *self.shape))

    def spec(self) -> dict:
        return {"image_shape": self.shape, "in_channels": 1, "input_dim": int(np.prod(self.shape))}

    def state(self) -> dict:
        return {"kind": self.kind, "shape": list(self.shape)}

    @classmethod
    def from_state(cls, state: dict, home=None) -> ImagePixels:
        return cls(state["shape"])
