"""Runs: every run of this lab, compared side by side, and one run in detail."""

import importlib.util
import json

import streamlit as st

from engine.config.run_config import RunConfig
from engine.data import DATASETS
from engine.jobs.store import ACTIVE
from engine.training.checkpoint import CheckpointError
from ui import charts, export_panel, permissions, query_config, state
from ui.config_form import best_checkpoint_label
from ui.live import STATUS_TEXT, references_for
from ui.tables import (
    EXERCISE_REFERENCES,
    REFERENCE_DATASET,
    comparison_frame,
    misclassified_frame,
    runs_frame,
)

st.set_page_config(page_title="Runs · NN Lab", page_icon=":material/monitoring:", layout="wide")
permissions.teacher_login()
st.title(":material/monitoring: Runs")
st.caption("Every run started on this server (from any browser or the command line). Compare their "
           "curves, then open one run for its confusion matrix, per-class scores and mistakes.")

store = state.store()
runs = store.list_runs()
if not runs:
    st.info("No runs yet. Start one on the Train page.")
    st.page_link("pages/1_Train.py", label="Train a network", icon=":material/model_training:")
    st.stop()

results = {r["id"]: store.result(r["id"]) for r in runs}
by_id = {r["id"]: r for r in runs}


def run_label(run_id: str) -> str:
    run = by_id[run_id]
    acc = (results.get(run_id) or {}).get("test_acc")
    return f"{run_id} · {run['name']}" + (f" · test {acc:.3f}" if acc is not None else f" · {run['status']}")


st.subheader("All runs")
st.dataframe(runs_frame(runs, results), hide_index=True, key="runs_table",
             column_config={"test_acc": st.column_config.NumberColumn("test acc", format="%.3f"),
                            "epochs": st.column_config.TextColumn("epochs done")})
if any(r["status"] in ACTIVE for r in runs):
    st.button("Refresh", icon=":material/refresh:", key="runs_refresh", help="some runs are still training: reload their state")

# --- compare ---------------------------------------------------------------------------------
st.subheader("Compare runs")
with_metrics = [r["id"] for r in runs if r["epoch"] > 0]
picked = st.multiselect("Runs to overlay", with_metrics, default=with_metrics[:3], format_func=run_label,
                        key="runs_compare", help="each line is one run")
metric_choices = {"valid accuracy": ("acc", "valid"), "valid loss": ("loss", "valid"),
                  "train accuracy": ("acc", "train"), "train loss": ("loss", "train")}
metric_label = st.segmented_control("Curve", list(metric_choices), default="valid accuracy",
                                    key="runs_compare_metric") or "valid accuracy"
metric, split = metric_choices[metric_label]
if picked:
    news = all(by_id[r]["config"].get("dataset") == REFERENCE_DATASET for r in picked)
    refs = EXERCISE_REFERENCES if news and metric == "acc" else None
    st.plotly_chart(charts.overlay_figure(store.metrics(picked), {r: run_label(r) for r in picked}, metric, split,
                                          refs), key="runs_overlay")
    st.caption(f"{metric_label.capitalize()} after each epoch, one line per run."
               + (" Dashed lines: the exercise's reported **test** accuracies (single layer 0.891, MLP 0.921, "
                  "300-d word2vec features), for reference." if refs else ""))
table = comparison_frame([by_id[r] for r in picked] or runs, results)
if not table.empty:
    st.markdown("**Test accuracy, best first** (rows marked *reference* are the exercise's reported numbers)")
    st.dataframe(table, hide_index=True, key="runs_comparison",
                 column_config={"test_acc": st.column_config.NumberColumn("test acc", format="%.3f"),
                                "reference": st.column_config.CheckboxColumn("reference")})

# --- one run -----------------------------------------------------------------------------------
st.divider()
st.subheader("One run in detail")
ids = [r["id"] for r in runs]
run_id = st.selectbox("Run", ids, format_func=run_label, key="runs_detail")
run = by_id[run_id]
result = results.get(run_id) or {}
cfg = run["config"]
folder = store.run_dir(run_id)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Status", STATUS_TEXT.get(run["status"], run["status"]))
c2.metric("Test accuracy", f"{result['test_acc']:.3f}" if result.get("test_acc") is not None else "–")
c3.metric("Epochs done", f"{run['epoch']} / {run['max_epochs']}")
c4.metric("Parameters", f"{run['params']:,}" if run.get("params") else "–")
if run.get("error"):
    (st.warning if run["status"] in ("stopped", "interrupted") else st.error)(run["error"])
if run["status"] in ACTIVE:
    st.info("This run is still training; follow it live on the Train page.")
    st.page_link("pages/1_Train.py", label="Live view", icon=":material/model_training:", query_params={"run": run_id})

metrics = store.metrics(run_id)
if not metrics.empty:
    left, right = st.columns(2)
    left.plotly_chart(charts.curve_figure(metrics, "loss", "Loss per epoch"), key="runs_detail_loss")
    right.plotly_chart(charts.curve_figure(metrics, "acc", "Accuracy per epoch", references_for(run)),
                       key="runs_detail_acc")
    st.caption("Train (blue) and validation (orange) after each epoch; the thin blue line is the running "
               "average of the training loss over batches.")

if result.get("confusion_matrix"):
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
    else:
        st.dataframe(mistakes, hide_index=True, key="runs_mistakes",
                     column_config={"confidence": st.column_config.ProgressColumn(
                         "confidence", min_value=0.0, max_value=1.0, format="%.2f")})
        st.caption("Sorted by the model's confidence in its wrong answer: the top rows are its most "
                   "confident mistakes (sometimes the label itself is debatable).")

if cfg.get("dataset") and run["status"] not in ACTIVE and importlib.util.find_spec("ui.image_grid") is not None:
    from engine.data import DATASETS

    if DATASETS.get(cfg["dataset"]) is not None and DATASETS[cfg["dataset"]].kind == "image":
        import ui.image_grid

        try:
            ui.image_grid.render(store, run_id)
        except CheckpointError as exc:  # a run stopped before its first checkpoint has no pictures to show
            st.info(f"No test pictures for this run: {exc}")

st.markdown("#### Downloads")
d1, d2, d3, d4 = st.columns(4)
for col, name in ((d1, "best.pt"), (d2, "last.pt")):
    path = folder / name
    col.download_button(name, icon=":material/download:", data=path.read_bytes if path.exists() else b"", file_name=f"{run_id}-{name}",
                        mime="application/octet-stream", key=f"runs_dl_{name}", disabled=not path.exists(),
                        on_click="ignore",
                        help="checkpoint: model + optimizer + epoch + config (loads with weights_only=True)")
d3.download_button("metrics.csv", icon=":material/download:", data=lambda: metrics.to_csv(index=False), file_name=f"{run_id}-metrics.csv",
                   mime="text/csv", key="runs_dl_metrics", disabled=metrics.empty, on_click="ignore",
                   help="every metric row: epoch, step, split, name, value, time")
d4.download_button("config.json", icon=":material/download:", data=json.dumps(cfg, indent=2, sort_keys=True), file_name=f"{run_id}-config.json",
                   mime="application/json", key="runs_dl_config", on_click="ignore",
                   help="the settings; `python -m engine train` accepts the same values as flags")
with st.expander("Export: a standalone script, TorchScript, weights as JSON", icon=":material/ios_share:"):
    export_panel.render(store, run_id)
with st.expander("Settings of this run"):
    st.json(cfg)

if (folder / "init.pt").exists() and run["config"].get("dataset") in DATASETS:
    st.page_link("pages/1_Train.py", icon=":material/replay:",
                 label="Retrain from the same initial weights: change one setting and compare the curves",
                 query_params={**query_config.config_to_params(RunConfig.from_dict(run["config"]), only_changed=True),
                               "init_from": run_id})

st.markdown("#### Manage")
if not permissions.can_manage(run):
    st.info(permissions.why_not(run), icon=":material/lock:")
    st.stop()
m1, m2 = st.columns(2)
can_resume = run["status"] in ("interrupted", "stopped", "failed") and (folder / "last.pt").exists()
if can_resume and run["epoch"] < run["max_epochs"]:
    if m1.button("Resume from last checkpoint", icon=":material/play_arrow:", key="runs_resume",
                 help="continue at the epoch after the last saved one"):
        try:
            state.runner().resume(run_id)
        except ValueError as exc:
            st.error(str(exc))
        else:
            st.success(f"Run {run_id} queued to resume at epoch {run['epoch'] + 1}.")
            st.page_link("pages/1_Train.py", label="Watch it live", icon=":material/model_training:", query_params={"run": run_id})
else:
    m1.caption("Resume is offered for interrupted, stopped or failed runs that saved a checkpoint.")
if run["status"] not in ACTIVE:
    confirm = m2.checkbox("I really want to delete this run", key="runs_delete_confirm")
    if m2.button("Delete run", icon=":material/delete:", key="runs_delete", disabled=not confirm,
                 help="removes its metrics, results and checkpoints"):
        store.delete_run(run_id)
        st.session_state.pop("runs_detail", None)
        st.rerun()
else:
    m2.caption("Stop a run before deleting it.")
