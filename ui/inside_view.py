"""Streamlit views of what happens inside a network (the chart builders are in ui/inside_charts.py)."""

from __future__ import annotations

import streamlit as st

from ui import inside_charts


def architecture(summary: dict, key: str = "train_architecture") -> None:
    """The layer table and a diagram of the layers for the settings on the page (before training)."""
    layers = len(summary["layers"])
    with st.expander(f"Architecture: {layers} layers, {summary['total_params']:,} parameters",
                     icon=":material/account_tree:"):
        st.caption("Output shapes are for one batch of the chosen batch size"
                   + (" and 16-word titles" if len(summary.get("input_shape") or []) == 2
                      and summary.get("model") in ("rnn", "textcnn", "transformer") else "")
                   + ". Computed without allocating any weight (PyTorch's meta device).")
        table_col, diagram_col = st.columns([3, 2])
        table_col.dataframe(inside_charts.summary_table(summary), hide_index=True, key=f"{key}_table",
                            width="stretch")
        diagram_col.plotly_chart(inside_charts.architecture_figure(summary), key=f"{key}_diagram",
                                 width="stretch", config={"displayModeBar": False})
        if summary.get("note"):
            st.caption(summary["note"])
