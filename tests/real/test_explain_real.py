"""Explain and layer-health acceptance on the real news split: a news MLP says why "Fed raises interest rates as
inflation climbs" is business, its integrated-gradients word scores add up to the logit change, and its layer
health has a finite, positive gradient norm for every trainable layer at every epoch."""

from __future__ import annotations

import json
import math

import pytest

from engine.cli import main

HEADLINE = "Fed raises interest rates as inflation climbs"


@pytest.mark.slow
def test_news_mlp_names_a_money_word_and_is_complete(news_home, capsys):
    assert main(["train", "--dataset", "news", "--features", "glove", "--model", "mlp", "--layers", "1", "--width",
                 "64", "--epochs", "2", "--seed", "1", "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["run_id"]
    assert main(["explain", run_id, "--text", HEADLINE, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    top = max(out["attributions"], key=lambda a: a["score"])
    assert top["token"] in {"fed", "interest", "rates", "inflation"}, out["attributions"]
    total = sum(a["score"] for a in out["attributions"])
    assert abs(total - out["logit_change"]) <= 0.05 * abs(out["logit_change"])

    assert main(["layers", run_id, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    layers = {r["layer"] for r in rows}
    assert len(layers) >= 3  # the input norm, the hidden layer (and its norm) and the output layer
    assert sorted((r["epoch"], r["layer"]) for r in rows) == sorted((e, n) for e in (1, 2) for n in layers)
    assert all(math.isfinite(r["grad_norm"]) and r["grad_norm"] > 0 for r in rows), rows
    assert all(math.isfinite(r[k]) for r in rows for k in ("weight_norm", "act_mean", "act_std"))
