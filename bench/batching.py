"""Mini-batching in-memory tensors: slicing a random permutation (engine.training.batching.TensorBatches)
vs a per-item torch Dataset + DataLoader with the default collate, for one epoch of forward +
backward of the single-layer net, at B = 1, 64, 1024. Prints seconds and the ratio per B.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from engine.training.batching import TensorBatches

BATCH_SIZES = (1, 64, 1024)
REPEATS = 3


class PerItem(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def epoch(batches, model, opt) -> float:
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    for xb, yb in batches:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        name, x, y, *_ = _common.features(Path(tmp))
    n_classes = int(y.max()) + 1
    print(f"data: {name}, {len(y)} examples x {x.shape[1]} features, single-layer net, median of {REPEATS}")
    print(f"{'B':>6} {'slicing s':>10} {'DataLoader s':>13} {'ratio':>7}")
    for b in BATCH_SIZES:
        t_slice, t_loader = [], []
        for _ in range(REPEATS):
            torch.manual_seed(1)
            model = nn.Linear(x.shape[1], n_classes)
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            t_slice.append(epoch(TensorBatches(x, y, b, shuffle=True, generator=torch.Generator().manual_seed(1)),
                                 model, opt))
            t_loader.append(epoch(DataLoader(PerItem(x, y), batch_size=b, shuffle=True,
                                             generator=torch.Generator().manual_seed(1)), model, opt))
        s, d = statistics.median(t_slice), statistics.median(t_loader)
        print(f"{b:>6} {s:>10.3f} {d:>13.3f} {d / s:>6.1f}x")


if __name__ == "__main__":
    main()
