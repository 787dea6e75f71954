"""RunConfig: everything that defines one training run, as a frozen dataclass with a JSON
round-trip. Core settings are declared once as `Option`s; per-model and per-dataset settings
live in `model_args` / `data_args` and are declared by the model and dataset registries."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from engine.config.options import ConfigError, Option, parse_options

MONITOR_MODE = {"valid_loss": "min", "valid_acc": "max"}  # lower loss is better, higher accuracy is better

CORE_OPTIONS: tuple[Option, ...] = (
    Option("dataset", "str", "digits", "dataset name"),
    Option("model", "str", "mlp", "model name"),
    Option(
        "features", "str", "glove",
        "text features: glove (embedded GloVe-50), w2v (Word2Vec trained on the training titles) "
        "or word2vec:PATH (a word2vec binary such as GoogleNews-vectors-negative300.bin.gz)",
    ),
    Option("optimizer", "str", "adam", "optimizer", choices=("sgd", "adam", "adamw")),
    Option("lr", "float", 1e-3, "learning rate", min=1e-8, max=1000.0, log=True),
    Option("momentum", "float", 0.9, "SGD momentum", min=0.0, max=0.999, step=0.001),
    Option("weight_decay", "float", 0.0, "L2 weight decay", min=0.0, max=1.0, log=True),
    Option("schedule", "str", "none",
           "learning-rate schedule: cosine decay per epoch, or onecycle (per batch: warm up to lr, then anneal)",
           choices=("none", "cosine", "onecycle")),
    Option("batch_size", "int", 64, "mini-batch size: examples per gradient step", min=1, max=65536, log=True),
    Option("epochs", "int", 30, "maximum number of epochs", min=1, max=10000),
    Option("monitor", "str", "valid_loss",
           "the validation metric that picks the best checkpoint (the weights that are tested, exported and "
           "predict) and that early stopping watches: lowest valid_loss, or highest valid_acc (classification)",
           choices=tuple(MONITOR_MODE)),
    Option("early_stopping", "bool", True, "stop when the monitored metric has not improved for `patience` epochs"),
    Option("patience", "int", 3, "epochs without improvement of the monitored metric before stopping",
           min=1, max=1000),
    Option("device", "str", "auto", "where to train", choices=("auto", "cpu", "cuda", "mps")),
    Option("precision", "str", "fp32",
           "numbers in training: fp32 (TF32 matrix products on CUDA), or bf16/fp16 mixed precision (autocast; "
           "fp16 with gradient scaling on CUDA): faster on GPUs, less exact",
           choices=("fp32", "bf16", "fp16")),
    Option("seed", "int", 1, "random seed (same seed, same run on CPU)", min=0, max=2**31 - 1),
)
CORE = {o.name: o for o in CORE_OPTIONS}


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "digits"
    model: str = "mlp"
    features: str = "glove"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    batch_size: int = 64
    epochs: int = 30
    monitor: str = "valid_loss"
    early_stopping: bool = True
    patience: int = 3
    device: str = "auto"
    precision: str = "fp32"
    seed: int = 1
    model_args: dict[str, Any] = field(default_factory=dict)  # declared by the model (engine.models)
    data_args: dict[str, Any] = field(default_factory=dict)  # declared by the dataset (engine.data)

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("model_args", "data_args"):
            d[key] = {k: list(v) if isinstance(v, tuple) else v for k, v in d[key].items()}
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> RunConfig:
        """A stored config (a run's, a checkpoint's): model settings since retired are dropped, the rest validated."""
        from engine.models import MODELS

        spec = MODELS.get(values.get("model", CORE["model"].default))
        if spec is not None and spec.retired and values.get("model_args"):
            values = {**values, "model_args": {k: v for k, v in values["model_args"].items() if k not in spec.retired}}
        if spec is not None:  # what the model does not use takes the model's value (runs from before `fixed`)
            values = {k: v for k, v in values.items() if k not in spec.fixed}
        return make_config(**values)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))

    def with_changes(self, **changes) -> RunConfig:
        return make_config(**{**self.to_dict(), **changes})

    def short_name(self) -> str:
        """dataset · model · optimizer lr · batch size, leaving out what the model does not use."""
        from engine.models import MODELS

        fixed = MODELS[self.model].fixed if self.model in MODELS else ()
        parts = [self.dataset, self.model]
        train = " ".join(t for name, t in (("optimizer", self.optimizer), ("lr", f"lr={self.lr:g}"))
                         if name not in fixed)
        parts += [train] if train else []
        parts += [f"B={self.batch_size}"] if "batch_size" not in fixed else []
        return " · ".join(parts)


def make_config(**values) -> RunConfig:
    """Build a validated RunConfig. Unknown keys and out-of-range values raise ConfigError
    naming the allowed range, before any work starts. Settings not given take the defaults of
    `core_defaults(model, dataset)`; a setting the model does not use (ModelSpec.fixed) given with
    another value than the model's is refused."""
    from engine.data import DATASETS
    from engine.models import MODELS

    names = {f.name for f in fields(RunConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    model_name = values.get("model", CORE["model"].default)
    dataset_name = values.get("dataset", CORE["dataset"].default)
    core = {k: v for k, v in values.items() if k in CORE}
    if model_name in MODELS:
        defaults = core_defaults(model_name, dataset_name)
        _check_fixed(model_name, core, defaults)
        core = {**defaults, **core}
    parsed = parse_options(CORE_OPTIONS, core, "the run")
    if parsed["dataset"] not in DATASETS:
        raise ConfigError(f"unknown dataset {parsed['dataset']!r}: expected one of {', '.join(DATASETS)}")
    if parsed["model"] not in MODELS:
        raise ConfigError(f"unknown model {parsed['model']!r}: expected one of {', '.join(MODELS)}")
    dataset, model = DATASETS[parsed["dataset"]], MODELS[parsed["model"]]
    if dataset.kind not in model.kinds:
        raise ConfigError(
            f"model {model.name!r} does not take {dataset.kind} data; for {dataset.name!r} use one of "
            + ", ".join(m.name for m in MODELS.values() if dataset.kind in m.kinds)
        )
    features = parsed["features"]
    if not (features in ("glove", "w2v") or features.startswith("word2vec:")):
        raise ConfigError(f"features={features!r}: expected glove, w2v or word2vec:PATH")
    model_args = parse_options(model.options, {**dataset_model_args(model.name, dataset.name),
                                               **dict(values.get("model_args") or {})}, f"model {model.name!r}")
    data_args = parse_options(dataset.options, dict(values.get("data_args") or {}), f"dataset {dataset.name!r}")
    return RunConfig(**parsed, model_args=model_args, data_args=data_args)


def _check_fixed(model: str, given: dict, defaults: dict) -> None:
    from engine.models import MODELS

    for name in MODELS[model].fixed:
        if name in given and CORE[name].parse(given[name]) != defaults[name]:
            raise ConfigError(f"model {model!r} does not use the setting {name} (it trains with its own, "
                              f"{name}={defaults[name]!r}). Fix: leave {name} out")


def core_defaults(model: str, dataset: str | None = None) -> dict:
    """The core settings a run of `model` on `dataset` starts from: the global defaults, the dataset's
    own (e.g. SGD for the covid homework) and the model's own, which win. The Train page and make_config
    both take them from here."""
    from engine.data import DATASETS
    from engine.models import MODELS

    ds_defaults = {k: v for k, v in DATASETS[dataset].defaults.items() if k != "model_args"} \
        if dataset in DATASETS else {}
    return {**{o.name: o.default for o in CORE_OPTIONS}, **ds_defaults, **MODELS[model].defaults, "model": model,
            **({"dataset": dataset} if dataset in DATASETS else {})}


def dataset_model_args(model: str, dataset: str) -> dict:
    """The model settings a dataset trains best with (its defaults' {"model_args": {model: {...}}})."""
    from engine.data import DATASETS

    spec = DATASETS.get(dataset)
    return dict(spec.defaults.get("model_args", {}).get(model, {})) if spec else {}


def check_monitor(cfg: RunConfig, task: str) -> None:
    """An accuracy can only pick the best checkpoint of a classifier (known once the data is loaded)."""
    if cfg.monitor == "valid_acc" and task != "classification":
        raise ConfigError(f"monitor valid_acc needs a classification task; this run is {task}. "
                          "Fix: monitor valid_loss (best checkpoint by lowest valid loss)")


__all__ = ["CORE", "CORE_OPTIONS", "ConfigError", "RunConfig", "make_config", "core_defaults", "dataset_model_args",
           "check_monitor", "replace"]
