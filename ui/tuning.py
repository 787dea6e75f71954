"""Tuning page widgets: start an Optuna study as a background process (`python -m engine tune`),
follow it by reading its storage (`<home>/tuning.db`) in a fragment that refreshes while it runs, plot its
optimisation history and parameter importances, and retrain the best configuration through the JobRunner.
The page never trains: the study's process queues every trial as a run for a worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import tune
from engine.config.run_config import CORE
from engine.data import DATASETS
from engine.jobs.procs import detached_kwargs, pid_alive, scrubbed_env
from engine.jobs.quota import QuotaExceeded
from engine.models import MODELS, models_for
from engine.paths import check_name
from ui import permissions, state
from ui.layout import FIELD_WIDTH, wrapping_row

REFRESH_SECONDS = 2.0
LAUNCH_KEY = "tune_launch"  # {"study", "pid", "log"} of the study this session started last
MIN_IMPORTANCE_TRIALS = 5  # fANOVA importances from fewer complete trials are noise
STATE_TEXT = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


# --- starting a study ------------------------------------------------------------------------------
def tune_command(home: str, dataset: str, model: str, search: list[str], trials: int, epochs: int,
                 study: str, owner: str, timeout_s: float | None = None) -> list[str]:
    """The `python -m engine tune` command line the page starts (pure)."""
    argv = [sys.executable, "-m", "engine", "--home", home, "tune", "--dataset", dataset, "--model", model,
            "--trials", str(trials), "--epochs", str(epochs), "--search", ",".join(search), "--study", study,
            "--owner", owner, "--json"]
    return argv + (["--timeout", f"{timeout_s:g}"] if timeout_s else [])


def tune_name_ok(study: str) -> bool:
    try:
        check_name("study", study)  # it names the study's log file
    except ValueError as exc:
        st.error(str(exc))
        return False
    return True


def launch(home: str, argv: list[str], study: str) -> dict:
    """Start the study in its own process session (it outlives this page), without the server's secrets in its
    environment; output goes to a log file."""
    logs = Path(home) / "tuning-logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{check_name('study', study)}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=scrubbed_env({"NNLAB_HOME": home}), **detached_kwargs())
    return {"study": study, "pid": proc.pid, "log": str(log_path)}


def start_form(home: str) -> None:
    """Data, model, what to search and the budget; the Start button launches the study."""
    with st.container(border=True):
        st.markdown("**New study**")
        row = wrapping_row()
        dataset = row.selectbox("Dataset", list(DATASETS), key="tune_dataset", format_func=lambda n: DATASETS[n].title,
                                width=FIELD_WIDTH)
        spec = DATASETS[dataset]
        choices = models_for(spec.kind)
        if st.session_state.get("tune_model") not in (None, *choices):  # the new dataset's kind has other models
            del st.session_state["tune_model"]
        default = choices.index(CORE["model"].default) if CORE["model"].default in choices else 0
        model = row.selectbox("Model", choices, index=default, key="tune_model", format_func=lambda m: MODELS[m].title,
                              width=FIELD_WIDTH)
        options = tune.searchable(model)
        search = row.multiselect("Search", options, default=options, key=f"tune_search_{model}", width=2 * FIELD_WIDTH,
                                help="settings Optuna chooses for each trial; the others keep the model's defaults. "
                                     "lr: log scale 1e-4 … 0.1; batch size: 16 … 256; width/hidden: 32 … 512; "
                                     "dropout: 0 … 0.5; layers: 1 … 3")
        row = wrapping_row()
        trials = row.number_input("Trials (runs)", 1, 500, 10, key="tune_trials", width=FIELD_WIDTH)
        epochs = row.number_input("Epochs per trial", 1, 1000, 3, key="tune_epochs", width=FIELD_WIDTH,
                                  help="each trial trains at most this long; bad trials are pruned earlier")
        minutes = row.number_input("Time limit (minutes, 0 = none)", 0, 24 * 60, 0, key="tune_timeout",
                                   width=FIELD_WIDTH, help="no new trial starts after this")
        name = row.text_input("Study name (optional)", key="tune_name", placeholder=f"{dataset}-{model}-date",
                              width=FIELD_WIDTH)
        ready = spec.ready(home)
        if not ready:
            st.warning(f"{spec.title} is not fetched yet: fetch it on the Home page first.")
        if not search:
            st.info("Choose at least one setting to search.")
        if st.button("Start the study", icon=":material/play_arrow:", key="tune_start", type="primary",
                     disabled=not ready or not search,
                     help="runs in a background process; its trials appear below and on the Runs page"):
            study = name.strip() or tune.new_study_name(dataset, model)
            if not tune_name_ok(study):
                return
            if study in tune.study_names(home):
                st.error(f"A study named {study!r} exists already: choose another name.")
                return
            argv = tune_command(home, dataset, model, search, int(trials), int(epochs), study, state.owner_id(),
                                minutes * 60.0 or None)
            st.session_state[LAUNCH_KEY] = launch(home, argv, study)
            st.session_state["tune_study"] = study
            st.toast(f"Study {study} started")


# --- following a study ----------------------------------------------------------------------------
def trials_table(frame: pd.DataFrame, running: bool = False) -> pd.DataFrame:
    """The page's trials table (pure) from Optuna's `trials_dataframe` (`tune.trials_frame`): one column per
    parameter, a link to each trial's run. A trial still RUNNING in a study whose process is gone was
    interrupted."""
    labels = STATE_TEXT if running else {**STATE_TEXT, "RUNNING": "interrupted"}
    runs = frame.get("user_attrs_run_id", pd.Series(None, index=frame.index, dtype=object))
    table = pd.DataFrame({"trial": frame["number"], "state": frame["state"].map(lambda s: labels.get(s, s)),
                          "value": frame["value"], "run": runs})
    params = frame.filter(regex="^params_").rename(columns=lambda c: c.removeprefix("params_"))
    table = pd.concat([table, params], axis=1)
    table["run_link"] = [f"Train?run={r}" if isinstance(r, str) else None for r in runs]
    table["note"] = frame.get("user_attrs_message", pd.Series("", index=frame.index)).fillna("")
    return table


def history_points(trials) -> pd.DataFrame:
    """Every finished trial of a study (FrozenTrials) as a point: a complete trial at its value, a pruned one
    at the last value it reported before it was stopped."""
    rows = []
    for t in trials:
        if t.state.name == "COMPLETE" and t.value is not None:
            rows.append({"trial": t.number, "value": float(t.value), "state": "complete"})
        elif t.state.name == "PRUNED" and t.intermediate_values:
            rows.append({"trial": t.number, "value": float(t.intermediate_values[max(t.intermediate_values)]),
                         "state": "pruned"})
    return pd.DataFrame(rows, columns=["trial", "value", "state"])


def history_figure(points: pd.DataFrame, metric: str, maximize: bool = True) -> go.Figure:
    """Optimisation history (pure): complete trials as dots with the best so far, pruned ones as grey crosses."""
    fig = go.Figure()
    done = points[points["state"] == "complete"].sort_values("trial")
    fig.add_trace(go.Scatter(x=done["trial"], y=done["value"], mode="markers", name="complete",
                             marker={"size": 9, "color": "#2563eb"}))
    best = done["value"].cummax() if maximize else done["value"].cummin()
    fig.add_trace(go.Scatter(x=done["trial"], y=best, mode="lines", name="best so far", line={"color": "#ea580c"}))
    pruned = points[points["state"] == "pruned"]
    fig.add_trace(go.Scatter(x=pruned["trial"], y=pruned["value"], mode="markers", name="pruned (last value)",
                             marker={"symbol": "x", "size": 9, "color": "#9ca3af"}))
    fig.update_layout(title="Optimisation history", xaxis_title="trial", yaxis_title=metric, height=420,
                      legend={"orientation": "h", "y": -0.2})
    return fig


@st.cache_data(show_spinner=False, max_entries=32)
def importance_figure(home: str, name: str, complete: int):
    """Parameter importances (fANOVA) of a study, or the reason there are none yet. Cached per number
    of complete trials (the forest takes seconds)."""
    if complete < MIN_IMPORTANCE_TRIALS:
        return None, (f"Parameter importances appear once {MIN_IMPORTANCE_TRIALS} trials are complete "
                      f"({complete} so far): from fewer, they say more about chance than about the settings.")
    try:
        return optuna.visualization.plot_param_importances(tune.load_study(name, home)), None
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        return None, f"No parameter importances yet: {exc}"


def _stop(name: str, home: str) -> None:
    asked = tune.request_stop(name, home)
    st.session_state["tune_stop_msg"] = (f"Stop requested: no new trial starts; run {', '.join(asked)} stops after "
                                         "its current batch." if asked else "Stop requested: no new trial starts.")


def _retrain(name: str, home: str) -> None:
    cfg = tune.best_config(name, home)
    try:
        run_id = state.runner().submit(cfg, owner=state.owner_id(), teacher=permissions.is_teacher())
    except QuotaExceeded as exc:
        st.session_state["tune_retrain_error"] = str(exc)
        return
    st.session_state["tune_retrain_run"] = run_id
    st.session_state["train_run_id"] = run_id  # the Train page follows it


def _launch_status(name: str) -> None:
    """A study this session started that has not written its storage yet: starting, or failed to start."""
    launch = st.session_state.get(LAUNCH_KEY) or {}
    if launch.get("study") != name:
        st.info(f"Study {name} does not exist.")
        return
    if pid_alive(launch["pid"]):
        st.info(f"Starting study {name}…", icon=":material/hourglass_top:")
        return
    lines = Path(launch["log"]).read_text(errors="replace").splitlines() if Path(launch["log"]).exists() else []
    errors = [json.loads(line)["error"] for line in lines if line.startswith('{"error"')]
    st.error(f"Study {name} did not start: {errors[-1] if errors else (lines[-1] if lines else 'no output')} "
             f"(log: {launch['log']})")


def _draw(name: str, home: str, was_running: bool) -> None:
    if name not in tune.study_names(home):
        _launch_status(name)
        if was_running and not pid_alive((st.session_state.get(LAUNCH_KEY) or {}).get("pid")):
            st.rerun()
        return
    study = tune.load_study(name, home)
    info = tune.study_summary(study)
    head, stop_col = st.columns([5, 1], vertical_alignment="center")
    stopped = bool(study.user_attrs.get("stop_requested"))
    badge = ":blue-badge[:material/directions_run: running]" if info["running"] else \
        ":orange-badge[:material/stop_circle: stopped]" if stopped else ":green-badge[:material/check_circle: finished]"
    head.markdown(f"#### Study `{name}` {badge}")
    head.caption(f"{info['dataset']} · {info['model']} · objective: {info['monitor']} of each trial's best weights")
    if info["running"]:
        allowed = permissions.can_manage({"owner": study.user_attrs.get("owner")})
        stop_col.button("Stop", icon=":material/stop:", key="tune_stop", on_click=_stop, args=(name, home),
                        disabled=not allowed or stopped,
                        help="no new trial starts; the running one stops after its current batch" if allowed
                        else "only the session that started this study (or the teacher) can stop it")
    if st.session_state.get("tune_stop_msg") and info["running"]:
        st.info(st.session_state["tune_stop_msg"])
    requested = info["trials_requested"] or info["trials"]
    done = info["complete"] + info["pruned"] + info["failed"]
    st.progress(min(1.0, done / max(1, requested)), text=f"{done} of {requested} trials finished")
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Complete", info["complete"])
    m2.metric("Pruned", info["pruned"], help="stopped early: valid accuracy below the median of earlier trials")
    m3.metric("Failed", info["failed"])
    m4.metric(f"Best {info['monitor']}", "–" if info["best_value"] is None else f"{info['best_value']:.4f}")
    frame = tune.trials_frame(study)
    if frame.empty:
        st.caption("The first trial is training.")
    else:
        st.dataframe(trials_table(frame, info["running"]), hide_index=True, key="tune_trials_table", column_config={
            "value": st.column_config.NumberColumn(info["monitor"], format="%.4f"),
            "run_link": st.column_config.LinkColumn("live view", display_text="open run"),
            "lr": st.column_config.NumberColumn("lr", format="%.2e")})
    if info["complete"]:
        left, right = st.columns(2)
        left.plotly_chart(history_figure(history_points(study.get_trials(deepcopy=False)), info["monitor"],
                                         maximize=study.direction.name == "MAXIMIZE"), key="tune_history")
        figure, why = importance_figure(home, name, info["complete"])
        if figure is None:
            right.info(why)
        else:
            right.plotly_chart(figure, key="tune_importance")
        b1, b2 = st.columns([2, 3], vertical_alignment="center")
        b1.button("Retrain the best configuration", icon=":material/replay:", key="tune_retrain",
                  on_click=_retrain, args=(name, home),
                  help="queue a new run with the best trial's settings (it appears on the Train and Runs pages)")
        b2.caption("Best: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in info["best_params"].items()) + f" (run {info['best_run_id']})")
    else:
        st.caption("The optimisation history appears when the first trial is complete.")
    if st.session_state.get("tune_retrain_error"):
        st.error(st.session_state.pop("tune_retrain_error"))
    retrained = st.session_state.get("tune_retrain_run")
    if retrained:
        st.success(f"Run {retrained} queued with the best configuration.")
        st.page_link("pages/1_Train.py", label="Watch it on the Train page", icon=":material/model_training:",
                     query_params={"run": retrained})
    if was_running and not info["running"]:
        st.rerun()  # one full rerun: the view is drawn again without the timer


@st.fragment(run_every=REFRESH_SECONDS)
def _live(name: str, home: str) -> None:
    _draw(name, home, was_running=True)


@st.fragment
def _still(name: str, home: str) -> None:
    _draw(name, home, was_running=False)


def study_view(home: str) -> None:
    """Pick a study (newest first) and follow it: refreshed every 2 s while it runs."""
    names = list(reversed(tune.study_names(home)))
    launched = (st.session_state.get(LAUNCH_KEY) or {}).get("study")
    if launched and launched not in names:
        names.insert(0, launched)
    if not names:
        st.info("No study yet. Start one above: each trial is a short run you can open on the Runs page.")
        return
    if st.session_state.get("tune_study") not in names:
        st.session_state["tune_study"] = names[0]
    name = st.selectbox("Study", names, key="tune_study")
    exists = name in tune.study_names(home)
    running = tune.study_summary(tune.load_study(name, home))["running"] if exists else \
        pid_alive((st.session_state.get(LAUNCH_KEY) or {}).get("pid"))
    (_live if running else _still)(name, home)
