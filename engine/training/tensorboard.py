"""TensorBoard logging: one more Trainer callback, writing `torch.utils.tensorboard` event files into
the run folder (`<run>/tensorboard/`), so `tensorboard --logdir <home>/runs` shows every run."""

from __future__ import annotations

import math
from pathlib import Path

from engine.training.trainer import Callback, TrainState


class TensorBoardLogger(Callback):
    """Each epoch's metrics as scalars (`loss/train`, `loss/valid`, `acc/valid`, `lr`, ...), step = epoch.
    Without the tensorboard package it does nothing (and says so once in `self.disabled`)."""

    def __init__(self, folder: Path, subdir: str = "tensorboard"):
        self.log_dir = Path(folder) / subdir
        self.writer = None
        self.disabled: str | None = None

    def on_fit_start(self, trainer, state: TrainState) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # tensorboard is a pinned requirement; a missing one must not fail a run
            self.disabled = f"tensorboard is not installed ({exc})"
            return
        self.writer = SummaryWriter(log_dir=str(self.log_dir))

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        if self.writer is None:
            return
        for key, value in state.metrics.items():
            if not isinstance(value, float | int) or not math.isfinite(value):
                continue
            split, _, name = key.partition("_")
            tag = f"{name}/{split}" if split in ("train", "valid") else key
            self.writer.add_scalar(tag, value, state.epoch)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def on_fit_end(self, trainer, state: TrainState) -> None:
        self.close()

    def on_exception(self, trainer, state: TrainState, exc: BaseException) -> None:
        self.close()
