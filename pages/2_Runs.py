"""Runs: every run of this lab as an experiment tracker (filters, a column per varying setting, tags and
notes), compared side by side, and one run in detail. The filters and the picked runs live in the URL."""

import streamlit as st

from engine.jobs.tracker import tracked_rows
from ui import permissions, run_detail, runs_view, state

st.set_page_config(page_title="Runs · NN Lab", page_icon=":material/monitoring:", layout="wide")
permissions.page_guard()
st.title(":material/monitoring: Runs")
st.caption("Every run started on this server (from any browser or the command line). Filter and sort them, "
           "compare their settings and curves, tag them, then open one run for its confusion matrix, "
           "per-class scores and mistakes.")

rows = tracked_rows(state.store())
if not rows:
    st.info("No runs yet. Start one on the Train page.")
    st.page_link("pages/1_Train.py", label="Train a network", icon=":material/model_training:")
    st.stop()

st.subheader("All runs")
shown = runs_view.filters(rows)
runs_view.table(shown)
if any(r["status"] in ("queued", "running") for r in rows):
    st.button("Refresh", icon=":material/refresh:", key="runs_refresh",
              help="some runs are still training: reload their state")

st.subheader("Compare runs")
runs_view.compare(shown)

st.divider()
st.subheader("One run in detail")
run_detail.render(shown or rows)
