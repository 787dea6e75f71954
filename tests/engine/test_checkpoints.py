"""Checkpoints: atomic writes, weights_only loading, clear errors for foreign files."""

from __future__ import annotations

import errno
import pickle

import pytest
import torch

from engine import atomic
from engine.config.run_config import make_config
from engine.jobs.store import RunStore
from engine.predict.predictor import Predictor
from engine.training import checkpoint
from engine.training.run import execute


def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    checkpoint.save(path, {"model": {"w": torch.ones(3)}, "config": {}, "epoch": 1})
    real_save = torch.save

    def full_disk(obj, fh, *a, **k):
        fh.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError):
        checkpoint.save(path, {"model": {"w": torch.zeros(3)}, "config": {}, "epoch": 2})
    monkeypatch.setattr(torch, "save", real_save)
    assert checkpoint.load(path)["epoch"] == 1 and torch.equal(checkpoint.load(path)["model"]["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind


def test_disk_full_during_a_run_fails_it_with_a_clear_message(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="linear", epochs=5), status="running")
    real = atomic.torch_save
    calls = {"n": 0}

    def flaky(obj, path):
        calls["n"] += 1
        if calls["n"] > 2:  # init.pt, then epoch 1's last.pt succeed (best.pt is a link to last.pt, not a save)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(obj, path)

    monkeypatch.setattr(atomic, "torch_save", flaky)
    summary = execute(store, run_id)
    assert summary["status"] == "failed" and "disk is full" in summary["error"]
    assert store.get_run(run_id)["status"] == "failed"
    assert checkpoint.load(store.run_dir(run_id) / "last.pt")["epoch"] == 1  # the previous one is intact


class RunsCode:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(MARKER),))


MARKER = ""


def test_a_pickle_that_runs_code_is_refused_and_never_runs(tmp_path):
    global MARKER
    MARKER = str(tmp_path / "pwned")
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"model": RunsCode(), "config": {}}, fh)
    with pytest.raises(checkpoint.CheckpointError, match="refused"):
        checkpoint.load(evil)
    with pytest.raises(checkpoint.CheckpointError):
        Predictor.from_checkpoint(evil)
    assert not (tmp_path / "pwned").exists()


def test_a_checkpoint_of_another_model_gives_a_mismatch_error(home):
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="digits", model="linear", epochs=1), status="running")
    execute(store, run_id)
    ckpt = checkpoint.load(store.run_dir(run_id) / "best.pt")
    ckpt["config"]["model"] = "mlp"  # claims to be an MLP but holds single-layer weights
    bad = home / "bad.pt"
    torch.save(ckpt, bad)
    with pytest.raises(checkpoint.CheckpointError, match="does not match"):
        Predictor.from_checkpoint(bad)
    (home / "garbage.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(checkpoint.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load(home / "garbage.pt")
