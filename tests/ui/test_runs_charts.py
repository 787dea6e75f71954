"""The Runs page's tracker views as pure functions: the table's varying columns, short labels, the default
overlay, the overlay figure (palette, best epoch, references in the legend, zoomed axis), the diff and the
parallel-coordinates figure."""

from __future__ import annotations

import pandas as pd

from engine.config.run_config import make_config
from engine.jobs.tracker import flatten_run
from ui import charts
from ui.runs_tracker import default_overlay, diff_frame, parallel_figure, short_labels, tracker_frame


def row(run_id, created, epoch=3, result=None, tags=(), **cfg):
    run = {"id": run_id, "name": run_id, "status": "done", "owner": None, "created": created, "epoch": epoch,
           "max_epochs": 3, "config": make_config(**cfg).to_dict()}
    return flatten_run(run, result, {"tags": list(tags), "note": ""})


def metrics(run_id, accs):
    return pd.DataFrame([(run_id, e, e * 10, "valid", "acc", a, 0.0) for e, a in enumerate(accs)],
                        columns=["run_id", "epoch", "step", "split", "name", "value", "time"])


def test_table_has_a_column_for_each_setting_that_varies():
    rows = [row("a", 1, dataset="news", model="mlp", lr=0.01), row("b", 2, dataset="news", model="mlp", lr=0.001)]
    frame = tracker_frame(rows)
    assert "lr" in frame.columns and frame["lr"].tolist() == ["0.01", "0.001"]
    assert "batch_size" not in frame.columns and "optimizer" not in frame.columns  # the same in both


def test_short_labels_name_only_what_differs():
    rows = [row("a", 1, dataset="news", model="mlp", lr=0.01), row("b", 2, dataset="news", model="mlp", lr=0.001)]
    assert short_labels(rows) == {"a": "lr=0.01", "b": "lr=0.001"}
    twins = [row("a", 1), row("b", 2)]
    assert short_labels(twins) == {"a": "a", "b": "b"}  # nothing differs: the run id


def test_default_overlay_takes_runs_of_the_newest_runs_dataset():
    rows = [row("old-news", 1, dataset="news"), row("digits-1", 2), row("untrained", 4, epoch=0, dataset="news"),
            row("new-news", 3, dataset="news")]
    assert default_overlay(rows) == ["new-news", "old-news"]
    assert default_overlay([row("x", 1, epoch=0)]) == []


def test_overlay_has_distinct_colours_best_epoch_stars_legend_references_and_a_zoomed_axis():
    frame = pd.concat([metrics("a", [0.25, 0.85, 0.9, 0.88]), metrics("b", [0.25, 0.8, 0.86, 0.87])])
    fig = charts.overlay_figure(frame, {"a": "lr=0.01", "b": "lr=0.001"}, "acc", "valid",
                                {"exercise: MLP": 0.921})
    lines = [t for t in fig.data if t.showlegend is not False and t.name.startswith("lr")]
    assert len({t.line.color for t in lines}) == 2
    stars = [t for t in fig.data if t.marker.symbol == "star"]
    assert [(list(t.x), list(t.y)) for t in stars] == [([2], [0.9]), ([3], [0.87])]
    ref = next(t for t in fig.data if t.name.startswith("exercise"))
    assert list(ref.y) == [0.921, 0.921] and "0.921" in ref.name and not fig.layout.annotations
    low, high = fig.layout.yaxis.range
    assert 0.2 <= low < 0.25 and 0.921 < high <= 1.0
    loss = charts.overlay_figure(frame.assign(name="loss"), {"a": "A"}, "loss", "valid")
    star = next(t for t in loss.data if t.marker.symbol == "star")
    assert list(star.x) == [0]  # the lowest loss


def test_diff_holds_only_what_differs_and_parallel_plot_has_an_axis_per_varying_setting():
    rows = [row("a", 1, result={"test_acc": 0.9}, lr=0.01, optimizer="sgd"),
            row("b", 2, result={"test_acc": 0.8}, lr=0.001, optimizer="adam"),
            row("c", 3, result=None, lr=0.1)]
    diff = diff_frame(rows[:2])
    assert diff["setting"].tolist() == ["optimizer", "lr"] and diff.shape[1] == 3
    fig = parallel_figure(rows)
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == ["optimizer", "lr", "test acc"]
    assert list(dims[0].ticktext) == ["adam", "sgd"] and list(dims[-1].values) == [0.9, 0.8]
    assert parallel_figure(rows[:1]) is None  # one finished run: nothing to compare


def test_kept_epoch_follows_the_monitor_and_stop_text_only_for_early_stops():
    from ui.live import progress_summary, stop_text

    table = charts.epoch_table(pd.concat([metrics("a", [0.3, 0.8, 0.9, 0.9]),
                                          metrics("a", [2.0, 0.5, 0.3, 0.4]).assign(name="loss")]))
    assert charts.kept_epoch(table, "valid_acc") == 2 and charts.kept_epoch(table, "valid_loss") == 2
    assert charts.kept_epoch(table.iloc[0:0]) is None
    run = {"status": "done", "epoch": 3, "max_epochs": 30, "config": {"monitor": "valid_acc", "patience": 1}}
    early = {"message": "valid_acc has not improved for 1 epochs (best 0.9000 at epoch 2)"}
    assert stop_text(run, early, 2) == ("Stopped early at epoch 3: valid accuracy had not improved for 1 epochs; "
                                        "kept epoch 2")
    assert stop_text({**run, "epoch": 30, "max_epochs": 30}, early, 2) is None  # ran every epoch
    assert stop_text({**run, "status": "stopped"}, {"message": "stopped by the user"}, 2) is None
    assert progress_summary(run, {})["fraction"] == 1.0
