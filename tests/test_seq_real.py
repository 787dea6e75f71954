"""Sequence models on the real news split, reduced for CI: a short textcnn run through the CLI, then
predictions that show the words the model saw and which were unknown (id 0); the same for an rnn that reads
words without an id through their GloVe vectors."""

from __future__ import annotations

import json

import pytest
from test_news_real import RECENT, engine


@pytest.mark.slow
def test_textcnn_short_run_predicts_and_shows_unknown_words(news_home, tmp_path):
    summary = json.loads(engine(news_home, "train", "--dataset", "news", "--model", "textcnn", "--channels", "64",
                                "--epochs", "3", "--seed", "1", "--json")[-1])
    assert summary["status"] == "done" and summary["test_acc"] >= 0.85, summary
    inputs = tmp_path / "headlines.txt"
    inputs.write_text("\n".join(t for t, _ in RECENT) + "\nQwzxv stocks fall\n")
    lines = [json.loads(line) for line in engine(news_home, "predict", summary["run_id"], "--input-file", str(inputs),
                                                 "--json")]
    assert len(lines) == len(RECENT) + 1
    last = lines[-1]
    assert last["unknown"] == ["qwzxv"]  # id 0: never seen twice in the training titles
    right = sum(item["label"] == label for item, (_, label) in zip(lines[:-1], RECENT, strict=True))
    assert right >= 4, lines


@pytest.mark.slow
def test_rnn_with_unknown_vectors_reads_a_word_seen_once_through_glove(news_home, tmp_path):
    summary = json.loads(engine(news_home, "train", "--dataset", "news", "--model", "rnn", "--cell", "gru",
                                "--bidirectional", "--hidden", "32", "--init-vectors", "glove", "--unknown-vectors",
                                "--epochs", "2", "--seed", "1", "--json")[-1])
    assert summary["status"] == "done" and summary["test_acc"] >= 0.85, summary
    inputs = tmp_path / "headlines.txt"
    # "charlize" is in no training title twice (id 0) but GloVe knows it; "qwzxv" nobody knows
    inputs.write_text("\n".join(t for t, _ in RECENT) + "\nCharlize Qwzxv stocks fall\n")
    lines = [json.loads(line) for line in engine(news_home, "predict", summary["run_id"], "--input-file", str(inputs),
                                                 "--json")]
    assert lines[-1]["unknown"] == ["qwzxv"]
    right = sum(item["label"] == label for item, (_, label) in zip(lines[:-1], RECENT, strict=True))
    assert right >= 4, lines
