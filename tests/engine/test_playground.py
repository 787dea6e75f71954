"""The playground dataset (TensorFlow Playground's 2-D shapes) and its decision boundary: points generated from
a seed within their bounds, bad options refused, the boundary grid stored per epoch by the worker agreeing with
the model's own predictions, and the `boundary` command."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from torch import nn

from engine.cli import main
from engine.cli.flags import config_from_args
from engine.config.options import ConfigError
from engine.config.run_config import make_config
from engine.data import playground
from engine.jobs.store import RunStore
from engine.predict.predictor import Predictor
from engine.training import checkpoint
from engine.training.boundary import (
    GRID,
    UNIT_GRID,
    Boundary,
    axis,
    class1_probs,
    decode,
    encode,
    plane_inputs,
    unit_grids,
)
from engine.training.trainer import TrainState


def cli(*argv: str) -> tuple[int, list[dict]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(argv))
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


@pytest.mark.parametrize("shape", playground.SHAPES)
def test_shapes_are_two_balanced_classes_within_the_plane_and_repeat_with_their_seed(shape):
    pts, y = playground.generate(shape, 400, 0, seed=3)
    assert pts.shape == (400, 2) and set(np.unique(y)) == {0, 1}
    assert 0.3 < y.mean() < 0.7
    bound = {"circle": 5.0, "xor": 5.3, "spiral": 5.0, "gauss": playground.EXTENT}[shape]
    share_inside = (np.abs(pts) <= bound).all(axis=1).mean()
    assert share_inside == 1.0 if shape != "gauss" else share_inside > 0.98  # a Gaussian has tails
    again, y2 = playground.generate(shape, 400, 0, seed=3)
    assert np.array_equal(pts, again) and np.array_equal(y, y2)
    noisy, y3 = playground.generate(shape, 400, 30, seed=3)
    assert not (np.array_equal(noisy, pts) and np.array_equal(y3, y))  # noise moves points or their labels


def test_labels_follow_the_playground_rules_without_noise():
    pts, y = playground.generate("circle", 300, 0, seed=0)
    assert np.array_equal(y, (np.hypot(pts[:, 0], pts[:, 1]) < 2.5).astype(int))
    pts, y = playground.generate("xor", 300, 0, seed=0)
    assert np.array_equal(y, (pts[:, 0] * pts[:, 1] >= 0).astype(int)) and np.abs(pts).min() >= 0.3
    pts, y = playground.generate("gauss", 300, 0, seed=0)
    assert (pts[y == 1].mean(0) > 1.5).all() and (pts[y == 0].mean(0) < -1.5).all()


def test_splits_follow_the_train_share_and_the_extra_features_are_columns():
    ds = playground.load(points=200, train_share=0.6, shape="spiral", x1_squared=True, sin_x2=True)
    assert ds.sizes() == (120, 40, 40) and ds.kind == "table" and ds.task == "classification"
    assert list(ds.train.x.columns) == ["x1", "x2", "x1^2", "sin(x2)"]
    row = ds.train.x.iloc[0]
    assert row["x1^2"] == pytest.approx(row["x1"] ** 2) and row["sin(x2)"] == pytest.approx(np.sin(row["x2"]))
    assert ds.meta["plane"] == {"extent": playground.EXTENT, "features": ["x1_squared", "sin_x2"]}
    other = playground.load(points=200, data_seed=5)
    assert not np.array_equal(other.train.x.to_numpy(), playground.load(points=200).train.x.to_numpy())


@pytest.mark.parametrize("args, match", [
    ({"noise": 80}, r"noise=80 is out of range: expected an int in \[0, 50\]"),
    ({"noise": -1}, "out of range"),
    ({"points": 5}, r"points=5 is out of range: expected an int in \[20, 5000\]"),
    ({"points": 10**7}, "out of range"),
    ({"train_share": 0.95}, r"expected a float in \[0.1, 0.9\]"),
    ({"shape": "moons"}, "expected one of circle, xor, gauss, spiral"),
    ({"x1_squared": "maybe"}, "expected true or false"),
    ({"radius": 3}, "unknown setting"),
])
def test_bad_options_are_refused_naming_the_allowed_values(args, match):
    with pytest.raises(ConfigError, match=match):
        make_config(dataset="playground", model="mlp", data_args=args)


def test_flags_and_defaults_come_from_the_declarations():
    from engine.cli import build_parser

    args = build_parser().parse_args(["train", "--dataset", "playground", "--shape", "spiral", "--noise", "10",
                                      "--points", "300", "--train-share", "0.7", "--x1-x2", "--no-sin-x1"])
    cfg = config_from_args(args)
    assert cfg.data_args["shape"] == "spiral" and cfg.data_args["noise"] == 10 and cfg.data_args["points"] == 300
    assert cfg.data_args["train_share"] == 0.7 and cfg.data_args["x1_x2"] is True and cfg.data_args["sin_x1"] is False
    assert cfg.model_args["activation"] == "tanh" and cfg.model_args["width"] == 8 and cfg.lr == 0.01
    assert cfg.early_stopping is False and cfg.epochs == 300


def test_encoded_grids_keep_their_values_to_a_byte():
    values = np.linspace(-0.7, 2.3, 576)
    back = decode(encode(values, -0.7, 2.3), -0.7, 2.3, 24)
    assert back.shape == (24, 24) and np.abs(back.ravel() - values).max() <= 3.0 / 255 / 2 + 1e-6


def test_older_records_keep_units_only_at_chosen_epochs_and_the_store_replaces_an_epochs_row(home):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="playground"), status="running")
    callback = Boundary(lambda r: store.log_boundary(run_id, r), _featurizer(), [], playground.EXTENT)
    for epoch in range(26):
        callback.record(model, TrainState(max_epochs=30, epoch=epoch))
        assert "units" in store.boundary(run_id)  # the newest always has them: the live view draws them
    assert store.boundary_epochs(run_id) == list(range(26))  # one row per epoch, replaced not added
    assert [e for e in range(26) if "units" in store.boundary(run_id, e)] == [*range(11), 20, 25]
    stripped = store.boundary(run_id, 13)
    assert decode(stripped["probs"], 0, 1, GRID).shape == (GRID, GRID) and "unit_size" not in stripped


def _featurizer(extra=()):
    from engine.features.table import TableFeatures

    feats = TableFeatures()
    feats.fit(playground.load(points=100, **{name: True for name in extra}))
    return feats


def test_the_callback_stores_a_grid_and_each_small_layers_units_and_leaves_no_hook():
    torch.manual_seed(0)
    feats = _featurizer(["x1_squared"])
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    records: list[dict] = []
    callback = Boundary(records.append, feats, ["x1_squared"], playground.EXTENT)
    callback.record(model, TrainState(max_epochs=1, epoch=2, step=7))
    (record,) = records
    assert record["epoch"] == 2 and record["size"] == GRID and len(record["probs"]) < 8000  # a few KB
    grids = unit_grids(record)
    assert [len(layer) for layer in grids] == [4, 3] and grids[0][0].shape == (UNIT_GRID, UNIT_GRID)
    assert all(not m._forward_hooks for m in model.modules())
    tanh_first = decode(record["units"][0][0]["values"], -1.0, 1.0, UNIT_GRID)  # the same unit on its own scale
    assert np.isfinite(tanh_first).all()
    wide = nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 2))
    callback.record(wide, TrainState(max_epochs=1, epoch=3))
    assert "units" not in records[-1]  # too many units to draw


def test_grid_probabilities_are_the_models_own_at_those_points():
    torch.manual_seed(0)
    feats = _featurizer()
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    records: list[dict] = []
    Boundary(records.append, feats, [], playground.EXTENT).record(model, TrainState(max_epochs=1))
    grid = decode(records[0]["probs"], 0.0, 1.0, GRID)
    coords = axis(playground.EXTENT, GRID)
    i, j = 5, 40  # row i: x2 = coords[i]; column j: x1 = coords[j]
    with torch.no_grad():
        direct = torch.softmax(model(feats.transform(playground.plane_features([coords[j]], [coords[i]]))), 1)
    assert grid[i, j] == pytest.approx(float(direct[0, 1]), abs=0.5 / 255 + 1e-6)


@pytest.fixture
def circle_run(home):
    code, out = cli("train", "--dataset", "playground", "--shape", "circle", "--points", "200", "--epochs", "12",
                    "--no-early-stopping", "--json")
    assert code == 0 and out[-1]["status"] == "done"
    return out[-1]["run_id"]


def test_the_stored_boundary_agrees_with_the_models_predictions_on_the_test_points(home, circle_run):
    store = RunStore(home)
    assert store.boundary_epochs(circle_run) == list(range(13))  # 0 (initial weights) .. 12
    best = checkpoint.load(store.run_dir(circle_run) / "best.pt")["epoch"]
    record = store.boundary(circle_run, best)
    pred = Predictor.from_run(store, circle_run)
    test = playground.load(points=200).test.x
    rows = test[["x1", "x2"]].to_dict("records")
    labels = [int(np.argmax(list(r["probs"].values()))) for r in pred.predict_rows(rows)]
    # the callback's code path on the test points gives predict's classes
    same_path = class1_probs(pred.model, plane_inputs(pred.featurizer, [], test["x1"], test["x2"]))
    assert [int(p >= 0.5) for p in same_path] == labels
    # the stored grid, read at the cell nearest each test point, gives predict's class (the grid is 64x64:
    # a point within a cell of the boundary may fall on either side)
    grid = decode(record["probs"], 0.0, 1.0, record["size"])
    coords = axis(record["extent"], record["size"])
    nearest = [grid[np.abs(coords - x2).argmin(), np.abs(coords - x1).argmin()] for x1, x2 in
               zip(test["x1"], test["x2"], strict=True)]
    agree = np.mean([int(p >= 0.5) == label for p, label in zip(nearest, labels, strict=True)])
    assert agree >= 0.95, agree
    newest = store.boundary(circle_run)
    assert newest["epoch"] == 12 and [len(layer) for layer in unit_grids(newest)] == [8, 8, 8]  # 3 tanh layers of 8
    kept = [e for e in range(13) if "units" in store.boundary(circle_run, e)]
    assert kept == list(range(11)) + [12]  # epochs 1..10 and the newest keep their units' pictures


def test_boundary_command_gives_the_newest_or_a_chosen_epoch_and_names_the_fix(home, circle_run):
    code, (out,) = cli("boundary", circle_run, "--json")
    assert code == 0 and out["epoch"] == 12 and set(out) == {"epoch", "x", "y", "probs"}
    assert len(out["x"]) == len(out["y"]) == GRID and len(out["probs"]) == GRID and len(out["probs"][0]) == GRID
    assert out["x"][0] == -playground.EXTENT and out["x"][-1] == playground.EXTENT
    assert all(0.0 <= p <= 1.0 for row in out["probs"] for p in row)
    code, (first,) = cli("boundary", circle_run, "--epoch", "0", "--json")
    assert code == 0 and first["epoch"] == 0 and first["probs"] != out["probs"]  # training moved the boundary
    code, (err,) = cli("boundary", circle_run, "--epoch", "40", "--json")
    assert code == 2 and "no decision boundary of epoch 40" in err["error"] and "--epoch between 0 and 12" in err["error"]
    code, (err,) = cli("boundary", "no-such-run", "--json")
    assert code == 2 and "no run" in err["error"]
    code, digits = cli("train", "--dataset", "digits", "--model", "linear", "--epochs", "1", "--json")
    code, (err,) = cli("boundary", digits[-1]["run_id"], "--json")
    assert code == 2 and "playground runs only" in err["error"] and "--dataset playground" in err["error"]
    store = RunStore(home)
    store.delete_run(circle_run)
    assert store.boundary_epochs(circle_run) == []



def test_a_closed_form_model_without_weights_gets_its_boundary_too(home):
    code, out = cli("train", "--dataset", "playground", "--shape", "gauss", "--points", "100", "--model",
                    "generative", "--json")
    assert code == 0 and out[-1]["status"] == "done", out
    store = RunStore(home)
    assert store.boundary_epochs(out[-1]["run_id"]) == [0, 1]
    record = store.boundary(out[-1]["run_id"])
    assert 0.3 < float(np.mean(decode(record["probs"], 0.0, 1.0, GRID) >= 0.5)) < 0.7  # the Gaussians' diagonal
    assert "units" not in record  # no hidden layers to draw


@pytest.mark.slow
@pytest.mark.parametrize("shape, floor", [("spiral", 0.95), ("circle", 0.97), ("xor", 0.97)])
def test_the_mlp_defaults_reach_the_accuracy_floors(home, shape, floor):
    """The acceptance floors at this dataset's defaults, seed 1 (300 epochs: about a minute each on 2 shared
    cores, hence `slow`)."""
    from engine.training.run import execute

    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="playground", model="mlp", seed=1, data_args={"shape": shape}),
                              status="running")
    summary = execute(store, run_id, threads=1)
    assert summary["status"] == "done" and summary["test_acc"] >= floor, summary
