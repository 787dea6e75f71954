"""Hyperparameter tuning with Optuna: a study whose every trial is one normal run in the RunStore.

Each trial turns Optuna's suggestions (learning rate, batch size, and the width/hidden size, dropout
and layers the model declares) into a `RunConfig`, writes it as a run and trains it with
`engine.training.run.execute`, the same path as `engine train`. A Trainer callback reports the valid accuracy
after every epoch and stops a run the pruner gives up on ("pruned by the tuner at epoch N").
Studies live in `<home>/tuning.db` (SQLite, WAL), so the Tuning page reads them while a study runs in
another process. Runs carry their study and trial in their name and results (`result["tuning"]`).
"""

from __future__ import annotations

import functools
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import optuna
import pandas as pd

from engine.config.options import ConfigError, Option
from engine.config.run_config import CORE, RunConfig, make_config
from engine.data import DATASETS
from engine.jobs.store import RunStore
from engine.models import MODELS
from engine.paths import check_name, data_home
from engine.training.trainer import Callback, TrainState

STUDY_DB = "tuning.db"
PRUNED = "pruned"
LR_RANGE = (1e-4, 1e-1)
BATCH_CHOICES = (16, 32, 64, 128, 256)
SIZE_CHOICES = (32, 64, 128, 256, 512)  # width / hidden units
DROPOUT_RANGE = (0.0, 0.5)
MAX_LAYERS = 3
MODEL_PARAMS = ("width", "hidden", "dropout", "layers")  # model settings searched where a model declares them
KEPT_ON_MODEL_CHANGE = ("dataset", "features", "data_args", "epochs", "early_stopping", "patience", "device", "seed")


class TrialFailed(RuntimeError):
    """A trial's run failed or gave no usable value: Optuna marks the trial FAIL and the study goes on."""


@dataclass(frozen=True)
class Param:
    """One searched setting: `name` as Optuna sees it, `key` as the RunConfig (or model_args) holds it."""
    name: str
    key: str
    scope: str  # "core" | "model"
    kind: str  # "log" | "float" | "int" | "choice"
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    def suggest(self, trial: optuna.Trial):
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return trial.suggest_float(self.name, self.low, self.high, log=self.kind == "log")


def _clip(opt: Option, low: float, high: float) -> tuple[float, float]:
    lo = max(low, opt.min) if opt.min is not None else low
    hi = min(high, opt.max) if opt.max is not None else high
    return lo, max(lo, hi)


def _param(opt: Option, scope: str, prefix: str = "") -> Param | None:
    name = prefix + opt.name
    if opt.name == "lr":
        return Param(name, "lr", scope, "log", *_clip(opt, *LR_RANGE))
    if opt.name == "batch_size":
        return Param(name, opt.name, scope, "choice", choices=BATCH_CHOICES)
    if opt.name in ("width", "hidden"):
        lo, hi = _clip(opt, min(SIZE_CHOICES), max(SIZE_CHOICES))
        return Param(name, opt.name, scope, "choice", choices=tuple(s for s in SIZE_CHOICES if lo <= s <= hi))
    if opt.name == "dropout":
        return Param(name, opt.name, scope, "float", *_clip(opt, *DROPOUT_RANGE))
    if opt.name == "layers":
        lo, hi = _clip(opt, 1, MAX_LAYERS)
        return Param(name, opt.name, scope, "int", lo, hi)
    return None


def searchable(model: str) -> list[str]:
    """The settings a study can search for `model`: lr, batch size and the model's own width/hidden
    size, dropout and layers (where it declares them)."""
    return ["lr", "batch_size", *(o.name for o in MODELS[model].options if o.name in MODEL_PARAMS)]


def search_space(model: str, search: Iterable[str] | None = None, prefix: str = "") -> list[Param]:
    """The searched settings of `model` (all `searchable` ones unless `search` names some)."""
    allowed = searchable(model)
    wanted = allowed if search is None else [s for s in search if s in allowed]
    options = {**{o.name: o for o in MODELS[model].options}, "lr": CORE["lr"], "batch_size": CORE["batch_size"]}
    scope = {"lr": "core", "batch_size": "core"}
    params = [_param(options[n], scope.get(n, "model"), "" if n in scope else prefix) for n in wanted]
    return [p for p in params if p is not None]


def trial_config(trial: optuna.Trial, base: RunConfig, spaces: dict[str, list[Param]]) -> RunConfig:
    """The run config of `trial`: `base` with the suggested values. When the study searches the model
    type, another model keeps base's data and budget (`KEPT_ON_MODEL_CHANGE`) and its own defaults."""
    model = trial.suggest_categorical("model", list(spaces)) if len(spaces) > 1 else base.model
    values = base.to_dict()
    if model != base.model:
        values = {k: values[k] for k in KEPT_ON_MODEL_CHANGE} | {"model": model, "model_args": {}}
    for param in spaces[model]:
        value = param.suggest(trial)
        if param.scope == "core":
            values[param.key] = value
        else:
            values["model_args"] = {**values["model_args"], param.key: value}
    return make_config(**values)


class TrialPruning(Callback):
    """Reports `monitor` (valid accuracy) to the Optuna trial after every epoch; when the pruner gives up
    on the trial (never at the last epoch: the run is done then), the run stops with a message.
    Also stops a run whose study was asked to stop before its first epoch."""

    def __init__(self, trial: optuna.Trial, monitor: str = "valid_acc", stop_requested: Callable[[], bool] = bool):
        self.trial, self.monitor, self.stop_requested = trial, monitor, stop_requested
        self.pruned_at: int | None = None

    def on_fit_start(self, trainer, state: TrainState) -> None:
        if self.stop_requested():
            state.stop("cancelled", "stopped with its study")

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        value = state.metrics.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(value, state.epoch)
        if state.epoch < state.max_epochs and self.trial.should_prune():
            self.pruned_at = state.epoch
            state.stop(PRUNED, f"pruned by the tuner at epoch {state.epoch} ({self.monitor} {value:.4f})")


# --- storage ---------------------------------------------------------------------------------------
def storage(home=None) -> optuna.storages.RDBStorage:
    """The studies of this data home: <home>/tuning.db, in WAL mode so readers never block the writer.
    One storage per file and process (opening one checks the schema: about a second)."""
    return _storage(str(data_home(home) / STUDY_DB))


@functools.lru_cache(maxsize=8)
def _storage(path: str) -> optuna.storages.RDBStorage:
    store = optuna.storages.RDBStorage(f"sqlite:///{path}", engine_kwargs={"connect_args": {"timeout": 30}})
    with store.engine.connect() as db:
        db.exec_driver_sql("PRAGMA journal_mode=WAL")
    return store


def study_names(home=None) -> list[str]:
    if not (data_home(home) / STUDY_DB).exists():
        return []
    return optuna.get_all_study_names(storage(home))


def new_study_name(dataset: str, model: str) -> str:
    return f"{dataset}-{model}-{time.strftime('%y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def load_study(name: str, home=None) -> optuna.Study:
    try:
        return optuna.load_study(study_name=name, storage=storage(home))
    except KeyError:
        raise ValueError(f"no study {name!r}. Fix: list studies on the Tuning page, or start one with "
                         "`python -m engine tune`") from None


def _task(cfg: RunConfig, home) -> str:
    """The dataset's task (loading it also checks that it is fetched: DataMissingError names the fix)."""
    return DATASETS[cfg.dataset].load(home, **cfg.data_args).task


# --- the study -------------------------------------------------------------------------------------
def tune(base: RunConfig, n_trials: int, *, home=None, search: Iterable[str] | None = None,
         models: Sequence[str] | None = None, study_name: str | None = None, timeout: float | None = None,
         owner: str | None = None, pruner: optuna.pruners.BasePruner | None = None, threads: int | None = None,
         on_trial: Callable[[dict], None] | None = None) -> optuna.Study:
    """Run a study of `n_trials` runs around `base` (its settings not searched stay fixed).
    `search` limits the searched settings; `models` searches the model type too. `on_trial(row)` is
    called after each trial with its `trials_frame` row. Returns the study."""
    from engine.training.run import execute

    home = data_home(home)
    if n_trials < 1:
        raise ConfigError(f"trials={n_trials} is out of range: expected at least 1")
    models = list(dict.fromkeys(models or [base.model]))
    if base.model not in models:
        models.insert(0, base.model)
    for m in models:  # every model must take this data: make_config says which do
        make_config(**{**base.to_dict(), "model": m, "model_args": base.model_args if m == base.model else {}})
    search = None if search is None else list(search)
    unknown = sorted(set(search or ()) - {n for m in models for n in searchable(m)})
    if unknown:
        raise ConfigError(f"cannot search {', '.join(unknown)}: expected some of "
                          f"{', '.join(dict.fromkeys(n for m in models for n in searchable(m)))}")
    spaces = {m: search_space(m, search, prefix=f"{m}." if len(models) > 1 else "") for m in models}
    if len(models) == 1 and not spaces[base.model]:
        raise ConfigError("nothing to search: every searchable setting is fixed. Fix: leave one of "
                          f"{', '.join(searchable(base.model))} unset (or name it in the search)")
    task = _task(base, home)
    monitor, direction = ("valid_acc", "maximize") if task == "classification" else ("valid_loss", "minimize")
    name = check_name("study", study_name or new_study_name(base.dataset, base.model))  # it names files
    if name in study_names(home):
        raise ConfigError(f"a study named {name!r} exists already. Fix: choose another name (or none: one is made)")
    study = optuna.create_study(
        storage=storage(home), study_name=name, direction=direction,
        sampler=optuna.samplers.TPESampler(seed=base.seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    for key, value in {"dataset": base.dataset, "model": base.model, "models": models, "monitor": monitor,
                       "base_config": base.to_dict(), "searched": {m: [p.name for p in s] for m, s in spaces.items()},
                       "trials_requested": n_trials, "epochs": base.epochs, "owner": owner, "pid": os.getpid(),
                       "created": time.time()}.items():
        study.set_user_attr(key, value)
    store = RunStore(home)

    def stop_requested() -> bool:
        return bool(study.user_attrs.get("stop_requested"))

    def objective(trial: optuna.Trial) -> float:
        try:
            cfg = trial_config(trial, base, spaces)
        except ConfigError as exc:  # a combination the model refuses: this trial fails, the study goes on
            trial.set_user_attr("message", str(exc))
            raise TrialFailed(str(exc)) from exc
        run_id = store.create_run(cfg, owner=owner, status="running")
        trial.set_user_attr("run_id", run_id)
        trial.set_user_attr("config", cfg.to_dict())
        store.update(run_id, name=f"{cfg.short_name()} · tune {name} #{trial.number}")
        pruning = TrialPruning(trial, monitor, stop_requested)
        summary = execute(store, run_id, extra_callbacks=[pruning], threads=threads)
        tag = {"study": name, "trial": trial.number}
        store.save_result(run_id, {**(store.result(run_id) or {}), "tuning": tag})
        if pruning.pruned_at is not None:
            trial.set_user_attr("message", summary["message"])
            store.update(run_id, status="stopped", error=summary["message"])
            raise optuna.TrialPruned(summary["message"])
        if summary["status"] == "stopped":  # the user (or the study's Stop) stopped the run
            trial.set_user_attr("message", summary.get("message") or "stopped")
            raise optuna.TrialPruned(summary.get("message") or "stopped")
        value = summary.get(monitor)
        if summary["status"] == "failed" or value is None or not math.isfinite(value):
            message = summary.get("error") or summary.get("message") or f"no finite {monitor}"
            trial.set_user_attr("message", message)
            raise TrialFailed(message)
        return float(value)

    def after_trial(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        if on_trial is not None:
            on_trial(trial_row(frozen))
        if stop_requested():
            study.stop()

    try:
        study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(TrialFailed,), callbacks=[after_trial])
    finally:
        study.set_user_attr("finished", time.time())
    return study


def request_stop(name: str, home=None) -> list[str]:
    """Ask a running study to stop: no new trial starts and its running trials' runs stop at their next
    batch. Returns the run ids asked to stop."""
    study = load_study(name, home)
    study.set_user_attr("stop_requested", True)
    store = RunStore(home)
    stopping = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        run_id = t.user_attrs.get("run_id")
        if run_id:
            store.request_cancel(run_id)
            stopping.append(run_id)
    return stopping


# --- reading studies -------------------------------------------------------------------------------
TRIAL_COLUMNS = ["number", "state", "value", "params", "run_id", "message"]


def trial_row(t: optuna.trial.FrozenTrial) -> dict:
    return {"number": t.number, "state": t.state.name, "value": t.value, "params": dict(t.params),
            "run_id": t.user_attrs.get("run_id"), "message": t.user_attrs.get("message")}


def trials_frame(study: optuna.Study | str, home=None) -> pd.DataFrame:
    """One row per trial: number, state (COMPLETE, PRUNED, FAIL, RUNNING), value, params, run id, message."""
    if isinstance(study, str):
        study = load_study(study, home)
    return pd.DataFrame([trial_row(t) for t in study.get_trials(deepcopy=False)], columns=TRIAL_COLUMNS)


def best_config(study: optuna.Study | str, home=None) -> RunConfig:
    """The best trial's full RunConfig, ready to train again."""
    if isinstance(study, str):
        study = load_study(study, home)
    try:
        best = study.best_trial
    except ValueError:
        raise ValueError(f"study {study.study_name!r} has no finished trial yet") from None
    return RunConfig.from_dict(best.user_attrs["config"])


def study_summary(study: optuna.Study) -> dict:
    """What the page and the CLI say about a study: counts per state, best value/params/run, running?"""
    from engine.jobs.procs import pid_alive

    trials = study.get_trials(deepcopy=False)
    attrs = study.user_attrs
    counts = {s.name: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    complete = counts["COMPLETE"] > 0
    best = study.best_trial if complete else None
    return {"study": study.study_name, "dataset": attrs.get("dataset"), "model": attrs.get("model"),
            "monitor": attrs.get("monitor"), "trials_requested": attrs.get("trials_requested"),
            "trials": len(trials), "complete": counts["COMPLETE"], "pruned": counts["PRUNED"],
            "failed": counts["FAIL"], "running": not attrs.get("finished") and pid_alive(attrs.get("pid")),
            "best_value": best.value if best else None, "best_params": dict(best.params) if best else None,
            "best_run_id": best.user_attrs.get("run_id") if best else None}
