"""Streamlit views of what happens inside a network (the chart builders are in ui/inside_charts.py)."""

from __future__ import annotations

import streamlit as st

from ui import charts, inside_charts


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


def layer_health(rows: list[dict], key: str) -> None:
    """A run's layer health: a layer x epoch heatmap and small multiples of one statistic, and the weight and
    gradient histograms of a chosen epoch (`key`: the widget-key prefix of this page)."""
    if not rows:
        st.caption("Layer health appears here after the first epoch (closed-form models have none).")
        return
    frame = inside_charts.layer_frame(rows)
    left, right = st.columns([2, 3])
    stat = left.selectbox("Statistic", list(inside_charts.LAYER_STATS), format_func=inside_charts.LAYER_STATS.get,
                          key=f"{key}_stat", help="gradient norm: how much each layer is told to change; a layer "
                          "near the input whose gradient is orders of magnitude below the others barely learns "
                          "(the vanishing gradient)")
    view = right.radio("View", ["heatmap", "small multiples"], horizontal=True, key=f"{key}_view")
    if view == "heatmap":
        st.plotly_chart(inside_charts.layer_heatmap(frame, stat), key=f"{key}_heatmap")
    else:
        st.plotly_chart(inside_charts.layer_multiples(frame, stat), key=f"{key}_multiples")
    epochs = sorted(frame["epoch"].unique().tolist())
    epoch = epochs[-1] if len(epochs) == 1 else st.select_slider("Histograms of epoch", epochs, value=epochs[-1],
                                                                  key=f"{key}_epoch")
    kind = st.radio("Histogram of", ["weight", "grad"], horizontal=True, key=f"{key}_hist_kind",
                    format_func={"weight": "weights", "grad": "gradients (last sampled step)"}.get)
    st.plotly_chart(inside_charts.histogram_figure([r for r in rows if r["epoch"] == epoch], kind),
                    key=f"{key}_hist")
    words = next((r for r in rows if r["epoch"] == epoch and r.get("grad_from_last")), None)
    if words is not None:
        st.plotly_chart(inside_charts.position_grad_figure(words), key=f"{key}_positions")
        st.caption("How much of the loss's gradient reaches each word's vector, counted back from each title's last "
                   "word (blue) and on from its first (grey): the median title of the sampled training steps. In a "
                   "recurrent network it reaches an early word only through every later step; where it shrinks at "
                   "each step (a falling line on this log axis), the early words barely learn: the vanishing "
                   "gradient. A network that reads the padding (the rnn's pack off, as in the exercise's preset) "
                   "also passes it back through every pad step after a shorter title. Compare a plain RNN run with a "
                   "GRU run on the same data and epochs.")
    st.caption("Recorded by the run's worker on a few sampled training steps per epoch. Update / weight ratio: how "
               "far one optimizer step moves a layer's weights relative to their size (around 1e-3 is healthy).")


def run_inside(store, run_id: str, key: str) -> None:
    """An expander with what the run recorded about its layers (nothing when it recorded none yet)."""
    rows = store.layers(run_id)
    if not rows:
        return
    with st.expander("Inside the network: layer health per epoch", icon=":material/monitor_heart:"):
        layer_health(rows, key)


SEQUENCE_MODELS = ("rnn", "textcnn")  # the models whose word embedding's gradient is recorded per position


def compare_word_gradients(store, chosen: list[dict], labels: dict[str, str]) -> None:
    """The picked sequence runs' gradient per word (their last recorded epoch) in one chart, e.g. the exercise's
    plain RNN beside a GRU."""
    lines, colors = {}, {}
    for i, run in enumerate(chosen):
        if run.get("model") in SEQUENCE_MODELS:
            rows = [r for r in store.layers(run["run_id"]) if r.get("grad_from_last")]
            if rows:
                label = labels[run["run_id"]]
                lines[label], colors[label] = rows[-1], charts.run_color(i)
    if not lines:
        return
    st.plotly_chart(inside_charts.position_compare_figure(lines, colors), key="runs_compare_words")
    st.caption("How much gradient reaches each word's vector (the median title), counted back from each title's "
               "last word, in the last recorded epoch of each picked recurrent or convolutional run. A line that "
               "falls by the same factor at each step is a vanishing gradient: the first words of a title barely "
               "learn.")
