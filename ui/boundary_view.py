"""The decision boundary of a playground run on the Train page: redrawn every second from the newest grid the
worker stored while the run trains; an epoch slider once it has ended. Nothing is computed here but the
drawing (the chart builders are in ui/boundary_charts.py)."""

from __future__ import annotations

import json

import streamlit as st

from engine.data import playground
from engine.jobs.store import ACTIVE
from engine.training.boundary import UNITS_EVERY, UNITS_FIRST, class1_share
from ui import boundary_charts, state

REFRESH_SECONDS = 1.0


@st.cache_data(show_spinner=False, max_entries=32)
def _points(data_args_json: str):
    """The run's points (generated from its seed, as the worker did): a few hundred rows."""
    return boundary_charts.points_frame(playground.load(**json.loads(data_args_json)))


def _draw(run: dict, record: dict, key: str, small: bool) -> None:
    """`small`: the network's units have pictures (some epochs keep none: see engine/training/boundary.py)."""
    points = _points(json.dumps(run["config"].get("data_args") or {}, sort_keys=True))
    fig = boundary_charts.boundary_figure(record, points, list(playground.CLASSES))
    left, right = st.columns([3, 2])
    left.plotly_chart(fig, key=f"{key}_heatmap")
    units = boundary_charts.units_figure(record)
    with right:
        st.caption(f"Epoch {record['epoch']}: class +1 on {class1_share(record):.0%} of the plane. "
                   "Blue: the model says positive (+1), orange: negative (-1), white: undecided. Circles are "
                   "training points, crosses test points, coloured by their true class.")
        if units is not None:
            st.plotly_chart(units, key=f"{key}_units", config={"displayModeBar": False})
            st.caption("Each hidden unit's output over the same plane, a column per layer (as the Playground's "
                       "small pictures): the units of later layers combine the earlier ones' shapes.")
        elif small:
            st.caption(f"The hidden units' pictures are kept for epochs 0 to {UNITS_FIRST}, every {UNITS_EVERY}th "
                       "epoch and the last: pick one of those to see them.")
        else:
            st.caption("Pictures of the hidden units are drawn for small networks only (at most 8 units in each "
                       "of at most 6 hidden layers).")


@st.fragment(run_every=REFRESH_SECONDS)
def _live(run_id: str, key: str) -> None:
    store = state.store()
    run = store.get_run(run_id)
    record = store.boundary(run_id)
    if record is None:
        st.caption("The decision boundary appears when the run starts.")
        return
    _draw(run, record, key, small="units" in record)
    if run["status"] not in ACTIVE:
        st.rerun()  # ended: the page redraws with the epoch slider


def _finished(run: dict, key: str) -> None:
    store = state.store()
    epochs = store.boundary_epochs(run["id"])
    if not epochs:
        st.caption("This run stored no decision boundary.")
        return
    epoch = epochs[-1] if len(epochs) == 1 else st.select_slider(
        "Boundary of epoch", epochs, value=epochs[-1], key=f"{key}_epoch",
        help="0 is the initial weights; slide to watch the boundary form, epoch by epoch")
    newest = store.boundary(run["id"])
    _draw(run, newest if epoch == newest["epoch"] else store.boundary(run["id"], epoch), key, small="units" in newest)


def run_boundary(run_id: str, key: str = "train_boundary") -> None:
    """The decision boundary section of run `run_id`; nothing for a run that is not on the playground data."""
    try:
        run = state.store().get_run(run_id)
    except KeyError:
        return
    if run["config"].get("dataset") != "playground":
        return
    st.subheader("Decision boundary")
    if run["status"] in ACTIVE:
        _live(run_id, key)
    else:
        _finished(run, key)
