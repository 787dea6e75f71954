"""RunStore: runs, metrics and results in SQLite, shared by many readers and writers."""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import types

import pytest

from engine.config.run_config import make_config
from engine.jobs.store import RunNotFound, RunStore


def test_runs_lifecycle(home):
    store = RunStore(home)
    cfg = make_config(dataset="digits", epochs=4)
    run_id = store.create_run(cfg, owner="alice")
    run = store.get_run(run_id)
    assert run["status"] == "queued" and run["owner"] == "alice" and run["config"] == cfg.to_dict()
    assert store.transition(run_id, ["queued"], status="running") and not store.transition(run_id, ["queued"],
                                                                                         status="running")
    store.update(run_id, epoch=2)
    store.log_metrics(run_id, [(1, 10, "train", "loss", 0.5), (2, 20, "valid", "acc", 0.9), (3, 30, "train", "loss",
                                                                                              float("nan"))])
    df = store.metrics(run_id)
    assert list(df["name"]) == ["loss", "acc", "loss"] and df["value"].isna().sum() == 1
    assert store.drop_metrics_after(run_id, 2) == 1
    store.save_result(run_id, {"test_acc": 0.95})
    assert store.result(run_id) == {"test_acc": 0.95}
    assert [r["id"] for r in store.list_runs(["running"])] == [run_id]
    (store.run_dir(run_id) / "last.pt").write_bytes(b"x")
    store.delete_run(run_id)
    with pytest.raises(RunNotFound):
        store.get_run(run_id)
    assert not (home / "runs" / run_id).exists() and store.metrics(run_id).empty


def test_cancel_stops_a_queued_run_at_once_and_flags_a_running_one(home):
    store = RunStore(home)
    queued, running = store.create_run(make_config()), store.create_run(make_config(), status="running")
    assert store.request_cancel(queued) == "stopped"
    assert store.request_cancel(running) == "running" and store.cancel_requested(running)


def _writer(home, run_id, n):
    store = RunStore(home)
    for i in range(n):
        store.log_metrics(run_id, [(i, i, "train", "loss", float(i))])
        store.update(run_id, epoch=i)


def test_two_writer_processes_and_ten_readers_never_see_database_locked(home, monkeypatch):
    # a spawned child re-runs the parent's __main__ file; after an AppTest that is the last page script it ran
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    store = RunStore(home)
    ids = [store.create_run(make_config(), status="running") for _ in range(2)]
    ctx = mp.get_context("spawn")
    writers = [ctx.Process(target=_writer, args=(str(home), run_id, 150)) for run_id in ids]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        reader_store = RunStore(home)
        try:
            while not stop.is_set():
                reader_store.list_runs()
                reader_store.metrics(ids)
        except BaseException as exc:  # "database is locked" would land here
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(10)]
    for t in [*writers, *readers]:
        t.start()
    for w in writers:
        w.join(120)
    stop.set()
    for t in readers:
        t.join(30)
    assert [w.exitcode for w in writers] == [0, 0]
    assert errors == []
    assert len(store.metrics(ids)) == 300
