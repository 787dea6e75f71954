"""From a RunConfig to what the Trainer needs: data tensors, featurizer, model, optimizer.
Shared by training, resuming, prediction and the labs, so each builds things the same way."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from engine.config.options import ConfigError
from engine.config.run_config import RunConfig
from engine.data import DATASETS, Dataset, load_dataset
from engine.features import Featurizer, featurize_splits, make_featurizer
from engine.models import MODELS, build_model
from engine.models.base import Model
from engine.training.batching import BUCKET, make_batches
from engine.training.optim import configured_optimizer


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class Prepared:
    config: RunConfig
    dataset: Dataset
    featurizer: Featurizer
    tensors: dict  # split -> features
    targets: dict  # split -> labels/targets tensor
    spec: dict  # input_dim, num_outputs, classes, task, ...


def prepare_data(cfg: RunConfig, home=None, progress=None) -> Prepared:
    ds_spec = DATASETS[cfg.dataset]
    dataset = load_dataset(cfg.dataset, home, **cfg.data_args)
    featurizer = make_featurizer(cfg, ds_spec.kind, MODELS[cfg.model].input, home)
    featurizer.fit(dataset)
    tensors = featurize_splits(featurizer, dataset, home)
    dtype = torch.long if dataset.task == "classification" else torch.float32
    targets = {s: torch.as_tensor(getattr(dataset, s).y, dtype=dtype) for s in ("train", "valid", "test")}
    spec = {
        **featurizer.spec(),
        "num_outputs": len(dataset.classes) if dataset.task == "classification" else 1,
        "classes": list(dataset.classes),
        "task": dataset.task,
        "dataset": dataset.name,
        "kind": dataset.kind,
    }
    if dataset.meta.get("target_scale"):  # [mean, std] of a standardised regression target
        spec["target_scale"] = list(dataset.meta["target_scale"])
    return Prepared(cfg, dataset, featurizer, tensors, targets, spec)


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def training_batches(x, y: torch.Tensor, model: Model, cfg: RunConfig, generator: torch.Generator,
                     pin_memory: bool = False):
    """The shuffled training batches of a run for `model`: padded titles grouped by length unless the model
    reads the padding (`length_buckets` False: random batches, each padded to its longest title)."""
    return make_batches(x, y, cfg.batch_size, shuffle=True, generator=generator, drop_single=has_batch_norm(model),
                        pin_memory=pin_memory, bucket=BUCKET if model.length_buckets else 1)


def build(cfg: RunConfig, spec: dict) -> nn.Module:
    model = build_model(cfg.model, cfg.model_args, spec)
    if cfg.batch_size == 1 and has_batch_norm(model):
        raise ConfigError("batch norm cannot train on batches of one example. Fix: batch size ≥ 2, or turn "
                          "batch norm off")
    return model


def make_optimizer(model: nn.Module, cfg: RunConfig, steps_per_epoch: int):
    """The model's `configure_optimizers(cfg, steps_per_epoch)` (engine.models.base.Model: the settings'
    optimizer and schedule unless the model has its own, e.g. the transformer's AdamW groups and warmup); for a
    plain module, the settings' over its trainable weights. Returns (optimizer, scheduler or None, per batch)."""
    if isinstance(model, Model):
        return model.configure_optimizers(cfg, steps_per_epoch)
    groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
    return configured_optimizer(groups, cfg, steps_per_epoch)
