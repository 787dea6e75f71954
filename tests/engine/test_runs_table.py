"""Runs as an experiment tracker: flattened settings, tags, notes, filters and the multi-run CSV, through
the engine functions and `python -m engine runs / tag / note`."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from engine.cli import main
from engine.config.run_config import make_config
from engine.jobs.store import RunNotFound, RunStore
from engine.jobs.tracker import (
    MAX_NOTE_LENGTH,
    TagError,
    config_diff,
    flatten_run,
    table_csv,
    varying_settings,
)


def cli(capsys, *argv) -> tuple[int, list[dict], str]:
    rc = main(["--home", str(argv[0]), *argv[1:]])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    return rc, lines, out.err


@pytest.fixture
def three_runs(home):
    store = RunStore(home)
    a = store.create_run(make_config(dataset="digits", model="mlp", lr=0.01, epochs=2))
    b = store.create_run(make_config(dataset="digits", model="mlp", lr=0.001, epochs=2, model_args={"width": 64}))
    c = store.create_run(make_config(dataset="digits", model="cnn", batch_size=32, epochs=2))
    store.save_result(a, {"test_acc": 0.91, "valid_loss": 0.3, "confusion_matrix": [[1]]})
    return store, (a, b, c)


def test_runs_json_flattens_settings_of_every_run(home, three_runs, capsys):
    store, (a, b, c) = three_runs
    rc, rows, _ = cli(capsys, home, "runs", "--json")
    assert rc == 0 and {r["run_id"] for r in rows} == {a, b, c}
    by_id = {r["run_id"]: r for r in rows}
    for row in rows:
        assert {"lr", "batch_size", "optimizer", "model", "dataset", "tags", "note", "status"} <= set(row)
    assert by_id[a]["lr"] == 0.01 and by_id[a]["test_acc"] == 0.91 and "confusion_matrix" not in by_id[a]
    assert by_id[b]["width"] == 64 and by_id[c]["channels"] == 16 and by_id[c]["batch_size"] == 32
    assert "test_acc" not in by_id[b]  # a run without results reports no invented accuracy


def test_queued_runs_report_their_place_in_line(home, three_runs, capsys):
    store, (a, b, c) = three_runs
    store.update(a, status="done")
    rc, rows, _ = cli(capsys, home, "runs", "--json")
    by_id = {r["run_id"]: r for r in rows}
    assert (by_id[b]["queue_position"], by_id[c]["queue_position"]) == (1, 2)  # first come, first served
    assert "queue_position" not in by_id[a]
    assert by_id[b]["queue_wait_seconds"] == 0.0  # a free worker: it starts at once


def test_tag_filters_runs_and_note_is_stored(home, three_runs, capsys):
    store, (a, b, c) = three_runs
    rc, out, _ = cli(capsys, home, "tag", a, "--add", "baseline", "--add", "lr-sweep", "--json")
    assert rc == 0 and out == [{"run_id": a, "tags": ["baseline", "lr-sweep"]}]
    cli(capsys, home, "tag", b, "--add", "lr-sweep")
    rc, rows, _ = cli(capsys, home, "runs", "--tag", "lr-sweep", "--json")
    assert sorted(r["run_id"] for r in rows) == sorted([a, b])
    rc, out, _ = cli(capsys, home, "tag", a, "--remove", "lr-sweep", "--json")
    assert out[0]["tags"] == ["baseline"]
    assert [r["run_id"] for r in cli(capsys, home, "runs", "--tag", "lr-sweep", "--json")[1]] == [b]
    rc, out, _ = cli(capsys, home, "note", c, "--text", "  try a wider CNN next  ", "--json")
    assert rc == 0 and out[0]["note"] == "try a wider CNN next"
    assert store.annotations([c])[c] == {"tags": [], "note": "try a wider CNN next"}
    store.delete_run(c)
    assert store.annotations() == {a: {"tags": ["baseline"], "note": ""}, b: {"tags": ["lr-sweep"], "note": ""}}


def test_bad_tags_and_notes_are_refused_and_nothing_stored_is_lost(home, three_runs, capsys):
    store, (a, _, _) = three_runs
    store.change_tags(a, add=["keep"])
    store.set_note(a, "first note")
    for bad in ("", "two words", "x" * 33, "-leading", "ünï"):
        with pytest.raises(TagError, match="Fix"):
            store.change_tags(a, add=[bad])
    with pytest.raises(TagError, match="at most 20 tags"):
        store.change_tags(a, add=[f"t{i}" for i in range(20)])
    with pytest.raises(TagError, match="at most"):
        store.set_note(a, "x" * (MAX_NOTE_LENGTH + 1))
    with pytest.raises(TagError, match="control characters"):
        store.set_note(a, "bell\x07")
    assert store.annotations([a])[a] == {"tags": ["keep"], "note": "first note"}
    with pytest.raises(RunNotFound):
        store.change_tags("nope", add=["x"])
    rc, _, err = cli(capsys, home, "tag", a, "--add", "has space")
    assert rc == 2 and "Fix" in err
    rc, _, err = cli(capsys, home, "tag", a)
    assert rc == 2 and "--add NAME" in err
    rc, _, err = cli(capsys, home, "note", "no-such-run", "--text", "x")
    assert rc == 2 and "no run" in err


def test_runs_csv_writes_one_row_per_run_with_settings_and_metrics(home, three_runs, capsys, tmp_path):
    store, (a, b, c) = three_runs
    store.set_note(b, "=HYPERLINK(\"http://x\")")
    path = tmp_path / "out" / "runs.csv"
    rc, _, _ = cli(capsys, home, "runs", "--csv", str(path), "--model", "mlp")
    assert rc == 0
    rows = list(csv.DictReader(path.open()))
    assert sorted(r["run_id"] for r in rows) == sorted([a, b])
    by_id = {r["run_id"]: r for r in rows}
    assert by_id[a]["lr"] == "0.01" and by_id[a]["test_acc"] == "0.91" and by_id[b]["width"] == "64"
    assert by_id[b]["note"].startswith("'=")  # a spreadsheet shows it as text instead of running it


def test_varying_settings_and_diff_hold_only_what_differs(three_runs):
    store, (a, b, c) = three_runs
    rows = [flatten_run(store.get_run(r)) for r in (a, b)]
    assert varying_settings(rows) == ["lr", "width"]
    assert config_diff(rows) == {"lr": [0.01, 0.001], "width": [512, 64]}
    rows.append(flatten_run(store.get_run(c)))
    diff = config_diff(rows)
    assert diff["model"] == ["mlp", "mlp", "cnn"] and diff["channels"] == [None, None, 16]
    assert "optimizer" not in diff and "dataset" not in diff
    assert table_csv([]).strip() == ",".join(["run_id", "name", "status", "owner", "created", "epoch", "max_epochs",
                                              "tags", "note"])


def test_an_old_store_without_the_annotations_table_gains_it(home):
    store = RunStore(home)
    run_id = store.create_run(make_config())
    with sqlite3.connect(home / "runs.db") as db:
        db.execute("DROP TABLE annotations")
    store = RunStore(home)
    assert store.change_tags(run_id, add=["old"]) == ["old"] and store.get_run(run_id)["status"] == "queued"


def test_a_trained_run_reports_its_test_accuracy(home, capsys):
    rc, out, _ = cli(capsys, home, "train", "--dataset", "digits", "--model", "linear", "--epochs", "1", "--json")
    assert rc == 0
    rc, rows, _ = cli(capsys, home, "runs", "--json", "--status", "done")
    assert [r["run_id"] for r in rows] == [out[-1]["run_id"]]
    assert 0.0 < rows[0]["test_acc"] <= 1.0 and rows[0]["lr"] > 0 and rows[0]["batch_size"] >= 1
    # TensorBoard's HParams view: the settings with the best valid metrics, beside the run's scalars
    events = list((home / "runs" / rows[0]["run_id"] / "tensorboard" / "hparams").glob("events.out.tfevents.*"))
    data = b"".join(p.read_bytes() for p in events)
    assert b"_hparams_/session_start_info" in data and b"batch_size" in data and b"hparam/best_valid_acc" in data
