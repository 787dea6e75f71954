"""Runs page for image runs: per-class test accuracy and a grid of test images titled
"pred (true)", green when right, red when wrong, optionally only the mistakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

GREEN, RED = "#16a34a", "#dc2626"


def per_class_accuracy_figure(per_class_acc: Mapping[str, float]) -> go.Figure:
    names = list(per_class_acc)
    values = [float(per_class_acc[n]) for n in names]
    low = min(values) if values else 0.0
    fig = go.Figure(go.Bar(x=names, y=values, text=[f"{v:.1%}" for v in values], textposition="outside",
                           marker_color=["#2563eb" if v > low else RED for v in values]))
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
                      xaxis_title="true class", yaxis_title="test accuracy")
    fig.update_yaxes(range=[max(0.0, low - 0.05), 1.0], tickformat=".0%")
    fig.update_xaxes(type="category")
    return fig


def grid_items(preds: Sequence[int], trues: Sequence[int], only_mistakes: bool, limit: int) -> list[int]:
    """Indices of the test images to show, in test order."""
    idx = [i for i, (p, t) in enumerate(zip(preds, trues, strict=False)) if not only_mistakes or p != t]
    return idx[:limit]


def grid_figure(images: np.ndarray, preds: Sequence[int], trues: Sequence[int], classes: Sequence[str],
                columns: int = 10) -> go.Figure:
    """Test images in a grid, each titled "pred (true)": green when right, red when wrong."""
    images = np.asarray(images, dtype=np.float32)
    fig = px.imshow(images, facet_col=0, facet_col_wrap=columns, binary_string=True,
                    facet_row_spacing=0.3 / max(1, -(-len(images) // columns)), facet_col_spacing=0.01)
    # plotly numbers facets from the bottom-left; annotations follow the image order
    for ann in fig.layout.annotations:
        i = int(ann.text.split("=")[-1])
        right = preds[i] == trues[i]
        ann.text = f"{classes[preds[i]]} ({classes[trues[i]]})"
        ann.font = {"color": GREEN if right else RED, "size": 13}
    rows = -(-len(images) // columns)
    fig.update_layout(height=110 * rows + 40, margin={"l": 0, "r": 0, "t": 30, "b": 0})
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


@st.cache_resource(show_spinner="Loading the test images…", max_entries=2)
def _test_split(home: str, dataset: str, data_args: tuple) -> tuple[np.ndarray, np.ndarray]:
    from engine.data import load_dataset

    ds = load_dataset(dataset, home, **dict(data_args))
    return ds.test.x, ds.test.y


def _predictions(store, run_id: str, images: np.ndarray) -> list[int]:
    """Predictions for runs that stored none (trained before runs kept them)."""
    from engine.predict.predictor import Predictor

    return Predictor.from_run(store, run_id).probabilities(images).argmax(1).tolist()


def render(store, run_id: str) -> None:
    result = store.result(run_id) or {}
    cfg = store.get_run(run_id)["config"]
    per_class = result.get("per_class_acc") or {}
    if per_class:
        st.markdown("#### Per-class test accuracy")
        st.plotly_chart(per_class_accuracy_figure(per_class), key="runs_image_per_class_acc")
        st.dataframe(pd.DataFrame([per_class], index=["test accuracy"]), key="runs_image_per_class_table",
                     column_config={c: st.column_config.NumberColumn(format="%.3f") for c in per_class})
        st.caption("For each true digit, the share of its test images the model got right (the weakest in red).")
    try:
        images, trues = _test_split(str(store.home), cfg["dataset"], tuple(sorted(cfg.get("data_args", {}).items())))
    except Exception as exc:  # data removed since the run: the grid is optional
        st.caption(f"The test images are not available: {exc}")
        return
    preds = result.get("test_predictions")
    if not preds:
        preds = _predictions(store, run_id, images[:500])
    classes = result.get("classes") or [str(i) for i in range(10)]
    st.markdown("#### Test images: prediction (truth)")
    c1, c2 = st.columns([1, 2])
    only_mistakes = c1.toggle("Only mistakes", key="runs_grid_mistakes")
    limit = c2.select_slider("Images", options=[20, 50, 100], value=50, key="runs_grid_limit")
    idx = grid_items(preds, trues[: len(preds)], only_mistakes, limit)
    if not idx:
        st.caption(f"No mistakes among the first {len(preds)} test images.")
        return
    st.plotly_chart(grid_figure(images[idx], [int(preds[i]) for i in idx], [int(trues[i]) for i in idx], classes),
                    key="runs_image_grid")
    wrong = sum(int(preds[i]) != int(trues[i]) for i in range(len(preds)))
    st.caption(f"The first {len(preds)} test images hold {wrong} mistakes; titles read prediction (truth), "
               "green when right, red when wrong.")
