"""Mini-batches of in-memory tensors: the library's DataLoader with a batch sampler and `batch_size=None`,
reading one whole batch per fancy-index (TensorRows), with a length-bucketing sampler for padded sequences,
and the helpers that place, pin, index and trim the tensors of a batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler

from engine.training.devices import free_memory


def index_batch(x: Any, idx: torch.Tensor | slice) -> Any:
    """Select rows `idx` from a tensor, or from each tensor of a tuple/dict."""
    if isinstance(x, torch.Tensor):
        return x[idx]
    if isinstance(x, tuple | list):
        return type(x)(index_batch(t, idx) for t in x)
    if isinstance(x, dict):
        return {k: index_batch(v, idx) for k, v in x.items()}
    raise TypeError(f"cannot batch {type(x).__name__}")


def to_device(x: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """`x` (a tensor, tuple, list or dict of them) on `device`. The lengths of padded sequences stay on the CPU,
    where pack_padded_sequence and the batch trimming read them (no copy back from the device)."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=non_blocking)
    if isinstance(x, tuple | list):
        keep = 1 if sequence_lengths(x) is not None else None
        return type(x)(t if i == keep else to_device(t, device, non_blocking) for i, t in enumerate(x))
    if isinstance(x, dict):
        return {k: to_device(v, device, non_blocking) for k, v in x.items()}
    return x


def nbytes(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    if isinstance(x, tuple | list):
        return sum(nbytes(t) for t in x)
    if isinstance(x, dict):
        return sum(nbytes(t) for t in x.values())
    return 0


def data_device(x: Any) -> torch.device:
    """The device of the first tensor in `x` (the device the batches are indexed on)."""
    if isinstance(x, torch.Tensor):
        return x.device
    values = x.values() if isinstance(x, dict) else x
    return data_device(next(iter(values)))


def rows_of(x: Any, n: int) -> Any:
    """The first `n` rows of every tensor in `x` (a tensor, a tuple of sequence tensors, a dict of token
    tensors): rows, never the members of a tuple."""
    return index_batch(x, slice(0, n))


def place(tensors: dict, targets: dict, device: torch.device, share: float = 0.5) -> tuple[dict, dict, bool]:
    """The splits (split -> features, split -> targets) on `device` once, when together they take at most `share`
    of its free memory (the digits, news and MNIST splits do); else left on the CPU. Returns them and whether
    batches should be pinned (CPU data for a CUDA run: each batch copied non_blocking)."""
    free = free_memory(device)
    if device.type == "cpu" or (free is not None and nbytes([tensors, targets]) > share * free):
        return tensors, targets, device.type == "cuda"
    on = {s: to_device(x, device) for s, x in tensors.items()}
    return on, {s: y.to(device) for s, y in targets.items()}, False


EVAL_BATCH = 1024  # plain inputs: one pass without training reads this many rows a batch
# Padded sequences: 256 titles a batch, in length order: 1024 random titles pad to the longest of them
# and need buffers so large that every batch faults fresh pages in.
SEQUENCE_EVAL_BATCH = 256
BUCKET = 50  # training batches of padded titles: each chunk of this many batches is sorted by length


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


class TensorRows(Dataset):
    """The rows of in-memory tensors, read a whole batch at a time: `rows[[i, j, ...]]` is the batch
    (x[idx], y[idx]), one fancy-index per tensor (a tensor, or a tuple or dict of them), padded sequences
    trimmed to the batch's longest. A DataLoader with `batch_size=None` and a batch sampler reads it."""

    def __init__(self, x: Any, y: torch.Tensor):
        self.x, self.y = x, y
        lengths = sequence_lengths(x)
        self.lengths = None if lengths is None else lengths.cpu()  # batches are trimmed on the host

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, rows: list[int]) -> tuple[Any, torch.Tensor]:
        idx = torch.as_tensor(rows, dtype=torch.long)
        xb = index_batch(self.x, idx)
        if self.lengths is not None:
            xb = trim_padding(xb, int(self.lengths[idx].max()))
        return xb, index_batch(self.y, idx)


class LengthBuckets(Sampler[list[int]]):
    """Length-bucketed batches of row indices: each epoch draws a random permutation from `generator`,
    sorts each chunk of `bucket` batches by length, cuts it into batches and shuffles the batch order, so
    batches hold titles of similar length and little padding is computed. A batch of one example is
    skipped when `drop_single` is set (batch norm cannot train on a single example)."""

    def __init__(self, lengths: torch.Tensor, batch_size: int, generator: torch.Generator | None = None,
                 bucket: int = BUCKET, drop_single: bool = False):
        self.lengths, self.batch_size = lengths.cpu(), int(batch_size)
        self.generator, self.bucket, self.drop_single = generator, max(1, int(bucket)), drop_single

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full + (1 if rest and not (self.drop_single and rest == 1 and full) else 0)

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.lengths)
        order = torch.randperm(n, generator=self.generator)
        chunk = self.batch_size * self.bucket
        batches: list[torch.Tensor] = []
        for start in range(0, n, chunk):
            part = order[start:start + chunk]
            part = part[torch.sort(self.lengths[part], stable=True).indices]
            batches += list(torch.split(part, self.batch_size))
        # the one short batch (the last of the last chunk) goes where the shuffle puts it
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            if not (self.drop_single and len(batches[i]) == 1 and n > 1):
                yield batches[i].tolist()


class InOrder(BatchSampler):
    """Batches of rows taken in `order`, which stays readable: Trainer.predict puts the outputs of a pass in
    another order (length order, eval_batches) back in the data's order."""

    def __init__(self, order: torch.Tensor, batch_size: int):
        super().__init__(order.tolist(), batch_size, drop_last=False)
        self.order = order


def loader(rows: TensorRows, batch_sampler, pin_memory: bool = False) -> DataLoader:
    """A DataLoader of whole batches. Each pass draws a seed for worker processes (none here) from `generator`:
    a generator of its own, so batching leaves the global RNG, which dropout draws from, untouched."""
    return DataLoader(rows, sampler=batch_sampler, batch_size=None, pin_memory=pin_memory,
                      generator=torch.Generator())


def make_batches(x: Any, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_single: bool = False, pin_memory: bool = False,
                 bucket: int = BUCKET) -> DataLoader:
    """Mini-batches (x, y) of in-memory tensors, one DataLoader over TensorRows. `shuffle` draws a fresh
    permutation per epoch from `generator` (a seeded run sees the same batches on every machine); padded
    sequences then come length-bucketed (LengthBuckets; `bucket=1`: random batches, each trimmed to its longest
    title), else in the data's order. `drop_single` drops a trailing batch of one example (batch norm cannot
    train on it); `pin_memory` pins each batch of CPU data for a CUDA run, so its copy runs non_blocking."""
    rows = TensorRows(x, y)
    n, batch_size = len(rows), int(batch_size)
    if shuffle and rows.lengths is not None:
        sampler = LengthBuckets(rows.lengths, batch_size, generator, bucket, drop_single)
    else:
        order = RandomSampler(range(n), generator=generator) if shuffle else range(n)
        sampler = BatchSampler(order, batch_size, drop_last=drop_single and n > 1 and n % batch_size == 1)
    return loader(rows, sampler, pin_memory)


def eval_batches(x: Any, y: torch.Tensor) -> DataLoader:
    """Batches for a pass that does not train (evaluation, prediction, a linear probe): EVAL_BATCH rows in
    the data's order, or for padded sequences SEQUENCE_EVAL_BATCH in length order (stable; see InOrder)."""
    rows = TensorRows(x, y)
    if rows.lengths is None:
        return make_batches(x, y, EVAL_BATCH)
    order = torch.sort(rows.lengths, stable=True).indices
    return loader(rows, InOrder(order, SEQUENCE_EVAL_BATCH))
