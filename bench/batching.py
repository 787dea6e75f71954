"""Mini-batching in-memory tensors, side by side, one epoch of forward + backward each, the paths alternating
REPEATS times (median seconds and their ratio):

1. plain features, B = 1, 64, 1024: engine.training.batching.make_batches (the library's DataLoader with
   BatchSampler(RandomSampler) over TensorRows) against slicing a random permutation by hand (the reference);
2. padded titles (news word ids, the rnn's GRU), B = 64: make_batches' length buckets against random batches,
   each trimmed to its own longest title (bucket=1), the usual way of batching padded text.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _common
import torch
from torch import nn

from engine.config.run_config import make_config
from engine.training.batching import index_batch, make_batches
from engine.training.pipeline import build, prepare_data

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


def sliced(x, y, b: int, seed: int):
    """The reference: a random permutation cut into slices, one fancy-index per batch."""
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    for start in range(0, len(y), b):
        idx = order[start:start + b]
        yield index_batch(x, idx), y[idx]


def side_by_side(runs: dict, make_model, repeats: int = REPEATS) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(repeats):
        names = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for name in names:
            model = make_model()
            times[name].append(epoch(runs[name](), model, torch.optim.SGD(model.parameters(), lr=0.1)))
    return {name: statistics.median(t) for name, t in times.items()}


def plain(home: Path) -> None:
    name, x, y, *_ = _common.features(home)
    n_classes = int(y.max()) + 1
    print(f"1. {name}: {len(y)} examples x {x.shape[1]} features, single-layer net, median of {REPEATS}")
    print(f"{'B':>6} {'make_batches s':>15} {'sliced s':>9} {'make_batches / sliced':>22}")
    for b in BATCH_SIZES:
        def library(b=b):
            return make_batches(x, y, b, shuffle=True, generator=torch.Generator().manual_seed(1))

        def model():
            torch.manual_seed(1)
            return nn.Linear(x.shape[1], n_classes)

        med = side_by_side({"library": library, "sliced": lambda b=b: sliced(x, y, b, 1)}, model)
        print(f"{b:>6} {med['library']:>15.3f} {med['sliced']:>9.3f} {med['library'] / med['sliced']:>21.2f}x")


def padded(home: Path) -> None:
    if not (_common.SHARED / "news_aggregator" / "train.txt").exists():
        print("2. skipped: the news split is not in ../shared/data")
        return
    from engine.data import news

    news.fetch(home, from_dir=_common.SHARED / "news_aggregator")
    cfg = make_config(dataset="news", model="rnn", batch_size=64)
    prep = prepare_data(cfg, home)
    x, y = prep.tensors["train"], prep.targets["train"]

    def model():
        torch.manual_seed(1)
        return build(cfg, prep.spec)

    def batches(bucket):
        return lambda: make_batches(x, y, 64, shuffle=True, generator=torch.Generator().manual_seed(1), bucket=bucket)

    med = side_by_side({"buckets": batches(50), "random": batches(1)}, model, repeats=3)
    print(f"2. news word ids, {len(y)} titles, rnn defaults, B=64, median of 3: length buckets "
          f"{med['buckets']:.2f} s, random batches trimmed {med['random']:.2f} s, "
          f"ratio {med['buckets'] / med['random']:.2f}x")


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        plain(Path(tmp))
        padded(Path(tmp))


if __name__ == "__main__":
    main()
