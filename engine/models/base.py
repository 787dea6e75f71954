"""What a model registers: its name, the data it takes, its settings and a builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from engine.config.options import Option


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    kinds: tuple[str, ...]  # dataset kinds it accepts: "text", "image", "table"
    input: str  # featurizer output it consumes: "vector", "image", "ids", ...
    build: Callable[..., nn.Module]  # build(args: dict, spec: dict) -> nn.Module
    options: tuple[Option, ...] = ()
    presets: dict[str, dict] = field(default_factory=dict)  # name -> model_args (plus core overrides)
    # core settings this model trains best with (e.g. a higher lr for the convex single layer);
    # applied where the user gave no value
    defaults: dict = field(default_factory=dict)
    description: str = ""
    tasks: tuple[str, ...] = ("classification", "regression")
    # skeleton(args, spec) -> nn.Module: the same architecture without reading pretrained weights (for a model
    # that loads them; engine/models/summary.py builds it on the meta device); None: `build` reads nothing
    skeleton: Callable[..., nn.Module] | None = None
    # core settings this model does not use (e.g. its own optimizer): the page disables them, make_config
    # refuses another value than the model's, the run name leaves them out
    fixed: tuple[str, ...] = ()
    # settings this model no longer has: dropped from stored configs (RunConfig.from_dict), so old runs load
    retired: tuple[str, ...] = ()


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return total, trainable
