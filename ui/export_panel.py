"""Runs page: take a run away. One row per export format (engine.predict.export.FORMATS): a Prepare button
builds the files (a zip when there are several), then a download button hands them over.

Prepared downloads live in st.session_state under `export_<format>_<run id>`, so they survive
reruns without being rebuilt; every widget key names the format and the run.
"""

from __future__ import annotations

import streamlit as st

from engine.data import DATASETS
from engine.jobs.store import RunStore
from engine.predict.export import FORMATS, ExportError, bundle, source_from_run
from engine.training.checkpoint import CheckpointError
from ui.config_form import best_checkpoint_label

MIME = {".zip": "application/zip", ".json": "application/json", ".pt": "application/octet-stream"}


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def state_key(fmt: str, run_id: str) -> str:
    return f"export_{fmt}_{run_id}"


def has_checkpoint(store: RunStore, run_id: str) -> bool:
    folder = store.run_dir(run_id)
    return (folder / "best.pt").exists() or (folder / "last.pt").exists()


def render(store: RunStore, run_id: str) -> None:
    run = store.get_run(run_id)
    if not has_checkpoint(store, run_id):
        st.info("Exports appear once the run has finished its first epoch (it saves a checkpoint each epoch).")
        return
    kind = DATASETS[run["config"]["dataset"]].kind if run["config"]["dataset"] in DATASETS else None
    st.caption(f"From the run's best checkpoint (the epoch with the {best_checkpoint_label(run['config'])}). "
               "The same from a terminal: "
               f"`python -m engine export {run_id} --format FORMAT --out DIR`.")
    for fmt in FORMATS.values():
        left, right = st.columns([3, 2])
        left.markdown(f"**{fmt.title}** (`{fmt.name}`): {fmt.description}")
        options = {}
        if fmt.name == "script" and kind == "text":
            top = left.number_input(
                "Word vectors to include (0 = all)", min_value=0, step=10_000, value=0,
                key=f"export_top_words_{run_id}",
                help="The script predicts any headline, so it carries the word vectors (GloVe: 400,000 words, "
                     "about 72 MB). Keep only the N most frequent words for a smaller download; rarer words "
                     "then count as unknown.")
            options["top_words"] = int(top) or None
        key = state_key(fmt.name, run_id)
        if right.button(f"Prepare {fmt.name}", key=f"export_prepare_{fmt.name}_{run_id}", width="stretch"):
            try:
                with st.spinner(f"Exporting {fmt.title.lower()}..."):
                    name, data, listing = bundle(source_from_run(store, run_id), fmt.name, **options)
                st.session_state[key] = {"name": name, "data": data, "listing": listing, "options": options}
            except (ExportError, CheckpointError, OSError) as exc:
                st.session_state.pop(key, None)
                right.error(str(exc))
        ready = st.session_state.get(key)
        if ready and ready["options"] == options:
            suffix = "." + ready["name"].rsplit(".", 1)[-1]
            right.download_button(f"Download {ready['name']} ({human_size(len(ready['data']))})", ready["data"],
                                  file_name=ready["name"], mime=MIME.get(suffix, "application/octet-stream"),
                                  key=f"export_download_{fmt.name}_{run_id}", width="stretch")
            right.caption(" · ".join(f"{n} {human_size(b)}" for n, b in ready["listing"]))
