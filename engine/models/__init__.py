"""Model registry: name -> ModelSpec (builder, settings, presets)."""

from __future__ import annotations

from engine.config.options import ConfigError
from engine.models import cnn, generative, linear, mlp
from engine.models.base import ModelSpec, count_parameters

MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    MODELS[spec.name] = spec
    return spec


for _spec in (linear.SPEC, mlp.SPEC, generative.SPEC, generative.LOGISTIC, cnn.SPEC):
    register(_spec)


def _register_sequence_models() -> None:
    from engine.models import rnn, textcnn, transformer

    for spec in (rnn.SPEC, textcnn.SPEC, transformer.SPEC):
        register(spec)


_register_sequence_models()


def build_model(name: str, args: dict, spec: dict):
    model = MODELS[name]
    task = spec.get("task", "classification")
    if task not in model.tasks:
        others = " or ".join(m.name for m in MODELS.values() if task in m.tasks and spec.get("kind") in m.kinds)
        raise ConfigError(f"model {name!r} does only {' or '.join(model.tasks)}, and this target is a {task} "
                          f"one. Fix: choose {others or 'another model'}, or change the task")
    return model.build(args, spec)


def models_for(kind: str) -> list[str]:
    return [m.name for m in MODELS.values() if kind in m.kinds]


__all__ = ["MODELS", "ModelSpec", "build_model", "count_parameters", "models_for", "register"]
