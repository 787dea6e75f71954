"""Softmax lab page helpers: tensors as labelled tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.labs import softmax


@st.cache_data(show_spinner=False)
def run_lab(seed: int) -> dict:
    return softmax.run(seed=seed)


def tensor_frame(t, columns=None, index_prefix: str = "") -> pd.DataFrame:
    """A 0-, 1- or 2-d tensor as a DataFrame."""
    arr = t.detach().numpy()
    if arr.ndim == 0:
        return pd.DataFrame({"value": [float(arr)]})
    if arr.ndim == 1:
        arr = arr[None, :]
    df = pd.DataFrame(arr, columns=columns)
    df.index = [f"{index_prefix}{i + 1}" for i in range(len(df))]
    return df


def show_step(step: softmax.Step, classes: list[str], key: str) -> None:
    st.markdown(f"**{step.name}** — `{step.formula}` — shape {step.shape}, "
                f"max |formula − autograd| = {step.max_abs_diff:.1e}")
    cols = classes if step.by_formula.ndim and step.by_formula.shape[-1] == len(classes) else None
    prefix = "d" if step.name == "grad_W" else "x"
    left, right = st.columns(2)
    left.caption("by formula")
    left.dataframe(tensor_frame(step.by_formula, cols, prefix), key=f"{key}_formula", height=min(400, 40 + 36 * (step.shape[0] if step.shape else 1)))
    right.caption("by torch.autograd")
    right.dataframe(tensor_frame(step.by_autograd, cols, prefix), key=f"{key}_autograd", height=min(400, 40 + 36 * (step.shape[0] if step.shape else 1)))
