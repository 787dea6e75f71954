"""Same start, different choice: runs started from another run's initial weights (init.pt), and
seeded CPU runs that reproduce their metrics exactly."""

from __future__ import annotations

import json

import pytest
import torch

import engine.training.run
from engine.cli import main
from engine.config.run_config import make_config
from engine.jobs.local import stop_supervisor
from engine.jobs.store import RunStore
from engine.training import checkpoint
from engine.training.run import execute
from engine.training.trainer import Callback

SMALL = {"layers": 1, "width": 32, "batch_norm": True, "dropout": 0.2, "input_norm": False}


class FirstBatchLoss(Callback):
    """The loss of the very first batch: computed before any weight update, so it depends only on
    the initial weights and the first batch (not on the learning rate)."""

    def __init__(self):
        self.loss = None

    def on_batch_end(self, trainer, state):
        if state.step == 1:
            self.loss = state.batch_loss


@pytest.fixture
def batch_log(monkeypatch):
    """Records the targets of every shuffled training batch that engine.training.run draws."""
    log: dict[int, list[torch.Tensor]] = {}

    real = engine.training.run.training_batches

    class Recording:
        def __init__(self, loader):
            self.loader = loader

        def __len__(self):
            return len(self.loader)

        def __iter__(self):
            for xb, yb in self.loader:
                log.setdefault(id(self), []).append(yb.clone())
                yield xb, yb

    monkeypatch.setattr(engine.training.run, "training_batches", lambda *a, **k: Recording(real(*a, **k)))
    return log


def train(home, parent=None, callbacks=(), **overrides) -> str:
    store = RunStore(home)
    values = {"dataset": "digits", "model": "mlp", "device": "cpu", "epochs": 2, "model_args": SMALL,
              "optimizer": "sgd", "lr": 0.05, **overrides}
    run_id = store.create_run(make_config(**values), status="running", parent=parent)
    summary = execute(store, run_id, extra_callbacks=callbacks)
    assert summary["status"] == "done", summary
    return run_id


def init_weights(home, run_id) -> dict:
    return checkpoint.load(RunStore(home).run_dir(run_id) / "init.pt")["model"]


def epoch_metrics(home, run_id) -> list[tuple]:
    df = RunStore(home).metrics(run_id)
    df = df[df["name"] != "epoch_seconds"]
    return [tuple(r) for r in df[["epoch", "step", "split", "name", "value"]].itertuples(index=False)]


def test_runs_from_the_same_initial_weights_differ_only_by_the_choice(home, batch_log):
    first_a, first_b = FirstBatchLoss(), FirstBatchLoss()
    a = train(home, callbacks=[first_a], lr=0.05)
    b = train(home, parent=a, callbacks=[first_b], lr=0.5)
    wa, wb = init_weights(home, a), init_weights(home, b)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # the same batches in the same order, epoch after epoch
    orders = list(batch_log.values())
    assert len(orders) == 2 and len(orders[0]) == len(orders[1]) > 2
    assert all(torch.equal(x, y) for x, y in zip(*orders, strict=True))
    # so the first batch's loss (before any update) is identical, and then the choice shows
    assert first_a.loss == first_b.loss
    ma = {(e, n): v for e, _, s, n, v in epoch_metrics(home, a) if s == "train"}
    mb = {(e, n): v for e, _, s, n, v in epoch_metrics(home, b) if s == "train"}
    assert ma[(1, "loss")] != mb[(1, "loss")]
    assert ma[(1, "lr")] == 0.05 and mb[(1, "lr")] == 0.5
    # the curves start from identical epoch-0 metrics (valid loss/acc of the shared initial weights)
    va = {n: v for e, _, s, n, v in epoch_metrics(home, a) if s == "valid" and e == 0}
    vb = {n: v for e, _, s, n, v in epoch_metrics(home, b) if s == "valid" and e == 0}
    assert set(va) == {"loss", "acc"} and va == vb


def test_initial_weights_come_from_the_parent_not_the_seed(home):
    a = train(home, epochs=1, seed=1)
    b = train(home, parent=a, epochs=1, seed=2)
    c = train(home, epochs=1, seed=2)
    wa, wb, wc = init_weights(home, a), init_weights(home, b), init_weights(home, c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["net.1.weight"], wc["net.1.weight"])  # a different seed alone starts elsewhere


def test_another_architecture_is_refused(home):
    a = train(home, epochs=1)
    store = RunStore(home)
    child = store.create_run(make_config(dataset="digits", model="mlp", device="cpu", epochs=1,
                                         model_args={**SMALL, "width": 16}), status="running", parent=a)
    summary = execute(store, child)
    assert summary["status"] == "failed"
    assert "model differs" in summary["error"] and "(32, 64) vs (16, 64)" in summary["error"]
    missing = store.create_run(make_config(dataset="digits", device="cpu"), status="running", parent="nope")
    assert "no such run" in execute(store, missing)["error"]


def test_seeded_cpu_runs_reproduce_their_metrics_exactly(home):
    a = train(home, epochs=3, seed=7)
    b = train(home, epochs=3, seed=7)
    rows_a, rows_b = epoch_metrics(home, a), epoch_metrics(home, b)
    assert len(rows_a) > 10
    assert rows_a == rows_b  # every value, to the last digit
    assert RunStore(home).result(a)["test_acc"] == RunStore(home).result(b)["test_acc"]
    c = train(home, epochs=3, seed=8)
    assert epoch_metrics(home, c) != rows_a


def test_cli_init_from_keeps_the_parent_settings_and_changes_only_the_flags(home, capsys):
    a = train(home, epochs=1, lr=0.05)
    assert main(["train", "--init-from", a, "--lr", "0.2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    store = RunStore(home)
    run = store.get_run(out["run_id"])
    parent_cfg = store.get_run(a)["config"]
    assert run["parent"] == a
    assert run["config"] == {**parent_cfg, "lr": 0.2}
    wa, wb = init_weights(home, a), init_weights(home, out["run_id"])
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.slow
def test_job_runner_submit_with_parent_starts_from_its_weights(home):
    from engine.jobs.local import JobRunner

    a = train(home, epochs=1)
    runner = JobRunner(home)
    cfg = make_config(**{**RunStore(home).get_run(a)["config"], "lr": 0.3})
    b = runner.submit(cfg, parent=a)
    try:
        run = runner.wait(b, timeout=240)
    finally:
        stop_supervisor(home)
    assert run["status"] == "done", run["error"]
    wa, wb = init_weights(home, a), init_weights(home, b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
