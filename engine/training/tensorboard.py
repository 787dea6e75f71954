"""TensorBoard logging: one more Trainer callback, writing `torch.utils.tensorboard` event files into
the run folder (`<run>/tensorboard/`), so `tensorboard --logdir <home>/runs` shows every run."""

from __future__ import annotations

import math
from pathlib import Path

from engine.training.trainer import Callback, TrainState

BEST = {"valid_loss": min, "valid_acc": max, "valid_mse": min}  # the HParams view's metrics, best over epochs


class TensorBoardLogger(Callback):
    """Each epoch's metrics as scalars (`loss/train`, `loss/valid`, `acc/valid`, `lr`, ...), step = epoch.
    With `hparams` (the run's flat settings), the end of fit adds them with the best valid metrics
    (`add_hparams`, in `<run>/tensorboard/hparams`), so TensorBoard's HParams view compares runs.
    Without the tensorboard package it does nothing (and says so once in `self.disabled`)."""

    def __init__(self, folder: Path, subdir: str = "tensorboard", hparams: dict | None = None):
        self.log_dir = Path(folder) / subdir
        self.writer = None
        self.disabled: str | None = None
        self.hparams = {k: v if isinstance(v, bool | int | float | str) else str(v) for k, v in (hparams or {}).items()}
        self.best: dict[str, float] = {}

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
            if key in BEST:
                self.best[key] = BEST[key](self.best.get(key, value), value)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def on_fit_end(self, trainer, state: TrainState) -> None:
        if self.writer is not None and self.hparams and self.best:
            self.writer.add_hparams(self.hparams, {f"hparam/best_{k}": float(v) for k, v in self.best.items()},
                                    run_name="hparams")
        self.close()

    def on_exception(self, trainer, state: TrainState, exc: BaseException) -> None:
        self.close()
