"""The CNN: shapes for 28x28 and 8x8 inputs, training through the real pipeline, prediction of
drawn digits from image files with the CLI (`predict RUN --input-file LIST --json`), and a reduced
run on the real MNIST files that must reach 0.98 test accuracy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from conftest import shared
from digit_drawing import draw_digit
from PIL import Image

from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.models import MODELS, build_model
from engine.training.run import execute


@pytest.mark.parametrize("shape, layers", [((28, 28), 1), ((28, 28), 2), ((28, 28), 3), ((8, 8), 2), ((8, 8), 4)])
def test_cnn_output_shape(shape, layers):
    model = build_model("cnn", {"layers": layers, "channels": 4, "kernel": 3, "hidden": 16, "dropout": 0.1,
                                "batch_norm": True}, {"image_shape": shape, "num_outputs": 10})
    assert model(torch.rand(5, *shape)).shape == (5, 10)
    assert model(torch.rand(5, 1, *shape)).shape == (5, 10)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_cnn_defaults_apply_where_the_user_gave_none():
    cfg = make_config(dataset="digits", model="cnn")
    for key, value in MODELS["cnn"].defaults.items():
        assert getattr(cfg, key) == value
    assert make_config(dataset="digits", model="cnn", epochs=7, schedule="none").epochs == 7
    assert make_config(dataset="mnist", model="cnn").epochs == 3  # MNIST's own default: a few epochs
    assert make_config(dataset="digits", model="cnn").epochs == 30  # small data: more epochs (early stopping)
    with pytest.raises(ValueError, match="does not take"):
        make_config(dataset="news", model="cnn")


def _cli(home, *args, timeout=300):
    env = {**os.environ, "NNLAB_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_digits_cnn_run_and_cli_prediction_of_drawn_pictures(home, tmp_path):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="cnn", epochs=8, seed=1))
    summary = execute(store, run_id, threads=1)
    assert summary["status"] == "done" and summary["test_acc"] >= 0.95, summary
    result = store.result(run_id)
    assert len(result["test_predictions"]) == 180 and set(result["per_class_acc"]) == {str(d) for d in range(10)}
    paths = []
    for digit in (0, 1, 4, 7):
        path = tmp_path / f"digit{digit}.png"
        draw_digit(digit, "dark_on_light", box=(80, 40, 120, 200), brush=24).save(path)
        paths.append(str(path))
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (280, 280), (0, 0, 0, 0)).save(blank)  # an untouched transparent canvas
    (tmp_path / "list.txt").write_text("\n".join([*paths, str(blank)]) + "\n")
    out = _cli(home, "predict", run_id, "--input-file", str(tmp_path / "list.txt"), "--json")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 5 and out.returncode == 1  # the blank picture is an error line
    for line in lines[:4]:
        assert line["label"] in range(10) and len(line["probs"]) == 10 and abs(sum(line["probs"]) - 1) < 1e-3
    assert "blank" in lines[4]["error"]
    ckpt = _cli(home, "predict", "--checkpoint", str(store.run_dir(run_id) / "best.pt"), "--input-file",
                str(tmp_path / "list.txt"), "--json")
    assert [json.loads(line) for line in ckpt.stdout.splitlines()] == lines


@pytest.mark.real_data
@pytest.mark.slow
def test_cnn_on_real_mnist_reduced_run_reaches_098(home):
    from engine.data import mnist

    mnist.fetch(home, from_dir=shared("mnist"))
    store = RunStore(home)
    cfg = make_config(dataset="mnist", model="cnn", epochs=2, seed=1, data_args={"train_size": 20_000})
    run_id = store.create_run(cfg)
    summary = execute(store, run_id)
    assert summary["status"] == "done", summary
    assert summary["test_acc"] >= 0.98, summary
    per_class = store.result(run_id)["per_class_acc"]
    assert min(per_class.values()) >= 0.95, per_class
