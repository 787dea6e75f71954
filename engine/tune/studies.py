"""The studies of a data home (`<home>/tuning.db`): open, list, read (trials table, best configuration,
summary) and ask one to stop."""

from __future__ import annotations

import functools
import secrets
import time

import optuna
import pandas as pd

from engine.config.run_config import RunConfig
from engine.jobs.procs import file_lock
from engine.jobs.store import RunStore
from engine.paths import data_home

STUDY_DB = "tuning.db"


def storage(home=None) -> optuna.storages.RDBStorage:
    """The studies of this data home: <home>/tuning.db, in WAL mode so readers never block the writer.
    One storage per file and process (opening one checks the schema: about a second)."""
    return _storage(str(data_home(home) / STUDY_DB))


@functools.lru_cache(maxsize=8)
def _storage(path: str) -> optuna.storages.RDBStorage:
    with file_lock(f"{path}.lock", timeout=120):  # two studies starting at once would both create the schema
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
def trial_row(t: optuna.trial.FrozenTrial) -> dict:
    """One finished trial as the tuner's progress line (and `tune --json`) reports it."""
    return {"number": t.number, "state": t.state.name, "value": t.value, "params": dict(t.params),
            "run_id": t.user_attrs.get("run_id"), "message": t.user_attrs.get("message")}


def trials_frame(study: optuna.Study | str, home=None) -> pd.DataFrame:
    """Optuna's own table of the trials (`Study.trials_dataframe`): number, state (COMPLETE, PRUNED, FAIL,
    RUNNING), value, a `params_<name>` column per parameter and `user_attrs_run_id` / `user_attrs_message`
    (a study without trials: no columns)."""
    if isinstance(study, str):
        study = load_study(study, home)
    return study.trials_dataframe(attrs=("number", "state", "value", "params", "user_attrs"))


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
