"""Mini-batching in-memory tensors, side by side: slicing a random permutation
(engine.training.batching.TensorBatches) against the library's own form of the same thing,
DataLoader(TensorDataset, sampler=BatchSampler(RandomSampler, B), batch_size=None), which also indexes a
whole batch at once. One epoch of forward + backward of the single-layer net at B = 1, 64, 1024, the two
alternating REPEATS times; prints the median seconds and their ratio per B.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from engine.training.batching import TensorBatches

BATCH_SIZES = (1, 64, 1024)
REPEATS = 5


def epoch(batches, model, opt) -> float:
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for xb, yb in batches:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def library_batches(x, y, b: int, seed: int) -> DataLoader:
    sampler = BatchSampler(RandomSampler(range(len(y)), generator=torch.Generator().manual_seed(seed)), b,
                           drop_last=False)
    return DataLoader(TensorDataset(x, y), sampler=sampler, batch_size=None)


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        name, x, y, *_ = _common.features(Path(tmp))
    n_classes = int(y.max()) + 1
    print(f"data: {name}, {len(y)} examples x {x.shape[1]} features, single-layer net, median of {REPEATS}")
    print(f"{'B':>6} {'TensorBatches s':>16} {'DataLoader s':>13} {'DataLoader / ours':>18}")
    for b in BATCH_SIZES:
        ours, library = [], []
        for r in range(REPEATS):
            torch.manual_seed(1)
            model = nn.Linear(x.shape[1], n_classes)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            runs = [(ours, lambda b=b: TensorBatches(x, y, b, shuffle=True, generator=torch.Generator().manual_seed(1))),
                    (library, lambda b=b: library_batches(x, y, b, 1))]
            for times, make in runs if r % 2 == 0 else runs[::-1]:
                times.append(epoch(make(), model, opt))
        s, d = statistics.median(ours), statistics.median(library)
        print(f"{b:>6} {s:>16.3f} {d:>13.3f} {d / s:>17.2f}x")


if __name__ == "__main__":
    main()
