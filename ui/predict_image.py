"""Predict page for digit runs: draw on a canvas (or upload a PNG/JPEG), see the preprocessed
28x28 (or 8x8) input the model gets beside its class probabilities.

The canvas (streamlit-drawable-canvas) has no clear API: the Clear button gives it a new key, which
mounts a fresh, empty canvas."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from engine.predict.predictor import InputError, Predictor
from ui import charts

CANVAS_SIZE = 280
CANVAS_PAPER = 0.0  # the canvas background (#000000): a canvas painted all over is all ink, not blank paper


def input_picture(x: np.ndarray, size: int = 196) -> Image.Image:
    """The model's input (H, W) in [0, 1] as a large, blocky grey picture (each pixel a square)."""
    img = Image.fromarray((np.clip(x, 0, 1) * 255).astype(np.uint8), mode="L")
    return img.resize((size, size), Image.Resampling.NEAREST)


def pick_source(canvas_rgba: np.ndarray | None, upload: bytes | None):
    """(picture, its description, its paper grey) — an uploaded picture (paper guessed) wins over the
    canvas (black paper); None when there is neither."""
    if upload:
        return upload, "the uploaded picture", None
    if canvas_rgba is not None:
        return np.asarray(canvas_rgba), "your drawing", CANVAS_PAPER
    return None, "", None


def top_classes(classes, probs, k: int = 3) -> list[tuple[str, float]]:
    """The `k` most likely classes with their probabilities, most likely first."""
    return sorted(zip(map(str, classes), map(float, probs), strict=True), key=lambda kv: -kv[1])[:k]


def best_run(runs: list[dict], results: dict, dataset: str = "mnist") -> str | None:
    """The finished run of `dataset` with the highest test accuracy (None when there is none)."""
    scored = [(results.get(r["id"]) or {}).get("test_acc") for r in runs]
    ranked = [(acc, r["id"]) for r, acc in zip(runs, scored, strict=True)
              if r["config"].get("dataset") == dataset and acc is not None]
    return max(ranked)[1] if ranked else None


def _switch(run_id: str) -> None:
    st.session_state["predict_run"] = run_id


def coarse_notice(best_mnist: str | None) -> None:
    """Under an 8x8 digits model: drawings lose their shape at 8x8; steer to an MNIST (28x28) run."""
    st.warning("**8x8 digits are too coarse for drawings**: shrunk to 8x8 pixels, a drawn 7 often looks like a 4 "
               "or a 3 to this model. A model trained on MNIST's 28x28 digits reads drawings far better.",
               icon=":material/grid_on:")
    if best_mnist:
        st.button(f"Use the best MNIST run ({best_mnist})", key="predict_use_mnist", on_click=_switch,
                  args=(best_mnist,), icon=":material/swap_horiz:", type="primary")
    else:
        st.page_link("pages/1_Train.py", label="Train an MNIST CNN (fetch MNIST on Home first if needed)",
                     icon=":material/model_training:", query_params={"dataset": "mnist", "model": "cnn"})


def _clear() -> None:
    st.session_state["predict_canvas_n"] = st.session_state.get("predict_canvas_n", 0) + 1


@st.fragment
def render(predictor: Predictor, explain=None) -> None:
    """The canvas (or an upload) and the prediction, as a fragment: a stroke redraws this part only.
    `explain(predictor, picture, paper)`, when given, draws an explanation of the prediction below it."""
    from streamlit_drawable_canvas import st_canvas  # registers its component: needs the Streamlit runtime

    h, w = predictor.image_shape
    left, right = st.columns([1, 1])
    with left:
        st.markdown("**Draw one digit** with the mouse (or a finger), as large as you like:")
        brush = st.slider("Brush width", min_value=4, max_value=40, value=18, step=1, key="predict_brush",
                          help="MNIST digits have strokes about a tenth of the digit's height")
        n = st.session_state.get("predict_canvas_n", 0)
        canvas = st_canvas(stroke_width=brush, stroke_color="#FFFFFF", background_color="#000000",
                           width=CANVAS_SIZE, height=CANVAS_SIZE, drawing_mode="freedraw",
                           return_image_data=True, key=f"predict_canvas_{n}")
        st.button("Clear", key="predict_clear", on_click=_clear, icon=":material/ink_eraser:")
        upload = st.file_uploader("…or upload a picture of one digit (PNG or JPEG)", type=["png", "jpg", "jpeg"],
                                  key="predict_image_upload")
    data = upload.getvalue() if upload is not None else None
    source, what, paper = pick_source(canvas.image_data if canvas is not None else None, data)
    with right:
        if source is None:
            st.info("Draw a digit on the canvas (or upload a picture) to see the prediction.")
            return
        try:
            item = predictor.predict_images([source], paper)[0]
        except InputError as exc:
            st.info(f"Nothing to predict yet: {exc}.")
            return
        top = top_classes(predictor.classes, item["probs"])
        st.metric("Prediction", str(item["label"]))
        st.markdown("**Top 3**: " + " · ".join(f"{c} ({p:.0%})" for c, p in top))
        probs = dict(zip(predictor.classes, item["probs"], strict=True))
        st.plotly_chart(charts.probability_figure(probs, "Class probabilities (softmax output)"),
                        key="predict_image_probs")
    with left:
        st.image(input_picture(item["image"]), caption=f"What the model sees: {what} as {h}x{w} pixels",
                 width=196)
        st.caption("Like MNIST was made: the ink is cropped to its box, scaled so the longer side is 20 of 28 "
                   "pixels, and centred by its centre of mass." if (h, w) != (8, 8) else
                   "Like scikit-learn's digits were made: the ink is cropped, scaled to a 32x32 field and "
                   "counted in 4x4 blocks (8x8 values from 0 to 1).")
    if explain is not None:
        explain(predictor, source, paper)
