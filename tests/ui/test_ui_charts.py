"""The dashboard's pure helpers: chart builders, run tables, progress/ETA, Markdown escaping.
No Streamlit session: DataFrames in, figures and frames out."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ui import charts, tables
from ui.text_view import escape_markdown, token_markdown


def metrics_frame(run_id="r1", epochs=3, steps_per_epoch=10, acc0=0.5):
    """Rows shaped like RunStore.metrics(): smoothed loss every 5 steps, epoch-end metrics, a test row."""
    rows = [(run_id, 0, 0, "valid", "loss", 2.5, 0.0), (run_id, 0, 0, "valid", "acc", 0.1, 0.0)]  # initial weights
    for e in range(1, epochs + 1):
        for s in range((e - 1) * steps_per_epoch + 5, e * steps_per_epoch + 1, 5):
            rows.append((run_id, e, s, "train", "loss_smooth", 2.0 / s, 0.0))
        end = e * steps_per_epoch
        rows += [(run_id, e, end, "train", "loss", 1.0 / e, 0.0), (run_id, e, end, "train", "acc", acc0 + 0.1 * e, 0.0),
                 (run_id, e, end, "valid", "loss", 1.2 / e, 0.0), (run_id, e, end, "valid", "acc", acc0 + 0.08 * e, 0.0),
                 (run_id, e, end, "train", "lr", 0.01, 0.0), (run_id, e, end, "train", "epoch_seconds", 2.0, 0.0)]
    rows.append((run_id, 0, 0, "test", "acc", 0.9, 0.0))
    return pd.DataFrame(rows, columns=["run_id", "epoch", "step", "split", "name", "value", "time"])


def test_epoch_table_pivots_epoch_end_metrics():
    table = charts.epoch_table(metrics_frame(epochs=3))
    assert list(table["epoch"]) == [0, 1, 2, 3]  # epoch 0: valid metrics of the initial weights
    assert table["valid_acc"].tolist() == pytest.approx([0.1, 0.58, 0.66, 0.74])
    assert table["train_loss"].tolist()[1:] == pytest.approx([1.0, 0.5, 1 / 3]) and math.isnan(table["train_loss"][0])
    assert table["epoch_seconds"].tolist()[1:] == [2.0, 2.0, 2.0]
    assert charts.epoch_table(metrics_frame().iloc[0:0]).empty


def test_steps_per_epoch_from_first_epoch_end():
    assert charts.steps_per_epoch(metrics_frame(steps_per_epoch=17)) == 17
    only_smooth = metrics_frame()
    assert charts.steps_per_epoch(only_smooth[only_smooth["name"] == "loss_smooth"]) is None


def test_loss_curve_has_train_valid_and_smoothed_traces():
    fig = charts.curve_figure(metrics_frame(epochs=3, steps_per_epoch=10), "loss")
    names = [t.name for t in fig.data]
    assert names == ["train (smoothed, per batch)", "train loss", "valid loss"]
    smooth = fig.data[0]
    assert max(smooth.x) == pytest.approx(3.0)  # step 30 of 10 per epoch -> epoch 3
    assert list(fig.data[2].x) == [0, 1, 2, 3] and list(fig.data[2].y) == pytest.approx([2.5, 1.2, 0.6, 0.4])
    assert list(fig.data[1].x) == [1, 2, 3]  # no train loss before training


def test_accuracy_curve_with_reference_lines():
    refs = tables.EXERCISE_REFERENCES
    fig = charts.curve_figure(metrics_frame(), "acc", references=refs)
    assert [t.name for t in fig.data] == ["train acc", "valid acc"]
    assert sorted(s.y0 for s in fig.layout.shapes) == [0.891, 0.921]
    assert fig.layout.yaxis.tickformat == ".0%"


def test_overlay_one_line_per_run_skipping_runs_without_epochs():
    frame = pd.concat([metrics_frame("a", epochs=2), metrics_frame("b", epochs=4, acc0=0.4)])
    fig = charts.overlay_figure(frame, {"a": "run a", "b": "run b", "c": "run c"}, "acc", "valid")
    lines = [t for t in fig.data if t.showlegend is not False]  # each run's line; its best-epoch star has no legend
    assert [t.name for t in lines] == ["run a", "run b"]
    assert list(lines[1].x) == [0, 1, 2, 3, 4]
    loss = charts.overlay_figure(frame, {"a": "A"}, "loss", "train")
    assert list(loss.data[0].y) == pytest.approx([1.0, 0.5])


def test_confusion_heatmap_counts_and_row_shares():
    matrix = [[8, 2], [1, 9]]
    fig = charts.confusion_figure(matrix, ["cat", "dog"])
    assert fig.data[0].type == "heatmap"
    assert fig.data[0].z.tolist() == [[8, 2], [1, 9]]
    shares = charts.confusion_figure(matrix, ["cat", "dog"], normalize=True)
    assert shares.data[0].z.ravel().tolist() == pytest.approx([0.8, 0.2, 0.1, 0.9])
    assert shares.data[0].text[0][0] == "8<br>80%"
    empty_row = charts.confusion_figure([[0, 0], [3, 1]], ["a", "b"], normalize=True)
    assert empty_row.data[0].z.tolist()[0] == [0.0, 0.0]  # no division by zero


def test_per_class_bars_and_table():
    report = {"cat": {"precision": 0.9, "recall": 0.8, "f1-score": 0.85, "support": 10},
              "dog": {"precision": 0.7, "recall": 1.0, "f1-score": 0.82, "support": 12},
              "accuracy": 0.86}
    fig = charts.per_class_figure(report, ["cat", "dog"])
    assert [t.name for t in fig.data] == ["precision", "recall", "f1"]
    assert list(fig.data[1].y) == [0.8, 1.0]
    table = charts.per_class_table(report, ["cat", "dog"])
    assert table["support"].tolist() == [10, 12] and table["F1"].tolist() == [0.85, 0.82]


def test_probability_bars_sorted_with_top_highlighted():
    fig = charts.probability_figure({"business": 0.1, "health": 0.7, "science/tech": 0.2})
    bar = fig.data[0]
    assert list(bar.y) == ["business", "science/tech", "health"]
    assert bar.marker.color[-1] != bar.marker.color[0]


def run_row(run_id, dataset="news", model="mlp", status="done", epoch=3, created=1.7e9):
    return {"id": run_id, "status": status, "epoch": epoch, "max_epochs": 5, "created": created,
            "config": {"dataset": dataset, "model": model, "features": "glove", "epochs": 5}}


def test_runs_frame_and_comparison_with_reference_rows():
    runs = [run_row("n1"), run_row("d1", dataset="digits", model="linear", status="running", epoch=1)]
    results = {"n1": {"test_acc": 0.9}, "d1": None}
    frame = tables.runs_frame(runs, results)
    assert frame.loc[0, "test_acc"] == 0.9 and frame.loc[0, "features"] == "glove"
    assert frame.loc[1, "features"] == "" and frame.loc[1, "epochs"] == "1/5" and pd.isna(frame.loc[1, "test_acc"])
    comp = tables.comparison_frame(runs, results)
    assert comp["test_acc"].tolist() == [0.921, 0.9, 0.891]  # ranked, the unfinished run left out
    assert comp["reference"].tolist() == [True, False, True]
    assert len(tables.comparison_frame(runs, results, with_references=False)) == 1


def test_misclassified_most_confident_first():
    result = {"misclassified": [{"index": 3, "true": "a", "pred": "b", "confidence": 0.6, "input": "x"},
                                {"index": 9, "true": "b", "pred": "a", "confidence": 0.95, "input": "y"}]}
    frame = tables.misclassified_frame(result)
    assert frame["index"].tolist() == [9, 3] and list(frame.columns) == ["index", "input", "true", "pred", "confidence"]
    assert tables.misclassified_frame(None).empty


def stored_progress(home, metrics: pd.DataFrame, run_id: str = "r1") -> dict:
    """RunStore.progress over `metrics` written to a real store, checked against the charts' reading of
    the same rows (batches per epoch) and pandas (mean seconds, newest step)."""
    from engine.jobs.store import ETA_WINDOW, RunStore

    store = RunStore(home)
    store.log_metrics(run_id, metrics[["epoch", "step", "split", "name", "value"]].itertuples(index=False))
    progress = store.progress(run_id)
    secs = metrics[(metrics["name"] == "epoch_seconds") & (metrics["epoch"] > 0)].sort_values("epoch")["value"]
    assert progress["steps_per_epoch"] == charts.steps_per_epoch(metrics)
    assert progress["epoch_seconds"] == (pytest.approx(secs.tail(ETA_WINDOW).median()) if len(secs) else None)
    assert progress["last_step"] == (int(metrics["step"].max()) if len(metrics) else 0)
    assert store.metrics_version(run_id)[0] == len(metrics)
    return progress


def test_progress_summary_eta_and_fraction(tmp_path):
    from ui.live import format_seconds, progress_summary

    metrics = metrics_frame(epochs=2, steps_per_epoch=10)
    run = {"status": "running", "epoch": 2, "max_epochs": 10, "config": {"epochs": 10}}
    info = progress_summary(run, stored_progress(tmp_path / "a", metrics))
    assert info["epochs_done"] == 2 and info["epoch_seconds"] == 2.0
    assert info["fraction"] == pytest.approx(0.2)
    assert info["eta_seconds"] == pytest.approx(16.0)  # 8 epochs left x 2 s
    partial = pd.concat([metrics, pd.DataFrame([("r1", 3, 25, "train", "loss_smooth", 0.1, 0.0)],
                                                columns=metrics.columns)])
    half = progress_summary(run, stored_progress(tmp_path / "b", partial))
    assert half["fraction"] == pytest.approx(0.25) and half["eta_seconds"] == pytest.approx(15.0)
    empty = stored_progress(tmp_path / "c", metrics.iloc[0:0])
    assert empty == {"epoch_seconds": None, "steps_per_epoch": None, "last_step": 0}
    fresh = progress_summary({"status": "queued", "epoch": 0, "max_epochs": 5, "config": {}}, empty)
    assert fresh["fraction"] == 0 and fresh["eta_seconds"] is None
    assert format_seconds(None) == "–" and format_seconds(75) == "1 min 15 s" and format_seconds(3.2) == "3 s"
    assert format_seconds(math.inf) == "–"


def test_eta_uses_the_median_of_recent_epochs_so_one_slow_epoch_does_not_swing_it(tmp_path):
    from engine.jobs.store import RunStore
    from ui.live import progress_summary

    store = RunStore(tmp_path)
    times = [9.0, 2.0, 2.1, 30.0, 1.9, 2.0]  # a slow first epoch (warm-up) and one stalled epoch
    store.log_metrics("r", [(e, e * 10, "train", "loss", 0.5) for e in range(1, 7)]
                      + [(e, e * 10, "train", "epoch_seconds", t) for e, t in enumerate(times, 1)])
    progress = store.progress("r")
    assert progress["epoch_seconds"] == 2.0  # the median of the last five epochs (the mean of all: 7.8)
    info = progress_summary({"status": "running", "epoch": 6, "max_epochs": 10, "config": {}}, progress)
    assert info["eta_seconds"] == pytest.approx(4 * 2.0)


def test_markdown_escaping_of_user_text():
    assert escape_markdown("**bold** <b>x</b> $x$ [a](b)") == r"\*\*bold\*\* \<b\>x\</b\> \$x\$ \[a\]\(b\)"
    assert "\n" not in escape_markdown("# title\n- item")
    md = token_markdown([{"token": "apple", "known": True}, {"token": "zzq_x", "known": False}])
    assert md == r"**apple** · ~~zzq\_x~~"
