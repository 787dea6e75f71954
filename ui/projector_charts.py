"""Chart builders of the projector (engine/predict/projector.py): pure functions, no Streamlit, tested in tests/ui."""

from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

PROJECTOR_META = "projector"  # layout.meta of the projector figures
PALETTE = px.colors.qualitative.D3


def projector_figure(out: dict) -> go.Figure:
    """The examples in 2-D, a colour per true class; a mistake is drawn as an x (a circle when right). Hover: the
    test index, true and predicted class, and the headline for text runs. customdata[0] is the test index."""
    rows = out["rows"]
    classes = out["classes"]
    fig = go.Figure()
    for c, name in enumerate(classes):
        for wrong in (False, True):
            part = [r for r in rows if r["true"] == name and (r["pred"] != r["true"]) == wrong]
            if not part:
                continue
            hover = ["#{} · true {} · predicted {}{}".format(r["index"], r["true"], r["pred"],
                                                              "<br>" + r["text"] if r.get("text") else "")
                     for r in part]
            fig.add_trace(go.Scatter(
                x=[r["x"] for r in part], y=[r["y"] for r in part], mode="markers",
                name=f"{name} (mistakes)" if wrong else name, legendgroup=name,
                marker={"color": PALETTE[c % len(PALETTE)], "symbol": "x" if wrong else "circle",
                        "size": 9 if wrong else 6, "opacity": 1.0 if wrong else 0.6,
                        "line": {"width": 1, "color": "#111827"} if wrong else {"width": 0}},
                customdata=[[r["index"]] for r in part], hovertext=hover, hoverinfo="text"))
    axis = "PC" if out["method"] == "pca" else "t-SNE "
    explained = out.get("explained") or []
    titles = [f"{axis}{i + 1}" + (f" ({explained[i]:.0%} of the variance)" if explained else "") for i in range(2)]
    fig.update_layout(meta=PROJECTOR_META, height=520, margin={"l": 10, "r": 10, "t": 40, "b": 40},
                      title={"text": f"{len(rows)} test examples as the output layer sees them "
                                     f"({out['layer_dim']} numbers each, {out['method'].upper()} to 2-D)"},
                      xaxis_title=titles[0], yaxis_title=titles[1], legend={"itemsizing": "constant"})
    return fig


def scaled_pictures(images: list) -> list[np.ndarray]:
    """Each picture scaled to [0, 1] on its own (weights and filters have arbitrary ranges)."""
    out = []
    for image in images:
        a = np.asarray(image, dtype=np.float32)
        span = float(a.max() - a.min())
        out.append((a - a.min()) / span if span > 0 else np.zeros_like(a))
    return out
