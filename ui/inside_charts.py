"""Chart builders for what happens inside a network: pure functions (summary dicts, DataFrames -> tables and
plotly figures), no Streamlit, tested in tests/ui."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

ARCH_META = "architecture"  # layout.meta of the architecture diagram (pages tell it from the live charts)
ARCH_MAX_BOXES = 40
BOX_COLORS = {"params": "#2563eb", "frozen": "#9ca3af", "none": "#e5e7eb"}


def shape_text(shape) -> str:
    return "?" if shape is None else " x ".join(map(str, shape))


def summary_table(summary: dict) -> pd.DataFrame:
    """The layer table of engine.models.summary.summarize in the manner of Keras' model.summary()."""
    trainable = {True: "yes", False: "frozen", None: ""}
    rows = [{"Layer": r["name"], "Type": r["type"], "Output shape": shape_text(r["output_shape"]),
             "Parameters": int(r["params"]), "Trainable": trainable[r["trainable"]]} for r in summary["layers"]]
    return pd.DataFrame(rows, columns=["Layer", "Type", "Output shape", "Parameters", "Trainable"])


def diagram_rows(summary: dict) -> list[dict]:
    """The layers worth a box: those with parameters or that change the shape (pooling, flatten), in order;
    at most ARCH_MAX_BOXES."""
    rows, last = [], summary.get("input_shape")
    for r in summary["layers"]:
        if r["params"] or (r["output_shape"] is not None and r["output_shape"] != last):
            rows.append(r)
        last = r["output_shape"] if r["output_shape"] is not None else last
    return rows[:ARCH_MAX_BOXES]


def _color(row: dict) -> str:
    if not row["params"]:
        return BOX_COLORS["none"]
    return BOX_COLORS["params"] if row["trainable"] else BOX_COLORS["frozen"]


def architecture_figure(summary: dict) -> go.Figure:
    """The layers as boxes from the input (top) to the output (bottom), each labelled with its type, output
    shape and parameters; a box's width grows with the log of its output size."""
    rows = diagram_rows(summary)
    boxes = [{"type": "input", "output_shape": summary.get("input_shape"), "params": 0, "trainable": None,
              "name": "input"}, *rows]
    fig = go.Figure()
    sizes = [math.prod(b["output_shape"][1:]) if b["output_shape"] else 1 for b in boxes]
    top = max(math.log10(max(s, 1)) for s in sizes) or 1.0
    for i, (box, size) in enumerate(zip(boxes, sizes, strict=True)):
        half = 0.15 + 0.35 * math.log10(max(size, 1)) / top
        fig.add_shape(type="rect", x0=-half, x1=half, y0=-i - 0.4, y1=-i + 0.4, line={"color": "#374151"},
                      fillcolor=_color(box) if box["name"] != "input" else "#fef3c7", opacity=0.85)
    labels = [f"{b['type']}  {shape_text(b['output_shape'])}" + (f"  ({b['params']:,})" if b["params"] else "")
              for b in boxes]
    fig.add_trace(go.Scatter(x=[0] * len(boxes), y=[-i for i in range(len(boxes))], mode="text", text=labels,
                             hovertext=[b["name"] for b in boxes], hoverinfo="text", showlegend=False,
                             textfont={"size": 13}))
    fig.update_layout(meta=ARCH_META, height=max(160, 44 * len(boxes) + 40), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"visible": False, "range": [-0.55, 0.55]},
                      yaxis={"visible": False, "range": [-len(boxes) + 0.4, 0.6]},
                      plot_bgcolor="rgba(0,0,0,0)")
    return fig
