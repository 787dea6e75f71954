"""What a model registers: its name, the data it takes, its settings and a builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from engine.config.options import Option
from engine.training.optim import configured_optimizer


class Model(nn.Module):
    """What the training pipeline may call on a model (every model of the registry is one). Each method
    has the plain behaviour; a model overrides what it does its own way, as nanoGPT's model owns
    `configure_optimizers`."""

    closed_form = False  # True: `fit_closed_form(x, y)` fits it at once, with no optimizer and no epochs
    # padded sequences: True trains on batches of titles of similar length (little padding to compute);
    # False on random batches, each padded to its longest title (a model that reads the padding)
    length_buckets = True

    def training_loss(self, x, y: torch.Tensor, loss) -> tuple[torch.Tensor, torch.Tensor]:
        """(outputs, loss) of a training batch; a model adds to it here (R-Drop, adversarial training)."""
        out = self(x)
        return out, loss(out, y)

    def param_groups(self, lr: float, weight_decay: float) -> list[dict]:
        """The optimizer's parameter groups: every trainable weight, one rate, one weight decay."""
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr, "weight_decay": weight_decay}]

    def configure_optimizers(self, cfg, steps_per_epoch: int):
        """(optimizer or None, scheduler or None, scheduler stepped per batch): the run's settings."""
        return configured_optimizer(self.param_groups(cfg.lr, cfg.weight_decay), cfg, steps_per_epoch)

    def warm_start(self, batches, device) -> float | None:
        """Prepare from the training data before the first epoch of a fresh run; None: nothing to do."""
        return None

    def fit_closed_form(self, x: torch.Tensor, y: torch.Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} trains by gradient descent, not in closed form")


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
