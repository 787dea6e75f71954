"""What a study searches: the settings of a model a trial may change, their ranges, and a trial's RunConfig."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import optuna

from engine.config.options import Option
from engine.config.run_config import CORE, RunConfig, make_config
from engine.models import MODELS

LR_RANGE = (1e-4, 1e-1)
BATCH_CHOICES = (16, 32, 64, 128, 256)
SIZE_CHOICES = (32, 64, 128, 256, 512)  # width / hidden units
DROPOUT_RANGE = (0.0, 0.5)
MAX_LAYERS = 3
MODEL_PARAMS = ("width", "hidden", "dropout", "layers")  # model settings searched where a model declares them
KEPT_ON_MODEL_CHANGE = ("dataset", "features", "data_args", "epochs", "early_stopping", "patience", "device", "seed")



@dataclass(frozen=True)
class Param:
    """One searched setting: `name` as Optuna sees it, `key` as the RunConfig (or model_args) holds it."""
    name: str
    key: str
    scope: str  # "core" | "model"
    kind: str  # "log" | "float" | "int" | "choice"
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    def suggest(self, trial: optuna.Trial):
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        return trial.suggest_float(self.name, self.low, self.high, log=self.kind == "log")


def _clip(opt: Option, low: float, high: float) -> tuple[float, float]:
    lo = max(low, opt.min) if opt.min is not None else low
    hi = min(high, opt.max) if opt.max is not None else high
    return lo, max(lo, hi)


def _param(opt: Option, scope: str, prefix: str = "") -> Param | None:
    name = prefix + opt.name
    if opt.name == "lr":
        return Param(name, "lr", scope, "log", *_clip(opt, *LR_RANGE))
    if opt.name == "batch_size":
        return Param(name, opt.name, scope, "choice", choices=BATCH_CHOICES)
    if opt.name in ("width", "hidden"):
        lo, hi = _clip(opt, min(SIZE_CHOICES), max(SIZE_CHOICES))
        return Param(name, opt.name, scope, "choice", choices=tuple(s for s in SIZE_CHOICES if lo <= s <= hi))
    if opt.name == "dropout":
        return Param(name, opt.name, scope, "float", *_clip(opt, *DROPOUT_RANGE))
    if opt.name == "layers":
        lo, hi = _clip(opt, 1, MAX_LAYERS)
        return Param(name, opt.name, scope, "int", lo, hi)
    return None


def searchable(model: str) -> list[str]:
    """The settings a study can search for `model`: lr, batch size and the model's own width/hidden
    size, dropout and layers (where it declares them)."""
    return ["lr", "batch_size", *(o.name for o in MODELS[model].options if o.name in MODEL_PARAMS)]


def search_space(model: str, search: Iterable[str] | None = None, prefix: str = "") -> list[Param]:
    """The searched settings of `model` (all `searchable` ones unless `search` names some)."""
    allowed = searchable(model)
    wanted = allowed if search is None else [s for s in search if s in allowed]
    options = {**{o.name: o for o in MODELS[model].options}, "lr": CORE["lr"], "batch_size": CORE["batch_size"]}
    scope = {"lr": "core", "batch_size": "core"}
    params = [_param(options[n], scope.get(n, "model"), "" if n in scope else prefix) for n in wanted]
    return [p for p in params if p is not None]


def trial_config(trial: optuna.Trial, base: RunConfig, spaces: dict[str, list[Param]]) -> RunConfig:
    """The run config of `trial`: `base` with the suggested values. When the study searches the model
    type, another model keeps base's data and budget (`KEPT_ON_MODEL_CHANGE`) and its own defaults."""
    model = trial.suggest_categorical("model", list(spaces)) if len(spaces) > 1 else base.model
    values = base.to_dict()
    if model != base.model:
        values = {k: values[k] for k in KEPT_ON_MODEL_CHANGE} | {"model": model, "model_args": {}}
    for param in spaces[model]:
        value = param.suggest(trial)
        if param.scope == "core":
            values[param.key] = value
        else:
            values["model_args"] = {**values["model_args"], param.key: value}
    return make_config(**values)
