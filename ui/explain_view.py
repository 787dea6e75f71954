"""Predict page: why the model answered as it did (engine/predict/explain.py), for one headline or picture."""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine.predict.explain import explain_image, explain_text
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


def headline(predictor: Predictor, text: str) -> None:
    """Word attributions of one headline's answer: coloured words and a bar per word."""
    try:
        out = explain_text(predictor, text)
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
