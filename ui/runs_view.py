"""The Runs page's tracker part: filters, the table with a column per varying setting, and the comparison
of picked runs (overlay, config diff, parallel coordinates, CSV downloads). The filters and the picked runs
live in the URL, so a link shares the view."""

from __future__ import annotations

import streamlit as st

from engine.jobs.queue import describe
from engine.jobs.tracker import filter_rows, table_csv
from ui import charts, inside_view, runs_tracker, state
from ui.layout import wrapping_row
from ui.run_detail import run_label
from ui.tables import EXERCISE_REFERENCES, REFERENCE_DATASET, comparison_frame

ANY = "any"
SORTS = {"newest first": ("created", False), "best test accuracy first": ("test_acc", False),
         "worst test accuracy first": ("test_acc", True)}
CURVES = {"valid accuracy": ("acc", "valid"), "valid loss": ("loss", "valid"),
          "train accuracy": ("acc", "train"), "train loss": ("loss", "train")}


def filters(rows: list[dict]) -> list[dict]:
    """Filter boxes (dataset, model, status, tag) and the sort order; returns the rows shown."""
    tags = sorted({t for r in rows for t in r["tags"]})
    choices = {"dataset": sorted({r["dataset"] for r in rows}), "model": sorted({r["model"] for r in rows}),
               "status": sorted({r["status"] for r in rows}), "tag": tags}
    chosen = {}
    columns = st.columns(len(choices) + 1)
    for col, (name, options) in zip(columns, choices.items(), strict=False):
        key = f"runs_filter_{name}"
        if key not in st.session_state:  # once per session: the link's value, if it is one of the options
            given = st.query_params.get(name)
            st.session_state[key] = given if given in options else ANY
        value = col.selectbox(name.capitalize(), [ANY, *options], key=key)
        chosen[name] = None if value == ANY else value
        _to_url(name, chosen[name])
    order = columns[-1].selectbox("Sort", list(SORTS), key="runs_sort")
    shown = filter_rows(rows, **chosen)
    column, ascending = SORTS[order]
    missing = [r for r in shown if r.get(column) is None]
    present = sorted((r for r in shown if r.get(column) is not None), key=lambda r: r[column], reverse=not ascending)
    return present + missing


def table(rows: list[dict]) -> None:
    if not rows:
        st.info("No run matches these filters.")
        return
    queued = {r["run_id"]: describe(state.runner().queue_info(r["run_id"])) for r in rows if r["status"] == "queued"}
    frame = runs_tracker.tracker_frame([{**r, "status": f"queued · {queued[r['run_id']]}"} if queued.get(r["run_id"])
                                        else r for r in rows])
    st.dataframe(frame, hide_index=True, key="runs_table",
                 column_config={"test_acc": st.column_config.NumberColumn("test acc", format="%.3f"),
                                "note": st.column_config.TextColumn("note", width="medium")})
    fixed = {"run", "status", "dataset", "model", "test_acc", "epochs done", "tags", "note", "created"}
    varying = [c for c in frame.columns if c not in fixed]
    st.caption("One column per setting that differs among these runs"
               + (f" ({', '.join(varying)})" if varying else " (none differ)")
               + ". Click a column header to sort by it.")


@st.fragment
def compare(rows: list[dict]) -> None:
    """Overlaid curves, only-what-differs diff and parallel coordinates of the picked runs."""
    by_id = {r["run_id"]: r for r in rows}
    trained = [r["run_id"] for r in rows if (r.get("epoch") or 0) > 0]
    if "runs_compare" not in st.session_state:
        from_url, _ = runs_tracker.parse_ids(st.query_params.get("compare"), trained)
        st.session_state["runs_compare"] = from_url or runs_tracker.default_overlay(rows)
    st.session_state["runs_compare"] = [r for r in st.session_state["runs_compare"] if r in trained]
    picked = st.multiselect("Runs to compare", trained, format_func=lambda i: run_label(by_id[i]),
                            key="runs_compare", help="each line is one run; by default the newest runs of the "
                                                     "newest run's dataset")
    _to_url("compare", ",".join(picked) or None)
    chosen = [by_id[r] for r in picked]
    if chosen:
        _overlay(chosen)
    if len(chosen) >= 2:
        st.markdown("**What differs** between these runs (settings they share are left out)")
        st.dataframe(runs_tracker.diff_frame(chosen), hide_index=True, key="runs_diff")
    _ranking(chosen or rows)
    _downloads(chosen or rows, picked)


def _overlay(chosen: list[dict]) -> None:
    label = st.segmented_control("Curve", list(CURVES), default="valid accuracy", key="runs_compare_metric")
    metric, split = CURVES[label or "valid accuracy"]
    news = all(r["dataset"] == REFERENCE_DATASET for r in chosen)
    refs = EXERCISE_REFERENCES if news and metric == "acc" else None
    labels = runs_tracker.short_labels(chosen)
    metrics = state.store().metrics([r["run_id"] for r in chosen])
    st.plotly_chart(charts.overlay_figure(metrics, labels, metric, split, refs), key="runs_overlay")
    st.caption("One line per run, labelled by the settings that differ; ★ marks each run's best epoch."
               + (" Grey lines: the exercise's reported **test** accuracies (300-d word2vec features)."
                  if refs else ""))
    inside_view.compare_word_gradients(state.store(), chosen, labels)


def _ranking(rows: list[dict]) -> None:
    fig = runs_tracker.parallel_figure(rows)
    if fig is not None:
        st.markdown("**Settings against test accuracy**: one line per run; drag along an axis to pick a range")
        st.plotly_chart(fig, key="runs_parallel")
    runs = [{"id": r["run_id"], "config": {"dataset": r["dataset"], "model": r["model"],
                                           "features": r.get("features", "")}} for r in rows]
    ranked = comparison_frame(runs, {r["run_id"]: {"test_acc": r.get("test_acc")} for r in rows})
    if not ranked.empty:
        st.markdown("**Test accuracy, best first** (rows marked *reference* are the exercise's reported numbers)")
        st.dataframe(ranked, hide_index=True, key="runs_comparison",
                     column_config={"test_acc": st.column_config.NumberColumn("test acc", format="%.3f"),
                                    "reference": st.column_config.CheckboxColumn("reference")})


def _downloads(rows: list[dict], picked: list[str]) -> None:
    row = wrapping_row()
    row.download_button("runs.csv: one row per run", icon=":material/download:", data=table_csv(rows),
                         file_name="runs.csv", mime="text/csv", key="runs_dl_table", on_click="ignore",
                         help="settings and final metrics of the compared runs (all shown runs if none is picked)")
    row.download_button("metrics.csv of the compared runs", icon=":material/download:",
                          data=lambda: state.store().metrics(picked).to_csv(index=False),
                          file_name="metrics-long.csv", mime="text/csv", key="runs_dl_long", on_click="ignore",
                          disabled=not picked, help="every metric row of every compared run: run_id, epoch, step, "
                                                    "split, name, value, time")


def _to_url(name: str, value: str | None) -> None:
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value
