"""The exercise's plain RNN beside a GRU on the real news split, reduced to two epochs: the plain RNN stalls
while the GRU trains, and the layer health view shows why: far less gradient reaches a title's first word (the
median over the sampled titles; the whole embedding matrix's gradient is alike in both, since a title's last words
keep theirs)."""

from __future__ import annotations

import json

import pytest
from test_news_real import engine

PRESET = "exercise: emb 300, hidden 50, plain RNN, SGD"
EPOCHS = 2


def train(home, *flags: str) -> tuple[dict, list[dict]]:
    """(the run's summary, its word embedding's layer health rows by epoch)."""
    summary = json.loads(engine(home, "train", "--dataset", "news", "--model", "rnn", "--preset", PRESET,
                                "--epochs", str(EPOCHS), "--seed", "1", *flags, "--json")[-1])
    assert summary["status"] == "done", summary
    rows = [json.loads(line) for line in engine(home, "layers", summary["run_id"], "--json")]
    return summary, [r for r in rows if r["layer"] == "embedding"]


@pytest.mark.slow
def test_the_plain_rnn_stalls_beside_a_gru_and_its_first_words_get_little_gradient(news_home):
    rnn, rnn_rows = train(news_home)
    gru, gru_rows = train(news_home, "--cell", "gru")
    print(f"test acc: plain RNN {rnn['test_acc']:.4f}, GRU {gru['test_acc']:.4f}")
    assert rnn["test_acc"] < 0.65 and gru["test_acc"] > 0.75  # the stall the exercise meets; the GRU trains
    assert [r["epoch"] for r in rnn_rows] == [r["epoch"] for r in gru_rows] == list(range(1, EPOCHS + 1))
    for r, g in zip(rnn_rows, gru_rows, strict=True):
        ratio = g["grad_first"] / r["grad_first"]
        print(f"epoch {r['epoch']}: gradient reaching the first word, GRU / plain RNN = {ratio:.1f}x "
              f"(whole embedding {g['grad_norm'] / r['grad_norm']:.2f}x)")
        assert ratio >= 10  # the acceptance
