"""Run a study: every trial is a run queued through the JobRunner like any other (the owner's quota and
`max_concurrent` apply, on the local or the Ray backend); this process only suggests, follows and prunes.

The trial's valid metric is read from the run's stored metrics rows after each epoch and reported to
Optuna; when the pruner gives up on the trial, its run is stopped ("pruned by the tuner at epoch N").
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import optuna

from engine.config.options import ConfigError
from engine.config.run_config import RunConfig, make_config
from engine.data import DATASETS
from engine.jobs.backends import make_runner
from engine.jobs.local import JobRunner
from engine.jobs.quota import QuotaExceeded
from engine.jobs.store import ACTIVE
from engine.paths import check_name, data_home
from engine.tune.space import Param, search_space, searchable, trial_config
from engine.tune.studies import new_study_name, storage, study_names, trial_row

POLL_SECONDS = 0.25


class TrialFailed(RuntimeError):
    """A trial's run failed or gave no usable value: Optuna marks the trial FAIL and the study goes on."""


@dataclass
class Plan:
    """What every trial of a study shares."""
    name: str
    base: RunConfig
    spaces: dict[str, list[Param]]
    monitor: str
    owner: str | None
    runner: JobRunner


def _spaces(base: RunConfig, search: Iterable[str] | None, models: Sequence[str] | None) -> dict[str, list[Param]]:
    """The search space per model, after checking that every model takes this data and the search is possible."""
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
    return spaces


def tune(base: RunConfig, n_trials: int, *, home=None, search: Iterable[str] | None = None,
         models: Sequence[str] | None = None, study_name: str | None = None, timeout: float | None = None,
         owner: str | None = None, pruner: optuna.pruners.BasePruner | None = None,
         on_trial: Callable[[dict], None] | None = None) -> optuna.Study:
    """Run a study of `n_trials` runs around `base` (its settings not searched stay fixed), each queued for a
    worker. `search` limits the searched settings; `models` searches the model type too. `on_trial(row)` is
    called after each trial with its `trial_row`. Returns the study."""
    home = data_home(home)
    if n_trials < 1:
        raise ConfigError(f"trials={n_trials} is out of range: expected at least 1")
    spaces = _spaces(base, search, models)
    task = DATASETS[base.dataset].load(home, **base.data_args).task  # also: DataMissingError names the fix
    monitor, direction = ("valid_acc", "maximize") if task == "classification" else ("valid_loss", "minimize")
    name = check_name("study", study_name or new_study_name(base.dataset, base.model))  # it names files
    if name in study_names(home):
        raise ConfigError(f"a study named {name!r} exists already. Fix: choose another name (or none: one is made)")
    study = optuna.create_study(
        storage=storage(home), study_name=name, direction=direction,
        sampler=optuna.samplers.TPESampler(seed=base.seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    for key, value in {"dataset": base.dataset, "model": base.model, "models": list(spaces), "monitor": monitor,
                       "base_config": base.to_dict(), "searched": {m: [p.name for p in s] for m, s in spaces.items()},
                       "trials_requested": n_trials, "epochs": base.epochs, "owner": owner, "pid": os.getpid(),
                       "created": time.time()}.items():
        study.set_user_attr(key, value)
    plan = Plan(name, base, spaces, monitor, owner, make_runner(home))

    def after_trial(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        if on_trial is not None:
            on_trial(trial_row(frozen))
        if _stop_requested(study):
            study.stop()

    try:
        study.optimize(lambda trial: objective(trial, plan), n_trials=n_trials, timeout=timeout,
                       catch=(TrialFailed,), callbacks=[after_trial])
    finally:
        study.set_user_attr("finished", time.time())
    return study


def _stop_requested(study: optuna.Study) -> bool:
    return bool(study.user_attrs.get("stop_requested"))


def objective(trial: optuna.Trial, plan: Plan) -> float:
    """Queue the trial's run, follow it to its end, and give Optuna its value (or prune/fail the trial)."""
    try:
        cfg = trial_config(trial, plan.base, plan.spaces)
    except ConfigError as exc:  # a combination the model refuses: this trial fails, the study goes on
        trial.set_user_attr("message", str(exc))
        raise TrialFailed(str(exc)) from exc
    run_id = _submit(trial, plan, cfg)
    if run_id is None:
        trial.set_user_attr("message", "stopped with its study before it was queued")
        raise optuna.TrialPruned("stopped with its study")
    store = plan.runner.store
    trial.set_user_attr("run_id", run_id)
    trial.set_user_attr("config", cfg.to_dict())
    store.update(run_id, name=f"{cfg.short_name()} · tune {plan.name} #{trial.number}")
    store.save_result(run_id, {"tuning": {"study": plan.name, "trial": trial.number}})  # execute merges into it
    pruned = follow(trial, plan, run_id)
    run, result = store.get_run(run_id), store.result(run_id) or {}
    if pruned and run["status"] == "stopped":
        store.update(run_id, error=pruned)
        trial.set_user_attr("message", pruned)
        raise optuna.TrialPruned(pruned)
    if run["status"] == "stopped":  # the user (or the study's Stop) stopped the run
        trial.set_user_attr("message", run["error"] or "stopped")
        raise optuna.TrialPruned(run["error"] or "stopped")
    value = result.get(plan.monitor)
    if run["status"] != "done" or value is None or not math.isfinite(value):
        message = run["error"] or f"the run ended {run['status']} without a finite {plan.monitor}"
        trial.set_user_attr("message", message)
        raise TrialFailed(message)
    return float(value)


def _submit(trial: optuna.Trial, plan: Plan, cfg: RunConfig) -> str | None:
    """Queue the trial's run; while the owner has no free slot (max_active_per_owner), wait for one. None when
    the study is asked to stop meanwhile."""
    while True:
        try:
            return plan.runner.submit(cfg, owner=plan.owner)
        except QuotaExceeded:
            if _stop_requested(trial.study):
                return None
            time.sleep(2.0)


def follow(trial: optuna.Trial, plan: Plan, run_id: str) -> str | None:
    """Report the run's valid metric after each of its epochs to the trial until the run ends; stop the run
    when the pruner gives up on it (never at its last epoch: it has trained fully then) or the study is asked
    to stop. Returns the pruning message, None if it was not pruned."""
    store, split_name = plan.runner.store, plan.monitor.split("_", 1)
    reported, pruned, cancelled = 0, None, False
    while True:
        run = store.get_run(run_id)
        if pruned is None:
            for epoch, value in _epoch_values(store, run_id, *split_name, after=reported):
                reported = epoch
                trial.report(value, epoch)
                if epoch < run["max_epochs"] and trial.should_prune():
                    pruned = f"pruned by the tuner at epoch {epoch} ({plan.monitor} {value:.4f})"
                    break
        if run["status"] not in ACTIVE:
            return pruned
        if (pruned or _stop_requested(trial.study)) and not cancelled:
            store.request_cancel(run_id)
            cancelled = True
        time.sleep(POLL_SECONDS)


def _epoch_values(store, run_id: str, split: str, name: str, after: int) -> list[tuple[int, float]]:
    """(epoch, value) of the run's finite `split` `name` rows of epochs after `after`, one per epoch, in order."""
    rows = store.metrics(run_id)
    rows = rows[(rows["split"] == split) & (rows["name"] == name) & (rows["epoch"] > after)]
    values = rows.groupby("epoch")["value"].last()
    return [(int(e), float(v)) for e, v in values.items() if v is not None and math.isfinite(v)]
