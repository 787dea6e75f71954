"""RunConfig validation (before any work starts) and the CLI flags generated from the Options."""

from __future__ import annotations

import argparse

import pytest

from engine.cli.flags import add_run_flags, config_from_args
from engine.config.options import ConfigError
from engine.config.run_config import RunConfig, make_config


@pytest.mark.parametrize("values, fragment", [
    ({"batch_size": 0}, "batch_size=0 is out of range: expected an int in [1, 65536]"),
    ({"lr": -0.1}, "lr=-0.1 is out of range"),
    ({"epochs": 10**9}, "epochs=1000000000 is out of range: expected an int in [1, 10000]"),
    ({"model": "transformerz"}, "unknown model 'transformerz'"),
    ({"dataset": "imagenet"}, "unknown dataset 'imagenet'"),
    ({"optimizer": "lbfgs"}, "expected one of sgd, adam, adamw"),
    ({"model_args": {"depth": 3}}, "unknown setting(s) for model 'mlp': depth"),
    ({"model_args": {"dropout": 1.5}}, "dropout=1.5 is out of range"),
    ({"features": "bert"}, "features='bert'"),
    ({"colour": "red"}, "unknown setting(s): colour"),
])
def test_bad_settings_are_rejected_naming_the_allowed_values(values, fragment):
    with pytest.raises(ConfigError) as err:
        make_config(**values)
    assert fragment in str(err.value)


def test_json_round_trip_and_model_defaults():
    cfg = make_config(dataset="news", model="mlp", lr=0.003, model_args={"width": 64})
    assert RunConfig.from_json(cfg.to_json()) == cfg
    assert make_config(model="linear").lr == 0.01  # the single layer's own default
    assert make_config(model="linear", lr=0.2).lr == 0.2  # a given value wins


def parse(*argv) -> RunConfig:
    parser = argparse.ArgumentParser()
    add_run_flags(parser)
    return config_from_args(parser.parse_args(list(argv)))


def test_flags_build_the_same_config_as_the_api():
    cfg = parse("--dataset", "news", "--model", "mlp", "--lr", "0.003", "--width", "64", "--batch-norm", "false",
                "--epochs", "5", "--schedule", "cosine")
    assert cfg == make_config(dataset="news", model="mlp", lr=0.003, epochs=5, schedule="cosine",
                              model_args={"width": 64, "batch_norm": False})


def test_boolean_flags_accept_every_spelling():
    assert parse("--early-stopping", "false").early_stopping is False
    assert parse("--no-early-stopping").early_stopping is False
    assert parse("--early-stopping").early_stopping is True


def test_a_flag_of_another_model_is_refused():
    with pytest.raises(ConfigError, match="--width does not apply to model 'linear'"):
        parse("--model", "linear", "--width", "32")


def test_presets_fill_model_and_core_settings():
    cfg = parse("--dataset", "digits", "--model", "mlp", "--preset", "book 784-50-10 (sigmoid)")
    assert cfg.model_args["width"] == 50 and cfg.model_args["activation"] == "sigmoid" and cfg.optimizer == "sgd"


def test_the_rnn_exercise_preset_is_plain_sgd_although_the_default_decays_weights():
    assert make_config(dataset="news", model="rnn").weight_decay == 0.01  # AdamW's decay, the rnn's default
    cfg = parse("--dataset", "news", "--model", "rnn", "--preset", "exercise: emb 300, hidden 50, plain RNN, SGD")
    assert (cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.batch_size) == ("sgd", 0.05, 0.0, 32)
    assert cfg.model_args["cell"] == "rnn" and cfg.model_args["hidden"] == 50
    default = make_config(dataset="news", model="rnn").model_args
    assert (default["adversarial"], default["unknown_vectors"]) == (2.0, True)  # the rnn's own, off in the exercise
    assert (cfg.model_args["adversarial"], cfg.model_args["unknown_vectors"]) == (0.0, False)


def test_a_flag_that_models_share_with_different_defaults_says_each_models_default():
    import argparse

    from engine.cli.flags import add_run_flags

    parser = argparse.ArgumentParser()
    add_run_flags(parser)
    helps = {a.option_strings[0]: a.help for a in parser._actions if a.option_strings}
    assert "default True (rnn), False (textcnn)" in helps["--unknown-vectors"]
    assert "0.4 (rnn), 0.5 (textcnn), 0.1 (transformer))" in helps["--dropout"]
    assert helps["--cell"].endswith("default gru)")  # one model declares it: its default


def test_a_model_that_does_not_take_the_dataset_kind_is_refused(monkeypatch):
    from engine.models import MODELS, ModelSpec

    monkeypatch.setitem(MODELS, "pixels_only", ModelSpec("pixels_only", "Pixels only", ("image",), "vector",
                                                         build=lambda args, spec: None))
    assert make_config(dataset="digits", model="pixels_only").model == "pixels_only"
    with pytest.raises(ConfigError) as err:
        make_config(dataset="news", model="pixels_only")
    assert "does not take text data" in str(err.value) and "linear" in str(err.value) and "mlp" in str(err.value)


def test_every_command_prints_its_help(capsys):
    """Help text is generated from the Options; a '%' in one of them once broke `train --help`."""
    from engine.cli import COMMAND_MODULES, build_parser, main

    parser = build_parser(COMMAND_MODULES)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"train", "submit", "fetch", "predict", "export"} <= set(commands)
    for command in commands:
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0, command
        assert "usage:" in capsys.readouterr().out, command
