"""One source of truth for every setting: the defaults a run starts from (global, the dataset's, the model's),
the core settings a model does not use (ModelSpec.fixed) refused when given another value, dropped from
stored configs and from the run name."""

from __future__ import annotations

import pytest

from engine.config.options import ConfigError
from engine.config.run_config import CORE, RunConfig, core_defaults, make_config
from engine.models import MODELS


def test_the_dataset_defaults_are_part_of_the_defaults_a_run_starts_from():
    defaults = core_defaults("mlp", "covid")
    cfg = make_config(dataset="covid", model="mlp")
    assert (defaults["optimizer"], defaults["lr"]) == ("sgd", 3e-3) == (cfg.optimizer, cfg.lr)
    assert cfg.model_args["width"] == 64  # the dataset's own settings for the mlp
    assert core_defaults("mlp")["optimizer"] == CORE["optimizer"].default  # no dataset: the global default
    assert core_defaults("transformer", "news")["optimizer"] == "adamw"  # the model's own wins


@pytest.mark.parametrize("name, value", [("optimizer", "sgd"), ("schedule", "cosine"), ("momentum", 0.5)])
def test_a_setting_the_transformer_does_not_use_is_refused_with_another_value(name, value):
    with pytest.raises(ConfigError, match=f"does not use the setting {name}.*Fix: leave {name} out"):
        make_config(dataset="news", model="transformer", **{name: value})
    own = core_defaults("transformer", "news")[name]
    assert getattr(make_config(dataset="news", model="transformer", **{name: str(own)}), name) == own


def test_a_stored_config_takes_the_models_own_value_for_what_it_does_not_use():
    stored = make_config(dataset="news", model="transformer").to_dict()
    stored.update(optimizer="sgd", schedule="cosine")  # as a run from before `fixed` stored it
    cfg = RunConfig.from_dict(stored)
    assert (cfg.optimizer, cfg.schedule) == ("adamw", "none")
    assert cfg.with_changes(lr=2e-4).lr == 2e-4


def test_the_run_name_leaves_out_what_the_model_does_not_use():
    assert make_config(dataset="digits", model="mlp").short_name() == "digits · mlp · adam lr=0.001 · B=64"
    assert make_config(dataset="news", model="transformer").short_name() == "news · transformer · lr=0.0001 · B=32"
    generative = make_config(dataset="pokemon", model="generative")
    assert generative.short_name() == "pokemon · generative" and "lr" in MODELS["generative"].fixed
    with pytest.raises(ConfigError, match="does not use the setting epochs"):
        make_config(dataset="pokemon", model="generative", epochs=30)
