"""The model protocol (engine.models.base.Model): what the pipeline calls on every model of the registry,
the closed-form fit run by the Trainer through its public events, a checkpoint without an optimizer, and
one "did it improve?" rule for early stopping and the checkpointer."""

from __future__ import annotations

import math

import pytest
import torch

from engine.config.run_config import make_config
from engine.models import MODELS
from engine.models.base import Model
from engine.models.generative import GaussianGenerative
from engine.training import checkpoint
from engine.training.batching import make_batches
from engine.training.callbacks import Checkpointer, EarlyStopping, improved
from engine.training.pipeline import make_optimizer
from engine.training.trainer import Callback, Trainer, TrainState

SPEC = {"input_dim": 4, "num_outputs": 3, "task": "classification", "kind": "table"}


@pytest.mark.parametrize("name", ["linear", "mlp", "logistic", "generative"])
def test_every_model_of_the_registry_is_a_model_with_the_plain_defaults(name):
    cfg = make_config(dataset="pokemon", model=name)
    model = MODELS[name].build(cfg.model_args, dict(SPEC))
    assert isinstance(model, Model)
    assert model.warm_start([], "cpu") is None
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    if model.closed_form:
        model.fit_closed_form(x, y)
        assert make_optimizer(model, cfg, 10) == (None, None, False)  # nothing to step
        return
    out, loss = model.eval().training_loss(x, y, torch.nn.functional.cross_entropy)  # eval: no dropout
    assert torch.allclose(loss, torch.nn.functional.cross_entropy(model(x), y))
    opt, _, _ = make_optimizer(model, cfg, 10)
    assert type(opt).__name__.lower() == cfg.optimizer and opt.param_groups[0]["lr"] == cfg.lr
    with pytest.raises(NotImplementedError, match="gradient descent"):
        model.fit_closed_form(x, y)


class Events(Callback):
    def __init__(self):
        self.seen = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda trainer, state, *a: self.seen.append(name)
        return super().__getattribute__(name)


def test_a_closed_form_fit_goes_through_the_trainers_public_events_and_checkpoints_no_optimizer(tmp_path):
    torch.manual_seed(0)
    x, y = torch.randn(30, 4), torch.arange(30) % 3
    model, events = GaussianGenerative(4, 3), Events()
    ckpt = Checkpointer(tmp_path, {"config": {}}, "valid_acc", "max")
    batches = make_batches(x, y, 8)
    trainer = Trainer(model, None, callbacks=[events, ckpt])
    state = trainer.fit_once(lambda: model.fit_closed_form(x, y), batches, batches)
    assert events.seen == ["on_fit_start", "on_epoch_start", "on_epoch_end", "on_fit_end"]
    assert state.epoch_completed and 0 < state.metrics["train_acc"] <= 1 and state.metrics["valid_acc"] > 0
    saved = checkpoint.load(tmp_path / "best.pt")
    assert saved["optimizer"] is None and saved["epoch"] == 1


def test_one_improvement_rule_for_early_stopping_and_the_checkpointer(tmp_path):
    assert improved(0.5, None, "min") and not improved(float("nan"), None, "min") and not improved(None, 1.0, "max")
    assert improved(0.4, 0.5, "min") and not improved(0.5, 0.5, "min") and improved(0.6, 0.5, "max")
    assert not improved(0.45, 0.5, "min", min_delta=0.1) and not improved(math.inf, 0.5, "max")
    model = torch.nn.Linear(1, 1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1))
    early, ckpt = EarlyStopping(patience=5), Checkpointer(tmp_path, {}, "valid_loss", "min")
    state = TrainState(max_epochs=5)
    for epoch, loss in enumerate([1.0, 0.8, 0.8, float("nan"), 0.7], 1):
        state.epoch, state.metrics = epoch, {"valid_loss": loss}
        early.on_epoch_end(trainer, state)
        ckpt.on_epoch_end(trainer, state)
        assert (early.best, early.best_epoch) == (ckpt.best, ckpt.best_epoch)
    assert ckpt.best_epoch == 5
