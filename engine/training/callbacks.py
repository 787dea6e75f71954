"""The callbacks every run uses. Each is small and driven only through the Trainer's events,
so each can be tested by calling its hooks by hand with a made-up TrainState."""

from __future__ import annotations

import errno
import math
import os
import time
from pathlib import Path

import torch

from engine.training import checkpoint
from engine.training.devices import rng_state
from engine.training.trainer import Callback, TrainState


class WarmStart(Callback):
    """Before the first epoch of a fresh run (not a resumed one), lets the model (engine.models.base.Model)
    prepare itself from the training data with `warm_start(batches, device)`, e.g. the transformer's linear
    probe of its head. `result` keeps what the model returned (a float, or None when it did nothing)."""

    def __init__(self, batches):
        self.batches, self.result = batches, None

    def on_fit_start(self, trainer, state: TrainState) -> None:
        if state.epoch == 0:
            self.result = trainer.model.warm_start(self.batches, trainer.device)


def improved(value: float | None, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether `value` of a monitored metric beats `best` by more than `min_delta` ("min": lower is better,
    "max": higher). A missing or non-finite value never improves; the first finite one always does."""
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs (the exercise: 3 on valid loss).
    `mode` "min" for a loss, "max" for an accuracy."""

    def __init__(self, patience: int = 3, monitor: str = "valid_loss", mode: str = "min", min_delta: float = 0.0):
        self.patience, self.monitor, self.mode, self.min_delta = patience, monitor, mode, min_delta
        self.best: float | None = None
        self.best_epoch = 0
        self.bad_epochs = 0

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        value = state.metrics.get(self.monitor)
        if value is None or math.isnan(value):
            return
        if improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.bad_epochs = value, state.epoch, 0
        else:
            self.bad_epochs += 1
            if self.bad_epochs >= self.patience:
                state.stop("early_stopping",
                           f"{self.monitor} has not improved for {self.patience} epochs (best {self.best:.4f} "
                           f"at epoch {self.best_epoch})")


class NanGuard(Callback):
    """A non-finite loss, or one that explodes to `explode_factor` times its first value, stops the run
    as `diverged`, with a message naming the epoch and a hint. It reads the loss every `every` steps and
    at the last batch of each epoch (reading waits for the GPU; a diverged model stays non-finite)."""

    def __init__(self, explode_factor: float = 1e4, every: int = 1):
        self.explode_factor, self.every = explode_factor, max(1, every)
        self.first: float | None = None

    def on_batch_end(self, trainer, state: TrainState) -> None:
        last = state.batches_per_epoch and state.batch_in_epoch == state.batches_per_epoch
        if self.first is not None and state.step % self.every and not last:
            return
        loss = state.batch_loss
        if self.first is None and math.isfinite(loss):
            self.first = max(loss, 1.0)
        if math.isfinite(loss) and loss <= (self.first or 1.0) * self.explode_factor:
            return
        what = f"became {loss}" if not math.isfinite(loss) else (
            f"exploded to {loss:.3g} (over {self.explode_factor:g}x its first value)")
        lr = trainer.optimizer.param_groups[0]["lr"]
        state.stop("diverged",
                   f"the training loss {what} at epoch {state.epoch}, batch {state.batch_in_epoch}. "
                   f"Hint: lower the learning rate (it is {lr:g}; try 10x smaller), or turn on batch norm.")


class CancelWatcher(Callback):
    """Polls the store's cancel flag between batches (at most every `interval` seconds)."""

    def __init__(self, store, run_id: str, interval: float = 0.5):
        self.store, self.run_id, self.interval = store, run_id, interval
        self._last = 0.0

    def _check(self, state: TrainState) -> None:
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        if self.store.cancel_requested(self.run_id):
            state.stop("cancelled", "stopped by the user")

    def on_batch_end(self, trainer, state: TrainState) -> None:
        self._check(state)

    def on_epoch_start(self, trainer, state: TrainState) -> None:
        self._check(state)


class StoreReporter(Callback):
    """Writes metrics rows to the RunStore as they happen: a smoothed train loss every
    `every` batches, and every epoch metric at the end of each epoch."""

    def __init__(self, store, run_id: str, every: int = 20, smoothing: float = 0.9):
        self.store, self.run_id, self.every, self.smoothing = store, run_id, max(1, every), smoothing
        self._ema: torch.Tensor | None = None  # on the device: read every `every` steps only
        self._pending: list = []

    def on_batch_end(self, trainer, state: TrainState) -> None:
        loss = torch.as_tensor(state.loss, dtype=torch.float32)
        if self._ema is None:
            self._ema = loss
        else:  # non-finite losses are skipped; a non-finite start is replaced by the first finite loss
            moved = torch.where(torch.isfinite(self._ema), self.smoothing * self._ema + (1 - self.smoothing) * loss,
                                loss)
            self._ema = torch.where(torch.isfinite(loss), moved, self._ema)
        if state.step % self.every == 0 and math.isfinite(ema := float(self._ema)):
            self._pending.append((state.epoch, state.step, "train", "loss_smooth", ema))
            if len(self._pending) >= 5:
                self.flush()

    def flush(self) -> None:
        self.store.log_metrics(self.run_id, self._pending)
        self._pending = []

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        rows = self._pending
        for key, value in state.metrics.items():
            split, _, name = key.partition("_")
            if split not in ("train", "valid"):
                split, name = "train", key
            rows.append((state.epoch, state.step, split, name, value))
        self._pending = rows
        self.flush()
        self.store.update(self.run_id, epoch=state.epoch)

    def on_fit_end(self, trainer, state: TrainState) -> None:
        if self._pending and state.epoch_completed:
            self.flush()
        self._pending = []


class Checkpointer(Callback):
    """Saves last.pt every epoch and best.pt when `monitor` improves (atomic writes).
    `payload` holds what does not change during the run (config, featurizer state, data spec)."""

    def __init__(self, folder: Path, payload: dict, monitor: str = "valid_loss", mode: str = "min",
                 batch_generator: torch.Generator | None = None, best: float | None = None):
        self.folder, self.payload, self.monitor, self.mode = Path(folder), payload, monitor, mode
        self.generator = batch_generator
        self.best = best
        self.best_epoch = 0

    def _payload(self, trainer, state: TrainState) -> dict:
        return {
            **self.payload,
            "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict() if trainer.optimizer is not None else None,
            "scheduler": trainer.scheduler.state_dict() if trainer.scheduler is not None else None,
            "epoch": state.epoch,
            "step": state.step,
            "metrics": dict(state.metrics),
            "best": {"value": self.best, "epoch": self.best_epoch, "monitor": self.monitor},
            "rng": {**rng_state(trainer.device),
                    "batches": self.generator.get_state() if self.generator is not None else None},
        }

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        value = state.metrics.get(self.monitor)
        better = improved(value, self.best, self.mode)
        if better:
            self.best, self.best_epoch = value, state.epoch
        payload = self._payload(trainer, state)
        try:
            checkpoint.save(self.folder / "last.pt", payload)
            if better:
                _link_or_save(self.folder / "last.pt", self.folder / "best.pt", payload)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise OSError(exc.errno, "the disk is full while writing a checkpoint; the previous checkpoint "
                              "is intact. Fix: free disk space, then resume the run") from exc
            raise


def _link_or_save(src: Path, dest: Path, payload: dict) -> None:
    """Make `dest` the checkpoint just written to `src` without serialising it again: a hard link
    renamed into place (atomic). `src` is only ever replaced by a new file, never changed in place,
    so `dest` keeps its content. Where links are not supported, save a second time."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.link")
    try:
        tmp.unlink(missing_ok=True)
        os.link(src, tmp)
        os.replace(tmp, dest)
    except OSError:
        tmp.unlink(missing_ok=True)
        checkpoint.save(dest, payload)
