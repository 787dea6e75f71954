"""Chart builders for what happens inside a network: pure functions (summary dicts, DataFrames -> tables and
plotly figures), no Streamlit, tested in tests/ui."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

ARCH_META = "architecture"  # layout.meta of the architecture diagram (pages tell it from the live charts)
HEALTH_META = "layer_health"  # layout.meta of the layer-health figures
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


# --- layer health (engine/training/layer_health.py rows) --------------------------------------
LAYER_STATS = {"grad_norm": "gradient norm", "weight_norm": "weight norm", "update_ratio": "update / weight ratio",
               "act_mean": "activation mean", "act_std": "activation std", "dead": "dead ReLU units (share)",
               "saturated": "saturated units (share)"}
LOG_STATS = ("grad_norm", "weight_norm", "update_ratio")  # span orders of magnitude: drawn as log10
MAX_PANELS = 16


def layer_frame(rows: list[dict]) -> pd.DataFrame:
    """One row per (epoch, layer); `label` is "layer (Type)"; layers keep the model's order (`order`)."""
    cols = ["epoch", "layer", "type", "label", "order", "params", *LAYER_STATS]
    if not rows:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame([{k: r.get(k) for k in cols if k not in ("label", "order")} for r in rows])
    order = {name: i for i, name in enumerate(dict.fromkeys(frame["layer"]))}
    frame["order"] = frame["layer"].map(order)
    frame["label"] = frame["layer"] + " (" + frame["type"] + ")"
    for stat in LAYER_STATS:
        frame[stat] = pd.to_numeric(frame[stat], errors="coerce")
    return frame[cols]


def _log(values: pd.Series) -> pd.Series:
    return values.where(values > 0).map(lambda v: math.log10(v) if v == v else v)


def layer_heatmap(frame: pd.DataFrame, stat: str) -> go.Figure:
    """Layers (rows, input at the top) x epochs (columns), coloured by `stat` (log10 for the norms)."""
    table = frame.pivot_table(index="order", columns="epoch", values=stat, aggfunc="last", dropna=False)
    table = table.reindex(index=sorted(frame["order"].unique()), columns=sorted(frame["epoch"].unique()))
    labels = frame.drop_duplicates("order").set_index("order")["label"]
    z = table.apply(_log) if stat in LOG_STATS else table
    title = ("log10 " if stat in LOG_STATS else "") + LAYER_STATS[stat]
    fig = go.Figure(go.Heatmap(z=z.values, x=[int(e) for e in table.columns], y=[labels[i] for i in table.index],
                               colorscale="Viridis", colorbar={"title": {"text": title}},
                               customdata=table.values,
                               hovertemplate="%{y}<br>epoch %{x}<br>" + LAYER_STATS[stat] + " %{customdata:.3g}"
                                             "<extra></extra>"))
    fig.update_layout(meta=HEALTH_META, height=max(220, 26 * len(table) + 110), margin={"l": 10, "r": 10, "t": 40, "b": 40},
                      title={"text": f"{LAYER_STATS[stat].capitalize()} per layer and epoch"},
                      xaxis={"title": "epoch", "dtick": 1}, yaxis={"autorange": "reversed"})
    return fig


def _grid(n: int, cols: int = 4) -> tuple[int, int]:
    return max(1, math.ceil(n / cols)), min(cols, max(1, n))


def layer_multiples(frame: pd.DataFrame, stat: str) -> go.Figure:
    """One small panel per layer (at most MAX_PANELS): `stat` over the epochs, on a shared y axis."""
    from plotly.subplots import make_subplots

    labels = list(frame.sort_values("order")["label"].drop_duplicates())[:MAX_PANELS]
    rows, cols = _grid(len(labels))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=labels, shared_yaxes=True, vertical_spacing=0.12)
    for i, label in enumerate(labels):
        part = frame[frame["label"] == label].sort_values("epoch")
        fig.add_trace(go.Scatter(x=part["epoch"], y=part[stat], mode="lines+markers", name=label, showlegend=False,
                                 line={"color": "#2563eb"}), row=i // cols + 1, col=i % cols + 1)
    if stat in LOG_STATS:
        fig.update_yaxes(type="log")
    fig.update_annotations(font_size=11)
    fig.update_layout(meta=HEALTH_META, height=170 * rows + 40, margin={"l": 10, "r": 10, "t": 40, "b": 20})
    return fig


def histogram_figure(rows: list[dict], kind: str = "weight") -> go.Figure:
    """Small multiples of the stored `kind` ("weight" or "grad") histograms of one epoch, a panel per layer."""
    from plotly.subplots import make_subplots

    rows = [r for r in rows if r.get(f"{kind}_hist")][:MAX_PANELS]
    n_rows, cols = _grid(len(rows))
    fig = make_subplots(rows=n_rows, cols=cols, subplot_titles=[f"{r['layer']} ({r['type']})" for r in rows],
                        vertical_spacing=0.14)
    for i, r in enumerate(rows):
        h = r[f"{kind}_hist"]
        width = (h["hi"] - h["lo"]) / len(h["counts"])
        centers = [h["lo"] + width * (j + 0.5) for j in range(len(h["counts"]))]
        fig.add_trace(go.Bar(x=centers, y=h["counts"], width=width, showlegend=False,
                             marker_color="#2563eb" if kind == "weight" else "#ea580c"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_annotations(font_size=11)
    fig.update_layout(meta=HEALTH_META, height=170 * n_rows + 40, margin={"l": 10, "r": 10, "t": 40, "b": 20},
                      bargap=0)
    return fig


def position_grad_figure(row: dict) -> go.Figure:
    """The gradient norm reaching each word of a sequence model's embedding (one layer-health row): counted back
    from each title's last word and forward from its first, on a log axis (a vanishing gradient is a straight
    falling line)."""
    fig = go.Figure()
    for key, name, color in (("grad_from_last", "words before the last word", "#2563eb"),
                             ("grad_by_position", "words after the first word", "#9ca3af")):
        values = row.get(key) or []
        fig.add_trace(go.Scatter(x=list(range(len(values))), y=values, mode="lines+markers", name=name,
                                 line={"color": color},
                                 hovertemplate="%{x} " + name + ": %{y:.3g}<extra></extra>"))
    fig.update_layout(meta=HEALTH_META, height=300, margin={"l": 10, "r": 10, "t": 40, "b": 40},
                      title={"text": f"Gradient reaching each word (epoch {row.get('epoch')})"},
                      xaxis={"title": "words away", "dtick": 1}, yaxis={"title": "gradient norm", "type": "log"},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def position_compare_figure(lines: dict[str, dict], colors: dict[str, str] | None = None) -> go.Figure:
    """Runs side by side: {legend label: that run's layer-health row of its word embedding}, each its gradient
    norm counted back from the last word, on a log axis; `colors` (label -> colour) keeps each run's colour of
    the curves chart beside it."""
    fig = go.Figure()
    for label, row in lines.items():
        values = row.get("grad_from_last") or []
        fig.add_trace(go.Scatter(x=list(range(len(values))), y=values, mode="lines+markers",
                                 name=f"{label} (epoch {row.get('epoch')})",
                                 line={"color": (colors or {}).get(label)},
                                 hovertemplate="%{x} words before the last: %{y:.3g}<extra></extra>"))
    fig.update_layout(meta=HEALTH_META, height=340, margin={"l": 10, "r": 10, "t": 40, "b": 40},
                      title={"text": "Gradient reaching each word, counted back from the last word"},
                      xaxis={"title": "words before the last word", "dtick": 1},
                      yaxis={"title": "gradient norm", "type": "log"}, legend={"orientation": "h", "y": -0.25})
    return fig


# --- why this answer (engine/predict/explain.py) ---------------------------------------------------
EXPLAIN_META = "explain"


def attribution_figure(attributions: list[dict], label: str) -> go.Figure:
    """A bar per word, in reading order: how much it pushed the logit of `label` up (green) or down (red)."""
    words = [f"{i + 1}. {a['token']}" for i, a in enumerate(attributions)]
    scores = [a["score"] for a in attributions]
    fig = go.Figure(go.Bar(x=scores, y=words, orientation="h",
                           marker_color=["#16a34a" if s >= 0 else "#dc2626" for s in scores],
                           hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.update_layout(meta=EXPLAIN_META, height=max(180, 28 * len(words) + 80),
                      margin={"l": 10, "r": 10, "t": 40, "b": 40}, yaxis={"autorange": "reversed"},
                      title={"text": f"Each word's share of the logit of “{label}”"}, xaxis_title="attribution")
    return fig


def saliency_figure(saliency: list[list[float]], title: str = "Saliency: |d logit / d pixel|") -> go.Figure:
    """The saliency map as a heatmap, row 0 at the top (as the picture)."""
    fig = go.Figure(go.Heatmap(z=saliency, colorscale="Hot", reversescale=True, showscale=False,
                               hovertemplate="row %{y}, column %{x}: %{z:.3g}<extra></extra>"))
    fig.update_layout(meta=EXPLAIN_META, height=260, width=260, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": title}, yaxis={"autorange": "reversed", "visible": False,
                                                    "scaleanchor": "x"}, xaxis={"visible": False})
    return fig


def attention_figure(weights: list[list[float]], tokens: list[str], title: str) -> go.Figure:
    """One head's attention as a token x token heatmap: row = the token that looks (query), column = the token it
    looks at (key); each row sums to 1."""
    labels = [f"{i}. {t}" for i, t in enumerate(tokens)]  # numbered: a word twice stays two rows
    fig = go.Figure(go.Heatmap(z=weights, x=labels, y=labels, colorscale="Blues", zmin=0.0, zmax=1.0,
                               colorbar={"title": {"text": "weight"}},
                               hovertemplate="%{y} looks at %{x}: %{z:.3f}<extra></extra>"))
    side = max(320, 26 * len(tokens) + 140)
    fig.update_layout(meta=EXPLAIN_META, height=side, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      title={"text": title}, yaxis={"autorange": "reversed", "title": "query (looks)"},
                      xaxis={"side": "top", "title": "key (looked at)", "tickangle": -45})
    return fig


def contribution_figure(contributions: list[dict], title: str) -> go.Figure:
    """A bar per table column, the largest push (either way) at the top: green raised the output, red lowered it."""
    items = sorted(contributions, key=lambda c: -abs(c["score"]))
    labels = [f"{c['feature']} = {'(mean)' if c['value'] is None else c['value']}" for c in items]
    scores = [c["score"] for c in items]
    fig = go.Figure(go.Bar(x=scores, y=labels, orientation="h",
                           marker_color=["#16a34a" if s >= 0 else "#dc2626" for s in scores],
                           hovertemplate="%{y}: %{x:+.4g}<extra></extra>"))
    fig.update_layout(meta=EXPLAIN_META, height=max(180, 28 * len(items) + 80),
                      margin={"l": 10, "r": 10, "t": 40, "b": 40}, yaxis={"autorange": "reversed"},
                      title={"text": title}, xaxis_title="contribution")
    return fig
