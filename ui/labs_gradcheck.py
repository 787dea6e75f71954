"""Gradient-check page helpers: tables and figures (pure functions) and the live training callback."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.labs import gradcheck, numgrad_training
from engine.labs.lab_data import image_batch, image_split
from engine.training.trainer import Callback

METHOD_LABELS = {"loop": "(a) numerical, one parameter at a time", "vectorised": "(b) numerical, vectorised",
                 "backprop": "(c) hand-written backprop", "autograd": "(d) torch.autograd"}


def run_check(dataset: str, batch: int, hidden: int, loop_params: int | None, seed: int = 0) -> dict:
    x, t, used = image_batch(dataset, batch)
    net = gradcheck.TwoLayerNet(x.shape[1], hidden, 10, seed=seed)
    summary = gradcheck.check(net, x, t, loop_params=loop_params, seed=seed).summary()
    return {"dataset": used, "architecture": f"{x.shape[1]}-{hidden}-10", "batch": len(t), **summary}


CORRECT_BELOW = 1e-7  # CS231n's rule of thumb for float64 gradients: below, the two agree
WRONG_ABOVE = 1e-4


def reading(max_err: float) -> str:
    """A relative error read against the thresholds: "agree to 1e-9: correct" (the decade it stays under)."""
    if not math.isfinite(max_err):
        return "not a number: a gradient overflowed"
    if max_err == 0:
        return "agree exactly: correct"
    decade = f"1e{math.ceil(math.log10(max_err))}"
    if max_err <= CORRECT_BELOW:
        return f"agree to {decade}: correct"
    if max_err <= WRONG_ABOVE:
        return f"agree only to {decade}: suspicious (check for kinks such as ReLU at 0)"
    return f"differ by up to {decade}: a gradient is wrong"


def error_table(summary: dict) -> pd.DataFrame:
    """One row per pair of methods, one column per parameter tensor, the max and its reading."""
    rows = []
    for pair, errs in summary["rel_err"].items():
        a, b = pair.split("_vs_")
        worst = max(errs.values())
        rows.append({"pair": f"{a} vs {b}", **errs, "max": worst, "reading": reading(worst)})
    return pd.DataFrame(rows)


def seconds_table(summary: dict) -> pd.DataFrame:
    sec = summary["seconds"]
    rows = [{"method": METHOD_LABELS[m], "seconds": sec[m]} for m in gradcheck.METHODS if m in sec]
    rows.append({"method": "(a) extrapolated to every parameter", "seconds": sec["loop_all_params_estimate"]})
    return pd.DataFrame(rows)


def seconds_figure(summary: dict) -> go.Figure:
    df = seconds_table(summary)
    fig = go.Figure(go.Bar(x=df["seconds"], y=df["method"], orientation="h"))
    fig.update_layout(xaxis_type="log", xaxis_title="seconds (log scale)", height=300,
                      margin={"l": 10, "r": 10, "t": 30, "b": 10}, title="time for one full gradient")
    return fig


def training_figure(rows: pd.DataFrame) -> go.Figure:
    """Loss against wall-clock seconds, one line per gradient method."""
    fig = go.Figure()
    for method, part in rows.groupby("method", sort=False):
        fig.add_trace(go.Scatter(x=part["seconds"], y=part["loss"], mode="lines+markers",
                                 name=numgrad_training.METHODS.get(method, method)))
    fig.update_layout(xaxis_title="seconds", yaxis_title="training loss (batch)", height=360,
                      margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


class LiveChart(Callback):
    """Redraws a placeholder after each iteration (runs in the script thread, so st.* is safe)."""

    def __init__(self, placeholder, method: str, rows: list[dict]):
        self.placeholder, self.method, self.rows = placeholder, method, rows
        self._log = numgrad_training.IterationLog()

    def on_fit_start(self, trainer, state) -> None:
        self._log.on_fit_start(trainer, state)

    def on_batch_end(self, trainer, state) -> None:
        self._log.on_batch_end(trainer, state)
        self.rows.append({"method": self.method, **self._log.rows[-1]})
        self.placeholder.plotly_chart(training_figure(pd.DataFrame(self.rows)), key=None)


@st.cache_data(show_spinner=False)
def _train_data(dataset: str):
    x, t, used = image_split(dataset)
    return x, t, used


def train_side_by_side(dataset: str, methods: list[str], iterations: int, batch: int, lr: float,
                       placeholder) -> pd.DataFrame:
    x, t, _ = _train_data(dataset)
    rows: list[dict] = []
    for method in methods:
        numgrad_training.train(method, x, t, iterations=iterations, batch=batch, lr=lr,
                               callbacks=[LiveChart(placeholder, method, rows)])
    return pd.DataFrame(rows)
