"""Batch-size timing page helpers: the log-log figure (a pure function) and the CSV."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engine.labs import timing

COLUMNS = ["device", "batch_size", "seconds", "examples_per_s", "repeats", "examples_timed", "examples_per_epoch",
           "dataset", "model"]


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def reference_frame() -> pd.DataFrame:
    return pd.DataFrame({"batch_size": list(timing.REFERENCE_GPU), "seconds": list(timing.REFERENCE_GPU.values())})


def timing_figure(df: pd.DataFrame, metric: str = "seconds", reference: bool = True) -> go.Figure:
    """Seconds per epoch (or examples per second) against batch size, log-log, one line per device,
    with the exercise's reported GPU times as a dashed reference."""
    fig = go.Figure()
    for device, part in df.groupby("device", sort=False):
        fig.add_trace(go.Scatter(x=part["batch_size"], y=part[metric], mode="lines+markers", name=f"measured · {device}"))
    if reference and metric == "seconds":
        ref = reference_frame()
        fig.add_trace(go.Scatter(x=ref["batch_size"], y=ref["seconds"], mode="lines+markers", name="exercise · GPU",
                                 line={"dash": "dash"}))
    fig.update_layout(xaxis={"type": "log", "title": "batch size B", "dtick": 0.30103},
                      yaxis={"type": "log", "title": "seconds per epoch" if metric == "seconds" else "examples per second"},
                      height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def to_csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")
