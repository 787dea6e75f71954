"""Tuning: let Optuna choose the learning rate, batch size and the model's size; every trial is a run."""

import streamlit as st

from ui import permissions, state, tuning

st.set_page_config(page_title="Tuning · NN Lab", page_icon=":material/tune:", layout="wide")
permissions.page_guard()
st.title(":material/tune: Tune hyperparameters")
st.caption("Optuna trains a series of short runs (trials), each with settings it picks from what the earlier "
           "trials taught it, and stops hopeless trials early (pruning: valid accuracy below the median of "
           "earlier trials at the same epoch). The study runs in a background process: you can leave this page. "
           "Every trial is a normal run on the Runs page.")
home = str(state.home())
tuning.start_form(home)
tuning.study_view(home)
