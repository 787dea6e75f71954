"""One training loop for every model, extended by callbacks.

Events: on_fit_start, on_epoch_start, on_batch_end, on_epoch_end, on_fit_end, on_exception.
Callbacks read a `TrainState` and stop training by setting `state.should_stop` (a flag, never an
exception), so early stopping, the NaN guard and the user's Stop button are one mechanism.
Metrics leave the loop as plain floats in flat dicts (`train_loss`, `valid_acc`, ...).

A model of the registry (engine.models.base.Model) gives the loss of a training batch through
`training_loss(x, y, loss) -> (outputs, loss)` (more than loss(model(x), y) for the transformer's R-Drop);
`fit_once` runs a fit that needs no loop (a closed form) through the same events, as one epoch.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from engine.models.base import Model
from engine.training.batching import to_device
from engine.training.precision import Precision


@dataclass
class TrainState:
    max_epochs: int
    epoch: int = 0  # 1-based once training has started
    step: int = 0  # batches seen, over all epochs
    batch_in_epoch: int = 0
    batches_per_epoch: int = 0
    loss: torch.Tensor | float = float("nan")  # the latest batch's loss, left on the device until read
    metrics: dict[str, float] = field(default_factory=dict)  # latest epoch's metrics
    history: list[dict[str, float]] = field(default_factory=list)
    should_stop: bool = False
    stop_reason: str | None = None  # "early_stopping" | "cancelled" | "diverged" | "time_limit"
    message: str = ""
    epoch_completed: bool = False  # False while an epoch is under way or was cut short
    fit_started: float = field(default_factory=time.perf_counter)

    @property
    def batch_loss(self) -> float:
        """The latest batch's loss as a float. On a GPU reading it waits for that batch: callbacks read it
        every few steps, not every batch."""
        return float(self.loss)

    def stop(self, reason: str, message: str = "") -> None:
        self.should_stop, self.stop_reason, self.message = True, reason, message


class Callback:
    def on_fit_start(self, trainer: Trainer, state: TrainState) -> None: ...
    def on_epoch_start(self, trainer: Trainer, state: TrainState) -> None: ...
    def on_batch_end(self, trainer: Trainer, state: TrainState) -> None: ...
    def on_epoch_end(self, trainer: Trainer, state: TrainState) -> None: ...
    def on_fit_end(self, trainer: Trainer, state: TrainState) -> None: ...
    def on_exception(self, trainer: Trainer, state: TrainState, exc: BaseException) -> None: ...


class Trainer:
    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None, *, task: str = "classification",
                 scheduler=None, callbacks: Sequence[Callback] = (), device: str | torch.device = "cpu",
                 grad_clip: float | None = None, scheduler_per_batch: bool = False, precision: str = "fp32"):
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.task = task
        self.loss_fn = nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()
        self.callbacks = list(callbacks)
        self.device = torch.device(device)
        self.model.to(self.device)  # in place: the optimizer keeps pointing at the same parameters
        self.grad_clip = grad_clip
        self.scheduler_per_batch = scheduler_per_batch
        self.precision = Precision(precision, self.device)

    def _emit(self, event: str, state: TrainState, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(self, state, *args)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            return self.loss_fn(out.reshape(y.shape), y)
        return self.loss_fn(out, y)

    def fit(self, train: Iterable, valid: Iterable | None, epochs: int, start_epoch: int = 0,
            state: TrainState | None = None) -> TrainState:
        """Train epochs start_epoch+1 .. epochs. Returns the final state."""
        state = state or TrainState(max_epochs=epochs)
        state.max_epochs = epochs
        state.epoch = start_epoch
        self.model.to(self.device)
        with self._fitting(state):
            for epoch in range(start_epoch + 1, epochs + 1):
                if state.should_stop:
                    break
                state.epoch, state.epoch_completed = epoch, False
                self._emit("on_epoch_start", state)
                t0 = time.perf_counter()
                train_metrics = self._train_epoch(train, state)
                if state.should_stop and state.stop_reason in ("cancelled", "diverged"):
                    break  # an epoch cut short reports nothing and saves nothing
                metrics = {f"train_{k}": v for k, v in train_metrics.items()}
                if valid is not None:
                    metrics.update({f"valid_{k}": v for k, v in self.evaluate(valid).items()})
                metrics["lr"] = float(self.optimizer.param_groups[0]["lr"])
                if self.scheduler is not None and not self.scheduler_per_batch:
                    self.scheduler.step()
                metrics["epoch_seconds"] = time.perf_counter() - t0
                self._end_epoch(state, metrics)
        return state

    @contextlib.contextmanager
    def _fitting(self, state: TrainState):
        """on_fit_start, the fit, on_fit_end; on_exception (then the exception goes on) if the fit raises."""
        try:
            self._emit("on_fit_start", state)
            yield
            self._emit("on_fit_end", state)
        except BaseException as exc:
            self._emit("on_exception", state, exc)
            raise

    def _end_epoch(self, state: TrainState, metrics: dict[str, float]) -> None:
        state.metrics = metrics
        state.history.append({"epoch": float(state.epoch), **metrics})
        state.epoch_completed = True
        self._emit("on_epoch_end", state)

    def _train_epoch(self, batches: Iterable, state: TrainState) -> dict[str, float]:
        """One pass over `batches`. The loss and accuracy add up on the device and are read once at the end:
        no batch waits for the GPU unless a callback reads `state.batch_loss`."""
        self.model.train()
        total_loss = torch.zeros((), device=self.device)
        correct = torch.zeros((), dtype=torch.long, device=self.device)
        seen = 0
        state.batches_per_epoch = len(batches) if hasattr(batches, "__len__") else 0
        own_loss = self.model.training_loss if isinstance(self.model, Model) else None
        for i, (xb, yb) in enumerate(batches, 1):
            xb, yb = to_device(xb, self.device, non_blocking=True), to_device(yb, self.device, non_blocking=True)
            with self.precision.autocast():
                if own_loss is not None:
                    out, loss = own_loss(xb, yb, self._loss)
                else:
                    out = self.model(xb)
                    loss = self._loss(out, yb)
            self.optimizer.zero_grad(set_to_none=True)
            self.precision.step(loss, self.optimizer, self.model, self.grad_clip)
            if self.scheduler is not None and self.scheduler_per_batch:
                self.scheduler.step()
            n = len(yb)
            state.loss = loss.detach()
            state.step, state.batch_in_epoch = state.step + 1, i
            total_loss += state.loss.float() * n
            seen += n
            if self.task == "classification":
                correct += (out.argmax(1) == yb).sum()
            self._emit("on_batch_end", state)
            if state.should_stop:
                break
        metrics = {"loss": float(total_loss) / max(seen, 1)}
        if self.task == "classification":
            metrics["acc"] = int(correct) / max(seen, 1)
        return metrics

    @torch.no_grad()
    def predict(self, batches: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
        """Model outputs and targets for every row, on the CPU, in the data's order: batches that run
        in another `order` (length-ordered sequences, engine.training.batching.eval_batches) are put back."""
        self.model.eval()
        outs, ys = [], []
        for xb, yb in batches:
            with self.precision.autocast():
                outs.append(self.model(to_device(xb, self.device, non_blocking=True)).float())
            ys.append(yb)
        out, y = torch.cat(outs).cpu(), torch.cat(ys).cpu()  # one copy to the host, after the last batch
        order = getattr(getattr(batches, "sampler", None), "order", None)  # InOrder
        if order is not None:
            back = torch.argsort(order)
            out, y = out[back], y[back]
        return out, y

    def fit_once(self, fit: Callable[[], None], train: Iterable, valid: Iterable | None) -> TrainState:
        """Run `fit()` (e.g. a closed-form fit) as the one epoch of a run: every callback sees the same events
        and metrics as for an epoch of the loop, so the run's reports, checkpoints and results come out alike."""
        state = TrainState(max_epochs=1)
        self.model.to(self.device)
        with self._fitting(state):
            state.epoch, state.epoch_completed = 1, False
            self._emit("on_epoch_start", state)
            t0 = time.perf_counter()
            fit()
            metrics = {f"train_{k}": v for k, v in self.evaluate(train).items()}
            if valid is not None:
                metrics.update({f"valid_{k}": v for k, v in self.evaluate(valid).items()})
            metrics["epoch_seconds"] = time.perf_counter() - t0
            self._end_epoch(state, metrics)
        return state

    def evaluate(self, batches: Iterable) -> dict[str, float]:
        out, y = self.predict(batches)
        metrics = {"loss": float(self._loss(out, y))}
        if self.task == "classification":
            metrics["acc"] = float((out.argmax(1) == y).float().mean())
        if not math.isfinite(metrics["loss"]):
            metrics["loss"] = float("nan")
        return metrics
