"""Runs page: the projector of a finished classification run (engine/predict/projector.py) and, for image runs, its
first layer's weights or filters as pictures. Computed on request and cached per run: a finished run's
checkpoint does not change."""

from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.jobs.store import ACTIVE, RunStore
from engine.predict.predictor import InputError
from engine.training.checkpoint import CheckpointError
from ui import projector_charts
from ui.layout import FIELD_WIDTH, wrapping_row

LIMITS = [500, 1000, 2000]
TSNE_LIMIT = 500  # half the CLI's bound: a page waits on it (timings in bench/RESULTS.md)
GRID = 20  # digits shown under the projector


@st.cache_data(show_spinner="Running the test examples through the network…", max_entries=8)
def _projection(home: str, run_id: str, finished: float | None, method: str, limit: int) -> dict:
    from engine.predict.projector import project_run

    return project_run(RunStore(home), run_id, method, limit)


@st.cache_data(show_spinner=False, max_entries=8)
def _first_layer(home: str, run_id: str, finished: float | None) -> dict | None:
    from engine.predict.predictor import Predictor
    from engine.predict.projector import first_layer

    return first_layer(Predictor.from_run(RunStore(home), run_id), count=16)


@st.fragment
def render(store, run: dict) -> None:
    """The projector section of one run (nothing for an active run or a regression run)."""
    result = store.result(run["id"]) or {}
    if run["status"] in ACTIVE or not result.get("confusion_matrix"):
        return
    st.markdown("#### Projector: the test examples as the network sees them")
    row = wrapping_row()
    show = row.toggle("Show the projector", key="runs_projector_show",
                       help="runs a sample of the test split through the network (a few seconds)")
    limit = row.select_slider("Test examples", LIMITS, value=1000, key="runs_projector_limit", width=FIELD_WIDTH)
    tsne_on = st.session_state.get("runs_projector_method") == ("tsne", run["id"])
    if tsne_on:
        row.button("Back to PCA", key="runs_projector_pca", disabled=not show,
                   on_click=lambda: st.session_state.pop("runs_projector_method", None))
    else:
        row.button("Compute t-SNE (slow)", key="runs_projector_tsne", disabled=not show,
                   on_click=lambda: st.session_state.update(runs_projector_method=("tsne", run["id"])),
                   help=f"t-SNE on at most {TSNE_LIMIT} examples: it keeps neighbours together, at the cost "
                        "of distances between groups; can take a minute")
    if not show:
        st.caption("The layer before the output holds the network's own description of each example; the projector "
                   "draws it in 2-D, a colour per true class and an x for each mistake.")
        return
    method = "tsne" if tsne_on else "pca"
    key = (str(store.home), run["id"], run.get("finished"))
    try:
        out = _projection(*key, method, min(limit, TSNE_LIMIT) if method == "tsne" else limit)
    except (InputError, CheckpointError, OSError, ValueError) as exc:
        st.info(f"No projector for this run: {exc}")
        return
    event = st.plotly_chart(projector_charts.projector_figure(out), key="runs_projector", on_select="rerun",
                            selection_mode=("points", "box", "lasso"))
    wrong = [r for r in out["rows"] if r["true"] != r["pred"]]
    st.caption(f"{len(out['rows'])} test examples (a fixed sample), {len(wrong)} of them mistakes (x). Each point is "
               f"the {out['layer_dim']} numbers the output layer reads, reduced to 2 by {out['method'].upper()}: "
               "classes the network tells apart form separate clouds; hover a point to see the example.")
    spec = DATASETS.get(run["config"].get("dataset"))
    if spec is not None and spec.kind == "image":
        _digits(store, run, out, event, wrong)
        _pictures(*key)


def _selected(event) -> list[int]:
    try:
        points = event.selection["points"]
    except (AttributeError, KeyError, TypeError):
        return []
    return [int(p["customdata"][0]) for p in points if p.get("customdata")]


def _digits(store, run: dict, out: dict, event, wrong: list[dict]) -> None:
    """The selected points' digits, or else the mistakes', in a small grid."""
    import ui.image_grid

    picked = _selected(event)
    by_index = {r["index"]: r for r in out["rows"]}
    rows = [by_index[i] for i in picked if i in by_index][:GRID] or wrong[:GRID]
    if not rows:
        return
    cfg = run["config"]
    images, _ = ui.image_grid._test_split(str(store.home), cfg["dataset"],
                                          tuple(sorted(cfg.get("data_args", {}).items())))
    classes = out["classes"]
    st.markdown("**Selected digits**" if picked else f"**Mistakes** (the first {len(rows)}; select points to see "
                                                      "others)")
    st.plotly_chart(ui.image_grid.grid_figure(images[[r["index"] for r in rows]],
                                              [classes.index(r["pred"]) for r in rows],
                                              [classes.index(r["true"]) for r in rows], classes),
                    key="runs_projector_digits")


def _pictures(home: str, run_id: str, finished: float | None) -> None:
    try:
        pics = _first_layer(home, run_id, finished)
    except (CheckpointError, OSError, ValueError):
        return
    if not pics:
        return
    what = ("first layer's weights: one picture per hidden unit, the pixels that excite it bright"
            if pics["kind"] == "weights" else "first convolution's filters (averaged over input channels)")
    st.markdown(f"**The {what}** ({len(pics['images'])} of {pics['total']})")
    st.image(projector_charts.scaled_pictures(pics["images"]), width=64)

