"""Regression-lab figures (pure: numbers in, plotly figure out): the loss contour over (w, b) with the
descent paths, the data with fitted lines, loss per iteration, and the Pokémon classes in 2-D with the
fitted Gaussians and the decision boundaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from ui.charts import FONT

PATH_COLORS = {"plain GD": "#ea580c", "AdaGrad": "#16a34a"}
LINE_COLORS = ("#ea580c", "#16a34a", "#111827", "#6b7280")
CLASS_COLORS = {"Water": "#2563eb", "Normal": "#b45309"}


def thin(n: int, max_points: int = 1500) -> np.ndarray:
    """Indices of a path of n points to draw: every early step (where paths turn), then evenly spaced,
    always the last."""
    if n <= max_points:
        return np.arange(n)
    head = np.arange(max_points // 4)
    rest = np.linspace(max_points // 4, n - 1, max_points - len(head)).round().astype(int)
    return np.unique(np.r_[head, rest])


def _style(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 520) -> go.Figure:
    """Title on top, legend under the x-axis title."""
    fig.update_layout(title={"text": title}, xaxis_title=x_title, yaxis_title=y_title, height=height, font=FONT,
                      margin={"l": 60, "r": 20, "t": 60, "b": 40}, hovermode="closest",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0})
    return fig


def descent_figure(ws, bs, z, paths: Mapping[str, object], minimum: tuple[float, float],
                   title: str = "Loss over (w, b) and the descent paths") -> go.Figure:
    """Filled contour of log10(loss) (w across, b up), each path (objects with .w and .b) as a line from
    its start (circle) to its end (diamond), the minimum as a star."""
    fig = go.Figure(go.Contour(x=ws, y=bs, z=np.log10(np.maximum(z, 1e-300)), colorscale="Blues_r", ncontours=30,
                               colorbar={"title": {"text": "log₁₀ loss", "side": "right"}}, opacity=0.85,
                               hovertemplate="w %{x:.4g}<br>b %{y:.4g}<br>log₁₀ loss %{z:.3f}<extra></extra>"))
    for i, (label, path) in enumerate(paths.items()):
        idx = thin(len(path.w))
        color = PATH_COLORS.get(label, LINE_COLORS[i % len(LINE_COLORS)])
        fig.add_trace(go.Scatter(x=path.w[idx], y=path.b[idx], mode="lines", name=label,
                                 line={"color": color, "width": 3}))
        fig.add_trace(go.Scatter(x=path.w[[0, -1]], y=path.b[[0, -1]], mode="markers", showlegend=False,
                                 marker={"color": color, "size": [9, 12], "symbol": ["circle", "diamond"],
                                         "line": {"color": "white", "width": 1}}, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[minimum[0]], y=[minimum[1]], mode="markers", name="minimum (closed form)",
                             marker={"symbol": "star", "size": 18, "color": "#facc15",
                                     "line": {"color": "#111827", "width": 1}}))
    fig = _style(fig, title, "w (slope)", "b (intercept)")
    fig.update_xaxes(range=[ws[0], ws[-1]])
    fig.update_yaxes(range=[bs[0], bs[-1]])
    return fig


def fit_figure(x, y, lines: Mapping[str, tuple[float, float]], x_title: str, y_title: str,
               title: str = "The data and the fitted lines y = b + w·x") -> go.Figure:
    fig = go.Figure(go.Scattergl(x=x, y=y, mode="markers", name="data", marker={"color": "#93c5fd", "size": 7,
                                                                                 "line": {"color": "#1e40af", "width": 0.5}}))
    grid = np.linspace(float(np.min(x)), float(np.max(x)), 50)
    for i, (label, (w, b)) in enumerate(lines.items()):
        color = PATH_COLORS.get(label, LINE_COLORS[i % len(LINE_COLORS)])
        dash = "dash" if "closed form" in label or "λ = 0" in label else "solid"
        fig.add_trace(go.Scatter(x=grid, y=b + w * grid, mode="lines", name=f"{label}: y = {b:.4g} + {w:.4g}·x",
                                 line={"color": color, "width": 3, "dash": dash}))
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = 0.08 * max(hi - lo, 1e-9)
    fig = _style(fig, title, x_title, y_title)
    fig.update_yaxes(range=[lo - pad, hi + pad])  # a diverged line leaves the frame instead of squashing the data
    return fig


def loss_curve_figure(paths: Mapping[str, object], minimum_loss: float,
                      title: str = "Loss per iteration") -> go.Figure:
    """Loss minus the minimum (log scale) against the iteration (log scale): how far each path still is.
    Gaps below 1e-9 of the minimum are float64 rounding and drawn at that floor."""
    fig = go.Figure()
    floor = 1e-9 * max(abs(minimum_loss), 1e-3)
    for i, (label, path) in enumerate(paths.items()):
        idx = thin(len(path.loss))
        gap = np.maximum(path.loss[idx] - minimum_loss, floor)
        fig.add_trace(go.Scatter(x=idx + 1, y=gap, mode="lines", name=label,
                                 line={"color": PATH_COLORS.get(label, LINE_COLORS[i % len(LINE_COLORS)]), "width": 3}))
    fig = _style(fig, title, "iteration", "loss − minimum loss", height=420)
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def _line_points(w, b: float, x_range) -> tuple[np.ndarray, np.ndarray]:
    """Points of w[0]·x + w[1]·y + b = 0 across x_range (a vertical line when w[1] is 0)."""
    if abs(w[1]) < 1e-12:
        return np.full(2, -b / w[0]), np.array([-1e9, 1e9])
    xs = np.linspace(*x_range, 2)
    return xs, -(w[0] * xs + b) / w[1]


def classes_figure(points: Mapping[str, tuple[np.ndarray, np.ndarray]], classes: Sequence[str],
                   gaussians: Sequence[tuple[np.ndarray, Sequence[np.ndarray]]], grid, features: Sequence[str],
                   logistic_line: tuple[np.ndarray, float] | None = None,
                   title: str = "Water vs Normal: the fitted Gaussians and the decision boundaries") -> go.Figure:
    """`points`: split -> (x (n, 2), labels); `gaussians`: per class (mean, [1-sigma, 2-sigma ellipse points]);
    `grid`: (xs, ys, z) of the log posterior ratio, shaded as P(first class | x) with its zero contour drawn."""
    xs, ys, z = grid
    prob = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
    a, b = CLASS_COLORS.get(classes[1], "#b45309"), CLASS_COLORS.get(classes[0], "#2563eb")
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=prob, colorscale=[[0, a], [0.5, "#ffffff"], [1, b]], zmin=0, zmax=1,
                               opacity=0.25, showscale=False,
                               hovertemplate=f"P({classes[0]} | x) %{{z:.2f}}<extra></extra>"))
    fig.add_trace(go.Contour(x=xs, y=ys, z=z, contours={"start": 0, "end": 0, "size": 1, "coloring": "lines"},
                             colorscale=[[0, "#111827"], [1, "#111827"]], showscale=False, line={"width": 3},
                             name="generative boundary", showlegend=True, hoverinfo="skip"))
    for split, (x, labels) in points.items():
        for c, name in enumerate(classes):
            sel = x[labels == c]
            marker = {"color": CLASS_COLORS.get(name), "size": 8, "line": {"color": CLASS_COLORS.get(name), "width": 1.5}}
            if split != "train":
                marker = {**marker, "color": "rgba(255,255,255,0.6)", "symbol": "circle"}
            fig.add_trace(go.Scatter(x=sel[:, 0], y=sel[:, 1], mode="markers", name=f"{name} · {split}", marker=marker))
    for (mean, rings), name in zip(gaussians, classes, strict=True):
        color = CLASS_COLORS.get(name)
        for k, ring in enumerate(rings, start=1):
            fig.add_trace(go.Scatter(x=ring[:, 0], y=ring[:, 1], mode="lines", hoverinfo="skip",
                                     name=f"{name} Gaussian: 1σ, 2σ", legendgroup=f"g{name}", showlegend=k == 1,
                                     line={"color": color, "width": 2.5 if k == 1 else 1.5,
                                           "dash": "solid" if k == 1 else "dot"}))
        fig.add_trace(go.Scatter(x=[mean[0]], y=[mean[1]], mode="markers", name=f"μ {name}", legendgroup=f"g{name}",
                                 showlegend=False, marker={"symbol": "x", "size": 14, "color": color}))
    if logistic_line is not None:
        lx, ly = _line_points(*logistic_line, (xs[0], xs[-1]))
        fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", name="logistic boundary",
                                 line={"color": "#7c3aed", "width": 3, "dash": "dash"}))
    fig = _style(fig, title, features[0], features[1], height=620)
    fig.update_xaxes(range=[xs[0], xs[-1]])
    fig.update_yaxes(range=[ys[0], ys[-1]])
    return fig
