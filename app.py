"""NN Lab entry point: the navigation (Home + every pages/N_Name.py) and the Home page: what the lab
is, which datasets are ready (fetch them here), the latest runs."""

import re
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from engine.access import AccessError, check_server_path, max_tables_per_owner
from engine.data import DATASETS
from engine.data.download import DataMissingError
from engine.paths import safe_child
from ui import permissions, state
from ui.tables import runs_frame

PAGES = Path(__file__).resolve().parent / "pages"
PAGE_ICONS = {"Train": ":material/model_training:", "Runs": ":material/monitoring:",
              "Predict": ":material/online_prediction:", "Tuning": ":material/tune:"}
LAB_ICON = ":material/science:"


def page_label(path: Path) -> str:
    return re.sub(r"^\d+_", "", path.stem).replace("_", " ")


def page_files() -> list[Path]:
    """pages/N_Name.py, in the order of their numbers."""
    return sorted(PAGES.glob("[0-9]*.py"), key=lambda p: (int(re.match(r"\d+", p.name).group()), p.name))


def fetch_with_progress(spec, home: Path, **kwargs) -> bool:
    """spec.fetch(home, progress=...) drawn as st.progress; errors (which name the fix) as st.error."""
    bar = st.progress(0.0, text=f"Fetching {spec.title}…")
    last = [-1.0]

    def progress(done: int, total: int | None) -> None:
        frac = done / total if total else 0.0
        if frac - last[0] >= 0.01 or (total and done >= total):
            last[0] = frac
            size = f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
            bar.progress(min(1.0, frac), text=f"Downloading {spec.title}: {size}")

    try:
        with st.spinner(f"Preparing {spec.title}…"):
            spec.fetch(home, progress=progress, **kwargs)
    except (DataMissingError, ValueError, OSError) as exc:
        bar.empty()
        st.error(f"Could not fetch {spec.title}: {exc}")
        return False
    bar.progress(1.0, text=f"{spec.title} is ready")
    return True


def save_uploads(home: Path, name: str, files) -> Path:
    """Uploaded files into a fresh folder under the data home (base names only)."""
    folder = Path(tempfile.mkdtemp(prefix=f".upload-{name}-", dir=home))
    for f in files:
        safe_child(folder, f.name).write_bytes(f.getvalue())
    return folder


# the folder names the datasets come in (as in ../shared/data), for each card's folder placeholder
FOLDER_HINTS = {"news": "news_aggregator", "covid": "covid19_ml2022"}


def server_folder(box, name: str, spec, home: Path) -> bool:
    """A folder on this server as the data source: only one under the administrator's allowed folders."""
    path = box.text_input("…or a folder on this server", key=f"home_from_{name}",
                          placeholder=f"/data/{FOLDER_HINTS.get(name, name)}",
                          help="a folder with the files, like `python -m engine fetch NAME --from DIR`, under a "
                               "folder listed in `allowed_dirs` (<home>/settings.json)")
    if not box.button("Use this folder", key=f"home_from_go_{name}", disabled=not path):
        return False
    try:
        folder = check_server_path(path.strip(), home)
    except AccessError as exc:
        st.error(f"Could not fetch {spec.title}: {exc}")
        return False
    return fetch_with_progress(spec, home, from_dir=folder)


def dataset_card(name: str, spec, home: Path) -> None:
    ready = spec.ready(home)
    with st.container(border=True):
        head, badge = st.columns([5, 1], vertical_alignment="center")
        head.markdown(f"**{spec.title}** (`{name}`, {spec.kind}) — {spec.description}")
        badge.markdown(":green-badge[:material/check_circle: ready]" if ready
                       else ":orange-badge[:material/cloud_download: not fetched]")
        if (ready and not spec.addable) or spec.fetch is None:
            return
        c1, c2, c3 = st.columns(3)
        fetched = False
        if spec.addable:  # a collection of the user's own files (CSV tables): no download, add more any time
            c1.caption("Added: " + (", ".join(f"`{t}`" for t in spec.option_choices(home, {}).get("table", []))
                                    or "none yet") + ". Each file is checked before it is stored.")
        elif c1.button("Download", icon=":material/download:", key=f"home_fetch_{name}",
                       help="download from the original source (needs the internet)"):
            fetched = fetch_with_progress(spec, home)
        if permissions.is_teacher():  # server folders are the administrator's (engine.access: allowed_dirs)
            fetched = server_folder(c2, name, spec, home) or fetched
        else:
            c2.caption("Teacher mode can also use a folder on this server.")
        files = c3.file_uploader("…or upload the files", key=f"home_upload_{name}", accept_multiple_files=True,
                                 help=f"the files `python -m engine fetch {name} --from DIR` takes from DIR")
        if files and c3.button("Use the uploaded files", key=f"home_upload_go_{name}"):
            folder = save_uploads(home, name, files)
            quota = {} if not spec.addable or permissions.is_teacher() else {  # tables students add: capped
                "owner": state.owner_id(), "max_tables": max_tables_per_owner(home)}
            try:
                fetched = fetch_with_progress(spec, home, from_dir=folder, **quota)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        if fetched and spec.ready(home):
            st.session_state["home_fetched"] = spec.title  # said after the rerun, which would drop a toast
            st.rerun()


def home_page() -> None:
    st.set_page_config(page_title="NN Lab", page_icon=":material/neurology:", layout="wide")
    permissions.page_guard()
    st.title(":material/neurology: NN Lab")
    st.markdown(
        "A lab for learning how neural networks train. Pick a dataset and an architecture, set the "
        "layers, learning rate, batch size, optimizer and device, **start training and watch the loss "
        "and accuracy arrive live**, compare runs, then try the trained model on a headline you type. "
        "Runs are shared: everyone connected to this server sees the same runs."
    )
    st.subheader("Pages")
    files = page_files()
    cols = st.columns(max(1, min(4, len(files))))
    for i, page in enumerate(files):
        label = page_label(page)
        cols[i % len(cols)].page_link(f"pages/{page.name}", label=label, icon=PAGE_ICONS.get(label, LAB_ICON))

    home = state.home()
    if fetched_title := st.session_state.pop("home_fetched", None):
        st.toast(f"{fetched_title} is ready: pick it on the Train page.", icon=":material/check_circle:")
    st.subheader("Datasets")
    st.caption(f"Data home: `{home}` (set `NNLAB_HOME` to use another folder).")
    for name, spec in DATASETS.items():
        dataset_card(name, spec, home)

    st.subheader("Latest runs")
    store = state.store()
    runs = store.list_runs(limit=10)
    if runs:
        frame = runs_frame(runs, {r["id"]: store.result(r["id"]) for r in runs})
        st.dataframe(frame, hide_index=True, key="home_runs",
                     column_config={"test_acc": st.column_config.NumberColumn("test acc", format="%.3f")})
        st.page_link("pages/2_Runs.py", label="All runs: curves, confusion matrices, downloads",
                     icon=PAGE_ICONS["Runs"])
    else:
        st.info("No runs yet. Start one on the Train page: the 8x8 digits work offline, right away.")
        st.page_link("pages/1_Train.py", label="Train a network", icon=PAGE_ICONS["Train"])


HOME = st.Page(home_page, title="Home", icon=":material/home:", default=True)
navigation = st.navigation([HOME] + [st.Page(f"pages/{p.name}", title=page_label(p),
                                             icon=PAGE_ICONS.get(page_label(p), LAB_ICON)) for p in page_files()])
navigation.run()
