"""Chart builders: pure functions from DataFrames (RunStore.metrics() frames) or plain results to
plotly figures. No Streamlit here, so every chart is tested without a browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

SPLIT_COLORS = {"train": "#2563eb", "valid": "#ea580c", "test": "#16a34a"}
REFERENCE_COLOR = "#6b7280"
# a qualitative palette (Plotly's colour-blind-safe "Safe", without its grey, which references use)
PALETTE = ("#332288", "#CC6677", "#117733", "#DDCC77", "#88CCEE", "#AA4499", "#44AA99", "#999933", "#882255",
           "#661100", "#6699CC")
METRIC_TITLES = {"loss": "Loss (cross-entropy)", "acc": "Accuracy", "lr": "Learning rate",
                 "epoch_seconds": "Seconds per epoch"}
EPOCH_COLUMNS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "lr", "epoch_seconds")
FONT = {"size": 15}


def run_color(i: int) -> str:
    """The colour of the i-th of the runs compared: every chart of the comparison draws a run in the same one."""
    return PALETTE[i % len(PALETTE)]


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title={"text": title} if title else None, xaxis_title=x_title, yaxis_title=y_title, height=height,
                      font=FONT, margin={"l": 60, "r": 20, "t": 60 if title else 30, "b": 50},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
                      hovermode="x unified")
    return fig


def epoch_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (run_id, epoch) with the epoch-end metrics as columns (train_loss, valid_acc, ...).
    Epoch 0 holds the valid metrics of the initial weights (before any training). Smoothed per-batch
    losses and the final test rows are left out."""
    cols = ["run_id", "epoch", *EPOCH_COLUMNS]
    if metrics is None or metrics.empty:
        return pd.DataFrame(columns=cols)
    rows = metrics[(metrics["epoch"] >= 0) & (metrics["name"] != "loss_smooth") & (metrics["split"] != "test")]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    rows = rows.assign(column=[n if n in ("lr", "epoch_seconds") else f"{s}_{n}"
                               for s, n in zip(rows["split"], rows["name"], strict=True)])
    table = rows.pivot_table(index=["run_id", "epoch"], columns="column", values="value", aggfunc="last")
    table = table.reset_index()
    for col in EPOCH_COLUMNS:
        if col not in table.columns:
            table[col] = float("nan")
    table.columns.name = None
    return table[cols].sort_values(["run_id", "epoch"]).reset_index(drop=True)


def kept_epoch(table: pd.DataFrame, monitor: str = "valid_loss") -> int | None:
    """The epoch whose weights a run keeps (best.pt): the first epoch >= 1 with the lowest valid loss, or the
    highest valid accuracy when that is the monitor. `table` is epoch_table() of one run."""
    rows = table[(table["epoch"] >= 1) & table[monitor].notna()] if monitor in table else table.iloc[0:0]
    if rows.empty:
        return None
    return int(rows.loc[rows[monitor].idxmax() if monitor == "valid_acc" else rows[monitor].idxmin(), "epoch"])


def steps_per_epoch(metrics: pd.DataFrame) -> float | None:
    """Batches per epoch, read from the step counter of the first epoch-end row (None before one)."""
    ends = metrics[(metrics["split"] == "train") & (metrics["name"] == "loss") & (metrics["epoch"] > 0)]
    if ends.empty:
        return None
    first = ends.sort_values("epoch").iloc[0]
    return float(first["step"]) / float(first["epoch"]) if first["step"] > 0 else None


def add_reference_lines(fig: go.Figure, references: Mapping[str, float] | None) -> go.Figure:
    """Dashed horizontal lines with a label (e.g. the exercise's reported test accuracies)."""
    for label, value in (references or {}).items():
        fig.add_hline(y=value, line_dash="dash", line_color=REFERENCE_COLOR, line_width=1.5,
                      annotation_text=f"{label}: {value:.3f}", annotation_position="bottom right",
                      annotation_font_color=REFERENCE_COLOR)
    return fig


def curve_figure(metrics: pd.DataFrame, metric: str = "loss", title: str | None = None,
                 references: Mapping[str, float] | None = None, kept: int | None = None) -> go.Figure:
    """Train and valid `metric` per epoch for one run. For the loss, the smoothed per-batch train
    loss is drawn too (a thin line, placed at fractional epochs). `kept`: the epoch whose weights the
    run kept, marked by a vertical line."""
    fig = go.Figure()
    table = epoch_table(metrics)
    if metric == "loss" and not metrics.empty:
        smooth = metrics[(metrics["name"] == "loss_smooth") & (metrics["split"] == "train")]
        spe = steps_per_epoch(metrics)
        if not smooth.empty and spe:
            fig.add_trace(go.Scatter(x=smooth["step"] / spe, y=smooth["value"], mode="lines",
                                     name="train (smoothed, per batch)",
                                     line={"color": SPLIT_COLORS["train"], "width": 1}, opacity=0.45))
    for split in ("train", "valid"):
        col = f"{split}_{metric}"
        rows = table[table[col].notna()] if col in table else table.iloc[0:0]
        if not rows.empty:
            fig.add_trace(go.Scatter(x=rows["epoch"], y=rows[col], mode="lines+markers", name=f"{split} {metric}",
                                     line={"color": SPLIT_COLORS[split], "width": 3}, marker={"size": 7}))
    add_reference_lines(fig, references)
    if kept is not None:
        fig.add_vline(x=kept, line_dash="dot", line_color="#111827", line_width=1.5,
                      annotation_text=f"kept epoch {kept}", annotation_position="top left")
    fig = _layout(fig, title or METRIC_TITLES.get(metric, metric), "epoch", METRIC_TITLES.get(metric, metric))
    if metric == "acc":
        fig.update_yaxes(tickformat=".0%")
    last = int(table["epoch"].max()) if not table.empty else 1
    fig.update_xaxes(rangemode="tozero", tick0=0, dtick=max(1, -(-last // 10)))  # whole epochs
    return fig


def overlay_figure(metrics: pd.DataFrame, labels: Mapping[str, str], metric: str = "acc", split: str = "valid",
                   references: Mapping[str, float] | None = None, title: str | None = None) -> go.Figure:
    """One line per run: `split` `metric` per epoch, for comparing runs. `labels` maps run id -> legend.
    Each run has its own colour of a qualitative palette and a star on its best epoch; references are
    dashed legend entries; an accuracy axis is zoomed to the values drawn."""
    fig = go.Figure()
    table = epoch_table(metrics)
    col = f"{split}_{metric}"
    best = max if metric == "acc" else min
    shown: list[float] = []
    for i, (run_id, label) in enumerate(labels.items()):
        rows = table[(table["run_id"] == run_id) & table[col].notna()]
        if rows.empty:
            continue
        color = run_color(i)
        fig.add_trace(go.Scatter(x=rows["epoch"], y=rows[col], mode="lines+markers", name=label,
                                 legendgroup=run_id, line={"width": 2.5, "color": color}, marker={"size": 6}))
        top = rows.loc[rows[col].idxmax() if best is max else rows[col].idxmin()]
        fig.add_trace(go.Scatter(x=[top["epoch"]], y=[top[col]], mode="markers", legendgroup=run_id,
                                 showlegend=False, name=f"{label}: best epoch {int(top['epoch'])}",
                                 marker={"symbol": "star", "size": 16, "color": color,
                                         "line": {"width": 1, "color": "#111827"}}))
        shown += rows[col].tolist()
    last = int(table["epoch"].max()) if not table.empty else 1
    for j, (label, value) in enumerate((references or {}).items()):
        fig.add_trace(go.Scatter(x=[0, max(last, 1)], y=[value, value], mode="lines", name=f"{label}: {value:.3f}",
                                 line={"dash": "dash" if j % 2 == 0 else "dot", "color": REFERENCE_COLOR,
                                       "width": 1.5}, hoverinfo="name"))
        shown.append(value)
    name = METRIC_TITLES.get(metric, metric)
    fig = _layout(fig, title or f"{split} {name.lower()} per epoch (★ best epoch)", "epoch",
                  f"{split} {name.lower()}", height=460 + 22 * len(labels))
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0})
    if metric == "acc":
        fig.update_yaxes(tickformat=".0%", range=zoomed_range(shown))
    return fig


def zoomed_range(values: Sequence[float], pad: float = 0.05) -> list[float] | None:
    """An accuracy axis around `values` (a little room either side), never beyond [0, 1]."""
    values = [v for v in values if v == v]
    if not values:
        return None
    low, high = min(values), max(values)
    room = max((high - low) * pad, 0.01)
    return [max(0.0, low - room), min(1.0, high + room)]


def confusion_figure(matrix: Sequence[Sequence[int]], classes: Sequence[str], normalize: bool = False,
                     title: str = "Confusion matrix (test split)") -> go.Figure:
    """Heatmap: rows are true classes, columns predicted classes; each cell shows the count (and the
    share of its row when `normalize`)."""
    counts = pd.DataFrame(matrix, index=list(classes), columns=list(classes)).astype(float)
    totals = counts.sum(axis=1).replace(0, 1)
    shares = counts.div(totals, axis=0)
    z = shares if normalize else counts
    text = [[f"{int(c)}<br>{s:.0%}" if normalize else f"{int(c)}" for c, s in zip(crow, srow, strict=True)]
            for crow, srow in zip(counts.values, shares.values, strict=True)]
    fig = go.Figure(go.Heatmap(z=z.values, x=list(classes), y=list(classes), text=text, texttemplate="%{text}",
                               colorscale="Blues", showscale=False,
                               hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>"))
    size = max(360, 60 * len(classes) + 160)
    fig = _layout(fig, title, "predicted class", "true class", height=size)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    fig.update_layout(hovermode="closest")
    return fig


def per_class_figure(report: Mapping[str, Mapping[str, float]], classes: Sequence[str],
                     title: str = "Per-class precision, recall and F1 (test split)") -> go.Figure:
    """Grouped bars from a scikit-learn classification_report(output_dict=True)."""
    fig = go.Figure()
    for metric, color in (("precision", "#2563eb"), ("recall", "#ea580c"), ("f1-score", "#16a34a")):
        values = [float(report.get(c, {}).get(metric, float("nan"))) for c in classes]
        fig.add_trace(go.Bar(x=list(classes), y=values, name=metric.replace("-score", ""), marker_color=color,
                             text=[f"{v:.2f}" for v in values] if len(classes) <= 5 else None,
                             textposition="outside"))
    fig = _layout(fig, title, "class", "score", height=400)
    fig.update_layout(barmode="group", hovermode="closest")
    fig.update_yaxes(range=[0, 1.1])
    fig.update_xaxes(type="category")
    return fig


def per_class_table(report: Mapping[str, Mapping[str, float]], classes: Sequence[str]) -> pd.DataFrame:
    rows = [{"class": c, "precision": report[c]["precision"], "recall": report[c]["recall"],
             "F1": report[c]["f1-score"], "support": int(report[c]["support"])} for c in classes if c in report]
    return pd.DataFrame(rows, columns=["class", "precision", "recall", "F1", "support"])


def probability_figure(probs: Mapping[str, float], title: str = "Class probabilities") -> go.Figure:
    """Horizontal bars, most likely class on top and highlighted."""
    items = sorted(probs.items(), key=lambda kv: kv[1])
    top = items[-1][0] if items else None
    colors = ["#2563eb" if name == top else "#93c5fd" for name, _ in items]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h", marker_color=colors,
                           text=[f"{v:.1%}" for _, v in items], textposition="auto"))
    fig = _layout(fig, title, "probability", "", height=max(240, 60 * len(items) + 120))
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(type="category")  # class names like "7" are labels, not numbers: show every one
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig
