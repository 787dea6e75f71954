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


EVAL_BATCH = 1024  # plain inputs: one pass without training reads this many rows a batch
# Padded sequences: 256 titles a batch, in length order: 1024 random titles pad to the longest of them
# and need buffers so large that every batch faults fresh pages in.
SEQUENCE_EVAL_BATCH = 256


class TensorBatches:
    """Iterate (x, y) mini-batches. `shuffle` draws a fresh permutation per epoch from `generator`,
    so a seeded run sees the same batches on every machine. A trailing batch of one example is
    dropped when `drop_single` is set (batch norm cannot train on a single example). `order` is
    None: batches come in the data's order (or the shuffle's)."""

    order: torch.Tensor | None = None

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


def sequence_lengths(x: Any) -> torch.Tensor | None:
    """Lengths of padded sequences, or None for plain (non-sequence) inputs. Sequences are what the
    sequence featurizers make: a tuple (ids (N, L), lengths (N,)), possibly with more (N, L) id tensors after
    them, or a dict with an attention_mask."""
    if isinstance(x, tuple) and len(x) >= 2 and all(isinstance(t, torch.Tensor) for t in x) \
            and x[0].dim() == 2 and x[1].dim() == 1 and not x[0].is_floating_point() \
            and all(t.shape == x[0].shape for t in x[2:]):
        return x[1]
    if isinstance(x, dict) and isinstance(x.get("attention_mask"), torch.Tensor):
        return x["attention_mask"].sum(1)
    return None


def trim_padding(x: Any, length: int) -> Any:
    """Cut every (N, L, ...) tensor of a batch to its first `length` positions (1-D tensors stay)."""
    if isinstance(x, torch.Tensor):
        return x[:, :length] if x.dim() >= 2 else x
    if isinstance(x, tuple | list):
        return type(x)(trim_padding(t, length) for t in x)
    if isinstance(x, dict):
        return {k: trim_padding(v, length) for k, v in x.items()}
    return x


class BucketBatches(TensorBatches):
    """Length-bucketed padded batches. With `shuffle`, each epoch draws a random permutation from
    `generator`, sorts each chunk of `bucket` batches by length, cuts it into batches and shuffles
    the batch order: batches hold titles of similar length, so little padding is computed. Without
    `shuffle`, batches keep the data's order (predictions line up with the inputs), or with `by_length`
    they follow `order`, the rows sorted by length (stable), for passes that do not train: `Trainer.predict`
    puts its outputs back in the data's order. Either way each batch is trimmed to its longest sequence."""

    def __init__(self, x: Any, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_single: bool = False,
                 lengths: torch.Tensor | None = None, bucket: int = 50, by_length: bool = False):
        super().__init__(x, y, batch_size, shuffle, generator, drop_single)
        self.lengths = sequence_lengths(x) if lengths is None else lengths
        if self.lengths is None:
            raise TypeError("BucketBatches needs padded sequences (ids, lengths) or an attention_mask")
        if by_length and shuffle:
            raise ValueError("by_length orders the batches of a pass without shuffling: pass shuffle=False")
        self.bucket = max(1, int(bucket))
        self.order = torch.sort(self.lengths, stable=True).indices if by_length else None

    def _batch_indices(self) -> list[torch.Tensor]:
        if not self.shuffle:
            rows = self.order if self.order is not None else torch.arange(self.n)
            return list(torch.split(rows, self.batch_size))
        order = torch.randperm(self.n, generator=self.generator)
        chunk = self.batch_size * self.bucket
        batches: list[torch.Tensor] = []
        for start in range(0, self.n, chunk):
            part = order[start:start + chunk]
            part = part[torch.sort(self.lengths[part], stable=True).indices]
            batches += list(torch.split(part, self.batch_size))
        # the one short batch (the last of the last chunk) goes where the shuffle puts it
        perm = torch.randperm(len(batches), generator=self.generator)
        return [batches[i] for i in perm]

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        for idx in self._batch_indices():
            if self.drop_single and len(idx) == 1 and self.n > 1:
                continue
            xb = index_batch(self.x, idx)
            yield trim_padding(xb, int(self.lengths[idx].max())), self.y[idx]


def make_batches(x: Any, y: torch.Tensor, batch_size: int, **kwargs) -> TensorBatches:
    """BucketBatches for padded sequences, TensorBatches for everything else."""
    cls = BucketBatches if sequence_lengths(x) is not None else TensorBatches
    return cls(x, y, batch_size, **kwargs)


def eval_batches(x: Any, y: torch.Tensor) -> TensorBatches:
    """Batches for a pass that does not train (evaluation, prediction, a linear probe): EVAL_BATCH rows in
    the data's order, or for padded sequences SEQUENCE_EVAL_BATCH in length order (see BucketBatches)."""
    if sequence_lengths(x) is None:
        return TensorBatches(x, y, EVAL_BATCH)
    return BucketBatches(x, y, SEQUENCE_EVAL_BATCH, by_length=True)
