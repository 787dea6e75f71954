"""Runs of models fitted in closed form (`model.fit_closed_form(x, y)`, e.g. the Gaussian generative
classifier): the fit is one "epoch" that goes through the same Trainer events, so the store reporter,
checkpointer and every other callback see it like any epoch, and the run's results come out the
same way as for models trained by the Trainer's loop."""

from __future__ import annotations

import time

from engine.training.trainer import Trainer, TrainState


def fit_closed_form(trainer: Trainer, x, y, train_batches, valid_batches) -> TrainState:
    state = TrainState(max_epochs=1)
    try:
        trainer._emit("on_fit_start", state)
        state.epoch, state.epoch_completed = 1, False
        trainer._emit("on_epoch_start", state)
        t0 = time.perf_counter()
        trainer.model.fit_closed_form(x.to(trainer.device), y.to(trainer.device))
        metrics = {f"train_{k}": v for k, v in trainer.evaluate(train_batches).items()}
        if valid_batches is not None:
            metrics.update({f"valid_{k}": v for k, v in trainer.evaluate(valid_batches).items()})
        metrics["epoch_seconds"] = time.perf_counter() - t0
        state.metrics = metrics
        state.history.append({"epoch": 1.0, **metrics})
        state.epoch_completed = True
        trainer._emit("on_epoch_end", state)
        trainer._emit("on_fit_end", state)
    except BaseException as exc:
        trainer._emit("on_exception", state, exc)
        raise
    return state
