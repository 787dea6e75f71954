"""Runs page: take a run away. One row per export format (engine.predict.export.FORMATS): a Prepare button
builds the files (a zip when there are several), then a download button hands them over.

A prepared download is a file in this session's temporary folder (EXPORT_ROOT/<owner id>), described in
st.session_state under `export_<format>_<run id>`, so it survives reruns without being rebuilt and without
holding its bytes in the server's memory. A session keeps one prepared export (a new one replaces it); files
left by ended sessions are removed after KEEP_SECONDS. Every widget key names the format and the run.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import streamlit as st

from engine.data import DATASETS
from engine.jobs.store import RunStore
from engine.models import MODELS
from engine.predict.export import FORMATS, ExportError, bundle, source_from_run
from engine.training.checkpoint import CheckpointError
from ui import state
from ui.config_form import best_checkpoint_label

MIME = {".zip": "application/zip", ".json": "application/json", ".pt": "application/octet-stream"}


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


EXPORT_ROOT = Path(tempfile.gettempdir()) / "nnlab-exports"
KEEP_SECONDS = 3600.0
PREFIX = "export_"


def state_key(fmt: str, run_id: str) -> str:
    return f"{PREFIX}{fmt}_{run_id}"


def sweep(root: Path = EXPORT_ROOT, keep_s: float = KEEP_SECONDS) -> None:
    """Remove the export folders of sessions that prepared nothing for `keep_s` seconds."""
    for folder in root.glob("*") if root.exists() else ():
        if time.time() - folder.stat().st_mtime > keep_s:
            shutil.rmtree(folder, ignore_errors=True)


def keep_prepared(name: str, data: bytes, listing, options: dict) -> dict:
    """Write a prepared export into this session's folder, replacing its previous one (one per session)."""
    sweep()
    folder = EXPORT_ROOT / state.owner_id()
    shutil.rmtree(folder, ignore_errors=True)
    for key in [k for k in st.session_state if str(k).startswith(PREFIX) and isinstance(st.session_state[k], dict)
                and "path" in st.session_state[k]]:
        del st.session_state[key]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(name).name
    path.write_bytes(data)
    return {"name": name, "path": str(path), "size": len(data), "listing": listing, "options": options}


def has_checkpoint(store: RunStore, run_id: str) -> bool:
    folder = store.run_dir(run_id)
    return (folder / "best.pt").exists() or (folder / "last.pt").exists()


def render(store: RunStore, run_id: str) -> None:
    run = store.get_run(run_id)
    if not has_checkpoint(store, run_id):
        st.info("Exports appear once the run has finished its first epoch (it saves a checkpoint each epoch).")
        return
    kind = DATASETS[run["config"]["dataset"]].kind if run["config"]["dataset"] in DATASETS else None
    model = MODELS.get(run["config"]["model"])
    reads_vectors = kind == "text" and model is not None and model.input == "vector"  # the mean of word vectors
    st.caption(f"From the run's best checkpoint (the epoch with the {best_checkpoint_label(run['config'])}). "
               "The same from a terminal: "
               f"`python -m engine export {run_id} --format FORMAT --out DIR`.")
    for fmt in FORMATS.values():
        left, right = st.columns([3, 2])
        left.markdown(f"**{fmt.title}** (`{fmt.name}`): {fmt.description}")
        options = {}
        if fmt.name in ("script", "onnx", "torch-export") and reads_vectors:
            top = left.number_input(
                "Word vectors to include (0 = all)", min_value=0, step=10_000, value=0,
                key=f"export_top_words_{fmt.name}_{run_id}",
                help="The export predicts any headline, so it carries the word vectors (GloVe: 400,000 words, "
                     "about 72 MB). Keep only the N most frequent words for a smaller download; rarer words "
                     "then count as unknown.")
            options["top_words"] = int(top) or None
        key = state_key(fmt.name, run_id)
        if right.button(f"Prepare {fmt.name}", key=f"export_prepare_{fmt.name}_{run_id}", width="stretch"):
            try:
                with st.spinner(f"Exporting {fmt.title.lower()}..."):
                    name, data, listing = bundle(source_from_run(store, run_id), fmt.name, **options)
                st.session_state[key] = keep_prepared(name, data, listing, options)
                st.rerun()  # rows drawn above may offer the export this one replaced
            except (ExportError, CheckpointError, OSError) as exc:
                st.session_state.pop(key, None)
                right.error(str(exc))
        ready = st.session_state.get(key)
        if ready and ready["options"] == options and Path(ready["path"]).exists():
            suffix = "." + ready["name"].rsplit(".", 1)[-1]
            right.download_button(f"Download {ready['name']} ({human_size(ready['size'])})",
                                  Path(ready["path"]).read_bytes,
                                  file_name=ready["name"], mime=MIME.get(suffix, "application/octet-stream"),
                                  key=f"export_download_{fmt.name}_{run_id}", width="stretch")
            right.caption(" · ".join(f"{n} {human_size(b)}" for n, b in ready["listing"]))
