"""One run in detail on the Runs page: status, curves, confusion matrix, per-class scores, mistakes, test
pictures, downloads, exports, tags and note, resume and delete. Drawn as a fragment: picking another run
or toggling a view redraws only this part of the page."""

from __future__ import annotations

import json

import streamlit as st

from engine.config.run_config import RunConfig
from engine.data import DATASETS
from engine.jobs.queue import describe
from engine.jobs.store import ACTIVE
from engine.jobs.tracker import TagError
from engine.training.checkpoint import CheckpointError
from engine.training.devices import available_devices
from ui import (
    charts,
    export_panel,
    inside_view,
    model_card_panel,
    permissions,
    projector_view,
    query_config,
    state,
)
from ui.config_form import best_checkpoint_label
from ui.layout import FIELD_WIDTH, wrapping_row
from ui.live import STATUS_TEXT, references_for, run_kept_epoch, stop_text
from ui.tables import misclassified_frame


def run_label(row: dict) -> str:
    acc = row.get("test_acc")
    return f"{row['run_id']} · {row['name']}" + (f" · test {acc:.3f}" if acc is not None else f" · {row['status']}")


@st.fragment
def render(rows: list[dict]) -> None:
    """The detail of the run picked in the `runs_detail` box (its id also goes to the URL as `run`)."""
    store = state.store()
    by_id = {r["run_id"]: r for r in rows}
    ids = list(by_id)
    given = st.query_params.get("run")
    if "runs_detail" not in st.session_state and given in by_id:
        st.session_state["runs_detail"] = given
    run_id = st.selectbox("Run", ids, format_func=lambda i: run_label(by_id[i]), key="runs_detail")
    if st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id
    run, result = store.get_run(run_id), store.result(run_id) or {}
    kept = run_kept_epoch(store, run)
    _summary(run, result, kept)
    metrics = store.metrics(run_id)
    if not metrics.empty:
        left, right = st.columns(2)
        left.plotly_chart(charts.curve_figure(metrics, "loss", "Loss per epoch", kept=kept), key="runs_detail_loss")
        right.plotly_chart(charts.curve_figure(metrics, "acc", "Accuracy per epoch", references_for(run), kept=kept),
                           key="runs_detail_acc")
        st.caption("Train (blue) and validation (orange) after each epoch; the thin blue line is the running "
                   "average of the training loss over batches.")
    inside_view.run_inside(store, run_id, key="runs_inside")
    if result.get("confusion_matrix"):
        _classification(run, result)
    _pictures(store, run)
    projector_view.render(store, run)
    _downloads(store, run, metrics)
    _annotations(store, run, by_id[run_id])
    _manage(store, run)


def _summary(run: dict, result: dict, kept: int | None) -> None:
    row = wrapping_row()
    row.metric("Status", STATUS_TEXT.get(run["status"], run["status"]), width=FIELD_WIDTH)
    row.metric("Test accuracy", f"{result['test_acc']:.3f}" if result.get("test_acc") is not None else "–",
               width=FIELD_WIDTH)
    row.metric("Epochs done", f"{run['epoch']} / {run['max_epochs']}", width=FIELD_WIDTH)
    row.metric("Parameters", f"{run['params']:,}" if run.get("params") else "–", width=FIELD_WIDTH)
    early = stop_text(run, result, kept)
    if early:
        st.info(early + ": its weights are the ones tested, exported and used to predict.",
                icon=":material/front_hand:")
    if run.get("error"):
        (st.warning if run["status"] in ("stopped", "interrupted") else st.error)(run["error"])
    if run["status"] in ACTIVE:
        place = describe(state.runner().queue_info(run["id"])) if run["status"] == "queued" else ""
        st.info(f"This run is queued: {place}." if place else
                "This run is still training; follow it live on the Train page.")
        st.page_link("pages/1_Train.py", label="Live view", icon=":material/model_training:",
                     query_params={"run": run["id"]})


def _classification(run: dict, result: dict) -> None:
    classes = result["classes"]
    st.markdown("#### Confusion matrix")
    normalize = st.toggle("Show shares of each true class", key="runs_cm_normalize", value=True)
    st.plotly_chart(charts.confusion_figure(result["confusion_matrix"], classes, normalize, title=""),
                    key="runs_confusion")
    st.caption("Rows: the true class; columns: the class the model predicted (weights of the epoch with the "
               f"{best_checkpoint_label(run['config'])}, on the test split). The diagonal holds the correct "
               "predictions.")
    st.markdown("#### Per-class precision, recall and F1")
    report = result.get("report") or {}
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.per_class_figure(report, classes, title=""), key="runs_per_class")
    right.dataframe(charts.per_class_table(report, classes), hide_index=True, key="runs_per_class_table",
                    column_config={k: st.column_config.NumberColumn(format="%.3f")
                                   for k in ("precision", "recall", "F1")})
    st.caption("Precision: of the examples predicted as this class, the share that were. Recall: of the "
               "examples of this class, the share found. F1: their harmonic mean. Support: test examples.")
    mistakes = misclassified_frame(result)
    st.markdown(f"#### Misclassified test examples ({result.get('n_misclassified', len(mistakes))} of "
                f"{result.get('n_test', '?')})")
    if mistakes.empty:
        st.caption("None: every test example was classified correctly.")
        return
    st.dataframe(mistakes, hide_index=True, key="runs_mistakes",
                 column_config={"confidence": st.column_config.ProgressColumn(
                     "confidence", min_value=0.0, max_value=1.0, format="%.2f")})
    st.caption("Sorted by the model's confidence in its wrong answer: the top rows are its most "
               "confident mistakes (sometimes the label itself is debatable).")


def _pictures(store, run: dict) -> None:
    spec = DATASETS.get(run["config"].get("dataset"))
    if spec is None or spec.kind != "image" or run["status"] in ACTIVE:
        return
    import ui.image_grid

    try:
        ui.image_grid.render(store, run["id"])
    except CheckpointError as exc:  # a run stopped before its first checkpoint has no pictures to show
        st.info(f"No test pictures for this run: {exc}")


def _downloads(store, run: dict, metrics) -> None:
    run_id, cfg, folder = run["id"], run["config"], store.run_dir(run["id"])
    st.markdown("#### Downloads")
    row = wrapping_row()
    for name in ("best.pt", "last.pt"):
        path = folder / name
        row.download_button(name, icon=":material/download:", data=path.read_bytes if path.exists() else b"",
                            file_name=f"{run_id}-{name}", mime="application/octet-stream", key=f"runs_dl_{name}",
                            disabled=not path.exists(), on_click="ignore",
                            help="checkpoint: model + optimizer + epoch + config (loads with weights_only=True)")
    row.download_button("metrics.csv", icon=":material/download:", data=lambda: metrics.to_csv(index=False),
                       file_name=f"{run_id}-metrics.csv", mime="text/csv", key="runs_dl_metrics",
                       disabled=metrics.empty, on_click="ignore",
                       help="every metric row: epoch, step, split, name, value, time")
    row.download_button("config.json", icon=":material/download:", data=json.dumps(cfg, indent=2, sort_keys=True),
                       file_name=f"{run_id}-config.json", mime="application/json", key="runs_dl_config",
                       on_click="ignore", help="the settings; `python -m engine train` accepts the same values as flags")
    with st.expander("Model card: what this model is, how well it did, where it fails", icon=":material/badge:"):
        model_card_panel.render(store, run, metrics)
    with st.expander("Export: ONNX, torch.export, a standalone script, weights as JSON", icon=":material/ios_share:"):
        export_panel.render(store, run_id)
    with st.expander("Settings of this run"):
        st.json(cfg)
    if (folder / "init.pt").exists() and cfg.get("dataset") in DATASETS:
        st.page_link("pages/1_Train.py", icon=":material/replay:",
                     label="Retrain from the same initial weights: change one setting and compare the curves",
                     query_params={**query_config.config_to_params(RunConfig.from_dict(cfg), only_changed=True),
                                   "init_from": run_id})


def _annotations(store, run: dict, row: dict) -> None:
    """Tags and a note: editable by the run's owner or the teacher, read-only for everyone else."""
    st.markdown("#### Tags and note")
    if not permissions.can_manage(run):
        st.caption(f"Tags: {' '.join(row['tags']) or '–'}  \nNote: {row['note'] or '–'}")
        return
    with st.form(key=f"runs_note_form_{run['id']}", border=False):
        tags = st.text_input("Tags (separated by spaces)", value=" ".join(row["tags"]), key=f"runs_tags_{run['id']}",
                             max_chars=400, help="e.g. baseline lr-sweep; filter the table by a tag above")
        note = st.text_area("Note", value=row["note"], key=f"runs_note_{run['id']}", max_chars=2000, height=90,
                            help="what you tried and what you saw")
        saved = st.form_submit_button("Save tags and note", icon=":material/save:", key="runs_note_save")
    if not saved:
        return
    wanted = tags.split()
    try:
        store.change_tags(run["id"], add=wanted, remove=[t for t in row["tags"] if t not in wanted])
        store.set_note(run["id"], note)
    except TagError as exc:
        st.error(f"Not saved: {exc}")
        return
    st.toast("Tags and note saved", icon=":material/check:")
    st.rerun()


def _manage(store, run: dict) -> None:
    st.markdown("#### Manage")
    if not permissions.can_manage(run):
        st.info(permissions.why_not(run), icon=":material/lock:")
        return
    run_id, folder = run["id"], store.run_dir(run["id"])
    m1, m2 = st.columns(2)
    can_resume = run["status"] in ("interrupted", "stopped", "failed") and (folder / "last.pt").exists()
    if can_resume and run["epoch"] < run["max_epochs"]:
        _resume(m1, run)
    else:
        m1.caption("Resume is offered for interrupted, stopped or failed runs that saved a checkpoint.")
    if run["status"] in ACTIVE:
        m2.caption("Stop a run before deleting it.")
        return
    confirm = m2.checkbox("I really want to delete this run", key="runs_delete_confirm")
    if m2.button("Delete run", icon=":material/delete:", key="runs_delete", disabled=not confirm,
                 help="removes its metrics, results and checkpoints"):
        store.delete_run(run_id)
        st.session_state.pop("runs_detail", None)
        if "run" in st.query_params:
            del st.query_params["run"]
        st.rerun(scope="app")


def _resume(col, run: dict) -> None:
    """The Resume button, on the run's own device or another one (e.g. cpu for a run trained on a GPU that this
    machine does not have)."""
    run_id = run["id"]
    devices = ["auto", *available_devices()]
    own = RunConfig.from_dict(run["config"]).device
    device = col.selectbox("Resume on", devices, index=devices.index(own) if own in devices else 0,
                           key="runs_resume_device", help="the run's own device, or another one")
    if col.button("Resume from last checkpoint", icon=":material/play_arrow:", key="runs_resume",
                  help="continue at the epoch after the last saved one"):
        try:
            if device != own:
                state.runner().store.set_device(run_id, device)
            state.runner().resume(run_id, owner=state.owner_id(), teacher=permissions.is_teacher())
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.success(f"Run {run_id} queued to resume at epoch {run['epoch'] + 1} on {device}.")
            st.page_link("pages/1_Train.py", label="Watch it live", icon=":material/model_training:",
                         query_params={"run": run_id})
