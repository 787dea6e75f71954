"""Explain for table runs: per-column integrated gradients from the row of training means, summed over each
column's encoded features, adding up to the change of the output (in the target's units for a regression)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from engine.cli import main
from engine.data import csvdata
from engine.jobs.store import RunStore
from engine.predict.explain import explain_row
from engine.predict.predictor import InputError, Predictor


def table(target: str, n=300, seed=0) -> str:
    """size, weight, colour and the target: price = 30 + 5 size (+ 8 when the colour is red) + noise, or kind:
    big when size > 5."""
    rng = np.random.default_rng(seed)
    rows = [f"size,weight,colour,{target}"]
    for _ in range(n):
        size, weight, colour = rng.uniform(0, 10), rng.uniform(0, 10), rng.choice(["red", "blue", "green"])
        price = 30 + 5 * size + (8 if colour == "red" else 0) + rng.normal(0, 0.5)
        rows.append(f"{size:.3f},{weight:.3f},{colour}," + (f"{price:.3f}" if target == "price" else
                                                            "big" if size > 5 else "small"))
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("tables") / "home"
    ids = {}
    for target, epochs in (("price", "80"), ("kind", "30")):
        src = home.parent / f"{target}.csv"
        src.write_text(table(target))
        csvdata.fetch(home, from_dir=src)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["--home", str(home), "train", "--dataset", "csv", "--table", target, "--target", target,
                         "--model", "mlp", "--layers", "1", "--width", "16", "--dropout", "0", "--lr", "0.01",
                         "--early-stopping", "false", "--seed", "1", "--epochs", epochs,
                         "--json"]) == 0
        ids[target] = json.loads(buf.getvalue().strip().splitlines()[-1])["run_id"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--home", str(home), "train", "--dataset", "csv", "--table", "kind", "--target", "kind",
                     "--model", "generative", "--json"]) == 0
    ids["generative"] = json.loads(buf.getvalue().strip().splitlines()[-1])["run_id"]
    return {"home": home, **ids}


def predictor(runs, name):
    return Predictor.from_run(RunStore(runs["home"]), runs[name])


def test_regression_contributions_add_up_to_the_predicted_value_and_name_the_cause(runs):
    pred = predictor(runs, "price")
    row = {"size": 9.5, "weight": 5.0, "colour": "blue"}
    out = explain_row(pred, row)
    scores = {c["feature"]: c["score"] for c in out["contributions"]}
    assert [c["feature"] for c in out["contributions"]] == pred.columns
    assert {c["feature"]: c["value"] for c in out["contributions"]} == row
    assert out["value"] == pytest.approx(out["baseline_output"] + out["output_change"], abs=1e-3)
    assert sum(scores.values()) == pytest.approx(out["output_change"], rel=0.05, abs=1e-3)  # completeness
    assert max(scores, key=lambda c: abs(scores[c])) == "size" and scores["size"] > 0  # size 9.5 is far above its mean


def test_classification_contributions_explain_the_answered_class(runs):
    pred = predictor(runs, "kind")
    out = explain_row(pred, json.dumps({"size": 1.0, "weight": 5.0, "colour": "red"}))
    assert out["label"] == "small" and len(out["top"]) == 2
    scores = {c["feature"]: c["score"] for c in out["contributions"]}
    assert sum(scores.values()) == pytest.approx(out["output_change"], rel=0.05, abs=1e-3)
    assert max(scores, key=lambda c: abs(scores[c])) == "size"


def test_a_missing_number_is_the_baseline_and_gets_nothing(runs):
    out = explain_row(predictor(runs, "price"), {"size": 2.0})
    by = {c["feature"]: c for c in out["contributions"]}
    assert by["weight"]["value"] is None and by["weight"]["score"] == 0.0  # at its training mean: no change
    assert by["colour"]["score"] == 0.0  # no category given: the baseline's own


def test_bad_rows_are_refused_with_the_fix(runs):
    pred = predictor(runs, "price")
    with pytest.raises(InputError, match="unknown column"):
        explain_row(pred, {"colour": "red", "shape": "round"})
    with pytest.raises(InputError, match="is not a row"):
        explain_row(pred, "size=3")


def test_explain_command_for_a_table_row(runs, capsys):
    home = str(runs["home"])
    assert main(["--home", home, "explain", runs["price"], "--text", '{"size": 8, "colour": "red"}', "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"value", "contributions", "output_change", "baseline_output"} <= set(out)
    assert {c["feature"] for c in out["contributions"]} == {"size", "weight", "colour"}
    assert main(["--home", home, "explain", runs["price"], "--text", '{"size": 8}']) == 0
    assert "size" in capsys.readouterr().out
    assert main(["--home", home, "explain", runs["price"], "--input-file", "x.png"]) == 2
    assert "--text '{" in capsys.readouterr().err


def test_a_gaussian_generative_models_answer_is_explained_in_log_probabilities(runs):
    """Its logits are log densities, which a one-hot row without a category sends to huge values; the
    log-probability of the answer stays a readable number."""
    out = explain_row(predictor(runs, "generative"), {"size": 8.0, "weight": 2.0, "colour": "red"})
    scores = {c["feature"]: c["score"] for c in out["contributions"]}
    assert out["label"] == "big" and max(scores, key=lambda c: abs(scores[c])) == "size"
    assert 0 < out["output_change"] <= -out["baseline_output"] + 1e-6  # log P(big) rises towards 0
    assert sum(scores.values()) == pytest.approx(out["output_change"], rel=0.05, abs=1e-3)
