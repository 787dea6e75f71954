"""Chart builders for a playground run's decision boundary: pure functions (stored grids and point tables ->
plotly figures), no Streamlit, tested in tests/ui. The grids are those the worker stored per epoch
(engine/training/boundary.py)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engine.training.boundary import axis, probs_grid, unit_grids

BOUNDARY_META = "boundary"  # layout.meta of the boundary heatmap (tests and the browser test find it by this)
UNITS_META = "boundary_units"
# diverging, as the Playground: orange for class 0 (negative), white at 0.5, blue for class 1 (positive)
COLORSCALE = [[0.0, "#f59322"], [0.5, "#f7f7f7"], [1.0, "#0877bd"]]
POINT_COLORS = {0: "#c2410c", 1: "#1d4ed8"}


def points_frame(dataset) -> pd.DataFrame:
    """The points of a playground Dataset: x1, x2, label (class id) and split (train, valid, test)."""
    parts = [pd.DataFrame({"x1": s.x["x1"].to_numpy(), "x2": s.x["x2"].to_numpy(), "label": s.y, "split": name})
             for name, s in (("train", dataset.train), ("valid", dataset.valid), ("test", dataset.test))]
    return pd.concat(parts, ignore_index=True)


def boundary_figure(record: dict, points: pd.DataFrame, classes: list[str] | None = None) -> go.Figure:
    """The class-1 probability over the plane as a heatmap, with the train points (circles) and the test points
    (crosses, outlined) on top, coloured by their true class."""
    coords, probs = probs_grid(record)
    classes = classes or ["class 0", "class 1"]
    fig = go.Figure(go.Heatmap(x=coords, y=coords, z=probs, zmin=0.0, zmax=1.0, colorscale=COLORSCALE,
                               colorbar={"title": {"text": f"P({classes[1]})"}, "thickness": 12},
                               hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<br>P = %{z:.2f}<extra></extra>"))
    for split, symbol, outline in (("train", "circle", "white"), ("test", "x", "black")):
        for label in (0, 1):
            part = points[(points["split"] == split) & (points["label"] == label)]
            if part.empty:
                continue
            fig.add_trace(go.Scatter(x=part["x1"], y=part["x2"], mode="markers", name=f"{split}: {classes[label]}",
                                     marker={"symbol": symbol, "size": 7 if split == "train" else 8,
                                             "color": POINT_COLORS[label], "line": {"width": 1, "color": outline}},
                                     hovertemplate=f"{split} · {classes[label]}<br>x1 %{{x:.2f}}, x2 %{{y:.2f}}"
                                                   "<extra></extra>"))
    extent = record["extent"]
    fig.update_layout(meta=BOUNDARY_META, height=480, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": f"Decision boundary · epoch {record['epoch']}"},
                      xaxis={"title": "x1", "range": [-extent, extent], "constrain": "domain"},
                      yaxis={"title": "x2", "range": [-extent, extent], "scaleanchor": "x"},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.16})
    return fig


def units_figure(record: dict) -> go.Figure | None:
    """Each hidden unit's output over the plane, a column per layer (input side left) as in the Playground's
    small pictures; None when the record holds none (a network too large to draw)."""
    from plotly.subplots import make_subplots

    layers = unit_grids(record)
    if not layers:
        return None
    rows = max(len(layer) for layer in layers)
    fig = make_subplots(rows=rows, cols=len(layers), column_titles=[f"layer {i + 1}" for i in range(len(layers))],
                        horizontal_spacing=0.04, vertical_spacing=0.02)
    coords = axis(record["extent"], record["unit_size"])
    for col, layer in enumerate(layers, start=1):
        for row, (grid, unit) in enumerate(zip(layer, record["units"][col - 1], strict=True), start=1):
            scale = max(abs(unit["lo"]), abs(unit["hi"])) or 1.0  # zero in the middle: sign is the colour
            fig.add_trace(go.Heatmap(x=coords, y=coords, z=grid, zmin=-scale, zmax=scale, colorscale=COLORSCALE,
                                     showscale=False, name=f"layer {col} unit {row}",
                                     hovertemplate=f"layer {col}, unit {row}<br>%{{z:.2f}}<extra></extra>"),
                          row=row, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=11)
    fig.update_layout(meta=UNITS_META, height=max(160, 70 * rows + 40), width=min(900, 90 * len(layers) + 40),
                      margin={"l": 5, "r": 5, "t": 30, "b": 5})
    return fig
