"""Mini-batches from in-memory tensors by slicing a random permutation.

One fancy-index per batch of tensors already in memory, as the library's
DataLoader(TensorDataset, sampler=BatchSampler(RandomSampler, B), batch_size=None) also does; bench/batching.py
times the two side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from engine.training.devices import free_memory


class Rows:
    """Row indices kept on the CPU and on the data's device, so each tensor of a batch is indexed where it
    lives (the lengths of padded sequences stay on the CPU) without copying indices to the device every batch."""

    def __init__(self, cpu: torch.Tensor, device: torch.device | None = None, on_device: torch.Tensor | None = None):
        self.cpu = cpu
        if on_device is None:
            on_device = cpu if device is None or device.type == "cpu" else cpu.to(device, non_blocking=True)
        self.on_device = on_device

    def __getitem__(self, part: slice) -> Rows:
        return Rows(self.cpu[part], on_device=self.on_device[part])

    def __len__(self) -> int:
        return len(self.cpu)

    def split(self, sizes: list[int]) -> list[Rows]:
        return [Rows(c, on_device=d) for c, d in zip(self.cpu.split(sizes), self.on_device.split(sizes), strict=True)]

    def on(self, device: torch.device) -> torch.Tensor:
        return self.cpu if device.type == "cpu" else self.on_device


def index_batch(x: Any, idx: torch.Tensor | slice | Rows) -> Any:
    """Select rows `idx` from a tensor, or from each tensor of a tuple/dict."""
    if isinstance(x, torch.Tensor):
        return x[idx.on(x.device) if isinstance(idx, Rows) else idx]
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


def pinned(x: Any) -> Any:
    """`x` in page-locked memory, so its copy to a CUDA device runs asynchronously (non_blocking)."""
    if isinstance(x, torch.Tensor):
        return x.pin_memory()
    if isinstance(x, tuple | list):
        return type(x)(pinned(t) for t in x)
    if isinstance(x, dict):
        return {k: pinned(v) for k, v in x.items()}
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


class TensorBatches:
    """Iterate (x, y) mini-batches. `shuffle` draws a fresh permutation per epoch from `generator`,
    so a seeded run sees the same batches on every machine. A trailing batch of one example is
    dropped when `drop_single` is set (batch norm cannot train on a single example). `order` is
    None: batches come in the data's order (or the shuffle's)."""

    order: torch.Tensor | None = None

    def __init__(self, x: Any, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_single: bool = False, pin_memory: bool = False):
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        self.drop_single = drop_single
        self.pin_memory = pin_memory  # data on the CPU for a CUDA run: each batch pinned, copied non_blocking
        self.n = len(y)
        self.device = y.device

    def _batch(self, idx, length: int | None = None) -> tuple[Any, torch.Tensor]:
        xb, yb = index_batch(self.x, idx), index_batch(self.y, idx)
        if length is not None:
            xb = trim_padding(xb, length)
        return (pinned(xb), pinned(yb)) if self.pin_memory else (xb, yb)

    def __len__(self) -> int:
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not (self.drop_single and rest == 1) else 0)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        # the permutation is drawn on the CPU (the same batches on every device) and copied once an epoch
        order = Rows(torch.randperm(self.n, generator=self.generator), self.device) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            stop = min(start + self.batch_size, self.n)
            if self.drop_single and stop - start == 1 and self.n > 1:
                break
            yield self._batch(slice(start, stop) if order is None else order[start:stop])


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
                 generator: torch.Generator | None = None, drop_single: bool = False, pin_memory: bool = False,
                 lengths: torch.Tensor | None = None, bucket: int = 50, by_length: bool = False):
        super().__init__(x, y, batch_size, shuffle, generator, drop_single, pin_memory)
        self.lengths = sequence_lengths(x) if lengths is None else lengths
        if self.lengths is None:
            raise TypeError("BucketBatches needs padded sequences (ids, lengths) or an attention_mask")
        if by_length and shuffle:
            raise ValueError("by_length orders the batches of a pass without shuffling: pass shuffle=False")
        self.lengths = self.lengths.cpu()  # batches are cut and trimmed on the host, once
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
        batches = self._batch_indices()
        if not batches:
            return
        rows = Rows(torch.cat(batches), self.device).split([len(b) for b in batches])  # one copy an epoch
        for idx in rows:
            if self.drop_single and len(idx) == 1 and self.n > 1:
                continue
            yield self._batch(idx, int(self.lengths[idx.cpu].max()))


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
