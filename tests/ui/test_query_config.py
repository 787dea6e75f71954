"""Run settings in the URL: config -> query parameters -> the same config; bad parameters are
ignored with one notice each, never an exception."""

from __future__ import annotations

import pytest

from engine.config.run_config import make_config
from ui.query_config import config_to_params, params_to_config

CONFIGS = [
    make_config(),
    make_config(dataset="news", model="linear", lr=0.05, features="w2v", seed=7, batch_size=8, epochs=3,
                model_args={"bias": False}),
    make_config(dataset="digits", model="mlp", optimizer="sgd", lr=1e-05, momentum=0.5, schedule="cosine",
                early_stopping=False, weight_decay=0.0001, device="cpu",
                model_args={"layers": 3, "width": 17, "activation": "tanh", "batch_norm": False, "dropout": 0.15}),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["defaults", "news-linear", "digits-mlp"])
@pytest.mark.parametrize("only_changed", [False, True])
def test_round_trip(cfg, only_changed):
    params = config_to_params(cfg, only_changed=only_changed)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    back, notices = params_to_config(params)
    assert notices == []
    assert back == cfg


def test_params_are_readable_strings():
    params = config_to_params(CONFIGS[2])
    assert params["lr"] == "1e-05" and params["early_stopping"] == "false" and params["width"] == "17"
    assert params["dataset"] == "digits" and params["model"] == "mlp"
    short = config_to_params(make_config(dataset="news", model="mlp", lr=0.01), only_changed=True)
    assert short == {"dataset": "news", "model": "mlp", "lr": "0.01"}


def test_unknown_and_invalid_parameters_are_ignored_with_a_notice_each():
    cfg, notices = params_to_config({"dataset": "digits", "model": "mlp", "lr": "fast", "batch_size": "0",
                                     "epochs": "5", "optimizer": "rmsprop", "colour": "blue", "width": "64",
                                     "bias": "false", "features": "bert", "dropout": "2"})
    assert cfg == make_config(dataset="digits", model="mlp", epochs=5, model_args={"width": 64})
    assert len(notices) == 7
    text = " | ".join(notices)
    for fragment in ("lr='fast'", "batch_size", "rmsprop", "unknown parameter 'colour'", "bias='false' does not apply",
                     "features='bert'", "dropout"):
        assert fragment in text, fragment


def test_unknown_dataset_or_model_falls_back_with_a_notice():
    cfg, notices = params_to_config({"dataset": "imagenet", "model": "mlp", "lr": "0.01"})
    assert (cfg.dataset, cfg.model, cfg.lr) == ("digits", "mlp", 0.01)
    assert len(notices) == 1 and "imagenet" in notices[0]
    cfg, notices = params_to_config({"model": "resnet"})
    assert cfg == make_config() and "resnet" in notices[0]


def test_model_defaults_apply_when_a_setting_is_absent():
    cfg, notices = params_to_config({"dataset": "digits", "model": "linear"})
    assert notices == [] and cfg == make_config(dataset="digits", model="linear")


def test_repeated_parameters_take_the_last_value_and_page_params_can_be_ignored():
    cfg, notices = params_to_config({"lr": ["0.1", "0.2"], "tab": "runs"}, ignore=["tab"])
    assert cfg.lr == 0.2 and notices == []


def test_empty_params_give_the_defaults():
    assert params_to_config({}) == (make_config(), [])
