"""Batch-size timing: one row per batch size, epochs timed through the Trainer."""

from __future__ import annotations

import json

from engine.labs import timing


def test_time_epochs_rows(home):
    rows = list(timing.time_epochs("digits", "linear", [1, 16, 256], devices="cpu", repeats=2, home=home,
                                   max_examples=300))
    assert [r["batch_size"] for r in rows] == [1, 16, 256]
    for r in rows:
        assert r["device"] == "cpu" and len(r["all_seconds"]) == 2 and r["seconds"] > 0
        assert r["examples_per_s"] * r["seconds"] == __import__("pytest").approx(r["examples_per_epoch"])
        assert r["examples_timed"] == 300
    # one example per step costs far more per epoch than 256 per step
    assert rows[0]["seconds"] > 2 * rows[2]["seconds"]


def test_epoch_timer_counts_each_epoch():
    timer = timing.EpochTimer()

    class T:
        device = __import__("torch").device("cpu")

    for _ in range(3):
        timer.on_epoch_start(T, None)
        timer.on_epoch_end(T, None)
    assert len(timer.seconds) == 3 and all(s >= 0 for s in timer.seconds)


def test_timing_cli_json_lines(home, capsys):
    from engine.cli import main

    assert main(["timing", "--dataset", "digits", "--model", "linear", "--batch-sizes", "2,64", "--repeats", "1",
                 "--max-examples", "200", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [d["batch_size"] for d in lines] == [2, 64]
    assert all({"batch_size", "seconds", "examples_per_s", "device"} <= set(d) for d in lines)
