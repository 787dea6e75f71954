"""Every registered model builds for the data kinds it declares and gives (B, C) outputs."""

from __future__ import annotations

import pytest
import torch

from engine.config.options import ConfigError
from engine.config.run_config import make_config
from engine.models import MODELS, build_model, count_parameters
from engine.training.pipeline import build

SPECS = {
    "text": {"input_dim": 50, "num_outputs": 4},
    "image": {"input_dim": 64, "num_outputs": 10, "image_shape": (8, 8)},
}


@pytest.mark.parametrize("name", ["linear", "mlp"])
@pytest.mark.parametrize("kind", ["text", "image"])
def test_output_shapes(name, kind):
    spec = SPECS[kind]
    model = build_model(name, make_config(model=name).model_args, spec)
    x = torch.randn(5, 8, 8) if kind == "image" else torch.randn(5, 50)
    if name == "linear" and kind == "image":
        x = x.reshape(5, -1)
    assert model(x).shape == (5, spec["num_outputs"])


def test_parameter_counts():
    assert count_parameters(build_model("linear", {"bias": True}, SPECS["text"])) == (204, 204)
    assert count_parameters(build_model("linear", {"bias": False}, SPECS["text"]))[0] == 200
    args = {"layers": 1, "width": 10, "activation": "relu", "batch_norm": False, "dropout": 0.0, "input_norm": False}
    assert count_parameters(build_model("mlp", args, SPECS["text"]))[0] == 50 * 10 + 10 + 10 * 4 + 4


def test_mlp_options_change_the_network():
    base = {"layers": 2, "width": 8, "activation": "tanh", "batch_norm": True, "dropout": 0.3, "input_norm": True}
    layers = [type(m).__name__ for m in build_model("mlp", base, SPECS["text"]).modules()]
    assert layers.count("Linear") == 3 and layers.count("BatchNorm1d") == 3  # input + 2 hidden
    assert layers.count("Tanh") == 2 and layers.count("Dropout") == 2
    plain = [type(m).__name__ for m in build_model("mlp", {**base, "batch_norm": False, "dropout": 0.0,
                                                            "input_norm": False}, SPECS["text"]).modules()]
    assert "BatchNorm1d" not in plain and "Dropout" not in plain


def test_batch_norm_with_batches_of_one_is_refused_before_training():
    cfg = make_config(model="mlp", batch_size=1)
    with pytest.raises(ConfigError, match="batch size"):
        build(cfg, SPECS["image"])


def test_every_model_declares_known_kinds_and_options():
    from engine.data import DATASETS

    for spec in MODELS.values():
        assert set(spec.kinds) <= {"text", "image", "table"}
        dataset = next(d.name for d in DATASETS.values() if d.kind in spec.kinds)
        assert make_config(model=spec.name, dataset=dataset).model == spec.name
