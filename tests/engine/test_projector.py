"""Projector: a run's test examples in the space the output layer reads, reduced to 2-D; first-layer pictures."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch

from engine.cli import main
from engine.jobs.store import RunStore
from engine.predict.predictor import InputError, Predictor
from engine.predict.projector import first_layer, hidden_states, output_layer, project_run


def train(home, *flags) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--home", str(home), "train", "--dataset", "digits", "--epochs", "2", "--seed", "1", *flags,
                     "--json"]) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1])["run_id"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One data home with a tiny digits MLP and CNN run, shared by this module's tests."""
    home = tmp_path_factory.mktemp("projector") / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        return {"home": home, "mlp": train(home, "--model", "mlp", "--layers", "1", "--width", "24"),
                "cnn": train(home, "--model", "cnn")}


@pytest.fixture
def home(runs, monkeypatch):
    monkeypatch.setenv("NNLAB_HOME", str(runs["home"]))
    return runs["home"]


@pytest.fixture
def mlp_run(runs) -> str:
    return runs["mlp"]


def test_projector_rows_follow_the_models_own_predictions(home, mlp_run, capsys):
    store = RunStore(home)
    out = project_run(store, mlp_run, "pca", limit=150, seed=3)
    rows = out["rows"]
    assert len(rows) == 150 and out["layer_dim"] == 24 and len(out["explained"]) == 2
    assert sorted(r["index"] for r in rows) == [r["index"] for r in rows]  # a sample in test order
    assert len({r["index"] for r in rows}) == 150
    assert all(np.isfinite([r["x"], r["y"]]).all() for r in rows)
    assert project_run(store, mlp_run, "pca", limit=150, seed=3)["rows"] == rows  # seeded
    pred = Predictor.from_run(store, mlp_run)
    from engine.data import load_dataset

    test = load_dataset("digits", home).test
    idx = [r["index"] for r in rows]
    expected = pred.probabilities(test.x[idx]).argmax(1).tolist()
    assert [r["pred"] for r in rows] == [pred.classes[i] for i in expected]
    assert [r["true"] for r in rows] == [pred.classes[int(test.y[i])] for i in idx]
    result = store.result(mlp_run)
    wrong = sum(r["true"] != r["pred"] for r in rows)
    assert wrong <= 150 * (1 - result["test_acc"]) + 30  # in line with the run's own test accuracy


def test_hidden_states_are_what_the_output_layer_reads():
    torch.manual_seed(0)
    from engine.models.mlp import MLP

    model = MLP(64, 10, layers=1, width=12).eval()

    class Fake:
        classes = [str(i) for i in range(10)]

        class featurizer:
            @staticmethod
            def transform(x):
                return torch.as_tensor(np.asarray(x), dtype=torch.float32)

    Fake.model = model
    x = np.random.default_rng(0).normal(size=(300, 64)).astype(np.float32)
    feats, preds = hidden_states(Fake, x)
    assert feats.shape == (300, 12)
    with torch.no_grad():
        logits = model.net[-1](torch.from_numpy(feats))
    assert torch.allclose(logits, model(torch.from_numpy(x)), atol=1e-5)
    assert (preds == logits.argmax(1).numpy()).all()
    assert output_layer(model, 10) is model.net[-1]


def test_tsne_and_the_cli(home, mlp_run, capsys):
    assert main(["projector", mlp_run, "--method", "tsne", "--limit", "60", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "tsne" and out["explained"] is None and len(out["rows"]) == 60
    assert {"index", "x", "y", "true", "pred"} <= set(out["rows"][0])
    assert main(["projector", mlp_run, "--limit", "50"]) == 0
    assert "50 test examples" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [["--limit", "2"], ["--limit", "2001"], ["--method", "tsne", "--limit", "1001"]])
def test_bad_limits_are_refused_with_the_range(home, mlp_run, capsys, bad):
    assert main(["projector", mlp_run, *bad]) == 2
    assert "between 3 and" in capsys.readouterr().err


def test_unknown_run_is_refused(home):
    assert main(["projector", "no-such-run"]) == 2


def test_first_layer_pictures_of_mlp_and_cnn(home, runs, mlp_run):
    store = RunStore(home)
    pics = first_layer(Predictor.from_run(store, mlp_run), count=8)
    assert pics["kind"] == "weights" and pics["total"] == 24
    assert np.asarray(pics["images"]).shape == (8, 8, 8)
    pred = Predictor.from_run(store, runs["cnn"])
    pics = first_layer(pred, count=64)
    conv = next(m for m in pred.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert pics["kind"] == "filters"
    assert np.asarray(pics["images"]).shape == (min(32, conv.out_channels), *conv.kernel_size)


def test_regression_runs_are_refused():
    class Fake:
        spec = {"task": "regression"}

    from engine.predict.projector import project

    with pytest.raises(InputError, match="classification"):
        project(Fake, None, "pca", 10)


def test_a_headline_runs_projector_shows_the_headlines(tmp_path, monkeypatch, capsys):
    from headlines import write_split

    from engine.data import news

    home = tmp_path / "news_home"
    monkeypatch.setenv("NNLAB_HOME", str(home))
    news.fetch(home, from_dir=write_split(tmp_path / "split", per_class=(10, 3, 5)))
    run_id = train(home, "--dataset", "news", "--model", "rnn", "--hidden", "6", "--pool", "attn",
                   "--init-vectors", "none", "--emb-size", "8")
    out = project_run(RunStore(home), run_id, "pca", limit=20)
    assert len(out["rows"]) == 20 and out["layer_dim"] == 6  # the pooled title vector the output layer reads
    test = news.load(home).test
    assert all(r["text"] == test.x[r["index"]] and r["true"] == news.CLASS_NAMES[test.y[r["index"]]]
               for r in out["rows"])
