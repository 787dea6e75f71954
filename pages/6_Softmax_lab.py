"""Softmax and cross-entropy: formula vs autograd for one and for four examples."""

import streamlit as st

from ui import labs_softmax as lab
from ui import permissions

st.set_page_config(page_title="Softmax lab · NN Lab", layout="wide")
permissions.page_guard()
st.title("Softmax and cross-entropy")
st.markdown("A single-layer net with a **random** W (d x C): ŷ = softmax(x W). The loss is the cross-entropy "
            "and its gradient ∂L/∂W = Xᵀ(Ŷ − Y)/n, first for x1 alone, then for x1..x4 — each computed by "
            "the formula and by `torch.autograd`.")
seed = st.number_input("Seed of the random W", 0, 10_000, 0, key="sm_seed")
out = lab.run_lab(int(seed))
st.caption(out["source"])
st.markdown(f"X: {tuple(out['X'].shape)} · W: {tuple(out['W'].shape)} · labels of x1..x4: "
            + ", ".join(out["classes"][int(i)] for i in out["y"]))
tab_one, tab_four = st.tabs(["one example (x1)", "four examples (X[1:4])"])
with tab_one:
    for step in out["one"]:
        lab.show_step(step, out["classes"], f"sm_one_{step.name}")
with tab_four:
    for step in out["four"]:
        lab.show_step(step, out["classes"], f"sm_four_{step.name}")
