"""Sequence models on the real news split, reduced for CI: a short textcnn run through the CLI, then
predictions that show the words the model saw and which were unknown (id 0); the same for an rnn that reads
words without an id through their GloVe vectors."""

from __future__ import annotations

import json

import pytest
from test_news_real import RECENT, engine


def _train_then_predict(home, tmp_path, last_headline: str, *flags: str) -> dict:
    """Train a short run with `flags`, predict RECENT and `last_headline`; return the last prediction after
    checking the run and that most of RECENT came out right."""
    summary = json.loads(engine(home, "train", "--dataset", "news", *flags, "--seed", "1", "--json")[-1])
    assert summary["status"] == "done" and summary["test_acc"] >= 0.85, summary
    inputs = tmp_path / "headlines.txt"
    inputs.write_text("\n".join(t for t, _ in RECENT) + f"\n{last_headline}\n")
    lines = [json.loads(line) for line in engine(home, "predict", summary["run_id"], "--input-file", str(inputs),
                                                 "--json")]
    assert len(lines) == len(RECENT) + 1
    right = sum(item["label"] == label for item, (_, label) in zip(lines[:-1], RECENT, strict=True))
    assert right >= 4, lines
    return lines[-1]


@pytest.mark.slow
def test_textcnn_short_run_predicts_and_shows_unknown_words(news_home, tmp_path):
    last = _train_then_predict(news_home, tmp_path, "Qwzxv stocks fall", "--model", "textcnn", "--channels", "64",
                               "--epochs", "3")
    assert last["unknown"] == ["qwzxv"]  # id 0: never seen twice in the training titles


@pytest.mark.slow
def test_rnn_with_unknown_vectors_reads_a_word_seen_once_through_glove(news_home, tmp_path):
    # "charlize" is in no training title twice (id 0) but GloVe knows it; "qwzxv" nobody knows
    last = _train_then_predict(news_home, tmp_path, "Charlize Qwzxv stocks fall", "--model", "rnn", "--cell", "gru",
                               "--bidirectional", "--hidden", "32", "--init-vectors", "glove", "--unknown-vectors",
                               "--epochs", "2")
    assert last["unknown"] == ["qwzxv"]
