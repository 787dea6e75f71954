"""Execute one run from the RunStore: the body of a worker process (and of `engine train`).

load data -> featurize (cached) -> build model -> Trainer.fit(callbacks) -> test metrics -> store.
"""

from __future__ import annotations

import math
import os
import platform
import time
import traceback
from collections.abc import Sequence

import torch

from engine.config.options import ConfigError
from engine.config.run_config import MONITOR_MODE, RunConfig, check_monitor
from engine.data import DATASETS
from engine.data.download import DataMissingError
from engine.jobs.store import RunStore
from engine.jobs.tracker import settings
from engine.models import count_parameters
from engine.training import checkpoint
from engine.training.batching import eval_batches, place
from engine.training.boundary import boundary_callback
from engine.training.callbacks import (
    CancelWatcher,
    Checkpointer,
    EarlyStopping,
    NanGuard,
    StoreReporter,
    WarmStart,
)
from engine.training.devices import cap_threads, resolve_device, set_rng_state
from engine.training.evaluate import classification_results, regression_results
from engine.training.layer_health import LayerHealth
from engine.training.pipeline import (
    Prepared,
    build,
    make_optimizer,
    prepare_data,
    seed_everything,
    training_batches,
)
from engine.training.tensorboard import TensorBoardLogger
from engine.training.trainer import Callback, Trainer, TrainState

STOP_STATUS = {"cancelled": "stopped", "diverged": "diverged"}


def execute(store: RunStore, run_id: str, extra_callbacks: Sequence[Callback] = (), threads: int | None = None,
            data: Prepared | None = None, device: str | None = None) -> dict:
    """Train run `run_id` to its end; returns the summary also stored in its results.
    Errors never escape: the run ends `failed` with a message that names the fix.
    `store` is a RunStore or anything with the methods used here (the Ray backend's proxy); `data` is the
    prepared data when it comes from elsewhere (through Ray's object store), else it is read from store.home;
    `device` replaces the config's (the Ray dispatcher's choice for `auto`: the resources it reserved)."""
    row = store.get_run(run_id)
    if device:
        row = {**row, "config": {**row["config"], "device": device}}
    if threads:
        torch.set_num_threads(threads)
    folder = store.run_dir(run_id)
    t0 = time.perf_counter()
    store.update(run_id, status="running", started=row["started"] or time.time(), worker_pid=os.getpid(),
                 node=platform.node(), cancel_requested=0, resume=0, error=None)
    try:
        summary = _train(store, run_id, row, extra_callbacks, data, t0)
        status = summary["status"]
        store.update(run_id, status=status, finished=time.time(),
                     error=summary["message"] if status != "done" else None, worker_pid=None)
        store.save_result(run_id, {**(store.result(run_id) or {}), **summary})
        return {"run_id": run_id, **summary}
    except Exception as exc:  # the run fails; the worker and the store live on
        message = _explain(exc)
        (folder / "error.log").write_text(traceback.format_exc())
        store.update(run_id, status="failed", error=message, finished=time.time(), worker_pid=None)
        return {"run_id": run_id, "status": "failed", "error": message, "seconds": time.perf_counter() - t0}


def _train(store, run_id: str, row: dict, extra_callbacks: Sequence[Callback], data: Prepared | None,
           t0: float) -> dict:
    """Build, train (or resume from last.pt), test with the best weights: the run's summary."""
    cfg = RunConfig.from_dict(row["config"])
    resume, folder = bool(row["resume"]), store.run_dir(run_id)
    device = resolve_device(cfg.device)
    cap_threads(device)
    store.update(run_id, device=str(device))
    generator = seed_everything(cfg.seed)
    prep = data if data is not None else prepare_data(cfg, store.home)
    model = build(cfg, prep.spec).to(device)  # before any optimizer or its state is made or loaded
    if row.get("parent") and not resume:  # same start, different choice
        load_initial_weights(store, row["parent"], model)
    store.update(run_id, params=count_parameters(model)[0])
    xs, ys, pin = place(prep.tensors, prep.targets, device)
    train = training_batches(xs["train"], ys["train"], model, cfg, generator, pin)
    valid = eval_batches(xs["valid"], ys["valid"])
    optimizer, scheduler, per_batch = make_optimizer(model, cfg, len(train))
    start_epoch, best, start_step = 0, None, 0
    if resume:
        start_epoch, best, start_step = _restore(folder, model, optimizer, scheduler, generator, cfg.monitor,
                                                 device)
        store.drop_metrics_after(run_id, start_epoch)
    else:
        checkpoint.save(folder / "init.pt", {"model": model.state_dict(), "config": cfg.to_dict(),
                                             "featurizer": prep.featurizer.state(), "spec": prep.spec, "epoch": 0})
    check_monitor(cfg, prep.spec["task"])
    warm = WarmStart(eval_batches(xs["train"], ys["train"]))  # e.g. the transformer's linear probe
    callbacks = _callbacks(store, run_id, cfg, prep, folder, generator, best, len(train))
    callbacks = [warm, *callbacks, *extra_callbacks]
    trainer = Trainer(model, optimizer, task=prep.spec["task"], scheduler=scheduler, callbacks=callbacks,
                      device=device, scheduler_per_batch=per_batch, precision=cfg.precision)
    if start_epoch == 0:  # curves start at the initial weights: runs from one init.pt share epoch 0
        store.log_metrics(run_id, [(0, 0, "valid", k, v) for k, v in trainer.evaluate(valid).items()])
    if model.closed_form:  # e.g. Gaussian generative: one "epoch", no loop
        state = trainer.fit_once(lambda: model.fit_closed_form(xs["train"], ys["train"]), train, valid)
    else:
        state = trainer.fit(train, valid, cfg.epochs, start_epoch=start_epoch,
                            state=TrainState(max_epochs=cfg.epochs, step=start_step))
    status = STOP_STATUS.get(state.stop_reason or "", "done")
    summary = _finish(store, run_id, trainer, prep, folder)
    after_run = DATASETS[cfg.dataset].after_run
    if after_run is not None:  # extra files of the run, made with the best weights (e.g. predictions.csv)
        after_run(prep, trainer.model, folder)
    summary.update(status=status, epochs=state.epoch if state.epoch_completed else state.epoch - 1,
                   seconds=time.perf_counter() - t0, device=str(device), message=state.message)
    if warm.result is not None:
        summary["warm_start_train_acc"] = warm.result
    return summary


def _callbacks(store, run_id: str, cfg: RunConfig, prep: Prepared, folder, generator, best: float | None,
               steps_per_epoch: int) -> list[Callback]:
    """The run's own callbacks: NaN guard, store reporter, cancel watcher, early stopping, checkpoints,
    TensorBoard, layer health, the decision boundary (2-D data). `best` is the monitored value to beat (from a
    resumed run's last.pt)."""
    monitor, mode = cfg.monitor, MONITOR_MODE[cfg.monitor]
    payload = {"config": cfg.to_dict(), "featurizer": prep.featurizer.state(), "spec": prep.spec}
    every = max(1, steps_per_epoch // 10)  # the loss is read (a wait for the GPU) this often
    callbacks: list[Callback] = [NanGuard(every=every), StoreReporter(store, run_id, every=every),
                                 CancelWatcher(store, run_id)]
    if cfg.early_stopping:
        early = EarlyStopping(cfg.patience, monitor, mode)
        early.best = best
        callbacks.append(early)
    boundary = boundary_callback(prep, lambda record: store.log_boundary(run_id, record))
    return [*callbacks, Checkpointer(folder, payload, monitor, mode, batch_generator=generator, best=best),
            TensorBoardLogger(folder, hparams=settings(cfg.to_dict())),
            LayerHealth(lambda rows: store.log_layers(run_id, rows)), *([boundary] if boundary else [])]


def load_initial_weights(store: RunStore, parent: str, model: torch.nn.Module) -> None:
    """Start `model` from run `parent`'s initial weights (its init.pt), so two runs that differ in one
    choice (lr, optimizer, batch size) start from the same point. Refuses another architecture."""
    try:
        store.get_run(parent)
    except KeyError:
        raise ConfigError(f"cannot start from run {parent!r}: there is no such run") from None
    path = store.run_dir(parent) / "init.pt"
    if not path.exists():
        raise ConfigError(f"run {parent} has no initial weights (init.pt): it never started training. "
                          "Fix: start from a run that trained at least briefly")
    init = checkpoint.load(path)["model"]
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in init.items()}
    if own != theirs:
        diff = sorted(k for k in own.keys() | theirs.keys() if own.get(k) != theirs.get(k))
        raise ConfigError(
            f"cannot start from run {parent}'s initial weights: its model differs from this one "
            f"({', '.join(f'{k}: {theirs.get(k)} vs {own.get(k)}' for k in diff[:3])}). "
            "Fix: keep that run's model, its settings and its features; change only the training settings "
            "(lr, optimizer, batch size, epochs, schedule)")
    model.load_state_dict(init)


def _explain(exc: Exception) -> str:
    if isinstance(exc, DataMissingError | ConfigError | checkpoint.CheckpointError):
        return str(exc)
    if isinstance(exc, OSError) and "disk is full" in str(exc):
        return str(exc)
    if isinstance(exc, torch.OutOfMemoryError):
        return "out of memory. Fix: a smaller batch size or model, or train on the CPU"
    return f"{type(exc).__name__}: {exc}"


def _restore(folder, model, optimizer, scheduler, generator, monitor: str,
             device: torch.device) -> tuple[int, float | None, int]:
    """Load last.pt into `model`, already on `device`: the optimizer's state follows its parameters there."""
    last = checkpoint.load(folder / "last.pt")
    model.load_state_dict(last["model"])
    if optimizer is not None:  # a closed-form model has none
        optimizer.load_state_dict(last["optimizer"])
    if scheduler is not None and last.get("scheduler"):
        scheduler.load_state_dict(last["scheduler"])
    rng = last.get("rng") or {}
    set_rng_state(rng, device)
    if rng.get("batches") is not None:
        generator.set_state(rng["batches"])
    best = last.get("best") or {}
    same = best.get("monitor", "valid_loss") == monitor  # a best loss is no bar for an accuracy
    return int(last["epoch"]), best.get("value") if same else None, int(last.get("step", 0))


def _finish(store, run_id, trainer: Trainer, prep, folder) -> dict:
    """Test metrics with the best weights (picked by the run's monitor; lowest valid loss by default),
    logged and stored as results."""
    best_path = folder / "best.pt"
    if best_path.exists():
        trainer.model.load_state_dict(checkpoint.load(best_path)["model"])
    test = eval_batches(prep.tensors["test"], prep.targets["test"])
    valid = eval_batches(prep.tensors["valid"], prep.targets["valid"])
    out, y = trainer.predict(test)
    if prep.spec["task"] == "classification":
        results = classification_results(out, y, prep.spec["classes"],
                                         prep.dataset.test.x if prep.dataset.kind == "text" else None)
    else:
        results = regression_results(out, y)
    valid_metrics = trainer.evaluate(valid)
    summary = {f"valid_{k}": v for k, v in valid_metrics.items()}
    if prep.spec["task"] == "regression":  # the Trainer's regression loss is the MSE
        summary["valid_mse"] = valid_metrics["loss"]
    summary.update({k: v for k, v in results.items() if k.startswith("test_")})
    rows = [(0, 0, "test", k[5:], v) for k, v in summary.items() if k.startswith("test_") and _finite(v)]
    store.log_metrics(run_id, rows)
    earlier = store.result(run_id) or {}  # e.g. the tuning tag a study wrote when it queued the run
    store.save_result(run_id, {**earlier, **results, **summary, "params": count_parameters(trainer.model)[0]})
    return {**summary, "params": count_parameters(trainer.model)[0]}


def _finite(v) -> bool:
    return isinstance(v, float) and math.isfinite(v)
