"""Batch-size timing (the mini-batch exercise): seconds per training epoch for B = 1, 2, 4 ... 1024
on each device, the median of several repeats. The epochs are the Trainer's own epochs; a callback
times them, synchronising the GPU so the clock measures the work and not the queueing."""

from __future__ import annotations

import statistics
import time

import torch

from engine.config.run_config import make_config
from engine.training.batching import place, rows_of
from engine.training.devices import available_devices, resolve_device, synchronize
from engine.training.pipeline import build, make_optimizer, prepare_data, seed_everything, training_batches
from engine.training.trainer import Callback, Trainer

DEFAULT_SIZES = tuple(2 ** k for k in range(11))  # 1 .. 1024
# The exercise's reported GPU times (seconds per epoch, single-layer net on the news features).
# Only the two endpoints are given in the source documents; the page draws them as a reference.
REFERENCE_GPU = {1: 5.44, 1024: 0.16}


class EpochTimer(Callback):
    """Wall-clock seconds of each training epoch, with the device synchronised at both ends."""

    def __init__(self):
        self.seconds: list[float] = []
        self._t0 = 0.0

    def on_epoch_start(self, trainer, state) -> None:
        synchronize(trainer.device)
        self._t0 = time.perf_counter()

    def on_epoch_end(self, trainer, state) -> None:
        synchronize(trainer.device)
        self.seconds.append(time.perf_counter() - self._t0)


def _devices(devices) -> list[str]:
    if devices in (None, "all"):
        return available_devices()
    names = devices.split(",") if isinstance(devices, str) else list(devices)
    return [str(resolve_device(d)) for d in names]


def time_epochs(dataset: str = "news", model: str = "linear", batch_sizes=DEFAULT_SIZES, devices="cpu",
                repeats: int = 3, home=None, max_examples: int | None = None, seed: int = 1, **config):
    """Yield one row per (device, batch size): {batch_size, seconds, examples_per_s, device, threads, ...}.
    Each epoch is what a run does: the data placed on the device as a run places it (once when it fits, else
    pinned batches), the same batches (length buckets for sequences), the Trainer's step and precision.
    `max_examples` times an epoch over that many training rows and scales to the full epoch."""
    base = make_config(dataset=dataset, model=model, seed=seed, **config)
    prep = prepare_data(base, home)
    n_full = len(prep.targets["train"])
    n = min(n_full, max_examples) if max_examples else n_full
    for device_name in _devices(devices):
        device = torch.device(device_name)
        xs, ys, pin = place(prep.tensors, prep.targets, device)
        x, y = rows_of(xs["train"], n), ys["train"][:n]
        warm_up = True
        # one untimed epoch first: lazy initialisation (kernels, allocator, optimizer code paths)
        # would otherwise be charged to the first batch size timed
        for b in [max(batch_sizes)] + list(batch_sizes):
            cfg = base.with_changes(batch_size=int(b), device=device.type)
            times = [_one_epoch(cfg, prep.spec, x, y, device, pin, seed + r) * n_full / n
                     for r in range(1 if warm_up else repeats)]
            if warm_up:
                warm_up = False
                continue
            sec = statistics.median(times)
            yield {"batch_size": int(b), "seconds": sec, "examples_per_s": n_full / sec, "device": device.type,
                   "threads": torch.get_num_threads(), "precision": cfg.precision, "repeats": repeats,
                   "examples_timed": n, "examples_per_epoch": n_full, "dataset": dataset, "model": model,
                   "all_seconds": times}


def _one_epoch(cfg, spec: dict, x, y, device: torch.device, pin: bool, seed: int) -> float:
    """Seconds of one training epoch of a fresh model, synchronised at both ends."""
    generator = seed_everything(seed)
    net = build(cfg, spec).to(device)
    batches = training_batches(x, y, net, cfg, generator, pin)
    optimizer, scheduler, per_batch = make_optimizer(net, cfg, len(batches))
    timer = EpochTimer()
    Trainer(net, optimizer, task=spec["task"], scheduler=scheduler, callbacks=[timer], device=device,
            scheduler_per_batch=per_batch, precision=cfg.precision).fit(batches, None, epochs=1)
    return timer.seconds[0]
