"""Runs page: take a run away. One row per export format (engine.predict.export.FORMATS): a Prepare button
starts the export in a worker process (engine/predict/export/job.py: `python -m engine export-job`), a fragment
follows it each second, and a download button hands over the file it wrote (a zip when there are several).

The prepared file lives under <home>/exports/<owner id>/ and is described in st.session_state[JOB_KEY]: one
export per session at a time, a new one replaces the previous one, the engine sweeps files of ended sessions.
Every widget key names the format and the run.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.data import DATASETS
from engine.jobs.store import RunStore
from engine.models import MODELS
from engine.predict.export import FORMATS
from engine.predict.export import job as export_job
from ui import state
from ui.config_form import best_checkpoint_label

MIME = {".zip": "application/zip", ".json": "application/json", ".pt": "application/octet-stream"}
JOB_KEY = "export_job"


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


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
    job = st.session_state.get(JOB_KEY)
    status = export_job.poll(job) if job is not None else None
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
        with right:
            _row(store, run_id, fmt.name, options, job, status)


def _row(store: RunStore, run_id: str, fmt: str, options: dict, job: dict | None, status: dict | None) -> None:
    """The Prepare button, then "exporting..." while the worker runs, then the download or the error."""
    mine = job is not None and (job["run_id"], job["format"], job["options"]) == (run_id, fmt, options)
    busy = status is not None and status["state"] == "running"
    if st.button(f"Prepare {fmt}", key=f"export_prepare_{fmt}_{run_id}", width="stretch", disabled=busy,
                 help="prepared in the background: the page stays usable; one export at a time"):
        try:
            st.session_state[JOB_KEY] = export_job.start(store.home, state.owner_id(), run_id, fmt, options)
        except ValueError as exc:  # ExportBusy, a bad name
            st.error(str(exc))
            return
        st.rerun()  # every row redraws: the buttons are disabled while it runs
    if not mine:
        return
    if busy:
        _follow()
        if st.button("Cancel", key=f"export_cancel_{fmt}_{run_id}", width="stretch"):
            export_job.cancel(job)
            del st.session_state[JOB_KEY]
            st.rerun()
    elif status["state"] == "failed":
        st.error(f"The export failed: {status['error']}")
    else:
        suffix = Path(status["name"]).suffix
        st.download_button(f"Download {status['name']} ({human_size(status['size'])})", Path(status["path"]).read_bytes,
                           file_name=status["name"], mime=MIME.get(suffix, "application/octet-stream"),
                           key=f"export_download_{fmt}_{run_id}", width="stretch", on_click="ignore")
        st.caption(" · ".join(f"{n} {human_size(b)}" for n, b in status["listing"]))


@st.fragment(run_every=1.0)
def _follow() -> None:
    """While the worker runs: how long so far; once it has ended, one full rerun draws the download."""
    job = st.session_state.get(JOB_KEY)
    if job is None:
        return
    status = export_job.poll(job)
    if status["state"] != "running":
        st.rerun()
    st.caption(f":material/hourglass_top: exporting {job['format']}... {status['elapsed']:.0f} s "
               f"(at most {job['limit_s']:.0f} s)")
