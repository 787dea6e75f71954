"""Mini-batches from in-memory tensors by slicing a random permutation.

No per-item `Dataset.__getitem__` + `DataLoader` collate: for tensors already in memory, one
fancy-index per batch is far cheaper (bench/batching.py measures it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch


def index_batch(x: Any, idx: torch.Tensor) -> Any:
    """Select rows `idx` from a tensor, or from each tensor of a tuple/dict."""
    if isinstance(x, torch.Tensor):
        return x[idx]
    if isinstance(x, tuple | list):
        return type(x)(index_batch(t, idx) for t in x)
    if isinstance(x, dict):
        return {k: index_batch(v, idx) for k, v in x.items()}
    raise TypeError(f"cannot batch {type(x).__name__}")


def to_device(x: Any, device: torch.device, non_blocking: bool = False) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=non_blocking)
    if isinstance(x, tuple | list):
        return type(x)(to_device(t, device, non_blocking) for t in x)
    if isinstance(x, dict):
        return {k: to_device(v, device, non_blocking) for k, v in x.items()}
    return x


class TensorBatches:
    """Iterate (x, y) mini-batches. `shuffle` draws a fresh permutation per epoch from `generator`,
    so a seeded run sees the same batches on every machine. A trailing batch of one example is
    dropped when `drop_single` is set (batch norm cannot train on a single example)."""

    def __init__(self, x: Any, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_single: bool = False):
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        self.drop_single = drop_single
        self.n = len(y)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not (self.drop_single and rest == 1) else 0)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            if self.drop_single and stop - start == 1 and self.n > 1:
                break
            if order is None:
                yield index_batch(self.x, slice(start, stop)), self.y[start:stop]
            else:
                idx = order[start:stop]
                yield index_batch(self.x, idx), self.y[idx]
