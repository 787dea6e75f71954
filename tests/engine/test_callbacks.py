"""The Trainer and its callbacks, driven by hand (Keras-style) and on tiny real problems."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.models.base import Model
from engine.training.batching import make_batches
from engine.training.callbacks import CancelWatcher, EarlyStopping, NanGuard
from engine.training.run import execute
from engine.training.trainer import Callback, Trainer, TrainState


def drive_early_stopping(losses, patience=3):
    cb, state = EarlyStopping(patience=patience), TrainState(max_epochs=len(losses))
    for epoch, loss in enumerate(losses, 1):
        state.epoch, state.metrics = epoch, {"valid_loss": loss}
        cb.on_epoch_end(None, state)
        if state.should_stop:
            return epoch, state
    return None, state


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    epoch, state = drive_early_stopping([1.0, 0.8, 0.7, 0.71, 0.69, 0.70, 0.72, 0.75, 0.5])
    assert epoch == 8 and state.stop_reason == "early_stopping"
    assert "best 0.6900 at epoch 5" in state.message


def test_early_stopping_never_stops_while_improving_and_ignores_nan():
    assert drive_early_stopping([1.0, 0.9, float("nan"), 0.8, 0.7, 0.6])[0] is None


class FakeTrainer:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=100.0)


def test_nan_guard_stops_as_diverged_naming_epoch_and_lr():
    state = TrainState(max_epochs=5, epoch=3, batch_in_epoch=7, loss=float("inf"))
    NanGuard().on_batch_end(FakeTrainer(), state)
    assert state.stop_reason == "diverged" and "epoch 3" in state.message and "100" in state.message
    ok = TrainState(max_epochs=5, loss=0.3)
    NanGuard().on_batch_end(FakeTrainer(), ok)
    assert not ok.should_stop


def test_cancel_watcher_reads_the_store_flag(home):
    store = RunStore(home)
    run_id = store.create_run(make_config(), status="running")
    cb, state = CancelWatcher(store, run_id, interval=0.0), TrainState(max_epochs=1)
    cb.on_batch_end(None, state)
    assert not state.should_stop
    store.request_cancel(run_id)
    cb.on_batch_end(None, state)
    assert state.stop_reason == "cancelled"


class Recorder(Callback):
    def __init__(self, stop_at_step=None):
        self.events, self.metric_types, self.stop_at_step = [], set(), stop_at_step

    def on_fit_start(self, trainer, state): self.events.append("fit_start")
    def on_epoch_start(self, trainer, state): self.events.append(f"epoch_start {state.epoch}")

    def on_batch_end(self, trainer, state):
        self.events.append("batch")
        self.metric_types.add(type(state.batch_loss))
        if state.step == self.stop_at_step:
            state.stop("cancelled")

    def on_epoch_end(self, trainer, state):
        self.events.append(f"epoch_end {state.epoch}")
        self.metric_types |= {type(v) for v in state.metrics.values()}

    def on_fit_end(self, trainer, state): self.events.append("fit_end")


def tiny_problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 3, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(seed)
    model = nn.Linear(3, 2)
    return model, make_batches(x, y, 16, shuffle=True, generator=g), make_batches(x, y, 64)


def test_events_come_in_order_and_metrics_are_python_floats():
    model, train, valid = tiny_problem()
    rec = Recorder()
    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[rec]).fit(train, valid, 2)
    assert rec.events == ["fit_start", "epoch_start 1", "batch", "batch", "batch", "epoch_end 1",
                          "epoch_start 2", "batch", "batch", "batch", "epoch_end 2", "fit_end"]
    assert rec.metric_types == {float}
    assert set(state.metrics) >= {"train_loss", "train_acc", "valid_loss", "valid_acc", "lr"}


class OwnLoss(Model):
    """A model with its own training loss: the Trainer must use it for training batches only."""

    def __init__(self):
        super().__init__()
        self.fc, self.calls = nn.Linear(3, 2), 0

    def forward(self, x):
        return self.fc(x)

    def training_loss(self, x, y, loss):
        self.calls += 1
        out = self(x)
        return out, loss(out, y) + 100.0


def test_a_model_with_its_own_training_loss_trains_with_it_and_evaluates_without_it():
    _, train, valid = tiny_problem()
    torch.manual_seed(0)
    model = OwnLoss()
    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1)).fit(train, valid, 2)
    assert model.calls == 6  # 3 training batches x 2 epochs; evaluation never calls it
    assert state.metrics["train_loss"] > 100.0 and state.metrics["valid_loss"] < 1.0


def test_should_stop_halts_within_the_epoch():
    model, train, valid = tiny_problem()
    rec = Recorder(stop_at_step=2)
    state = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), callbacks=[rec]).fit(train, valid, 5)
    assert rec.events.count("batch") == 2 and "epoch_end 1" not in rec.events and state.epoch == 1


def test_an_exploding_loss_is_diverged_too():
    guard, trainer = NanGuard(), FakeTrainer()
    for loss in (2.3, 50.0, 900.0):  # large, but not yet 10,000x the first loss
        state = TrainState(max_epochs=5, epoch=1, loss=loss)
        guard.on_batch_end(trainer, state)
        assert not state.should_stop
    state = TrainState(max_epochs=5, epoch=2, batch_in_epoch=4, loss=4e18)
    guard.on_batch_end(trainer, state)
    assert state.stop_reason == "diverged" and "exploded to 4e+18" in state.message and "epoch 2" in state.message


@pytest.mark.parametrize("batch_norm", [False, True])  # NaN without batch norm; an exploding loss with it
def test_learning_rate_100_ends_diverged_with_a_hint(home, batch_norm):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="mlp", optimizer="sgd", lr=100.0, epochs=20,
                                          model_args={"batch_norm": batch_norm, "input_norm": batch_norm}),
                              status="running")
    summary = execute(store, run_id)
    run = store.get_run(run_id)
    assert summary["status"] == run["status"] == "diverged"
    assert "epoch" in run["error"] and "lower the learning rate" in run["error"]


def test_seeded_cpu_runs_reproduce_their_metrics(home):
    store = RunStore(home)
    cfg = make_config(dataset="digits", model="mlp", epochs=3, model_args={"width": 32, "layers": 1})
    runs = [store.create_run(cfg, status="running") for _ in range(2)]
    for run_id in runs:
        execute(store, run_id)
    a, b = (store.metrics(r).query("name != 'epoch_seconds'")[["epoch", "split", "name", "value"]] for r in runs)
    assert len(a) > 10 and a.reset_index(drop=True).equals(b.reset_index(drop=True))
    assert not math.isnan(a["value"].iloc[0])


@pytest.mark.parametrize("schedule", ["none", "cosine"])
def test_cosine_schedule_decays_the_learning_rate(home, schedule):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="linear", epochs=4, schedule=schedule,
                                          early_stopping=False), status="running")
    execute(store, run_id)
    lrs = store.metrics(run_id).query("name == 'lr'")["value"].tolist()
    assert len(lrs) == 4
    assert (lrs[0] > lrs[-1]) if schedule == "cosine" else (lrs == [0.01] * 4)


def test_checkpointer_keeps_best_apart_from_last(tmp_path):
    from engine.training import checkpoint
    from engine.training.callbacks import Checkpointer

    model, _, _ = tiny_problem()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1))
    ckpt = Checkpointer(tmp_path, {"config": {}})
    for epoch, loss in ((1, 0.9), (2, 0.5), (3, 0.7)):  # best at epoch 2
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        state = TrainState(max_epochs=3, epoch=epoch)
        state.metrics = {"valid_loss": loss}
        ckpt.on_epoch_end(trainer, state)
    best, last = checkpoint.load(tmp_path / "best.pt"), checkpoint.load(tmp_path / "last.pt")
    assert best["epoch"] == 2 and best["best"]["value"] == 0.5 and float(best["model"]["weight"][0, 0]) == 2.0
    assert last["epoch"] == 3 and float(last["model"]["weight"][0, 0]) == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]  # no temp or link file left


def test_checkpointer_in_max_mode_keeps_the_highest_accuracy(tmp_path):
    from engine.training import checkpoint
    from engine.training.callbacks import Checkpointer

    model, _, _ = tiny_problem()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1))
    ckpt = Checkpointer(tmp_path, {"config": {}}, "valid_acc", "max")
    for epoch, acc in ((1, 0.5), (2, 0.9), (3, 0.9), (4, 0.7)):  # a tie does not replace the earlier best
        state = TrainState(max_epochs=4, epoch=epoch)
        state.metrics = {"valid_acc": acc, "valid_loss": 1.0 / epoch}
        ckpt.on_epoch_end(trainer, state)
    best = checkpoint.load(tmp_path / "best.pt")
    assert best["epoch"] == 2 and best["best"] == {"value": 0.9, "epoch": 2, "monitor": "valid_acc"}
    early = EarlyStopping(patience=2, monitor="valid_acc", mode="max")
    for epoch, acc in enumerate((0.5, 0.9, 0.9, 0.7), 1):
        state = TrainState(max_epochs=4, epoch=epoch)
        state.metrics = {"valid_acc": acc}
        early.on_epoch_end(None, state)
    assert state.should_stop and early.best == 0.9 and early.best_epoch == 2


def test_a_run_that_monitors_valid_accuracy_tests_its_most_accurate_epoch(home):
    from engine.training import checkpoint

    store = RunStore(home)
    # plain SGD at lr 1 on digits, seed 0: the lowest valid loss (epoch 7) and the highest accuracy (epoch 3) differ
    run_id = store.create_run(make_config(dataset="digits", model="linear", epochs=8, lr=1.0, optimizer="sgd", seed=0,
                                          monitor="valid_acc", early_stopping=False), status="running")
    summary = execute(store, run_id)
    valid = store.metrics(run_id).query("split == 'valid' and epoch > 0")
    accs = {int(r.epoch): r.value for r in valid.query("name == 'acc'").itertuples()}
    losses = {int(r.epoch): r.value for r in valid.query("name == 'loss'").itertuples()}
    best_epoch = max(accs, key=lambda e: (accs[e], -e))  # the first epoch with the highest accuracy
    assert best_epoch != min(losses, key=losses.get)  # else this run could not tell the two monitors apart
    best = checkpoint.load(store.run_dir(run_id) / "best.pt")
    assert best["epoch"] == best_epoch and best["best"]["monitor"] == "valid_acc"
    assert summary["valid_acc"] == pytest.approx(accs[best_epoch])  # the reported metrics come from that epoch
