"""Predict page: why the model answered as it did (engine/predict/explain.py), for one headline or picture."""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine.predict.explain import explain_image, explain_row, explain_text
from engine.predict.predictor import InputError, Predictor
from ui import inside_charts
from ui.text_view import escape_markdown


def coloured_words(attributions: list[dict]) -> str:
    """Markdown of the words, green where they pushed towards the answer and red against it; bold where the
    push is at least half the strongest one. Every word is escaped."""
    top = max((abs(a["score"]) for a in attributions), default=0.0) or 1.0
    parts = []
    for a in attributions:
        word = escape_markdown(a["token"])
        colour = "green" if a["score"] >= 0 else "red"
        text = f":{colour}-background[{word}]"
        parts.append(f"**{text}**" if abs(a["score"]) >= top / 2 else text)
    return " ".join(parts)


def _explained(predictor: Predictor, text: str) -> dict:
    """explain_text, kept for the latest (run, headline) of this session: the attention pickers redraw without
    integrating again."""
    key = (predictor.source, id(predictor), text)
    kept = st.session_state.get("predict_explain_kept")
    if kept is None or kept[0] != key:
        kept = (key, explain_text(predictor, text))
        st.session_state["predict_explain_kept"] = kept
    return kept[1]


def headline(predictor: Predictor, text: str) -> None:
    """Word attributions of one headline's answer: coloured words and a bar per word; a transformer's attention."""
    try:
        with st.spinner("Working out which words mattered…"):
            out = _explained(predictor, text)
    except InputError as exc:
        st.caption(f"No explanation: {exc}")
        return
    st.markdown("#### Why this answer")
    st.caption("Top 3: " + " · ".join(f"{escape_markdown(t['label'])} {t['prob']:.1%}" for t in out["top"]))
    if out.get("note"):
        st.warning(out["note"].capitalize() + ": none of the words reached the model, so the answer says nothing "
                   "about this headline.", icon=":material/help:")
        return
    st.markdown(coloured_words(out["attributions"]))
    st.plotly_chart(inside_charts.attribution_figure(out["attributions"], out["label"]), key="predict_explain_words")
    st.caption(f"{out['method'].capitalize()} (Captum): each word's score is its share of the change in the "
               f"logit of “{out['label']}” from an input without any word ({out['logit_change']:+.3f}); the scores "
               f"add up to it (numerical error {abs(out['delta']):.2g}).")
    if out.get("attention"):
        attention(out["attention"])


def attention(att: dict) -> None:
    """A layer and head picker and that head's token x token attention heatmap."""
    st.markdown("#### Where the transformer looks")
    left, right = st.columns(2)
    layer = left.selectbox("Layer", range(1, att["layers"] + 1), index=att["layers"] - 1, key="predict_attn_layer",
                           help="1 is closest to the words, the last one feeds the answer")
    head = right.selectbox("Head", ["mean of all heads", *range(1, att["heads"] + 1)], key="predict_attn_head")
    per_head = np.asarray(att["weights"][layer - 1], dtype=np.float32)
    weights = per_head.mean(0) if head == "mean of all heads" else per_head[head - 1]
    title = f"Layer {layer}, " + ("mean of its heads" if head == "mean of all heads" else f"head {head}")
    st.plotly_chart(inside_charts.attention_figure(weights.tolist(), att["tokens"], title),
                    key="predict_explain_attention")
    st.caption("Each row is one word piece: how much it takes from each word piece (the columns) when the layer "
               "computes its new state; every row adds up to 1. [CLS] and [SEP] mark the start and end; many heads "
               "park their attention on them when nothing else matters.")


def picture(predictor: Predictor, image, paper: float | None = None) -> None:
    """The saliency map of one picture's answer, and a CNN's first feature maps."""
    try:
        out = explain_image(predictor, image, paper)
    except InputError as exc:
        st.caption(f"No explanation: {exc}")
        return
    st.markdown("#### Why this answer")
    left, right = st.columns([1, 2])
    left.plotly_chart(inside_charts.saliency_figure(out["saliency"]), key="predict_explain_saliency")
    right.caption("Bright pixels: where a small change of the ink would change the answer's logit most "
                  "(the gradient's size at the model's input resolution).")
    if out.get("feature_maps"):
        maps = [np.asarray(m, dtype=np.float32) for m in out["feature_maps"][:16]]
        right.markdown(f"**The first convolution's {len(out['feature_maps'])} feature maps** (the first 16)")
        right.image([(m - m.min()) / ((m.max() - m.min()) or 1.0) for m in maps], width=64)


def table_row(predictor: Predictor, row: dict) -> None:
    """Each column's contribution to one table row's answer, as bars sorted by size."""
    try:
        out = explain_row(predictor, row)
    except InputError as exc:
        st.caption(f"No explanation: {exc}")
        return
    answer = f"“{out['label']}”" if "label" in out else f"{out['value']:.4g}"
    what = f"the log-probability of {answer}" if "label" in out else "the predicted value"
    st.plotly_chart(inside_charts.contribution_figure(out["contributions"], f"Each column's share of {what}"),
                    key="predict_explain_table")
    st.caption(f"{out['method'].capitalize()} (Captum), from a row with every number at its training mean and no "
               f"category ({what}: {out['baseline_output']:.4g}) to this row ({out['output_change']:+.4g}); "
               f"the contributions add up to that change (numerical error {abs(out['delta']):.2g}).")
