"""The live view of one run: a fragment that re-reads the RunStore every second while the run is
queued or running, and redraws the progress bar, ETA, status and loss/accuracy curves. The progress
comes from three aggregates the store computes; the curves from figures shared by every session
watching the run, rebuilt at most once per second (a classroom of ten watching one run costs the
server about one figure build per second, not ten).

Only the fragment reruns on its timer; the Train page's settings widgets stay outside it. When the
run ends, the fragment asks for one full rerun, after which the view is drawn without a timer.
"""

from __future__ import annotations

import math

import streamlit as st

from engine.jobs.queue import describe
from engine.jobs.store import ACTIVE
from ui import charts, permissions, state
from ui.tables import EXERCISE_REFERENCES, REFERENCE_DATASET
from ui.throttled_cache import ThrottledCache

REFRESH_SECONDS = 1.0
STATUS_TEXT = {
    "queued": ":gray-badge[:material/hourglass_top: queued]",
    "running": ":blue-badge[:material/directions_run: running]",
    "done": ":green-badge[:material/check_circle: done]",
    "stopped": ":orange-badge[:material/stop_circle: stopped]",
    "diverged": ":red-badge[:material/trending_up: diverged]",
    "failed": ":red-badge[:material/error: failed]",
    "interrupted": ":orange-badge[:material/warning: interrupted]",
}


def progress_summary(run: dict, progress: dict) -> dict:
    """Pure: epochs done, fraction done (counting the batches of the epoch under way), seconds per
    epoch so far and the time left at most (early stopping may end the run sooner). `progress` is
    RunStore.progress(run_id)."""
    max_epochs = int(run.get("max_epochs") or run["config"].get("epochs") or 1)
    done = int(run.get("epoch") or 0)
    fraction = done / max_epochs
    seconds = progress.get("epoch_seconds")
    spe = progress.get("steps_per_epoch")
    if spe and run.get("status") == "running":
        within = max(0.0, min(1.0, float(progress.get("last_step") or 0) / spe - done))
        fraction = (done + within) / max_epochs
    if run.get("status") == "done":  # an early stop is an end too: the bar is full
        fraction = 1.0
    remaining = max(0, max_epochs - done)
    eta = seconds * (remaining - (fraction * max_epochs - done)) if seconds is not None else None
    return {"epochs_done": done, "max_epochs": max_epochs, "fraction": max(0.0, min(1.0, fraction)),
            "epoch_seconds": seconds, "eta_seconds": None if eta is None else max(0.0, eta)}


MONITOR_WORDS = {"valid_loss": "valid loss", "valid_acc": "valid accuracy"}


def stop_text(run: dict, result: dict | None, kept: int | None) -> str | None:
    """Why a finished run ended before its last epoch, in words ("stopped early at epoch 12: valid loss had
    not improved for 3 epochs; kept epoch 9"); None for a run that ran all its epochs or is not done."""
    cfg, done = run["config"], int(run.get("epoch") or 0)
    early = "not improved" in str((result or {}).get("message") or "")
    if run.get("status") != "done" or not early or done >= int(run.get("max_epochs") or 0):
        return None
    words = MONITOR_WORDS.get(cfg.get("monitor", "valid_loss"), cfg.get("monitor"))
    text = f"Stopped early at epoch {done}: {words} had not improved for {cfg.get('patience')} epochs"
    return text + (f"; kept epoch {kept}" if kept is not None else "")


def run_kept_epoch(store, run: dict) -> int | None:
    """The epoch a finished run kept (None while it runs)."""
    if run["status"] in ACTIVE:
        return None
    table = charts.epoch_table(store.metrics(run["id"]))
    return charts.kept_epoch(table, run["config"].get("monitor", "valid_loss"))


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def references_for(run: dict) -> dict[str, float] | None:
    """The exercise's test accuracies as reference lines, for news-headline runs only."""
    return EXERCISE_REFERENCES if run["config"].get("dataset") == REFERENCE_DATASET else None


def _stop(run_id: str) -> None:
    if not permissions.can_manage(state.store().get_run(run_id)):
        return  # the button is disabled for such runs; never trust the click alone
    status = state.runner().cancel(run_id)
    st.session_state[f"live_stop_msg_{run_id}"] = (
        "Stopped before it started." if status == "stopped"
        else "Stop requested: the run ends after its current batch.")


def _progress(run_id: str, was_active: bool) -> dict | None:
    """Header, Stop button, progress bar and results; the run's row (None when it no longer exists)."""
    store = state.store()
    try:
        run = store.get_run(run_id)
    except KeyError:
        st.info("This run was deleted.")
        return None
    info = progress_summary(run, store.progress(run_id))
    status = run["status"]
    head, stop_col = st.columns([5, 1], vertical_alignment="center")
    head.markdown(f"#### Run `{run_id}` {STATUS_TEXT.get(status, status)}")
    head.caption(f"{run['name']} · device {run.get('device') or 'not yet chosen'}"
                 + (f" · {run['params']:,} parameters" if run.get("params") else ""))
    if status in ACTIVE:
        state.runner().ensure_supervisor()  # after a server/supervisor restart, queued runs still start
        allowed = permissions.can_manage(run)
        stop_col.button("Stop", icon=":material/stop:", key=f"live_stop_{run_id}", on_click=_stop, args=(run_id,),
                        type="primary", disabled=not allowed,
                        help="ask the worker to stop after its current batch (checkpoints are kept)" if allowed
                        else permissions.why_not(run))
    msg = st.session_state.get(f"live_stop_msg_{run_id}")
    if msg and status in ACTIVE:
        st.info(msg)
    result = store.result(run_id) or {}
    run["kept_epoch"] = run_kept_epoch(store, run)
    early = stop_text(run, result, run["kept_epoch"])
    label = f"Epoch {info['epochs_done']} of {info['max_epochs']} finished"
    if early:
        label = early
    elif run["kept_epoch"] is not None and status == "done":
        label += f" · kept epoch {run['kept_epoch']}"
    if status == "running":
        label += f" · about {format_seconds(info['epoch_seconds'])} per epoch" if info["epoch_seconds"] else ""
        label += f" · at most {format_seconds(info['eta_seconds'])} left" if info["eta_seconds"] is not None else ""
    if status == "queued":  # its place under the round-robin order and the wait the running runs suggest
        label += " · " + describe(state.runner().queue_info(run_id))
    st.progress(info["fraction"], text=label)
    if status == "running" and info["eta_seconds"] is not None and run["config"].get("early_stopping"):
        st.caption("Early stopping is on: the run may end before the last epoch.")
    if run.get("error") and status not in ACTIVE:
        (st.warning if status in ("stopped", "interrupted") else st.error)(run["error"])
    if status == "done" or result.get("test_acc") is not None:
        cols = st.columns(3)
        if result.get("test_acc") is not None:
            cols[0].metric("Test accuracy (best epoch's weights)", f"{result['test_acc']:.3f}")
        if result.get("valid_acc") is not None:
            cols[1].metric("Valid accuracy", f"{result['valid_acc']:.3f}")
        cols[2].page_link("pages/2_Runs.py", label="Details on the Runs page", icon=":material/monitoring:")
    if was_active and status not in ACTIVE:
        st.rerun()  # one full rerun: the page redraws without the timer
    return run


@st.cache_resource(show_spinner=False)
def _curve_cache() -> ThrottledCache:
    """The newest curve figures of each run, for every session of this server (st.plotly_chart copies a
    figure before sending it, so sharing the objects is safe)."""
    return ThrottledCache(capacity=64)


def _curves(run: dict, live: bool) -> None:
    store, run_id, refs = state.store(), run["id"], references_for(run)
    version = store.metrics_version(run_id)
    if version[0] == 0:
        st.caption("The curves appear when the first batches are done.")
        return

    def build():
        metrics = store.metrics(run_id)
        kept = run.get("kept_epoch")
        return (charts.curve_figure(metrics, "loss", "Loss per epoch", kept=kept),
                charts.curve_figure(metrics, "acc", "Accuracy per epoch", refs, kept=kept))

    # Live, rows arrive with every batch: figures younger than one refresh interval are shown as they are,
    # so ten sessions cost about one build per second, not ten. Ended: built from every row.
    loss, acc = _curve_cache().get(run_id, version, REFRESH_SECONDS if live else 0.0, build)
    left, right = st.columns(2)
    left.plotly_chart(loss, key=f"live_loss_{run_id}")
    right.plotly_chart(acc, key=f"live_acc_{run_id}")
    st.caption("Loss: cross-entropy on the training split (blue; the thin line is a running average over "
               "batches) and on the validation split (orange), after each epoch. Accuracy: share of "
               "examples classified correctly. Valid going up while train keeps going down = overfitting."
               + (" Dashed lines: the exercise's reported test accuracies." if refs else ""))


def _draw(run_id: str, active: bool) -> None:
    if run := _progress(run_id, was_active=active):
        _curves(run, live=active)


@st.fragment(run_every=REFRESH_SECONDS)
def _live(run_id: str) -> None:
    _draw(run_id, active=True)


@st.fragment
def _still(run_id: str) -> None:
    _draw(run_id, active=False)


def live_run(run_id: str) -> None:
    """Draw run `run_id`, refreshing every second while it is queued or running."""
    try:
        active = state.store().get_run(run_id)["status"] in ACTIVE
    except KeyError:
        st.info(f"Run {run_id} no longer exists.")
        return
    (_live if active else _still)(run_id)
