"""Predict: try a trained run on your own input and see what the model saw."""

import hashlib
import tempfile
from pathlib import Path

import streamlit as st

from engine.jobs.store import FINISHED
from engine.paths import safe_child
from engine.predict.predictor import Predictor
from engine.training.checkpoint import CheckpointError
from ui import explain_view, permissions, predict_image, predict_table, predict_text, state
from ui.text_view import escape_markdown

st.set_page_config(page_title="Predict · NN Lab", page_icon=":material/online_prediction:", layout="wide")
permissions.page_guard()
st.title(":material/online_prediction: Predict")
st.caption("Pick a finished run and give it an input it has never seen. The model answers with a probability "
           "for every class; below, you see exactly what it was given after preprocessing.")


@st.cache_resource(show_spinner="Loading the trained model…", max_entries=4)
def load_predictor(home: str, run_id: str, mtime: float) -> Predictor:
    """One Predictor per (run, checkpoint version); a newer checkpoint (a resumed run) reloads."""
    return Predictor.from_run(state.store(), run_id)


def checkpoint_mtime(run_id: str) -> float | None:
    folder = state.store().run_dir(run_id)
    for name in ("best.pt", "last.pt"):
        if (folder / name).exists():
            return (folder / name).stat().st_mtime
    return None


@st.cache_resource(show_spinner="Loading the checkpoint…", max_entries=4)
def load_uploaded(home: str, name: str, digest: str, _data: bytes) -> Predictor:
    """An uploaded checkpoint, written to a temporary folder removed once it is loaded (only its base name is
    kept) and loaded with weights_only=True: a file that would run code is refused."""
    with tempfile.TemporaryDirectory(prefix="nnlab-upload-") as folder:
        path = safe_child(Path(folder), f"{digest[:12]}-{name}")
        path.write_bytes(_data)
        return Predictor.from_checkpoint(path, home)


store = state.store()
runs = [r for r in store.list_runs(FINISHED) if checkpoint_mtime(r["id"]) is not None]
source = st.segmented_control("Model", ["A run of this lab", "A checkpoint file"], key="predict_source",
                              default="A run of this lab")
if source == "A checkpoint file":
    upload = st.file_uploader("Checkpoint (.pt saved or exported by NN Lab)", type=["pt"], key="predict_upload")
    if upload is None:
        st.caption("Upload a best.pt / last.pt downloaded from the Runs page, or a `checkpoint` export.")
        st.stop()
    data = upload.getvalue()
    try:
        predictor = load_uploaded(str(state.home()), upload.name, hashlib.sha256(data).hexdigest(), data)
    except (CheckpointError, OSError, ValueError) as exc:
        st.error(f"This file cannot be used: {exc}")
        st.stop()
else:
    if not runs:
        st.info("No trained run yet. Train one first (a news-headline run lets you type headlines here).")
        st.page_link("pages/1_Train.py", label="Train a network", icon=":material/model_training:")
        st.stop()
    labels = {}
    for r in runs:
        acc = (store.result(r["id"]) or {}).get("test_acc")
        labels[r["id"]] = f"{r['id']} · {r['name']}" + (f" · test acc {acc:.3f}" if acc is not None else "")
    run_id = st.selectbox("Trained run", list(labels), format_func=labels.get, key="predict_run")
    try:
        predictor = load_predictor(str(state.home()), run_id, checkpoint_mtime(run_id))
    except (CheckpointError, OSError, ValueError) as exc:
        st.error(f"This run's model cannot be loaded: {exc}")
        st.stop()
st.caption(f"{predictor.model_name} trained on **{predictor.config.dataset}**; classes: "
           + ", ".join(escape_markdown(c) for c in predictor.classes))

if predictor.kind == "text":
    predict_text.render(predictor, explain=explain_view.headline)
elif predictor.kind == "image":
    if tuple(predictor.image_shape) == (8, 8) and source != "A checkpoint file":
        predict_image.coarse_notice(predict_image.best_run(runs, {r["id"]: store.result(r["id"]) for r in runs}))
    predict_image.render(predictor, explain=explain_view.picture)
elif predictor.kind == "table":
    predict_table.render(predictor, explain=explain_view.table_row)
else:
    st.info(f"Trying {predictor.kind} inputs here is not available: see this run's results on the Runs page.")
